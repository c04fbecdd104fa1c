"""Shared fixtures: small ImageFolders made on the fly, so tests need no data files; a private
download cache, one torch thread, fresh DVC projects. Constants and helpers are in helpers.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import DvcProject, new_dvc_project
from loopback import FileServer

# Commands that tests start run cold, so no warm server outlives the suite; test_warm.py turns
# it on for its own calls, with a private socket folder.
os.environ.setdefault("TASK2SIM_WARM", "0")


# The longest tests, started first when pytest-xdist runs the suite (`-n 2 --dist worksteal`): one
# worker takes them while the others work through, and steal, the rest.
LONGEST_FIRST = ("tests/test_dag_smoke.py::",)


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker collects, in the same order
        items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))


@pytest.fixture(scope="session", autouse=True)
def _suite_scratch(tmp_path_factory) -> Iterator[None]:
    """Temporaries of outputs outside a DVC project go to the suite's own scratch area."""
    before = os.environ.get("TASK2SIM_SCRATCH")
    os.environ["TASK2SIM_SCRATCH"] = str(tmp_path_factory.mktemp("suite-scratch"))
    yield
    if before is None:
        os.environ.pop("TASK2SIM_SCRATCH", None)
    else:
        os.environ["TASK2SIM_SCRATCH"] = before


def write_image(
    path: Path, mode: str = "RGB", size: tuple[int, int] = (20, 16), seed: int = 0
) -> Path:
    """Write a random image in the given PIL mode (RGB, L, LA, RGBA, P, I;16, CMYK)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    if mode == "P":
        image = rgb.convert("P", palette=Image.Palette.ADAPTIVE)
        image.info["transparency"] = 0
    elif mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, (size[1], size[0]), dtype=np.uint16))
    else:
        image = rgb.convert(mode)
    suffix = ".jpg" if mode == "CMYK" else path.suffix
    target = path.with_suffix(suffix)
    image.save(target)
    return target


@pytest.fixture
def make_imagefolder(tmp_path: Path) -> Callable[..., Path]:
    """Build ROOT/<class>/<i>.png with `per_class` images for each class name."""

    def make(
        classes: dict[str, int] | None = None, root: Path | None = None, mode: str = "RGB"
    ) -> Path:
        root = root or tmp_path / "folder"
        for c, (name, count) in enumerate((classes or {"cat": 6, "dog": 6, "owl": 6}).items()):
            for i in range(count):
                write_image(root / name / f"{i:03d}.png", mode, seed=100 * c + i)
        return root

    return make


@pytest.fixture
def server() -> Iterator[FileServer]:
    """A file server on 127.0.0.1 (a free port), stopped after the test."""
    running = FileServer().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """TASK2SIM_CACHE in the suite's own temporary folder, shared by the tests that use it."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("TASK2SIM_CACHE", str(cache))
    return cache


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Small tensor ops on 2 threads of a busy machine run up to ~100x slower than on one, and one
    thread fixes the bits."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def dvc_project(tmp_path: Path) -> Callable[..., DvcProject]:
    """`dvc_project(params, **options)`: a fresh DVC project in tmp_path/repo (helpers.py's
    new_dvc_project), to run `dvc` and other commands in."""

    def make(params: dict, **options) -> DvcProject:
        return new_dvc_project(tmp_path / "repo", params, **options)

    return make
