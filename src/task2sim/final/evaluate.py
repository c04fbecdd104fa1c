"""5-NN, linear probe and fine-tuning of one backbone on its tasks, each fine-tuned copy kept.

The scores are `evaluate.protocols.evaluate_task`'s for 5-NN and the linear probe; fine-tuning is
`evaluate.finetune.finetune` with the same seed and hyper-parameters `evaluate_task` would use,
so the numbers equal a plain `task2sim evaluate`, and the tuned backbone (not the head) is written
as a checkpoint folder `train.checkpoint.load_backbone` reads, for CKA after fine-tuning.
Finished (backbone, task) pairs are kept beside the output (`final.store`): a killed stage
re-evaluates only the pairs it had not finished.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import timm
import torch
from torch import nn

from task2sim.atomic import atomic_dir
from task2sim.datasets.format import TaskData
from task2sim.errors import Task2SimError
from task2sim.evaluate.data import check_labels
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.finetune import finetune
from task2sim.evaluate.heads import head_top1
from task2sim.evaluate.protocols import evaluate_task, task_splits
from task2sim.final.plan import Plan
from task2sim.final.store import (
    build_once,
    code_digest,
    file_digest,
    fingerprint,
    link_tree,
    prune,
    work_dir,
)
from task2sim.outputs import folder_of
from task2sim.params import EvaluateParams
from task2sim.sim.config import stage_name
from task2sim.train.checkpoint import CHECKPOINT, META_FILE, write_checkpoint

# backbone -> task -> fine-tuned checkpoint
FINETUNED_BACKBONES = folder_of(folder_of(CHECKPOINT))

log = logging.getLogger(__name__)
EVALUATE_CODE = ("evaluate", "final/evaluate", "train/checkpoint")


def score_task(
    model: nn.Module, task: TaskData, params: EvaluateParams, progress: bool = False
) -> tuple[dict[str, float], nn.Module]:
    """{knn, linear, finetune: top-1 %} and the fine-tuned copy of `model` (eval mode)."""
    torch.set_num_threads(params.threads)
    extractor = FeatureExtractor(model, params.image_size, params.feature_batch_size, progress)
    scores = evaluate_task(extractor, task, ["knn", "linear"], params)
    train, test = task_splits(task, params)
    classes = len(task.classes)
    check_labels(test.labels, classes, "test")
    hp = params.finetune.for_task(task.name)
    tuned, head = finetune(extractor, train, classes, hp, params.finetune, params.seed)
    tuned_features = FeatureExtractor(tuned, params.image_size, params.feature_batch_size)
    scores["finetune"] = head_top1(head, tuned_features(test.images), test.labels)
    return {k: round(float(v), 4) for k, v in scores.items()}, tuned


def task_digest(tasks_dir: Path, name: str) -> str:
    """What identifies a prepared task: its meta (sources, their sha256, split) and classes."""
    folder = Path(tasks_dir) / name
    return fingerprint(
        [(folder / f).read_text(encoding="utf-8") for f in ("meta.json", "classes.json")]
    )


def evaluate_on_tasks(
    name: str,
    load_model: Callable[[], nn.Module],
    identity: dict,
    meta: dict,
    tasks: dict[str, TaskData],
    tasks_dir: Path,
    params: EvaluateParams,
    work: Path,
    out: Path,
    unwrap: Callable[[nn.Module], nn.Module] = lambda m: m,
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Score backbone `name` on `tasks`; fine-tuned copies go to `out/<name>/<task>/`.

    `identity` fingerprints the backbone (weights, how it was made); `meta` is the checkpoint
    meta its fine-tuned copies carry (enough to rebuild the network); `unwrap` picks the module
    whose state dict is saved. The model is loaded only if some pair must be computed.
    """
    cache: dict[str, nn.Module] = {}
    common = {
        "backbone": identity,
        "params": params.model_dump(mode="json"),
        "code": code_digest(*EVALUATE_CODE),
        "torch": torch.__version__,
        "timm": timm.__version__,
    }
    results = {}
    for task_name, task in tasks.items():
        entry = work / name / task_name
        key = fingerprint({**common, "task": task_digest(tasks_dir, task_name)})

        def build(folder: Path, task: TaskData = task) -> None:
            if "model" not in cache:
                cache["model"] = load_model()
            start = time.perf_counter()
            scores, tuned = score_task(cache["model"], task, params, progress)
            hp = params.finetune.for_task(task.name)
            tuned_meta = {
                **{k: v for k, v in meta.items() if k != "format_version"},
                "finetuned": {
                    "backbone": name,
                    "task": task.name,
                    "task_classes": list(task.classes),
                    "hparams": hp.model_dump(),
                    "settings": params.finetune.model_dump(mode="json"),
                    "seed": params.seed,
                },
                "scores": scores,
            }
            with atomic_dir(folder, CHECKPOINT) as tmp:
                write_checkpoint(tmp, unwrap(tuned), tuned_meta)
            log.info(
                "%s on %s: %s (%.1f s)",
                name,
                task.name,
                ", ".join(f"{p} {v:.2f} %" for p, v in scores.items()),
                time.perf_counter() - start,
            )

        build_once(entry, key, build)
        results[task_name] = json.loads((entry / META_FILE).read_text(encoding="utf-8"))["scores"]
        link_tree(entry, out / name / task_name)
    prune(work / name, list(tasks))
    return results


def _backbone_loader(folder: Path) -> Callable[[], nn.Module]:
    from task2sim.train.checkpoint import load_backbone

    return lambda: load_backbone(folder)


def evaluate_backbones(
    plan: Plan,
    params: EvaluateParams,
    backbones_dir: Path,
    tasks_dir: Path,
    out: Path,
    progress: bool = False,
) -> dict[str, dict[str, dict[str, float]]]:
    """{cNNN: {task: {protocol: %}}}: every backbone on the tasks whose methods chose it, each
    (backbone, task) pair once however many methods share it; fine-tuned copies under `out`."""
    from task2sim.datasets.format import load_task
    from task2sim.train.checkpoint import read_meta

    out = Path(out)
    work = work_dir(out)
    names = [stage_name(c) for c in plan.configs]
    metas = {}
    for name in names:  # every backbone must exist before any evaluation starts
        folder = Path(backbones_dir) / name
        if not (folder / "model.pt").is_file():
            raise Task2SimError(
                f"backbone {folder} is missing (no model.pt)",
                "pre-train the final backbones first: `dvc repro pretrain` "
                "(or `task2sim pretrain-final`)",
            )
        metas[name] = read_meta(folder)
    loaded: dict[str, TaskData] = {}
    evaluation = {}
    with atomic_dir(out, FINETUNED_BACKBONES) as tmp:
        for config, name in zip(plan.configs, names, strict=True):
            folder = Path(backbones_dir) / name
            wanted = plan.tasks_of(config)
            for task_name in wanted:
                if task_name not in loaded:
                    loaded[task_name] = load_task(Path(tasks_dir) / task_name)
            identity = {f: file_digest(folder / f) for f in ("model.pt", META_FILE)}
            evaluation[name] = evaluate_on_tasks(
                name,
                _backbone_loader(folder),
                identity,
                metas[name],
                {t: loaded[t] for t in wanted},
                tasks_dir,
                params,
                work,
                tmp,
                progress=progress,
            )
    prune(work, names)
    return evaluation
