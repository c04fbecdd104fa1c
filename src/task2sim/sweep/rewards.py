"""Gather the 256 per-config results into the reward table, in the paper's released schema.

`results/rewards.json` is task -> paper config key -> 5-NN top-1 %, keys in index order 0..255,
exactly like the paper's `reward_db.json`, so the controller reads ours and theirs alike.
"""

from __future__ import annotations

import json
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.sim.config import NUM_CONFIGS, index_to_key, stage_name

RESULT_FILE = "rewards.json"


def read_config_result(sweep_dir: Path, config: int) -> dict[str, float]:
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
    return {task: float(value) for task, value in data["top1"].items()}


def gather_rewards(sweep_dir: Path, tasks: list[str]) -> dict[str, dict[str, float]]:
    """task -> key -> %, for every config; refuses a table with holes."""
    rows = {}
    missing = []
    for config in range(NUM_CONFIGS):
        try:
            rows[config] = read_config_result(sweep_dir, config)
        except Task2SimError:
            missing.append(stage_name(config))
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise Task2SimError(
            f"{len(missing)} of {NUM_CONFIGS} sweep results are missing: {shown}",
            "run `dvc repro rewards`, which runs the missing sweep@cNNN stages first",
        )
    table: dict[str, dict[str, float]] = {}
    for task in tasks:
        lacking = [stage_name(c) for c, row in rows.items() if task not in row]
        if lacking:
            raise Task2SimError(
                f"task '{task}' has no reward in {len(lacking)} sweep results (e.g. {lacking[0]})",
                "re-run the sweep after adding the task: `dvc repro rewards`",
            )
        table[task] = {index_to_key(c): round(rows[c][task], 4) for c in range(NUM_CONFIGS)}
    return table
