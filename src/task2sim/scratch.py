"""Where unfinished work lives: a scratch folder that no finished output can ever contain.

A temporary file beside its target lands inside whatever folder holds the target, and that folder
is often an output itself (`data/tasks` is a dependency of every sweep stage; an image set's shards
sit in the set). So temporaries live in one scratch folder instead, always on the target's
filesystem so that the final rename is atomic: `.dvc/tmp/task2sim` inside a DVC project (git- and
DVC-ignored); elsewhere the system's temporary folder when it is on the same filesystem, else a
hidden `.task2sim-tmp` at the top of the target's filesystem that we may write. Names carry the
writer's PID, and entries of dead writers are removed the first time a process uses the folder, so
a `kill -9` leaves nothing that outlives the next run. Resumable work (`partial_dir`) has no PID
and stays until its job finishes.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from task2sim.paths import project_root

log = logging.getLogger(__name__)

SCRATCH_NAME = ".task2sim-tmp"
DVC_SCRATCH = Path(".dvc") / "tmp" / "task2sim"
# `<anything>.<pid>-<n>.tmp`: one writer's temporary; the PID says whether the writer still lives.
_OWNED = re.compile(r"\.(\d+)-\d+\.tmp$")
# What earlier versions left beside a target: `.<name>.tmp-<pid>` and `.<name>.old-<pid>`.
_LEGACY = re.compile(r"^\..+\.(?:tmp|old)-(\d+)$")

_counter = itertools.count()
_swept: set[Path] = set()


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree at `path` (nothing there is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale(folder: Path, pattern: re.Pattern[str] = _OWNED) -> list[Path]:
    """Delete the entries of `folder` that `pattern` marks as temporaries of dead processes."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.search(entry.name)
        if match and not pid_alive(int(match.group(1))):
            remove_path(entry)
            removed.append(entry)
    if removed:
        log.info("removed %d stale temporary file(s) of killed runs in %s", len(removed), folder)
    return removed


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _system_scratch() -> Path:
    """Scratch for targets outside a DVC project: TASK2SIM_SCRATCH, else in the system's tmp."""
    if os.environ.get("TASK2SIM_SCRATCH"):
        return Path(os.path.abspath(os.environ["TASK2SIM_SCRATCH"]))
    return Path(tempfile.gettempdir()) / f"task2sim-scratch-{os.getuid()}"


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _top_of_device(folder: Path, within: Path | None = None) -> Path:
    """The highest writable folder above `folder` on its filesystem (inside `within`, if given)."""
    device = os.stat(folder).st_dev
    chain = [folder]
    for parent in folder.parents:
        if os.stat(parent).st_dev != device or (within is not None and not _inside(parent, within)):
            break
        chain.append(parent)
    return next((f for f in reversed(chain) if _writable(f)), folder)


def _choose_root(target: Path) -> Path:
    project = Path(os.path.abspath(project_root()))
    device = os.stat(target.parent).st_dev
    system = _system_scratch()
    for folder in target.parents:  # work inside a scratch folder (a partial) stays in that one
        if folder.name == SCRATCH_NAME or folder in (system, project / DVC_SCRATCH):
            return folder
    if (project / ".dvc").is_dir() and _inside(target, project):
        root = project / DVC_SCRATCH
        root.mkdir(parents=True, exist_ok=True)
        if os.stat(root).st_dev == device:
            return root
        return _top_of_device(target.parent, within=project) / SCRATCH_NAME  # a mounted data/
    system.parent.mkdir(parents=True, exist_ok=True)
    if _writable(system.parent) and os.stat(system.parent).st_dev == device:
        return system
    return _top_of_device(target.parent) / SCRATCH_NAME


def scratch_root(target: Path) -> Path:
    """The scratch folder for writing `target` (created; stale entries of dead writers removed)."""
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    root = _choose_root(target)
    root.mkdir(parents=True, exist_ok=True)
    if root not in _swept:
        _swept.add(root)
        remove_stale(root)
    if target.parent not in _swept:
        _swept.add(target.parent)
        remove_stale(target.parent, _LEGACY)
    return root


def temp_path(target: Path) -> Path:
    """A fresh path in the scratch folder to build `target` at before renaming it into place."""
    name = Path(target).name or "out"
    return scratch_root(target) / f"{name}.{os.getpid()}-{next(_counter)}.tmp"


def _digest(target: Path) -> str:
    """A short key of an absolute target path, for names that must stay one per target."""
    return hashlib.sha256(str(target).encode()).hexdigest()[:12]


def partial_dir(target: Path) -> Path:
    """Where resumable work towards `target` is kept between runs (one per absolute target).

    A target inside another writer's temporary folder cannot be resumed once that writer is gone,
    so its partial folder carries that writer's PID and is swept with its other temporaries.
    """
    target = Path(os.path.abspath(target))
    digest = _digest(target)
    owner = next((m for m in map(_OWNED.search, target.parts) if m), None)
    suffix = f".{owner.group(1)}-0.tmp" if owner else ""
    return scratch_root(target) / f"{target.name}-{digest}.partial{suffix}"


def lock_path(target: Path) -> Path:
    """The lock file that one writer of `target` holds while it works."""
    target = Path(os.path.abspath(target))
    digest = _digest(target)
    folder = scratch_root(target) / "locks"
    folder.mkdir(exist_ok=True)
    return folder / f"{target.name}-{digest}.lock"
