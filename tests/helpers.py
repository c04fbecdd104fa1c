"""What several test modules share: the tiny training recipe, a toy task, the paper's released
files, and fresh DVC projects made from this one. conftest.py builds its fixtures on these."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from task2sim import paper_release
from task2sim.datasets.format import TaskData

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- the paper's released files

PAPER_DIR = Path(os.environ.get("TASK2SIM_PAPER_DIR") or ROOT.parent / "shared" / "paper")
HAVE_PAPER = all((PAPER_DIR / name).is_file() for name in paper_release.ARTIFACTS)
needs_paper = pytest.mark.skipif(
    not HAVE_PAPER,
    reason=f"the paper's released files are not in {PAPER_DIR}: put reward_db.json and the two "
    "task_db .pt files of github.com/samarth4149/task2sim there, or set TASK2SIM_PAPER_DIR",
)

# ---------------------------------------------------------------- the tiny network

# resnet10t at an eighth of its width: trains in a second on one thread.
TINY_RESNET: dict[str, Any] = {"channels": [8, 16, 32, 64], "stem_width": 8}
_TINY_TRAIN: dict[str, Any] = {
    "model": "resnet10t",
    "model_kwargs": TINY_RESNET,
    "image_size": 16,
    "epochs": 1,
    "batch_size": 8,
    "warmup_epochs": 0,
    "threads": 1,
    "num_workers": 0,
}


def tiny_train(**overrides: Any) -> dict[str, Any]:
    """A `sweep.train` / `pretrain.train` recipe for the tiny resnet10t (a fresh copy), with
    `overrides` on top: one epoch of 16 px images, batches of 8, one thread, no warm-up."""
    return copy.deepcopy({**_TINY_TRAIN, **overrides})


# ---------------------------------------------------------------- a toy task


def brightness_task(
    name: str,
    rng: np.random.Generator,
    n: int = 40,
    classes: tuple[str, str] = ("dark", "light"),
) -> TaskData:
    """Two classes of 16 px noise that differ in brightness, half for training and half for
    testing: any backbone separates them a little."""
    labels = np.arange(n) % 2
    images = (rng.integers(0, 80, (n, 16, 16, 3)) + 120 * labels[:, None, None, None]).astype(
        np.uint8
    )
    half = n // 2
    return TaskData(
        name=name,
        train_images=images[:half],
        train_labels=labels[:half].astype(np.int64),
        test_images=images[half:],
        test_labels=labels[half:].astype(np.int64),
        classes=list(classes),
    )


# ---------------------------------------------------------------- fresh DVC projects


def project_params() -> dict[str, Any]:
    """This project's params.yaml, to edit for a test project."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


class DvcProject:
    """A copy of this project's code and DAG in `path`, with commands run in it: `run` for any
    command, `dvc` for `python -m dvc` of this interpreter. Both fail the test on a non-zero
    exit and return stdout and stderr together."""

    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path = path
        self.env = dict(env)

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        result = subprocess.run(
            args, cwd=self.path, env=self.env if env is None else dict(env), capture_output=True,
            text=True,
        )  # fmt: skip
        assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout + result.stderr

    def dvc(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return self.run(sys.executable, "-m", "dvc", *args, env=env)

    def write_params(self, params: Mapping[str, Any], **dump: Any) -> None:
        (self.path / "params.yaml").write_text(yaml.safe_dump(dict(params), **dump))


def new_dvc_project(
    path: Path,
    params: Mapping[str, Any],
    *,
    pipelines: bool = False,
    git: bool = False,
    env: Mapping[str, str] | None = None,
    sort_keys: bool = True,
) -> DvcProject:
    """A fresh DVC project in `path`: this project's src/ and dvc.yaml (and pipelines/ if asked),
    `params` as params.yaml, `dvc init` (in a new git repository with one commit if `git`, else
    with --no-scm). Commands run with this interpreter's bin/ first on PATH, no DVC analytics
    and `env` on top of os.environ (a value of None removes that variable)."""
    shutil.copytree(ROOT / "src", path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    if pipelines:
        shutil.copytree(ROOT / "pipelines", path / "pipelines")
    shutil.copy(ROOT / "dvc.yaml", path)
    merged = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **(env or {}),
    }
    project = DvcProject(path, {k: v for k, v in merged.items() if v is not None})
    project.write_params(params, sort_keys=sort_keys)
    if git:
        project.run("git", "init", "-q")
        for key, value in (("user.name", "tests"), ("user.email", "tests@example.org")):
            project.run("git", "config", key, value)
        project.dvc("init", "-q")
    else:
        project.dvc("init", "--no-scm", "-q")
    project.dvc("config", "core.analytics", "false")
    if git:
        shutil.copytree(ROOT / ".dvc" / "plots", path / ".dvc" / "plots")  # the plot templates
        project.run("git", "add", "-A")  # dvclive reads the commit it runs on
        project.run("git", "commit", "-q", "-m", "test project")
    return project
