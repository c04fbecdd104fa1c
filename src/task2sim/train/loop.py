"""`pretrain`: train a backbone on an image set with a `TrainRecipe`, resumably, on 1..N processes.

The update is timm's train script's: mixup, forward + loss (under autocast with AMP), zero_grad,
backward, optimizer step, `scheduler.step_update` per update and `scheduler.step(epoch + 1)` per
epoch. Randomness is counter-based: the data of an epoch depends on (seed, rank, epoch) and the
global generators (Mixup, drop-path) are re-seeded from (seed, rank, epoch, step) before every
update. So a run resumed from `train_state.pt` ends with the same weights as an uninterrupted one
(bit-identical on CPU with the same thread count), whatever happened before the restart.

Work in progress lives in the output's partial folder in the project's scratch area (outside every
output, and outside DVC's reach, which deletes outputs before a stage runs); the folder becomes
`out` only when the checkpoint is complete. One process at a time may write an output, and an
existing folder there must be an earlier checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from task2sim.atomic import atomic_write_json, move_dir_into_place
from task2sim.datasets.image_set import load_image_set
from task2sim.errors import Task2SimError
from task2sim.outputs import check_replaceable, output_lock
from task2sim.params import TrainRecipe
from task2sim.scratch import partial_dir
from task2sim.train import distributed
from task2sim.train.augment import IMAGENET_MEAN, IMAGENET_STD
from task2sim.train.checkpoint import (
    CHECKPOINT,
    STATE_FILE,
    load_train_state,
    save_train_state,
    write_checkpoint,
)
from task2sim.train.data import STREAM_STEP, TrainBatches, derive_seed, seed_globals
from task2sim.train.distributed import DistContext
from task2sim.train.recipe import TrainParts, build_parts

log = logging.getLogger(__name__)
JOB_FILE = "job.json"


def pretrain(
    image_set_dir: Path | str,
    recipe: TrainRecipe,
    out_dir: Path | str,
    *,
    log_dir: Path | str | None = None,
    resume: bool = True,
    progress: bool = True,
    force: bool = False,
) -> dict:
    """Train on the set in `image_set_dir`; write `model.pt` + `meta.json` to `out_dir`.

    Under torchrun every process calls this; rank 0 alone writes. `log_dir` gets dvclive logs
    (train/loss, train/lr, train/img_per_s per epoch). An existing `out_dir` must be an earlier
    checkpoint unless `force`. Returns a summary of this call.
    """
    out = Path(out_dir)
    check_replaceable(out, CHECKPOINT, force)
    ctx = distributed.setup()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads or _default_threads(ctx))
    try:
        lock = output_lock(out) if ctx.is_main else contextlib.nullcontext()
        with lock, _isolated_rng():
            return _pretrain(
                Path(image_set_dir), recipe, out, ctx, log_dir, resume, progress, force
            )
    finally:
        torch.set_num_threads(threads_before)
        distributed.teardown(ctx)


def _default_threads(ctx: DistContext) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // ctx.local_world_size)


@contextlib.contextmanager
def _isolated_rng() -> Iterator[None]:
    """Leave the caller's global generators as they were."""
    py, np_state, cpu = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)
        torch.set_rng_state(cpu)


def _pretrain(
    set_dir: Path,
    recipe: TrainRecipe,
    out: Path,
    ctx: DistContext,
    log_dir: Path | str | None,
    resume: bool,
    progress: bool,
    force: bool,
) -> dict:
    started = time.perf_counter()
    image_set = load_image_set(set_dir)
    images, labels = image_set.arrays()
    class_names = image_set.class_names
    if len(labels) and not 0 <= labels.min() <= labels.max() < len(class_names):
        raise Task2SimError(
            f"{set_dir} has labels outside its {len(class_names)} classes", "re-render the set"
        )
    images, labels, held_images, held_labels = _split_holdout(images, labels, recipe, set_dir)
    set_hash = hashlib.sha256((set_dir / "meta.json").read_bytes()).hexdigest()
    fingerprint = _fingerprint(recipe, set_hash, ctx.world_size)
    partial = partial_dir(out)
    if ctx.is_main:
        _prepare_partial(partial, fingerprint, resume)
    ctx.barrier()

    data = TrainBatches(
        images, labels, recipe, rank=ctx.rank, world_size=ctx.world_size, device=ctx.device
    )
    parts = build_parts(recipe, len(class_names), data.batches_per_epoch, ctx.device)
    state = load_train_state(partial / STATE_FILE) if resume else None
    if state is not None and state.get("fingerprint") != fingerprint:
        state = None
    start, history = 0, []
    if state is not None:
        _restore(parts, state)
        start, history = int(state["epoch"]), list(state["history"])
        if ctx.is_main:
            log.info("resuming %s at epoch %d of %d", out, start, recipe.epochs)
    model = distributed.wrap(parts.model, ctx)
    live = _open_live(log_dir, history) if log_dir is not None and ctx.is_main else None

    per_epoch = data.batches_per_epoch * recipe.batch_size * ctx.world_size
    bar = tqdm(
        total=(recipe.epochs - start) * per_epoch,
        unit="img",
        desc=f"pretrain {out.name}",
        disable=not (progress and ctx.is_main),
    )
    train_seconds = 0.0
    with bar:
        for epoch in range(start, recipe.epochs):
            updates = epoch * data.batches_per_epoch
            row = train_epoch(model, parts, data.epoch(epoch), recipe, epoch, updates, ctx, bar)
            train_seconds += row["seconds"]
            history.append({k: row[k] for k in ("epoch", "loss", "lr", "img_per_s")})
            bar.set_postfix(loss=f"{row['loss']:.3f}")
            if live is not None:
                _log_row(live, history[-1])
            every = recipe.checkpoint_every
            if every and (epoch + 1) % every == 0 and epoch + 1 < recipe.epochs:
                if ctx.is_main:
                    save_train_state(
                        partial / STATE_FILE, _state(parts, epoch + 1, history, fingerprint)
                    )
                ctx.barrier()

    heldout = pretext_top1(distributed.unwrap(model), held_images, held_labels, recipe.image_size)
    meta = _meta(recipe, parts, class_names, image_set.meta, set_hash, history, ctx)
    meta["heldout_top1"] = heldout
    if ctx.is_main:
        write_checkpoint(partial, distributed.unwrap(model), meta)
        (partial / STATE_FILE).unlink(missing_ok=True)
        (partial / JOB_FILE).unlink(missing_ok=True)
        move_dir_into_place(partial, out, CHECKPOINT, force)
        if live is not None:
            if heldout is not None:
                live.log_metric("pretext/heldout_top1", heldout, plot=False)
            live.end()
    ctx.barrier()
    trained = (recipe.epochs - start) * per_epoch
    log.info(
        "rank %d of %d: %d epochs of %d images in %.1f s",
        ctx.rank,
        ctx.world_size,
        recipe.epochs - start,
        data.batches_per_epoch * recipe.batch_size,
        train_seconds,
    )
    return {
        "out": str(out),
        "rank": ctx.rank,
        "world_size": ctx.world_size,
        "epochs": recipe.epochs,
        "resumed_from": start,
        "final_loss": history[-1]["loss"],
        "heldout_top1": heldout,
        "seconds": time.perf_counter() - started,
        "img_per_s": trained / train_seconds if train_seconds else 0.0,
    }


def _split_holdout(
    images: np.ndarray, labels: np.ndarray, recipe: TrainRecipe, set_dir: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, labels, held-out images, labels): the set's last `holdout_images`.

    Scenes are drawn independently per image and labels cycle through the classes, so the tail
    is a class-balanced sample of the same distribution that training never sees."""
    held = recipe.holdout_images
    if held == 0:
        return images, labels, images[:0], labels[:0]
    if held >= len(labels):
        raise Task2SimError(
            f"holdout_images {held} leaves nothing to train on in {set_dir} ({len(labels)} images)",
            "lower holdout_images or render more images",
        )
    return images[:-held], labels[:-held], images[-held:], labels[-held:]


@torch.no_grad()
def pretext_top1(
    model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, image_size: int
) -> float | None:
    """Top-1 % of the trained classifier on held-out rendered images: resize, normalise, no
    augmentation. None without held-out images."""
    if len(labels) == 0:
        return None
    model.eval()
    correct = 0
    for start in range(0, len(labels), 256):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + 256]))
        x = x.permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-1] != image_size or x.shape[-2] != image_size:
            x = torch.nn.functional.interpolate(
                x, size=(image_size, image_size), mode="bilinear", antialias=True
            )
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        device = next(model.parameters()).device
        predicted = model(((x - mean) / std).to(device)).argmax(1).cpu().numpy()
        correct += int((predicted == np.asarray(labels[start : start + 256])).sum())
    return round(100.0 * correct / len(labels), 2)


def train_epoch(
    model: torch.nn.Module,
    parts: TrainParts,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    recipe: TrainRecipe,
    epoch: int,
    updates: int,
    ctx: DistContext,
    bar: tqdm | None = None,
) -> dict[str, Any]:
    """One epoch of timm-style updates over `batches`; `updates` counts those done before."""
    model.train()
    cuda = ctx.device.type == "cuda"
    lr = parts.optimizer.param_groups[0]["lr"]
    loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
    count = 0
    start = time.perf_counter()
    for step, (images, targets) in enumerate(batches):
        seed_globals(derive_seed(recipe.seed, STREAM_STEP, ctx.rank, epoch, step), cuda)
        if parts.mixup is not None:
            images, targets = parts.mixup(images, targets)
        if recipe.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(ctx.device.type, dtype=torch.float16, enabled=parts.autocast):
            loss = parts.loss_fn(model(images), targets)
        parts.optimizer.zero_grad()
        parts.scaler.scale(loss).backward()
        parts.scaler.step(parts.optimizer)
        parts.scaler.update()
        updates += 1
        parts.scheduler.step_update(num_updates=updates)
        loss_sum += loss.detach() * len(images)
        count += len(images)
        if bar is not None:
            bar.update(len(images) * ctx.world_size)
    parts.scheduler.step(epoch + 1)
    total_loss, total_count = ctx.sum([loss_sum.item(), float(count)])
    seconds = time.perf_counter() - start
    return {
        "epoch": epoch + 1,
        "loss": total_loss / total_count,
        "lr": lr,
        "img_per_s": total_count / seconds,
        "seconds": seconds,
    }


def _fingerprint(recipe: TrainRecipe, set_hash: str, world_size: int) -> str:
    job = {"recipe": recipe.model_dump(mode="json"), "set": set_hash, "world_size": world_size}
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()


def _prepare_partial(partial: Path, fingerprint: str, resume: bool) -> None:
    """Keep `partial` only if it holds the same job and resuming is wanted."""
    stamp = partial / JOB_FILE
    if partial.exists():
        try:
            same = json.loads(stamp.read_text())["fingerprint"] == fingerprint
        except (OSError, ValueError, KeyError):
            same = False
        if not (same and resume):
            log.info("discarding %s", partial)
            shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    atomic_write_json(stamp, {"fingerprint": fingerprint})


def _state(parts: TrainParts, epoch: int, history: list[dict], fingerprint: str) -> dict:
    keys, pos, has_gauss, gauss = np.random.get_state()[1:]
    return {
        "fingerprint": fingerprint,
        "epoch": epoch,
        "history": history,
        "model": distributed.unwrap(parts.model).state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict(),
        "rng": {
            "python": random.getstate(),
            "numpy": [torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }


def _restore(parts: TrainParts, state: dict) -> None:
    parts.model.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    parts.scaler.load_state_dict(state["scaler"])
    rng = state["rng"]
    random.setstate(rng["python"])
    keys, pos, has_gauss, gauss = rng["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _meta(
    recipe: TrainRecipe,
    parts: TrainParts,
    class_names: list[str],
    set_meta: dict,
    set_hash: str,
    history: list[dict],
    ctx: DistContext,
) -> dict:
    """Everything needed to rebuild the model, and nothing that varies between equal runs."""
    return {
        "model": recipe.model,
        "model_kwargs": recipe.model_kwargs,
        "num_classes": len(class_names),
        "class_names": class_names,
        "num_features": getattr(parts.model, "num_features", None),
        "image_size": recipe.image_size,
        "recipe": recipe.model_dump(mode="json"),
        "epochs": recipe.epochs,
        "final_train_loss": history[-1]["loss"],
        "history": [{k: row[k] for k in ("epoch", "loss", "lr")} for row in history],
        "image_set": {
            "images": sum(set_meta.get("shards", [])),
            "size": set_meta.get("size"),
            "key": set_meta.get("key"),
            "meta_sha256": set_hash,
        },
        "world_size": ctx.world_size,
    }


def _open_live(log_dir: Path | str, history: list[dict]) -> Any:
    """A fresh dvclive log holding the epochs already trained, so a resumed run's log reads
    like an uninterrupted one's."""
    from dvclive import Live

    live = Live(dir=str(log_dir), resume=False, save_dvc_exp=False, dvcyaml=None, report=None)
    for row in history:
        _log_row(live, row)
    return live


def _log_row(live: Any, row: dict) -> None:
    for key in ("loss", "lr", "img_per_s"):
        live.log_metric(f"train/{key}", row[key])
    live.next_step()
