"""Output folders a command may replace, and one writer per output at a time.

A command replaces an existing output folder only when it recognises the folder as an earlier
output of the same kind (its own meta file says so), or when the user passes `--force`: anything
else at that path is the user's data and is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from task2sim.errors import Task2SimError
from task2sim.scratch import lock_path


@dataclass(frozen=True)
class OutputKind:
    """A kind of output folder and how to recognise one: a test on the folder itself."""

    name: str
    recognise: Callable[[Path], bool]


def read_json(path: Path) -> Any:
    """The JSON at `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def meta_has(*keys: str, meta_file: str = "meta.json") -> Callable[[Path], bool]:
    """Recognise a folder whose meta file is a JSON object with all of `keys`."""

    def recognise(folder: Path) -> bool:
        meta = read_json(folder / meta_file)
        return isinstance(meta, dict) and set(keys) <= set(meta)

    return recognise


def folder_of(kind: OutputKind) -> OutputKind:
    """A folder whose every visible entry is an output of `kind` (e.g. a folder of image sets)."""

    def recognise(folder: Path) -> bool:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
        return all(p.is_dir() and not p.is_symlink() and kind.recognise(p) for p in entries)

    return OutputKind(f"folder of {kind.name}s", recognise)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def check_replaceable(final: Path, kind: OutputKind, force: bool = False) -> None:
    """Refuse, before any work, to write `final` over something that is not an earlier output."""
    final = Path(final)
    if not final.exists() and not final.is_symlink():
        return
    if force or _is_empty_dir(final):
        return
    if final.is_dir() and not final.is_symlink() and kind.recognise(final):
        return
    what = "a file" if not final.is_dir() or final.is_symlink() else "a folder"
    raise Task2SimError(
        f"{final} is {what} that is not an earlier {kind.name} output; refusing to replace it",
        "pass --force to replace it, or choose another output path",
    )


@contextlib.contextmanager
def output_lock(final: Path) -> Iterator[None]:
    """Hold the one writer's lock of `final`; a second writer is refused, naming the first."""
    path = lock_path(final)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise Task2SimError(
                f"{final} is being written by {holder} right now",
                "wait for that run to finish, or choose another output path",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"task2sim process {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
