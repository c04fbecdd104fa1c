"""Finished pieces of a stage kept outside its DVC outputs, so a killed stage resumes cheaply.

DVC deletes a stage's outputs before it runs the command, so a stage that builds many sets or
backbones would start from nothing after an interruption. Each piece is therefore built under
`data/final/.work/<kind>/<name>/` next to a fingerprint of everything that decides its bytes
(inputs, params and the source code of the steps that make it); a re-run whose fingerprint
matches links the finished piece into the output instead of rebuilding it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import task2sim

STAMP_SUFFIX = ".fingerprint"


def work_dir(out: Path) -> Path:
    """Where the pieces of output folder `out` are built: `<parent>/.work/<name>/`."""
    out = Path(out)
    return out.parent / ".work" / out.name


def code_digest(*packages: str) -> str:
    """sha256 of the .py files of task2sim sub-packages or modules ('train', 'final/plan')."""
    root = Path(task2sim.__file__).parent
    digest = hashlib.sha256()
    for name in sorted(packages):
        target = root / name
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(entry: Path) -> Path:
    return entry.with_name(entry.name + STAMP_SUFFIX)


def is_built(entry: Path, key: str) -> bool:
    stamp = _stamp(entry)
    return entry.is_dir() and stamp.is_file() and stamp.read_text().strip() == key


def build_once(entry: Path, key: str, build: Callable[[Path], None]) -> bool:
    """Run `build(entry)` unless `entry` already holds the piece fingerprinted `key`.

    `build` must leave `entry` complete or absent (it may keep resumable work beside it).
    Returns True when the finished piece was reused.
    """
    if is_built(entry, key):
        return True
    _stamp(entry).unlink(missing_ok=True)
    shutil.rmtree(entry, ignore_errors=True)
    entry.parent.mkdir(parents=True, exist_ok=True)
    build(entry)
    _stamp(entry).write_text(key + "\n")
    return False


def link_tree(source: Path, target: Path) -> None:
    """Recreate `source` at `target` with hard links (copies across file systems)."""
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def prune(kind_dir: Path, keep: Iterable[str]) -> None:
    """Drop finished pieces, stamps and leftovers whose name is not in `keep`."""
    keep = set(keep)
    if not kind_dir.is_dir():
        return
    for child in kind_dir.iterdir():
        name = child.name.lstrip(".").split(".")[0]
        if name in keep:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
