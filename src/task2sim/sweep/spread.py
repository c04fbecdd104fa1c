"""Do rewards separate configs? Spread across the 256 configs against spread across seeds.

For each task: the std of 5-NN top-1 over the 256 sweep configs (from the reward table), beside
the std over training seeds of one fixed config re-trained on the same set. Config differences
are only meaningful where the first is clearly larger than the second. With
`sweep.spread_extra_configs`, more configs are re-trained with the same seeds, which pools the
noise estimate and splits the table's variance into config signal and seed noise (`noise.py`).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.params import load_params
from task2sim.sim.config import stage_name
from task2sim.sweep.effects import effect_standard_error, main_effects
from task2sim.sweep.job import SweepJob, run_sweep_job
from task2sim.sweep.noise import TARGET_RATIO, split_variance

SEEDS_COLUMN = f"seeds per set for ratio {TARGET_RATIO:g}"


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
    configs = [config, *params.sweep.spread_extra_configs]
    runs = {c: _retrain(c, params, sets_dir, tasks_dir, work_dir) for c in configs}
    by_seed = runs[config]
    rows, noise = [], {}
    for task in params.tasks:
        table_rewards = list(table[task].values())
        across_configs = np.std(table_rewards)
        across_seeds = np.std([by_seed[s][task] for s in by_seed])
        split = split_variance(
            table_rewards, {c: {s: runs[c][s][task] for s in runs[c]} for c in runs}
        )
        noise[task] = split.noise_std
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
                "mean top-1": round(float(np.mean(table_rewards)), 2),
                "config noise std": round(split.noise_std, 2),
                "seed offset std": None
                if split.seed_offset_std is None
                else round(split.seed_offset_std, 2),
                "config signal std": round(split.signal_std, 2),
                # null: no config signal above the noise
                SEEDS_COLUMN: int(split.seeds_needed)
                if math.isfinite(split.seeds_needed)
                else None,
            }
        )
    frame = pd.DataFrame(rows)
    separated = int((frame["ratio"] >= 2).sum())
    effects = main_effects({task: table[task] for task in params.tasks})
    errors = {task: effect_standard_error(std) for task, std in noise.items()}
    text = (
        f"# Sweep reward spread\n\nTasks where configs separate (ratio >= 2): {separated} of "
        f"{len(frame)}.\n\n{_shown(frame).to_markdown(index=False)}\n\n"
        f"{_split_text(configs, params.sweep.spread_seeds)}\n\n{_effects_text(effects, errors)}"
    )
    atomic_write_bytes(out, text.encode("utf-8"))
    atomic_write_json(
        out.with_suffix(".json"),
        {
            "config": config,
            "seeds": by_seed,
            "extra_configs": {stage_name(c): runs[c] for c in configs[1:]},
            "rows": rows,
            "separated": separated,
            "main_effects": effects.round(3).to_dict(orient="index"),
            "main_effect_standard_error": {t: round(e, 3) for t, e in errors.items()},
        },
    )
    print(text)
    return frame


def _retrain(
    config: int, params, sets_dir: Path, tasks_dir: Path, work_dir: Path
) -> dict[int, dict[str, float]]:
    """seed -> task -> 5-NN top-1 of `config` re-trained with each of `sweep.spread_seeds`."""
    results = {}
    for seed in params.sweep.spread_seeds:
        sweep = params.sweep.model_copy(
            update={"train": params.sweep.train.model_copy(update={"seed": seed})}
        )
        job = SweepJob.for_config(config, params, sets_dir, tasks_dir, work_dir)
        job = replace(job, sweep=sweep, out_dir=work_dir / f"{stage_name(config)}-seed{seed}")
        results[seed] = run_sweep_job(job)
    return results


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The spread table for reading: seed counts as integers, '-' where there is no value."""
    shown = frame.astype(object)
    shown[SEEDS_COLUMN] = [("-" if pd.isna(v) else str(int(v))) for v in frame[SEEDS_COLUMN]]
    return shown.fillna("-")


def _split_text(configs: list[int], seeds: list[int]) -> str:
    names = ", ".join(stage_name(c) for c in configs)
    return (
        f"The last four columns come from re-training {names} with seeds {seeds} "
        "(`sweep/noise.py`): *config noise* is the part of a run's seed noise that differs "
        "between configs (the residual of configs x seeds), *seed offset* the part that shifts "
        "every config alike (harmless to rankings: the sweep trains all 256 with one seed), "
        "*config signal* the table's spread beyond the config noise, and the last column how "
        f"many shared seeds each set would need, averaged, for its signal to reach "
        f"{TARGET_RATIO:g}x the noise left (-: no signal above the noise)."
    )


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
        "minus the 128 with it off (points); one standard error from the config noise above "
        "(x sqrt(2/128)); * marks effects of 3 standard errors or more.\n\n"
        f"{shown.rename_axis('task').to_markdown(disable_numparse=True)}\n"
    )
