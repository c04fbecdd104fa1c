"""Where the project keeps fetched third-party data, raw downloads and rebuildable caches.

The project is the checkout the command runs in (the DVC root above the working directory), never
the checkout the package happens to be installed from: a second clone must not read or write the
first one's data. An experiment workspace that DVC makes inside a checkout's `.dvc/tmp/exps/` is
part of that checkout, so it shares the checkout's fetched data and caches instead of starting
bare. Environment variables override each location.
"""

from __future__ import annotations

import os
from pathlib import Path

EXPERIMENT_WORKSPACES = (".dvc", "tmp", "exps")


def _dvc_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `.dvc` folder (DVC's own rule)."""
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def _enclosing_checkout(root: Path) -> Path:
    """`root` itself, or the checkout whose `.dvc/tmp/exps/` holds it (a DVC experiment)."""
    parts = root.parts
    width = len(EXPERIMENT_WORKSPACES)
    for i in range(len(parts) - width, 0, -1):
        if parts[i : i + width] == EXPERIMENT_WORKSPACES:
            return Path(*parts[:i])
    return root


def project_root() -> Path:
    """TASK2SIM_ROOT, else the DVC root above the working directory, else the working directory."""
    if "TASK2SIM_ROOT" in os.environ:
        return Path(os.environ["TASK2SIM_ROOT"])
    cwd = Path.cwd()
    return _dvc_root(cwd) or cwd


def shared_root() -> Path:
    """The checkout whose fetched data and caches this command uses (see the module docstring)."""
    if "TASK2SIM_ROOT" in os.environ:
        return Path(os.environ["TASK2SIM_ROOT"])
    return _enclosing_checkout(project_root())


def deps_dir() -> Path:
    """Third-party data fetched by scripts/bootstrap.sh (npm packages)."""
    return Path(os.environ.get("TASK2SIM_DEPS", shared_root() / ".deps"))


def raw_dir() -> Path:
    """Downloaded and hand-placed archives of online tasks, kept across `dvc repro` runs."""
    return Path(os.environ.get("TASK2SIM_RAW", shared_root() / "data" / "raw"))


def cache_dir() -> Path:
    """Rebuildable caches (procedural meshes): never pipeline outputs, safe to delete."""
    return Path(os.environ.get("TASK2SIM_CACHE", shared_root() / "data" / "cache"))
