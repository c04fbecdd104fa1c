"""Shared fixtures: small ImageFolders made on the fly, so tests need no data files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loopback import FileServer

# Commands that tests start run cold, so no warm server outlives the suite; test_warm.py turns
# it on for its own calls, with a private socket folder.
os.environ.setdefault("TASK2SIM_WARM", "0")


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
