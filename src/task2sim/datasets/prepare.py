"""The `prepare@<task>` stage: any task source → `data/tasks/<task>/` in the uniform format."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from task2sim import __version__
from task2sim.datasets.format import PREPARED_TASK, TaskData, save_task
from task2sim.datasets.imagefolder import entry_from_cli, load_imagefolder
from task2sim.datasets.raw import RawTask, to_task
from task2sim.datasets.registry import get_task
from task2sim.outputs import check_replaceable
from task2sim.params import PrepareParams, TaskEntry


def load_raw(entry: TaskEntry) -> RawTask:
    """Read the task's images from its source (registry entry or a user's ImageFolder)."""
    if entry.source == "imagefolder":
        assert entry.path is not None  # enforced by TaskEntry
        return load_imagefolder(Path(entry.path), entry.size, entry.resize, entry.skip_non_images)
    raw = get_task(entry.source).load(entry)
    if entry.size is not None:
        raw.images = resize_all(raw.images, entry.size)
        if raw.test_images is not None:
            raw.test_images = resize_all(raw.test_images, entry.size)
    return raw


def resize_all(images: np.ndarray, size: int) -> np.ndarray:
    """Resize square uint8 images (N x H x W x C) to size x size; a no-op at the same size."""
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
        resized = np.asarray(pil.resize((size, size), Image.Resampling.BICUBIC))
        out[i] = resized.reshape(size, size, images.shape[3])
    return out


def prepare_task(
    name: str, entry: TaskEntry, params: PrepareParams, out_dir: Path, force: bool = False
) -> TaskData:
    """Build one task and write it atomically; returns what was written.

    meta.json holds no timings or dates: the same inputs give byte-identical outputs, so the
    committed dvc.lock also checks that a fresh machine reproduces every task exactly.
    """
    check_replaceable(Path(out_dir), PREPARED_TASK, force)  # before the (slow) loading
    raw = load_raw(entry)
    task = to_task(name, raw, params.test_fraction, params.split_seed)
    task.meta.update(
        {
            "task2sim_version": __version__,
            "entry": entry.model_dump(exclude_none=True),
        }
    )
    save_task(task, out_dir, force)
    return task


def prepare_tasks(
    jobs: list[tuple[str, TaskEntry]], params: PrepareParams, out: Path, force: bool = False
) -> None:
    """`task2sim prepare`: each (name, entry) into `out/<name>`, one summary line per task."""
    for name, entry in jobs:
        start = time.perf_counter()
        task = prepare_task(name, entry, params, out / name, force=force)
        counts = task.counts()
        print(
            f"{name}: {counts['classes']} classes, "
            f"{counts['train']} train / {counts['test']} test, "
            f"images {task.image_shape} -> {out / name} "
            f"({time.perf_counter() - start:.1f} s)"
        )


def prepare_imagefolder(
    folder: Path,
    name: str,
    size: int | None,
    skip_non_images: bool,
    out: Path,
    force: bool = False,
) -> None:
    """`task2sim prepare --imagefolder`: a user's folder as task `name`, its entry validated like
    a params.yaml one, split with the default prepare params."""
    entry = entry_from_cli(folder, size, skip_non_images)
    prepare_tasks([(name, entry)], PrepareParams(), out, force)
