"""Render one config's image set into packed shards, in parallel, resumable, byte-reproducible.

Shards are fixed slices of image indices and every image depends only on (seed, index), so the
bytes of a set do not depend on how many workers rendered it. Finished shards are kept in the
output's partial folder in the project's scratch area (outside every output, and outside DVC's
reach, which deletes a stage's outputs before re-running it); a killed run picks up there, and the
folder is renamed into place only when every shard and the meta file are written. One process at a
time may write an output, and an existing folder there must be an earlier image set.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from task2sim.atomic import (
    atomic_save_npy,
    atomic_write_json,
    move_dir_into_place,
    space_for,
)
from task2sim.datasets.image_set import IMAGE_SET, SET_FORMAT_VERSION, read_shard, shard_paths
from task2sim.errors import Task2SimError
from task2sim.outputs import check_replaceable, output_lock
from task2sim.render.backend import Backend, backend_kind
from task2sim.render.job import RenderJob
from task2sim.render.world import World
from task2sim.scratch import partial_dir
from task2sim.sim.config import index_to_flags, index_to_key
from task2sim.sim.scene import sample_scene

if TYPE_CHECKING:
    from task2sim.render.tdw_commands import TdwWorld

log = logging.getLogger(__name__)


def world_for(job: RenderJob) -> World | TdwWorld:
    """The banks a job's scene specs index: our procedural world, or a TDW model library."""
    return backend_kind(job.backend).world(job)


def make_backend(job: RenderJob, world: World | TdwWorld) -> Backend:
    """A renderer for `world`; created inside the process that uses it (GL contexts never fork)."""
    return backend_kind(job.backend).open(job, world)


def render_shard(
    backend: Backend, world: World | TdwWorld, job: RenderJob, start: int, stop: int
) -> tuple:
    """Images and labels of image indices [start, stop)."""
    layout = world.layout(job.images)
    images = np.empty((stop - start, job.size, job.size, 3), dtype=np.uint8)
    labels = np.empty(stop - start, dtype=np.int64)
    for offset, index in enumerate(range(start, stop)):
        scene = sample_scene(job.config, layout, job.sim.seed, index)
        images[offset] = backend.render(scene)
        labels[offset] = scene.class_index
    return images, labels


def _save_shard(root: Path, shard: int, images: np.ndarray, labels: np.ndarray) -> None:
    images_path, labels_path = shard_paths(root, shard)
    atomic_save_npy(labels_path, labels)
    atomic_save_npy(images_path, images)  # written last: its presence marks the shard done


def _shard_done(root: Path, shard: int, expected: int) -> bool:
    try:
        read_shard(root, shard, expected)
    except Task2SimError:
        return False
    return True


# Per worker process: built once by the pool initializer, used for every shard it renders.
_worker: dict[str, object] = {}


def _init_worker(job: RenderJob, partial: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle, once
    os.environ["LP_NUM_THREADS"] = "1"  # one llvmpipe thread per worker, one worker per core
    world = world_for(job)
    _worker.update(job=job, world=world, backend=make_backend(job, world))
    _worker["partial"] = partial


def _render_in_worker(shard: int) -> tuple[int, list[str]]:
    job: RenderJob = _worker["job"]  # type: ignore[assignment]
    world: World | TdwWorld = _worker["world"]  # type: ignore[assignment]
    start, stop = job.shards()[shard]
    images, labels = render_shard(_worker["backend"], world, job, start, stop)  # type: ignore[arg-type]
    _save_shard(_worker["partial"], shard, images, labels)  # type: ignore[arg-type]
    return stop - start, list(world.class_names)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _set_files(job: RenderJob) -> set[str]:
    names = {"meta.json"}
    for k in range(len(job.shards())):
        names.update(p.name for p in shard_paths(Path(), k))
    return names


def render_set(
    job: RenderJob, out: Path, workers: int = 0, progress: bool = True, force: bool = False
) -> dict:
    """Render `job` into `out`; returns the set's meta. An existing `out` is replaced only when it
    is an earlier image set (or `force`), and only one process may write `out` at a time."""
    out = Path(out)
    backend_kind(job.backend)  # an unknown backend fails before anything is written
    check_replaceable(out, IMAGE_SET, force)
    needed = job.images * (job.size * job.size * 3 + 8)  # uint8 images, int64 labels
    with output_lock(out), space_for(out, needed):
        return _render_locked(job, out, workers, progress, force)


def _render_locked(job: RenderJob, out: Path, workers: int, progress: bool, force: bool) -> dict:
    partial = partial_dir(out)
    stamp = partial / "job.json"
    if partial.exists():
        try:
            same = json.loads(stamp.read_text())["fingerprint"] == job.fingerprint()
        except (OSError, ValueError, KeyError):
            same = False
        if not same:
            log.info("discarding %s: it was started with other params", partial)
            shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    atomic_write_json(stamp, {"fingerprint": job.fingerprint(), "job": job.describe()})

    shards = job.shards()
    todo = [k for k, (a, b) in enumerate(shards) if not _shard_done(partial, k, b - a)]
    done_images = job.images - sum(shards[k][1] - shards[k][0] for k in todo)
    if done_images:
        log.info("resuming %s: %d of %d images already rendered", out, done_images, job.images)
    workers = min(workers or default_workers(), len(todo)) if todo else 0
    max_workers = backend_kind(job.backend).max_workers
    if max_workers is not None:
        workers = min(workers, max_workers)
    bar = tqdm(
        total=job.images,
        initial=done_images,
        unit="img",
        desc=f"render {out.name}",
        disable=not progress,
    )
    class_names: list[str] | None = None
    with bar:
        if workers > 1:
            context = multiprocessing.get_context("spawn")  # GL contexts must never be forked
            with context.Pool(workers, _init_worker, (job, partial)) as pool:
                for count, names in pool.imap_unordered(_render_in_worker, todo):
                    bar.update(count)
                    class_names = names
        elif todo:
            world = world_for(job)
            class_names = list(world.class_names)
            backend = make_backend(job, world)
            try:
                for k in todo:
                    images, labels = render_shard(backend, world, job, *shards[k])
                    _save_shard(partial, k, images, labels)
                    bar.update(len(labels))
            finally:
                backend.close()
    if class_names is None:  # every shard was already there
        class_names = list(world_for(job).class_names)
    meta = {
        "format_version": SET_FORMAT_VERSION,
        "config": job.config,
        "key": index_to_key(job.config),
        "parameters": index_to_flags(job.config),
        "images": job.images,
        "size": job.size,
        "classes": class_names,
        "shards": [b - a for a, b in shards],
        "job": job.describe(),
    }
    atomic_write_json(partial / "meta.json", meta)
    stamp.unlink()
    wanted = _set_files(job)
    for stray in [p for p in partial.iterdir() if p.name not in wanted]:
        log.info("dropping %s from the set: not one of its files", stray.name)
        if stray.is_dir():
            shutil.rmtree(stray)
        else:
            stray.unlink()
    move_dir_into_place(partial, out, IMAGE_SET, force)
    return meta
