"""The `cka` stage: per task, CKA matrices method x method per stage and phase; seen/unseen means.

Each backbone is loaded once per run (pre-trained ones are shared by every task) and each
distinct backbone's stage features are computed once per task, so two methods that picked the
same config cost one forward pass (and get CKA 1 with each other, as they should).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import timm
import torch
from torch import nn

from task2sim.cka.linear import cka_matrix
from task2sim.cka.sources import PHASES, Layout, Source, method_names, task_sources
from task2sim.cka.stages import POOLING, STAGES, stage_features
from task2sim.datasets.format import load_task
from task2sim.errors import Task2SimError
from task2sim.evaluate.data import stratified_cap
from task2sim.final.plan import Plan
from task2sim.params import Params

log = logging.getLogger(__name__)
DECIMALS = 6


def _rounded(matrix: np.ndarray) -> list[list[float]]:
    return np.round(matrix, DECIMALS).tolist()


class _Models:
    """Loads each backbone once; fine-tuned ones are dropped after their task."""

    def __init__(self) -> None:
        self._cache: dict[str, nn.Module] = {}

    def get(self, source: Source) -> nn.Module:
        if source.key not in self._cache:
            self._cache[source.key] = source.load().eval()
        return self._cache[source.key]

    def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._cache.pop(key, None)


def task_images(tasks_dir: Path, task: str, max_images: int, seed: int) -> np.ndarray:
    """At most `max_images` test images of the task, per-class stratified and seeded."""
    data = load_task(Path(tasks_dir) / task)
    keep = stratified_cap(np.asarray(data.test_labels), max_images, seed)
    return np.asarray(data.test_images[keep])


def phase_cka(
    sources: dict[str, Source], models: _Models, images: np.ndarray, image_size: int, batch: int
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """stage -> methods x methods CKA, and each method's stage modules."""
    features: dict[str, list[np.ndarray]] = {}
    modules: dict[str, list[str]] = {}
    for source in sources.values():
        if source.key not in features:
            features[source.key], modules[source.key] = stage_features(
                models.get(source), images, image_size, batch
            )
    keys = [sources[m].key for m in sources]
    matrices = {stage: cka_matrix([features[k][s] for k in keys]) for s, stage in enumerate(STAGES)}
    return matrices, {m: modules[sources[m].key] for m in sources}


def run_cka(
    params: Params,
    plan: Plan,
    layout: Layout,
    tasks_dir: Path,
    tasks: Sequence[str] | None = None,
) -> dict:
    """The content of results/cka.json (see `average` for the seen / unseen means)."""
    torch.set_num_threads(params.evaluate.threads)
    methods = method_names(plan, params, layout)
    roles = {t: "seen" for t in params.controller.seen} | {
        t: "unseen" for t in params.controller.unseen
    }
    names = list(tasks) if tasks else list(roles)
    unknown = [t for t in names if t not in roles]
    if unknown:
        raise Task2SimError(
            f"tasks {unknown} are neither controller.seen nor controller.unseen",
            f"pick from {sorted(roles)}",
        )
    all_sources = {t: task_sources(plan, methods, t, params, layout) for t in names}  # check first
    models = _Models()
    per_task: dict[str, dict] = {}
    modules: dict[str, list[str]] = {}
    for task in names:
        start = time.perf_counter()
        images = task_images(tasks_dir, task, params.cka.max_images, params.seed)
        entry: dict = {"role": roles[task], "images": len(images)}
        for phase in PHASES:
            sources = all_sources[task][phase]
            matrices, used = phase_cka(
                sources,
                models,
                images,
                params.evaluate.image_size,
                params.evaluate.feature_batch_size,
            )
            entry[phase] = {stage: _rounded(m) for stage, m in matrices.items()}
            modules.update(used)
        models.forget([s.key for s in all_sources[task]["finetuned"].values()])
        per_task[task] = entry
        log.info("cka %s: %d images, %.1f s", task, len(images), time.perf_counter() - start)
    return {
        "methods": methods,
        "stages": list(STAGES),
        "phases": list(PHASES),
        "stage_modules": modules,
        "tasks": per_task,
        "average": average(per_task),
        "settings": {
            "max_images": params.cka.max_images,
            "image_size": params.evaluate.image_size,
            "seed": params.seed,
            "pooling": POOLING,
            "images": "test split, per-class stratified cap",
        },
        "versions": {"torch": torch.__version__, "timm": timm.__version__},
    }


def average(per_task: dict[str, dict]) -> dict:
    """role -> phase -> stage -> the mean CKA matrix over that role's tasks (roles present)."""
    out: dict = {}
    for role in ("seen", "unseen"):
        entries = [e for e in per_task.values() if e["role"] == role]
        if not entries:
            continue
        out[role] = {
            phase: {
                stage: _rounded(np.mean([np.asarray(e[phase][stage]) for e in entries], axis=0))
                for stage in STAGES
            }
            for phase in PHASES
        }
        out[role]["tasks"] = sorted(t for t, e in per_task.items() if e["role"] == role)
    return out
