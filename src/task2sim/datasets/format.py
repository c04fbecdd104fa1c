"""The one on-disk format every downstream task is stored in (`data/tasks/<task>/`).

A task directory holds a handful of files, never one file per image (DVC slows badly with many):
`train_images.npy` / `test_images.npy` (uint8, N x H x W x C, C = 1 or 3), `train_labels.npy` /
`test_labels.npy` (int64), `classes.json` (class names in label order), `meta.json` (what made it).
Plain `.npy` keeps the bytes deterministic and lets readers memory-map the images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from task2sim.atomic import atomic_dir
from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, meta_has

FORMAT_VERSION = 1
ARRAY_FILES = ("train_images.npy", "train_labels.npy", "test_images.npy", "test_labels.npy")
TASK_FILES = (*ARRAY_FILES, "classes.json", "meta.json")
PREPARED_TASK = OutputKind("prepared task", meta_has("format_version", "name", "counts"))


@dataclass
class TaskData:
    """A downstream classification task: fixed train/test split of uint8 images with labels."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])  # type: ignore[return-value]

    def validate(self) -> None:
        """Check the invariants every consumer relies on; raise naming the broken one."""
        where = f"task '{self.name}'"
        if len(self.classes) < 2:
            raise Task2SimError(
                f"{where} has {len(self.classes)} class(es); a classification task needs 2 or more",
                "add image folders for more classes",
            )
        if len({c.casefold() for c in self.classes}) != len(self.classes):
            raise Task2SimError(f"{where} has duplicate class names: {self.classes}")
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
                raise Task2SimError(
                    f"{where}: {split} images must be uint8 N x H x W x C with C in (1, 3), "
                    f"got {images.dtype} {images.shape}"
                )
            if labels.dtype != np.int64 or labels.shape != (images.shape[0],):
                raise Task2SimError(
                    f"{where}: {split} labels must be int64 of shape ({images.shape[0]},), "
                    f"got {labels.dtype} {labels.shape}"
                )
            if len(labels) == 0:
                raise Task2SimError(f"{where}: the {split} split is empty")
            if labels.min() < 0 or labels.max() >= len(self.classes):
                raise Task2SimError(
                    f"{where}: {split} labels out of range 0..{len(self.classes) - 1}"
                )
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise Task2SimError(
                f"{where}: train and test images differ in shape "
                f"({self.train_images.shape[1:]} vs {self.test_images.shape[1:]})"
            )
        missing = sorted(set(range(len(self.classes))) - set(np.unique(self.train_labels).tolist()))
        if missing:
            names = [self.classes[i] for i in missing]
            raise Task2SimError(f"{where}: classes with no training image: {names}")

    def counts(self) -> dict[str, Any]:
        """Per-split and per-class image counts, for meta.json and reports."""
        per_class = {
            split: np.bincount(
                getattr(self, f"{split}_labels"), minlength=len(self.classes)
            ).tolist()
            for split in ("train", "test")
        }
        return {
            "classes": len(self.classes),
            "train": len(self.train_labels),
            "test": len(self.test_labels),
            "per_class": per_class,
        }


def save_task(task: TaskData, out_dir: Path, force: bool = False) -> None:
    """Validate `task` and write it to `out_dir` atomically (a crash leaves the old one intact);
    an existing `out_dir` must be an earlier prepared task unless `force`."""
    task.validate()
    meta = {
        **task.meta,
        "format_version": FORMAT_VERSION,
        "name": task.name,
        "image_shape": list(task.image_shape),
        "counts": task.counts(),
    }
    arrays = (task.train_images, task.train_labels, task.test_images, task.test_labels)
    needed = sum(int(np.asarray(array).nbytes) for array in arrays)
    with atomic_dir(Path(out_dir), PREPARED_TASK, force, needed) as tmp:
        np.save(tmp / "train_images.npy", np.ascontiguousarray(task.train_images))
        np.save(tmp / "train_labels.npy", task.train_labels)
        np.save(tmp / "test_images.npy", np.ascontiguousarray(task.test_images))
        np.save(tmp / "test_labels.npy", task.test_labels)
        for name, obj in (("classes.json", task.classes), ("meta.json", meta)):
            text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            (tmp / name).write_text(text, encoding="utf-8")


def load_task(task_dir: Path, mmap: bool = True) -> TaskData:
    """Read a task directory written by `save_task`; memory-maps the image arrays by default."""
    task_dir = Path(task_dir)
    name = task_dir.name
    missing = [f for f in TASK_FILES if not (task_dir / f).is_file()]
    if missing:
        raise Task2SimError(
            f"task directory {task_dir} is missing {', '.join(missing)}",
            f"build it with `dvc repro prepare@{name}` (or `task2sim prepare {name}`)",
        )
    try:
        arrays = {
            f[:-4]: np.load(task_dir / f, mmap_mode="r" if mmap else None, allow_pickle=False)
            for f in ARRAY_FILES
        }
        classes = json.loads((task_dir / "classes.json").read_text(encoding="utf-8"))
        meta = json.loads((task_dir / "meta.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise Task2SimError(
            f"task directory {task_dir} is corrupt ({exc})",
            f"delete it and rebuild with `dvc repro prepare@{name}`",
        ) from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise Task2SimError(
            f"task directory {task_dir} has format version {meta.get('format_version')}, "
            f"this code reads version {FORMAT_VERSION}",
            f"rebuild it with `dvc repro prepare@{name}`",
        )
    task = TaskData(name=meta.get("name", name), classes=classes, meta=meta, **arrays)
    task.validate()
    return task
