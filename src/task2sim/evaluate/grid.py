"""Hyper-parameter grid search (SUPP E): every (lr, weight decay, batch) of the grid, trained on
70 % of a task's training set and scored on a seeded per-class 30 % validation split."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from task2sim.datasets.format import TaskData
from task2sim.datasets.split import split_per_class
from task2sim.evaluate.data import Split, stratified_cap
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.finetune import finetune_top1
from task2sim.evaluate.linear_probe import linear_probe_top1
from task2sim.evaluate.protocols import check_protocols
from task2sim.params import EvaluateParams, GridParams, HParams

GRID_PROTOCOLS = ("linear", "finetune")
log = logging.getLogger(__name__)


def grid_points(grid: GridParams) -> list[HParams]:
    """Every combination, lr slowest, batch size fastest (the order ties are broken in)."""
    return [
        HParams(lr=lr, weight_decay=wd, batch_size=bs)
        for lr, wd, bs in itertools.product(grid.lrs, grid.weight_decays, grid.batch_sizes)
    ]


def validation_split(task: TaskData, params: EvaluateParams) -> tuple[Split, Split]:
    """(fit, validation) sides of the task's capped training set; the test split is untouched."""
    train = Split(task.train_images, task.train_labels)
    train = train.take(stratified_cap(train.labels, params.max_train_images, params.seed))
    fit, val = split_per_class(
        train.labels, params.grid.val_fraction, params.grid.seed, class_names=task.classes
    )
    return train.take(fit), train.take(val)


def grid_search(
    model: nn.Module,
    task: TaskData,
    protocols: Sequence[str],
    params: EvaluateParams,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """{protocol: {"table": [{lr, weight_decay, batch_size, top1}, ...], "best": {...}}};
    the best is the highest validation top-1, the first in grid order on a tie."""
    protocols = check_protocols(protocols, GRID_PROTOCOLS)
    torch.set_num_threads(params.threads)
    extractor = FeatureExtractor(model, params.image_size, params.feature_batch_size, progress)
    fit, val = validation_split(task, params)
    classes = len(task.classes)
    points = grid_points(params.grid)
    features = None
    if "linear" in protocols:
        features = (extractor(fit.images), extractor(val.images))
    out: dict[str, dict[str, Any]] = {}
    for protocol in protocols:
        table = []
        for hp in tqdm(points, desc=f"grid {protocol}", leave=False, disable=not progress):
            if protocol == "linear":
                top1 = linear_probe_top1(
                    extractor, fit, val, classes, hp, params.linear, params.seed, features
                )
            else:
                top1 = finetune_top1(extractor, fit, val, classes, hp, params.finetune, params.seed)
            table.append({**hp.model_dump(), "top1": top1})
            log.debug("%s %s %s: %.2f %%", task.name, protocol, hp.model_dump(), top1)
        best = max(table, key=lambda row: row["top1"])  # max keeps the first of equals
        out[protocol] = {"table": table, "best": best}
    return out
