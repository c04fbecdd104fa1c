"""The `evaluate` stage: every final backbone scored on its tasks (`final.evaluate`), then the
statistics, tables, figures and headline metrics of the final comparison."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_json
from task2sim.final.evaluate import evaluate_backbones
from task2sim.final.plan import read_plan
from task2sim.final.stats import final_stats, gate_text, write_stats
from task2sim.final.summary import (
    backbone_records,
    pretext_check,
    read_reference,
    scores_frame,
    write_summary,
)
from task2sim.layout import LAYOUT
from task2sim.params import load_params
from task2sim.report.final_figures import draw_per_task, draw_summary


@dataclass(frozen=True)
class FinalOutputs:
    """Where the stage writes each of its outputs."""

    evaluation: Path = LAYOUT.evaluation
    finetuned: Path = LAYOUT.finetuned
    metrics: Path = LAYOUT.metrics
    means: Path = LAYOUT.means
    tables: Path = LAYOUT.tables
    figure: Path = LAYOUT.final_figure
    summary_figure: Path = LAYOUT.final_summary_figure
    stats: Path = LAYOUT.stats
    verdicts: Path = LAYOUT.verdicts


def evaluate_final_stage(
    params_path: Path,
    plan_path: Path,
    backbones: Path,
    tasks_dir: Path,
    reference_path: Path,
    outputs: FinalOutputs,
    progress: bool = True,
) -> dict:
    """Evaluate (or reuse) every (backbone, task) pair, then write everything in `outputs`;
    returns every row's means."""
    params = load_params(params_path)
    plan = read_plan(plan_path)
    reference = read_reference(reference_path, plan.tasks)  # fail before the long part
    start = time.perf_counter()
    evaluation = evaluate_backbones(
        plan,
        params.evaluate,
        backbones,
        tasks_dir,
        outputs.finetuned,
        params.final.workers,
        progress,
    )
    records = backbone_records(plan, evaluation)
    atomic_write_json(outputs.evaluation, records)
    data = scores_frame(plan, records, reference)
    stats = final_stats(plan, data, pd.DataFrame.from_records(records))
    write_stats(stats, outputs.stats, outputs.tables, outputs.verdicts)
    pretext = pretext_check(plan, backbones, params.pretrain.classes)
    summary = write_summary(
        plan, data, stats, outputs.metrics, outputs.means, outputs.tables, pretext
    )
    draw_per_task(plan, data, outputs.figure)
    draw_summary(stats, outputs.summary_figure)
    for row, per_protocol in summary.items():
        means = ", ".join(
            f"{p} " + " / ".join(f"{v:.2f}" for v in roles.values())
            for p, roles in per_protocol.items()
        )
        print(f"{row}: {means} (seen / unseen %)")
    print("sanity gate: " + gate_text(stats["sanity_gate"]))
    print(
        f"{len(evaluation)} backbones ({len(plan.configs)} configs x {len(plan.seeds)} seeds), "
        f"{len(records)} scores -> {outputs.evaluation}, {outputs.stats}, {outputs.means}, "
        f"{outputs.metrics} ({time.perf_counter() - start:.1f} s)"
    )
    return summary
