"""Which config each method pre-trains on for each task, and the backbones that makes.

Task2Sim takes the controller's prediction for the task, Domain Randomization config 255, all-off
config 0, and Random a uniform config drawn from (seed, task name) alone, so adding, removing or
reordering tasks never changes another task's draw. Best fixed, additive, nearest task and oracle
are read from the reward table (`controller.baselines`). Identical configs share one set; every
set gets one backbone per pre-training seed (`final.seeds`), named `cNNN_sS`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from task2sim.atomic import atomic_write_json
from task2sim.controller.baselines import TABLE_METHODS, nearest_tasks, table_picks
from task2sim.errors import Task2SimError
from task2sim.reward_table import RewardTable
from task2sim.sim.config import NUM_CONFIGS, stage_name

FIXED_CONFIGS = {"domain_randomization": NUM_CONFIGS - 1, "all_off": 0}
PREDICTIONS_FIX = "train the controller first: `dvc repro controller`"


def backbone_name(config: int, seed: int) -> str:
    """The folder of config `config`'s backbone pre-trained with seed `seed`: `c092_s1`."""
    return f"{stage_name(config)}_s{seed}"


@dataclass(frozen=True)
class Plan:
    """methods[method][task] = config index; seen / unseen keep the controller's split; every
    config is pre-trained once per seed; `notes` says how the table-read methods chose."""

    methods: dict[str, dict[str, int]]
    seen: list[str]
    unseen: list[str]
    seeds: list[int] = field(default_factory=lambda: [0])
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def tasks(self) -> list[str]:
        return [*self.seen, *self.unseen]

    @property
    def configs(self) -> list[int]:
        """Every config some method uses, ascending: one set and one backbone each."""
        return sorted({c for per_task in self.methods.values() for c in per_task.values()})

    @property
    def backbones(self) -> list[tuple[int, int]]:
        """Every (config, seed) to pre-train, config-major."""
        return [(c, s) for c in self.configs for s in self.seeds]

    def tasks_of(self, config: int) -> list[str]:
        """The tasks whose method picked `config`, in plan order: each evaluated once."""
        used = {t for per_task in self.methods.values() for t, c in per_task.items() if c == config}
        return [t for t in self.tasks if t in used]

    def to_json(self) -> dict:
        return {
            "methods": self.methods,
            "configs": self.configs,
            "seen": self.seen,
            "unseen": self.unseen,
            "seeds": self.seeds,
            "notes": self.notes,
        }


def random_config(seed: int, task: str) -> int:
    """A uniform config in 0..255 from (seed, task): stable across runs, machines, task order."""
    digest = hashlib.sha256(f"task2sim-random:{seed}:{task}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % NUM_CONFIGS


def load_predictions(path: Path, tasks: list[str]) -> dict[str, int]:
    """task -> predicted config from the controller's predictions.json, for each of `tasks`."""
    path = Path(path)
    if not path.is_file():
        raise Task2SimError(f"controller predictions {path} not found", PREDICTIONS_FIX)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(
            f"controller predictions {path} are unreadable ({exc})", PREDICTIONS_FIX
        ) from None
    if not isinstance(raw, dict):
        raise Task2SimError(f"{path} must map task names to predictions", PREDICTIONS_FIX)
    missing = [t for t in tasks if t not in raw]
    if missing:
        raise Task2SimError(
            f"{path} has no prediction for {', '.join(missing)}",
            "re-run the controller with these tasks in controller.seen / controller.unseen: "
            "`dvc repro controller`",
        )
    out = {}
    for task in tasks:
        entry = raw[task]
        config = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(config, bool) or not isinstance(config, int) or not 0 <= config < NUM_CONFIGS:
            raise Task2SimError(
                f"{path}: task '{task}' has no config index in 0..{NUM_CONFIGS - 1} "
                f"(got {config!r})",
                PREDICTIONS_FIX,
            )
        out[task] = config
    return out


def build_plan(
    methods: list[str],
    seen: list[str],
    unseen: list[str],
    random_seed: int,
    predictions: dict[str, int] | None = None,
    seeds: list[int] | None = None,
    table: RewardTable | None = None,
    vectors: dict[str, np.ndarray] | None = None,
) -> Plan:
    """The config of every (method, task); `predictions` is needed only for task2sim, `table`
    for the reward-table methods, `vectors` (Task2Vec) for nearest_task."""
    tasks = [*seen, *unseen]
    chosen: dict[str, dict[str, int]] = {}
    notes: dict[str, object] = {}
    for method in methods:
        if method == "task2sim":
            if predictions is None:
                raise Task2SimError("the task2sim method needs the controller's predictions")
            chosen[method] = {t: int(predictions[t]) for t in tasks}
        elif method == "random":
            chosen[method] = {t: random_config(random_seed, t) for t in tasks}
        elif method in FIXED_CONFIGS:
            chosen[method] = dict.fromkeys(tasks, FIXED_CONFIGS[method])
        elif method in TABLE_METHODS:
            if table is None:
                raise Task2SimError(
                    f"the {method} method needs the reward table", "`dvc repro rewards`"
                )
            chosen[method] = table_picks(method, table, list(seen), tasks, vectors)
            if method == "nearest_task":
                notes["nearest_task"] = nearest_tasks(vectors or {}, list(seen), tasks)
        else:
            raise Task2SimError(
                f"unknown method '{method}'",
                f"final.methods takes task2sim, random, {', '.join(FIXED_CONFIGS)}, "
                f"{', '.join(TABLE_METHODS)}",
            )
    return Plan(chosen, list(seen), list(unseen), list(seeds or [0]), notes)


def write_plan(plan: Plan, path: Path) -> None:
    atomic_write_json(path, plan.to_json())


def read_plan(path: Path) -> Plan:
    """The plan `final-sets` wrote; a clear error if it is missing or damaged."""
    path = Path(path)
    fix = "write it first: `dvc repro final_sets` (or `task2sim final-sets`)"
    if not path.is_file():
        raise Task2SimError(f"final plan {path} not found", fix)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        methods = {m: {t: int(c) for t, c in per.items()} for m, per in raw["methods"].items()}
        seeds = [int(s) for s in raw["seeds"]]
        return Plan(methods, list(raw["seen"]), list(raw["unseen"]), seeds, raw.get("notes", {}))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Task2SimError(f"final plan {path} is damaged ({exc!r})", fix) from None
