"""Every protocol on every task, over one shared feature extractor: {task: {protocol: top-1 %}}.

5-NN and the linear probe read the same cached test-transform features of a task; fine-tuning
tunes a copy of the backbone, starting from the probe's head when `finetune.head_init` says
so. Each task starts from `params.seed`, so a task's numbers do not
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
from task2sim.evaluate.data import Split, check_labels, stratified_cap
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.finetune import finetune
from task2sim.evaluate.heads import head_top1
from task2sim.evaluate.knn import knn_top1
from task2sim.evaluate.linear_probe import fit_linear_head
from task2sim.params import PROTOCOLS, EvaluateParams

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


def run_protocols(
    extractor: FeatureExtractor,
    task: TaskData,
    protocols: Sequence[str],
    params: EvaluateParams,
    timings: dict[str, float] | None = None,
) -> tuple[dict[str, float], nn.Module | None]:
    """{protocol: top-1 %} for one task, and the fine-tuned backbone copy (None without
    fine-tuning); `timings` (if given) gets seconds per step."""
    protocols = check_protocols(protocols)
    train, test = task_splits(task, params)
    classes = len(task.classes)
    seconds = timings if timings is not None else {}
    lp_ft = "finetune" in protocols and params.finetune.head_init == "linear_probe"
    features = None
    if "knn" in protocols or "linear" in protocols or lp_ft:
        start = time.perf_counter()
        features = (extractor(train.images), extractor(test.images))
        seconds["features"] = time.perf_counter() - start
    probe_head = None
    if "linear" in protocols or lp_ft:
        start = time.perf_counter()
        hp = params.linear.for_task(task.name)
        probe_head = fit_linear_head(
            extractor, train, classes, hp, params.linear, params.seed, features[0]
        )
        seconds["linear_head"] = time.perf_counter() - start
    result: dict[str, float] = {}
    tuned = None
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
            check_labels(test.labels, classes, "test")
            result[protocol] = head_top1(probe_head, features[1], test.labels)
        else:
            check_labels(test.labels, classes, "test")
            hp = params.finetune.for_task(task.name)
            start_head = probe_head if lp_ft else None
            tuned, head = finetune(
                extractor, train, classes, hp, params.finetune, params.seed, start_head
            )
            tuned_features = FeatureExtractor(tuned, params.image_size, params.feature_batch_size)
            result[protocol] = head_top1(head, tuned_features(test.images), test.labels)
        seconds[protocol] = time.perf_counter() - start
        log.debug("%s %s: %.2f %%", task.name, protocol, result[protocol])
    return result, tuned


def evaluate_task(
    extractor: FeatureExtractor,
    task: TaskData,
    protocols: Sequence[str],
    params: EvaluateParams,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """{protocol: top-1 %} for one task; `timings` (if given) gets seconds per protocol."""
    return run_protocols(extractor, task, protocols, params, timings)[0]


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
