"""The picks Task2Sim has to beat, each read from a reward table and the seen tasks alone.

- best fixed: the one config with the best mean reward over the seen tasks;
- additive: the optimum of a main + two-way model fitted to the seen tasks' mean reward, a
  non-adaptive pick that smooths the table's noise (on the paper's table: c092);
- nearest task: each task takes the best config of the seen task nearest to it by the Task2Vec
  paper's normalised cosine distance (a seen task never counts as its own neighbour);
- oracle: each task's own best config, an upper bound no method can see in advance.

None of them reads an unseen task's rewards except the oracle, which is marked as a bound.
"""

from __future__ import annotations

import numpy as np

from task2sim.errors import Task2SimError
from task2sim.reward_table import ALL_OFF, DOMAIN_RANDOMIZATION, RewardTable
from task2sim.sim.config import NUM_CONFIGS, index_to_key
from task2sim.stats.factorial import fit_two_way
from task2sim.task2vec.distance import normalized_cosine

TABLE_METHODS = ("best_fixed", "additive", "nearest_task", "oracle")


def best_fixed(table: RewardTable, seen: list[str]) -> int:
    """The config with the highest mean reward over `seen` (the lowest index on a tie)."""
    return int(table.rows(seen).mean(axis=0).argmax())


def additive_optimum(table: RewardTable, seen: list[str]) -> int:
    """argmax over all 256 configs of a main + two-way model of the seen tasks' mean reward."""
    mean = table.rows(seen).mean(axis=0)
    fit = fit_two_way(range(NUM_CONFIGS), mean)
    return int(np.argmax(fit.predict(range(NUM_CONFIGS))))


def nearest_seen(vectors: dict[str, np.ndarray], seen: list[str], task: str) -> str:
    """The seen task (other than `task`) nearest to `task` by normalised cosine distance."""
    candidates = [t for t in seen if t != task]
    if not candidates:
        raise Task2SimError(
            f"no seen task other than '{task}' to take a config from",
            "list two or more tasks in controller.seen",
        )
    missing = [t for t in [task, *candidates] if t not in vectors]
    if missing:
        raise Task2SimError(
            f"no Task2Vec vector for {', '.join(missing)}",
            "run `dvc repro task2vec` for those tasks",
        )
    distances = [normalized_cosine(vectors[task], vectors[t]) for t in candidates]
    return candidates[int(np.argmin(distances))]


def table_picks(
    method: str,
    table: RewardTable,
    seen: list[str],
    tasks: list[str],
    vectors: dict[str, np.ndarray] | None = None,
) -> dict[str, int]:
    """{task: config} of one of TABLE_METHODS for every task in `tasks`."""
    if method == "best_fixed":
        return dict.fromkeys(tasks, best_fixed(table, seen))
    if method == "additive":
        return dict.fromkeys(tasks, additive_optimum(table, seen))
    if method == "oracle":
        return {t: int(table.rows([t])[0].argmax()) for t in tasks}
    if method == "nearest_task":
        if vectors is None:
            raise Task2SimError("the nearest_task method needs the tasks' Task2Vec vectors")
        best = {t: int(table.rows([t])[0].argmax()) for t in seen}
        return {t: best[nearest_seen(vectors, seen, t)] for t in tasks}
    raise Task2SimError(
        f"unknown reward-table method '{method}'", f"use {', '.join(TABLE_METHODS)}"
    )


def nearest_tasks(
    vectors: dict[str, np.ndarray], seen: list[str], tasks: list[str]
) -> dict[str, str]:
    """{task: its nearest other seen task}, for reports."""
    return {t: nearest_seen(vectors, seen, t) for t in tasks}


def fixed_config_row(
    table: RewardTable, seen: list[str], unseen: list[str], config: int, what: str
) -> dict:
    """One config used for every task: its seen / unseen mean reward %, with its key."""
    return {
        "config": config,
        "key": index_to_key(config),
        "what": what,
        "seen": float(table.rows(seen)[:, config].mean()),
        "unseen": float(table.rows(unseen)[:, config].mean()),
    }


def baselines(table: RewardTable, seen: list[str], unseen: list[str]) -> dict[str, dict]:
    """Reward-table baselines, seen / unseen mean % (SPEC §4; 'Random' is the 256-set mean)."""
    s, u = table.rows(seen), table.rows(unseen)
    rows = {
        "domain_randomization": (DOMAIN_RANDOMIZATION, "all 8 parameters randomized"),
        "all_off": (ALL_OFF, "no parameter randomized"),
        "best_fixed_on_seen": (
            best_fixed(table, seen),
            "the one set best on average over the seen tasks",
        ),
    }
    out = {
        name: fixed_config_row(table, seen, unseen, index, what)
        for name, (index, what) in rows.items()
    }
    out["random"] = {
        "what": "expected reward of a uniformly random set per task",
        "seen": float(s.mean()),
        "unseen": float(u.mean()),
    }
    out["oracle"] = {
        "what": "each task's best set (upper bound)",
        "seen": float(s.max(axis=1).mean()),
        "unseen": float(u.max(axis=1).mean()),
    }
    return out
