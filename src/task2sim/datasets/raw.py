"""What a task source yields before the uniform split, and how it becomes a `TaskData`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from task2sim.datasets.format import TaskData
from task2sim.datasets.split import split_per_class


@dataclass
class RawTask:
    """Labelled images from one source; `test_*` only where the source has an official split."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    provenance: dict[str, Any]
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    groups: np.ndarray | None = field(default=None, repr=False)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks (md5 only where upstream publishes md5)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def debian_version(package: str) -> str:
    """The installed version of a Debian package, for a task's provenance."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
        )
    except FileNotFoundError:
        return "unknown (no dpkg)"
    return out.stdout.strip() if out.returncode == 0 else "unknown (not a Debian package here)"


def python_version(dist: str) -> str | None:
    """The installed version of a Python distribution, None when it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def sha256_tree(paths: list[Path], root: Path) -> str:
    """One digest over many files: their paths relative to `root` and their contents."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(Path(path).relative_to(root)).encode("utf-8") + b"\0")
        digest.update(bytes.fromhex(sha256_file(path)))
    return digest.hexdigest()


def to_task(name: str, raw: RawTask, test_fraction: float, split_seed: int) -> TaskData:
    """Apply the official split if the source has one, else a seeded per-class split."""
    provenance = dict(raw.provenance)
    if raw.test_images is not None and raw.test_labels is not None:
        train_images, train_labels = raw.images, raw.labels
        test_images, test_labels = raw.test_images, raw.test_labels
        provenance["split"] = "official"
    else:
        train_idx, test_idx = split_per_class(
            raw.labels, test_fraction, split_seed, raw.groups, raw.classes
        )
        train_images, train_labels = raw.images[train_idx], raw.labels[train_idx]
        test_images, test_labels = raw.images[test_idx], raw.labels[test_idx]
        provenance["split"] = {
            "kind": "per-class" if raw.groups is None else "per-class, by group",
            "test_fraction": test_fraction,
            "seed": split_seed,
        }
    return TaskData(
        name=name,
        train_images=np.ascontiguousarray(train_images, dtype=np.uint8),
        train_labels=np.asarray(train_labels, dtype=np.int64),
        test_images=np.ascontiguousarray(test_images, dtype=np.uint8),
        test_labels=np.asarray(test_labels, dtype=np.int64),
        classes=list(raw.classes),
        meta=provenance,
    )
