"""Do rewards separate configs? Spread across the 256 configs against spread across seeds.

For each task: the std of 5-NN top-1 over the 256 sweep configs (from the reward table), beside
the std over training seeds of one fixed config re-trained on the same set. Config differences
are only meaningful where the first is clearly larger than the second.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.params import load_params
from task2sim.sim.config import stage_name
from task2sim.sweep.effects import effect_standard_error, main_effects
from task2sim.sweep.job import SweepJob, run_sweep_job


def measure_spread(
    params_path: Path,
    sets_dir: Path,
    tasks_dir: Path,
    rewards_path: Path,
    out: Path,
    work_dir: Path = Path("data/sweep_spread"),
) -> pd.DataFrame:
    params = load_params(params_path)
    table = json.loads(Path(rewards_path).read_text(encoding="utf-8"))
    config = params.sweep.spread_config
    by_seed = {}
    for seed in params.sweep.spread_seeds:
        sweep = params.sweep.model_copy(
            update={"train": params.sweep.train.model_copy(update={"seed": seed})}
        )
        job = SweepJob.for_config(config, params, sets_dir, tasks_dir, work_dir)
        job = replace(job, sweep=sweep, out_dir=work_dir / f"{stage_name(config)}-seed{seed}")
        by_seed[seed] = run_sweep_job(job)
    rows = []
    for task in params.tasks:
        across_configs = np.std(list(table[task].values()))
        across_seeds = np.std([by_seed[s][task] for s in by_seed])
        rows.append(
            {
                "task": task,
                "std across 256 configs": round(float(across_configs), 2),
                f"std across {len(by_seed)} seeds ({stage_name(config)})": round(
                    float(across_seeds), 2
                ),
                "ratio": round(float(across_configs / across_seeds), 2)
                if across_seeds > 0
                else float("inf"),
                "mean top-1": round(float(np.mean(list(table[task].values()))), 2),
            }
        )
    frame = pd.DataFrame(rows)
    separated = int((frame["ratio"] >= 2).sum())
    effects = main_effects({task: table[task] for task in params.tasks})
    errors = {
        task: effect_standard_error(float(np.std([by_seed[s][task] for s in by_seed], ddof=1)))
        for task in params.tasks
    }
    text = (
        f"# Sweep reward spread\n\nTasks where configs separate (ratio >= 2): {separated} of "
        f"{len(frame)}.\n\n{frame.to_markdown(index=False)}\n\n{_effects_text(effects, errors)}"
    )
    atomic_write_bytes(out, text.encode("utf-8"))
    atomic_write_json(
        out.with_suffix(".json"),
        {
            "config": config,
            "seeds": by_seed,
            "rows": rows,
            "separated": separated,
            "main_effects": effects.round(3).to_dict(orient="index"),
            "main_effect_standard_error": {t: round(e, 3) for t, e in errors.items()},
        },
    )
    print(text)
    return frame


def _effects_text(effects: pd.DataFrame, errors: dict[str, float]) -> str:
    """The main-effects table: mean reward on minus off, * where it is 3+ standard errors."""
    shown = effects.copy().astype(object)
    for task in effects.index:
        for name in effects.columns:
            value = effects.loc[task, name]
            star = "*" if abs(value) >= 3 * errors[task] else ""
            shown.loc[task, name] = f"{value:+.2f}{star}"
    shown.insert(0, "1 s.e.", [f"{errors[t]:.2f}" for t in effects.index])
    return (
        "## Main effects of each parameter\n\nMean top-1 of the 128 sets with the parameter on "
        "minus the 128 with it off (points); one standard error from the seed spread (sample "
        "std of the seeds above x sqrt(2/128)); * marks effects of 3 standard errors or more.\n\n"
        f"{shown.rename_axis('task').to_markdown(disable_numparse=True)}\n"
    )
