"""Gather the sweep's runs and build the reward table, in the paper's released schema.

`results/reward_runs.csv` keeps every raw run (task, config, paper key, replicate, seed, 5-NN
top-1, final train loss, held-out pretext top-1), so anyone can recompute the table.
`results/rewards.json` is task -> paper config key -> 5-NN top-1 %, keys in index order 0..255,
exactly like the paper's `reward_db.json`, so the controller reads ours and theirs alike. Each
value is, by `sweep.table`, the main + two-way model fitted to every run of the task and
predicted for that config (`two_way`), or the mean of that config's runs (`cell_mean`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from task2sim.errors import Task2SimError
from task2sim.sim.config import NUM_CONFIGS, index_to_key, stage_name
from task2sim.stats.factorial import fit_two_way

RESULT_FILE = "rewards.json"
RUN_COLUMNS = [
    "task",
    "config",
    "key",
    "replicate",
    "seed",
    "top1",
    "train_loss",
    "heldout_top1",
]


def read_config_result(sweep_dir: Path, config: int) -> dict:
    path = Path(sweep_dir) / stage_name(config) / RESULT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Task2SimError(
            f"no sweep result for {stage_name(config)} ({path})",
            f"run it: `dvc repro sweep@{stage_name(config)}` (or `dvc repro rewards`)",
        ) from None
    except json.JSONDecodeError as exc:
        raise Task2SimError(
            f"{path} is not valid JSON ({exc})", "re-run that sweep stage"
        ) from None
    if "runs" not in data:
        raise Task2SimError(
            f"{path} is a sweep result of an older format (no runs)", "re-run the sweep"
        )
    return data


def gather_runs(sweep_dir: Path, tasks: list[str], design: str) -> pd.DataFrame:
    """One row per (task, run) over every config's result; refuses missing or foreign ones."""
    missing, wrong, rows = [], [], []
    for config in range(NUM_CONFIGS):
        try:
            result = read_config_result(sweep_dir, config)
        except Task2SimError:
            missing.append(stage_name(config))
            continue
        if result.get("design") != design:
            wrong.append(stage_name(config))
        for run in result["runs"]:
            for task in tasks:
                if task not in run["top1"]:
                    raise Task2SimError(
                        f"task '{task}' has no reward in the sweep result of {stage_name(config)}",
                        "re-run the sweep after adding the task: `dvc repro rewards`",
                    )
                rows.append(
                    {
                        "task": task,
                        "config": config,
                        "key": index_to_key(config),
                        "replicate": run["replicate"],
                        "seed": run["seed"],
                        "top1": float(run["top1"][task]),
                        "train_loss": run["train_loss"],
                        "heldout_top1": run["heldout_top1"],
                    }
                )
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise Task2SimError(
            f"{len(missing)} of {NUM_CONFIGS} sweep results are missing: {shown}",
            "run `dvc repro rewards`, which runs the missing sweep@cNNN stages first",
        )
    if wrong:
        raise Task2SimError(
            f"{len(wrong)} sweep results come from another design than '{design}' "
            f"(e.g. {wrong[0]})",
            "re-run the sweep with the current params: `dvc repro rewards`",
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def build_table(runs: pd.DataFrame, how: str) -> list[float]:
    """One task's 256 rewards, in config index order, from its runs (see the module text)."""
    if how == "two_way":
        fit = fit_two_way(runs["config"].tolist(), runs["top1"].tolist())
        return [float(v) for v in fit.predict()]
    if how == "cell_mean":
        means = runs.groupby("config")["top1"].mean()
        lacking = sorted(set(range(NUM_CONFIGS)) - set(means.index))
        if lacking:
            raise Task2SimError(
                f"{len(lacking)} configs have no run (e.g. {stage_name(lacking[0])})",
                "cell_mean needs sweep.design: full",
            )
        return [float(means[c]) for c in range(NUM_CONFIGS)]
    raise ValueError(f"unknown table kind '{how}'")


def reward_table(runs: pd.DataFrame, tasks: list[str], how: str) -> dict[str, dict[str, float]]:
    """task -> key -> %, in config index order."""
    table = {}
    for task in tasks:
        values = build_table(runs[runs["task"] == task], how)
        table[task] = {index_to_key(c): round(v, 4) for c, v in enumerate(values)}
    return table


def write_reward_table(params_path: Path, sweep_dir: Path, runs_out: Path, out: Path) -> dict:
    """The `rewards` stage: every raw run to CSV, the reward table to JSON (config order)."""
    from task2sim.atomic import atomic_write_bytes, atomic_write_json
    from task2sim.params import load_params

    params = load_params(params_path)
    tasks = list(params.tasks)
    runs = gather_runs(sweep_dir, tasks, params.sweep.design)
    atomic_write_bytes(runs_out, runs.to_csv(index=False).encode("utf-8"))
    table = reward_table(runs, tasks, params.sweep.table)
    atomic_write_json(out, table, sort_keys=False)  # keys in config index order
    configs = runs["config"].nunique()
    print(
        f"{runs_out}: {len(runs) // len(tasks)} runs of {configs} configs; {out}: "
        f"{len(table)} tasks x {len(next(iter(table.values())))} configs ({params.sweep.table})"
    )
    return table
