"""The `evaluate_reference` stage: the reference rows (ImageNet networks, scratch) scored on
every task like the final backbones."""

from __future__ import annotations

import time
from pathlib import Path

from task2sim.atomic import atomic_write_json
from task2sim.final.evaluate import evaluate_pairs
from task2sim.final.reference import reference_backbones
from task2sim.final.summary import records_of
from task2sim.params import PROTOCOLS, load_params


def evaluate_reference_stage(
    params_path: Path, tasks_dir: Path, out: Path, finetuned: Path, progress: bool = True
) -> list[dict]:
    """Score every reference network on every task; write the records to `out`."""
    params = load_params(params_path)
    start = time.perf_counter()
    rows = reference_backbones(params)
    pairs = [(backbone, task) for backbone, _ in rows for task in params.tasks]
    scores = evaluate_pairs(
        pairs, tasks_dir, params.evaluate, finetuned, params.final.workers, progress
    )
    records = records_of(scores, {b.name: (row, seed) for b, (row, seed) in rows})
    atomic_write_json(out, records)
    for backbone, _ in rows:
        means = {
            p: sum(scores[backbone.name][t][p] for t in params.tasks) / len(params.tasks)
            for p in PROTOCOLS
        }
        print(f"{backbone.name}: " + ", ".join(f"{p} {v:.2f} %" for p, v in means.items()))
    print(f"{len(rows)} reference network(s) -> {out} ({time.perf_counter() - start:.1f} s)")
    return records
