"""What the registry knows of one task, apart from the registry itself: the offline and the paper
task modules both describe their tasks with it, and the registry only collects them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from task2sim.datasets.raw import RawTask
from task2sim.params import TaskEntry

Availability = Literal["offline", "download", "manual"]


@dataclass(frozen=True)
class TaskInfo:
    """A registry entry; `missing()` says why the task can't be prepared here now (None: it can)."""

    name: str
    domain: str
    availability: Availability
    description: str
    load: Callable[[TaskEntry], RawTask]
    missing: Callable[[], str | None]
    classes: int | None = None
    train: int | None = None
    test: int | None = None
    paper_role: Literal["seen", "unseen"] | None = None
