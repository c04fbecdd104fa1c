"""Write outputs at a scratch path, then rename into place: no reader ever sees a partial one.

The scratch path lies outside every output (see `task2sim.scratch`), so a killed writer leaves
nothing inside a finished folder; an existing output folder is replaced only when it is an
earlier output of the same kind (see `task2sim.outputs`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, check_replaceable, output_lock
from task2sim.scratch import remove_path, temp_path

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _out_of_space(exc: OSError) -> bool:
    """ENOSPC / EDQUOT, or numpy's short write (`tofile` reports a full disk without errno)."""
    return exc.errno in _NO_SPACE or (exc.errno is None and "requested and" in str(exc))


class DiskFull(Task2SimError):
    """A write ran out of space; says which output, what it needs and what is free."""

    def __init__(self, target: Path, needed: str) -> None:
        folder = Path(os.path.abspath(target)).parent
        while not folder.exists():
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        super().__init__(
            f"no space left on the device for {target}: it needs {needed}, "
            f"and {_megabytes(free)} is free there",
            "free some space on that filesystem, or write the output somewhere else (--out)",
        )


@contextlib.contextmanager
def space_for(
    target: Path, needed: int | None = None, written: Path | None = None
) -> Iterator[None]:
    """Report running out of space as a `DiskFull` about `target` as a whole: `needed` bytes
    when known, else more than what `written` already holds."""
    try:
        yield
    except (OSError, DiskFull) as exc:
        if isinstance(exc, OSError) and not _out_of_space(exc):
            raise
        if needed is not None:
            what = f"about {_megabytes(needed)}"
        elif written is not None and written.exists():
            what = f"more than the {_megabytes(_tree_size(written))} written when it ran out"
        else:
            what = "more space than is free"
        raise DiskFull(target, what) from None


@contextlib.contextmanager
def atomic_dir(
    final: Path, kind: OutputKind, force: bool = False, needed: int | None = None
) -> Iterator[Path]:
    """Yield an empty scratch folder that replaces `final` only if the block succeeds.

    An existing `final` must be an earlier output of `kind` (or `force` be set); that is checked
    before the block runs, so a refusal costs no work. One process at a time may write `final`.
    `needed` (bytes, if known) is what a full disk is reported to need.
    """
    final = Path(final)
    check_replaceable(final, kind, force)
    with output_lock(final):
        tmp = temp_path(final)
        tmp.mkdir()
        try:
            with space_for(final, needed, tmp):
                yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        move_dir_into_place(tmp, final, kind, force)


def move_dir_into_place(ready: Path, final: Path, kind: OutputKind, force: bool = False) -> None:
    """Rename the finished folder `ready` to `final`, replacing an earlier output of `kind`."""
    final = Path(final)
    check_replaceable(final, kind, force)
    old = None
    if final.exists() or final.is_symlink():
        old = temp_path(final)
        final.rename(old)
    ready.rename(final)
    if old is not None:
        remove_path(old)


def _write_via_scratch(path: Path, write: Any, needed: int) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with space_for(path, needed), open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a scratch file: a killed writer leaves no partial file."""
    _write_via_scratch(path, lambda handle: handle.write(data), len(data))


def atomic_save_npy(path: Path, array: Any) -> None:
    """`np.save` through a scratch file: a killed writer leaves no truncated array behind."""
    import numpy as np

    _write_via_scratch(
        path, lambda handle: np.save(handle, array, allow_pickle=False), int(array.nbytes) + 128
    )


def atomic_write_json(path: Path, obj: Any, sort_keys: bool = True) -> None:
    """Write `obj` as stable, human-readable JSON through a scratch file (keys sorted, unless
    their order means something, as in a reward table's config order)."""
    text = json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    atomic_write_bytes(Path(path), text.encode("utf-8"))
