"""Which config each method pre-trains on for each task, and the unique configs that makes.

Task2Sim takes the controller's prediction for the task, Domain Randomization config 255, all-off
config 0, and Random a uniform config drawn from (seed, task name) alone, so adding, removing or
reordering tasks never changes another task's draw. Identical configs share one set and backbone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from task2sim.atomic import atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.sim.config import NUM_CONFIGS

FIXED_CONFIGS = {"domain_randomization": NUM_CONFIGS - 1, "all_off": 0}
PREDICTIONS_FIX = "train the controller first: `dvc repro controller`"


@dataclass(frozen=True)
class Plan:
    """methods[method][task] = config index; seen / unseen keep the controller's split."""

    methods: dict[str, dict[str, int]]
    seen: list[str]
    unseen: list[str]

    @property
    def tasks(self) -> list[str]:
        return [*self.seen, *self.unseen]

    @property
    def configs(self) -> list[int]:
        """Every config some method uses, ascending: one set and one backbone each."""
        return sorted({c for per_task in self.methods.values() for c in per_task.values()})

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
) -> Plan:
    """The config of every (method, task); `predictions` is needed only for task2sim."""
    tasks = [*seen, *unseen]
    chosen: dict[str, dict[str, int]] = {}
    for method in methods:
        if method == "task2sim":
            if predictions is None:
                raise Task2SimError("the task2sim method needs the controller's predictions")
            chosen[method] = {t: int(predictions[t]) for t in tasks}
        elif method == "random":
            chosen[method] = {t: random_config(random_seed, t) for t in tasks}
        elif method in FIXED_CONFIGS:
            chosen[method] = dict.fromkeys(tasks, FIXED_CONFIGS[method])
        else:
            raise Task2SimError(
                f"unknown method '{method}'",
                f"final.methods takes task2sim, random, {', '.join(FIXED_CONFIGS)}",
            )
    return Plan(chosen, list(seen), list(unseen))


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
        return Plan(methods, list(raw["seen"]), list(raw["unseen"]))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Task2SimError(f"final plan {path} is damaged ({exc!r})", fix) from None
