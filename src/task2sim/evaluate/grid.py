"""Hyper-parameter grid search (SUPP E): every (lr, weight decay, batch) of the grid, trained on
70 % of a task's training set and scored on a seeded per-class 30 % validation split."""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from task2sim.atomic import atomic_write_bytes
from task2sim.datasets.format import TaskData
from task2sim.datasets.split import split_per_class
from task2sim.evaluate.data import Split, stratified_cap
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.finetune import finetune_top1
from task2sim.evaluate.linear_probe import fit_linear_head, linear_probe_top1
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
    the best is the highest validation top-1, the first in grid order on a tie. Fine-tuning
    starts from the probe's head under LP-FT (`finetune.head_init: linear_probe`)."""
    protocols = check_protocols(protocols, GRID_PROTOCOLS)
    torch.set_num_threads(params.threads)
    extractor = FeatureExtractor(model, params.image_size, params.feature_batch_size, progress)
    fit, val = validation_split(task, params)
    classes = len(task.classes)
    points = grid_points(params.grid)
    features = (extractor(fit.images), extractor(val.images))
    out: dict[str, dict[str, Any]] = {}
    # The linear grid runs first: under LP-FT every fine-tuning point starts from the probe head
    # trained with the linear winner of this search (or the task's configured one).
    for protocol in sorted(protocols, key=GRID_PROTOCOLS.index):
        probe_head = None
        if protocol == "finetune" and params.finetune.head_init == "linear_probe":
            hp = params.linear.for_task(task.name)
            if "linear" in out:
                hp = HParams(**{k: out["linear"]["best"][k] for k in HParams.model_fields})
            probe_head = fit_linear_head(
                extractor, fit, classes, hp, params.linear, params.seed, features[0]
            )
        table = []
        for hp in tqdm(points, desc=f"grid {protocol}", leave=False, disable=not progress):
            if protocol == "linear":
                top1 = linear_probe_top1(
                    extractor, fit, val, classes, hp, params.linear, params.seed, features
                )
            else:
                top1 = finetune_top1(
                    extractor, fit, val, classes, hp, params.finetune, params.seed, probe_head
                )
            table.append({**hp.model_dump(), "top1": top1})
            log.debug("%s %s %s: %.2f %%", task.name, protocol, hp.model_dump(), top1)
        best = max(table, key=lambda row: row["top1"])  # max keeps the first of equals
        out[protocol] = {"table": table, "best": best}
    return out


def write_hparams(params_file: Path, found: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Set `evaluate.<protocol>.hparams.<task>` in params.yaml to each search's winner, keeping
    the file's comments and order ({task: {protocol: {"best": ...}}} as `grid_search` returns)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the file's long lines
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    path = Path(params_file)
    data = yaml.load(path.read_text(encoding="utf-8"))
    for task, per_protocol in found.items():
        for protocol, result in per_protocol.items():
            section = data["evaluate"][protocol]
            if section.get("hparams") is None or not section["hparams"]:
                section["hparams"] = {}
            best = CommentedMap((k, result["best"][k]) for k in HParams.model_fields)
            best.fa.set_flow_style()
            section["hparams"][task] = best
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
