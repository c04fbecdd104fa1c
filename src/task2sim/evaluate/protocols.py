"""Every protocol on every task, over one shared feature extractor: {task: {protocol: top-1 %}}.

5-NN and the linear probe read the same cached test-transform features of a task; fine-tuning
tunes a copy of the backbone. Each task starts from `params.seed`, so a task's numbers do not
depend on which other tasks are evaluated with it, or in what order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch
from torch import nn

from task2sim.datasets.format import TaskData
from task2sim.errors import Task2SimError
from task2sim.evaluate.data import Split, stratified_cap
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.finetune import finetune_top1
from task2sim.evaluate.knn import knn_top1
from task2sim.evaluate.linear_probe import linear_probe_top1
from task2sim.params import EvaluateParams

PROTOCOLS = ("knn", "linear", "finetune")
log = logging.getLogger(__name__)


def check_protocols(protocols: Sequence[str], allowed: Sequence[str] = PROTOCOLS) -> list[str]:
    """The protocols in the order given, refusing unknown names and empty lists."""
    if not protocols:
        raise Task2SimError("no protocol to run", f"name one or more of {', '.join(allowed)}")
    unknown = [p for p in protocols if p not in allowed]
    if unknown:
        raise Task2SimError(
            f"unknown protocol {', '.join(repr(p) for p in unknown)}",
            f"choose from {', '.join(allowed)}",
        )
    return list(dict.fromkeys(protocols))


def task_splits(task: TaskData, params: EvaluateParams) -> tuple[Split, Split]:
    """The task's train and test sides after the per-class caps of `params`."""
    train = Split(task.train_images, task.train_labels)
    test = Split(task.test_images, task.test_labels)
    train = train.take(stratified_cap(train.labels, params.max_train_images, params.seed))
    test = test.take(stratified_cap(test.labels, params.max_test_images, params.seed))
    return train, test


def evaluate_task(
    extractor: FeatureExtractor,
    task: TaskData,
    protocols: Sequence[str],
    params: EvaluateParams,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """{protocol: top-1 %} for one task; `timings` (if given) gets seconds per protocol."""
    protocols = check_protocols(protocols)
    train, test = task_splits(task, params)
    classes = len(task.classes)
    seconds = timings if timings is not None else {}
    features = None
    if "knn" in protocols or "linear" in protocols:
        start = time.perf_counter()
        features = (extractor(train.images), extractor(test.images))
        seconds["features"] = time.perf_counter() - start
    result: dict[str, float] = {}
    for protocol in protocols:
        start = time.perf_counter()
        if protocol == "knn":
            knn = params.knn
            result[protocol] = knn_top1(
                features[0],
                train.labels,
                features[1],
                test.labels,
                k=knn.k,
                temperature=knn.temperature,
                num_classes=classes,
                chunk_size=knn.chunk_size,
            )
        elif protocol == "linear":
            hp = params.linear.for_task(task.name)
            result[protocol] = linear_probe_top1(
                extractor, train, test, classes, hp, params.linear, params.seed, features
            )
        else:
            hp = params.finetune.for_task(task.name)
            result[protocol] = finetune_top1(
                extractor, train, test, classes, hp, params.finetune, params.seed
            )
        seconds[protocol] = time.perf_counter() - start
        log.debug("%s %s: %.2f %%", task.name, protocol, result[protocol])
    return result


def evaluate_backbone(
    model: nn.Module,
    tasks: dict[str, TaskData],
    protocols: Sequence[str],
    params: EvaluateParams,
    progress: bool = False,
    timings: dict[str, dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """{task: {protocol: top-1 %}}; `timings` (if given) gets {task: {step: seconds}}."""
    protocols = check_protocols(protocols)
    if not tasks:
        raise Task2SimError("no task to evaluate on", "name one or more prepared tasks")
    torch.set_num_threads(params.threads)
    extractor = FeatureExtractor(model, params.image_size, params.feature_batch_size, progress)
    results = {}
    for name, task in tasks.items():
        task_seconds: dict[str, float] = {}
        results[name] = evaluate_task(extractor, task, protocols, params, task_seconds)
        if timings is not None:
            timings[name] = task_seconds
    return results
