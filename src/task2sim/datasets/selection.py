"""Which of params.yaml's tasks a command was asked for (`prepare`, `task2vec`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.params import Params


def selected_tasks(
    params: Params, names: Sequence[str], every: bool, params_path: Path, command: str
) -> list[str]:
    """Every task of `params` when `every` (--all), else `names`, each of which must be one."""
    chosen = list(params.tasks) if every else list(names)
    if not chosen:
        raise Task2SimError(
            f"`task2sim {command}` needs a task name", f"e.g. `task2sim {command} digits`, or --all"
        )
    unknown = [n for n in chosen if n not in params.tasks]
    if unknown:
        raise Task2SimError(
            f"{params_path} has no task named {', '.join(unknown)}",
            f"add it under `tasks:` in {params_path} (known: {', '.join(params.tasks)})",
        )
    return chosen
