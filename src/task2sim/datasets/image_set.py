"""Packed image sets: a few `.npy` shards plus `meta.json`, never one file per image.

DVC slows badly with many small files, so a rendered set is stored as shards of N images each
(`shard_00000.images.npy`: uint8 N x S x S x 3, `shard_00000.labels.npy`: int64 N) and a meta file
naming the config, the classes and what produced it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, meta_has

SET_FORMAT_VERSION = 1
IMAGE_SET = OutputKind("image set", meta_has("format_version", "shards", "images", "classes"))


def shard_paths(root: Path, shard: int) -> tuple[Path, Path]:
    """(images, labels) files of shard number `shard`."""
    return root / f"shard_{shard:05d}.images.npy", root / f"shard_{shard:05d}.labels.npy"


def read_shard(
    root: Path, shard: int, expected: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Memory-mapped (images, labels) of one shard; a clear error if it is missing or damaged."""
    images_path, labels_path = shard_paths(root, shard)
    try:
        images = np.load(images_path, mmap_mode="r")
        labels = np.load(labels_path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise Task2SimError(
            f"shard {shard} of the image set {root} is missing or damaged ({exc})",
            "re-render it: `dvc repro` (or delete the set folder and run again)",
        ) from None
    ok = images.ndim == 4 and images.dtype == np.uint8 and labels.shape == images.shape[:1]
    if not ok or (expected is not None and len(labels) != expected):
        raise Task2SimError(
            f"shard {shard} of {root} has images {images.shape} {images.dtype} and labels "
            f"{labels.shape}, not the {expected} images its set expects",
            "re-render it: `dvc repro` (or delete the set folder and run again)",
        )
    return images, labels


@dataclass(frozen=True)
class ImageSet:
    root: Path
    meta: dict

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def shard_sizes(self) -> list[int]:
        return list(self.meta["shards"])

    def __len__(self) -> int:
        return sum(self.shard_sizes)

    def shard(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return read_shard(self.root, k, self.shard_sizes[k])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images and labels in memory, in image order."""
        parts = [self.shard(k) for k in range(len(self.shard_sizes))]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]).astype(np.int64),
        )


def load_image_set(root: Path | str) -> ImageSet:
    root = Path(root)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise Task2SimError(
            f"{root} is not a rendered image set (no meta.json)",
            "render it first, e.g. `dvc repro render@c255` or `task2sim render 255 --out DIR`",
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Task2SimError(f"{meta_path} is not valid JSON ({exc})", "re-render the set") from None
    if meta.get("format_version") != SET_FORMAT_VERSION:
        raise Task2SimError(
            f"{root} has set format {meta.get('format_version')}, this code reads "
            f"{SET_FORMAT_VERSION}",
            "re-render the set with this version (`dvc repro`)",
        )
    return ImageSet(root, meta)
