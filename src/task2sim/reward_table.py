"""The reward table (task → config → downstream accuracy %) and the baselines read from it.

The format is the paper's `reward_db.json`: {task: {paper key: top-1 %}} with all 256 keys per task
(`task2sim.sim.config.index_to_key`). Our own reward stage writes the same format, so the controller
and the baselines below never care where a table came from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from task2sim.errors import Task2SimError
from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_bits, index_to_key, key_to_index

DOMAIN_RANDOMIZATION = NUM_CONFIGS - 1  # every parameter randomized (SPEC §4, INFERRED)
ALL_OFF = 0


@dataclass(frozen=True)
class RewardTable:
    """Rewards of every config for each task: `values[i, c]` is task i's accuracy (%) with set c."""

    tasks: tuple[str, ...]
    values: np.ndarray  # (n_tasks, 256) float64, config index order

    def rows(self, tasks: list[str]) -> np.ndarray:
        """The (len(tasks), 256) rows of `tasks`, refusing names the table lacks."""
        missing = [t for t in tasks if t not in self.tasks]
        if missing:
            raise Task2SimError(
                f"the reward table has no task {', '.join(missing)} "
                f"(it has {', '.join(self.tasks)})",
                "compute rewards for those tasks, or fix the task names in params.yaml",
            )
        return self.values[[self.tasks.index(t) for t in tasks]]


def parse_reward_table(raw: object, origin: str) -> RewardTable:
    """Validate {task: {paper key: %}}: every task has exactly the 256 keys, values in [0, 100]."""
    if not isinstance(raw, dict) or not raw:
        raise Task2SimError(f"{origin} must map task names to {{config key: reward}} tables")
    names, rows = [], []
    for task, table in raw.items():
        if not isinstance(table, dict):
            raise Task2SimError(f"{origin}: task '{task}' must map config keys to rewards")
        row = np.full(NUM_CONFIGS, np.nan)
        for key, value in table.items():
            index = key_to_index(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Task2SimError(f"{origin}: {task}[{key}] = {value!r} is not a number")
            if not (math.isfinite(value) and 0 <= value <= 100):
                raise Task2SimError(
                    f"{origin}: {task}[{key}] = {value} is not an accuracy in [0, 100] %"
                )
            row[index] = value
        missing = np.flatnonzero(np.isnan(row))
        if len(missing) or len(table) != NUM_CONFIGS:
            keys = ", ".join(index_to_key(int(i)) for i in missing[:3])
            raise Task2SimError(
                f"{origin}: task '{task}' has {len(table)} configs, missing {len(missing)} "
                f"of the {NUM_CONFIGS} (e.g. {keys})",
                "a reward table needs every config for every task",
            )
        names.append(str(task))
        rows.append(row)
    return RewardTable(tuple(names), np.stack(rows))


def load_reward_table(path: Path) -> RewardTable:
    """Read and validate a reward table JSON file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Task2SimError(
            f"reward table {path} not found",
            "make ours with `dvc repro rewards`, or pass a table in reward_db.json's schema",
        ) from None
    except (OSError, ValueError) as exc:
        raise Task2SimError(
            f"reward table {path} is unreadable: {exc}",
            "rebuild it (`dvc repro rewards`) or fix the JSON",
        ) from None
    return parse_reward_table(raw, str(path))


def _mean_of(values: np.ndarray, configs: np.ndarray) -> float:
    return float(values[np.arange(len(values)), configs].mean())


def score_predictions(values: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Mean reward of predicted configs, the oracle, and per-head agreement with each task's best.

    Agreement compares each head's bit with the bit of the task's best set (first best on ties),
    the official 'acc' matrix.
    """
    predicted = np.asarray(predicted, dtype=int)
    oracle = values.argmax(axis=1)
    pred_bits = np.array([index_to_bits(int(i)) for i in predicted])
    best_bits = np.array([index_to_bits(int(i)) for i in oracle])
    agree = pred_bits == best_bits
    n = len(predicted)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    hamming = [int((pred_bits[i] != pred_bits[j]).sum()) for i, j in pairs]
    return {
        "reward": _mean_of(values, predicted),
        "oracle": float(values.max(axis=1).mean()),
        "head_agreement": float(agree.mean()),
        "head_agreement_per_param": dict(
            zip(PARAM_NAMES, agree.mean(axis=0).astype(float).tolist(), strict=True)
        ),
        "mean_hamming_between_predictions": float(np.mean(hamming)) if hamming else 0.0,
        "distinct_predictions": len(set(predicted.tolist())),
    }
