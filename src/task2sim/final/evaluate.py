"""5-NN, linear probe and fine-tuning of backbones on their tasks, one (backbone, task) per job.

The scores are `evaluate.protocols.run_protocols`'s, so they equal a plain `task2sim evaluate`.
Pairs run in spawned worker processes (one torch thread each: the result never depends on the
pool). A pair whose backbone is kept for CKA writes its fine-tuned copy as a checkpoint folder
`train.checkpoint.load_backbone` reads; the others keep only their scores. Finished pairs are kept
beside the output (`final.store`): a killed stage re-evaluates only the pairs it had not finished.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import timm
import torch
from torch import nn
from tqdm import tqdm

from task2sim.atomic import atomic_dir, atomic_write_json
from task2sim.datasets.format import TaskData
from task2sim.errors import Task2SimError
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.protocols import PROTOCOLS, run_protocols
from task2sim.final.plan import Plan, backbone_name
from task2sim.final.store import (
    code_digest,
    file_digest,
    fingerprint,
    is_built,
    link_tree,
    prune,
    work_dir,
)
from task2sim.outputs import folder_of
from task2sim.params import EvaluateParams
from task2sim.sweep.executors import LocalExecutor
from task2sim.train.checkpoint import CHECKPOINT, META_FILE, write_checkpoint

# backbone -> task -> fine-tuned checkpoint
FINETUNED_BACKBONES = folder_of(folder_of(CHECKPOINT))
SCORES_FILE = "scores.json"

log = logging.getLogger(__name__)
# What a score depends on besides its backbone, task and params (tests/test_code_deps.py checks
# it covers the code the evaluation runs).
EVALUATE_CODE = ("evaluate", "final/evaluate", "train/checkpoint", "datasets/format")


def score_task(
    model: nn.Module, task: TaskData, params: EvaluateParams, progress: bool = False
) -> tuple[dict[str, float], nn.Module]:
    """{knn, linear, finetune: top-1 %} and the fine-tuned copy of `model` (eval mode)."""
    torch.set_num_threads(params.threads)
    extractor = FeatureExtractor(model, params.image_size, params.feature_batch_size, progress)
    scores, tuned = run_protocols(extractor, task, PROTOCOLS, params)
    return {k: round(float(v), 4) for k, v in scores.items()}, tuned


def task_digest(tasks_dir: Path, name: str) -> str:
    """What identifies a prepared task: its meta (sources, their sha256, split) and classes."""
    folder = Path(tasks_dir) / name
    return fingerprint(
        [(folder / f).read_text(encoding="utf-8") for f in ("meta.json", "classes.json")]
    )


def _same(model: nn.Module) -> nn.Module:
    return model


@dataclass(frozen=True)
class Backbone:
    """A network to evaluate: a picklable builder, what identifies it, the meta its fine-tuned
    copies carry, the module a checkpoint saves, and whether its fine-tuned copies are kept."""

    name: str
    build: Callable[[], nn.Module]
    identity: dict
    meta: dict
    unwrap: Callable[[nn.Module], nn.Module] = _same
    keep_tuned: bool = True
    evaluate: EvaluateParams | None = None  # its own protocol settings (the ImageNet rows)


@dataclass(frozen=True)
class PairJob:
    backbone: Backbone
    task: str
    tasks_dir: Path
    params: EvaluateParams
    entry: Path
    key: str


def _score_pair(job: PairJob) -> float:
    """Evaluate one (backbone, task) in a worker; the entry ends complete (stamped) or absent."""
    from task2sim.datasets.format import load_task
    from task2sim.final.store import build_once

    start = time.perf_counter()

    def build(folder: Path) -> None:
        task = load_task(Path(job.tasks_dir) / job.task)
        scores, tuned = score_task(job.backbone.build(), task, job.params)
        if not job.backbone.keep_tuned:
            atomic_write_json(folder / SCORES_FILE, {"scores": scores})
            return
        hp = job.params.finetune.for_task(task.name)
        tuned_meta = {
            **{k: v for k, v in job.backbone.meta.items() if k != "format_version"},
            "finetuned": {
                "backbone": job.backbone.name,
                "task": task.name,
                "task_classes": list(task.classes),
                "hparams": hp.model_dump(),
                "settings": job.params.finetune.model_dump(mode="json"),
                "seed": job.params.seed,
            },
            "scores": scores,
        }
        with atomic_dir(folder, CHECKPOINT) as tmp:
            write_checkpoint(tmp, job.backbone.unwrap(tuned), tuned_meta)

    build_once(job.entry, job.key, build)
    return time.perf_counter() - start


def _entry_scores(entry: Path) -> dict[str, float]:
    path = entry / SCORES_FILE if (entry / SCORES_FILE).is_file() else entry / META_FILE
    return json.loads(path.read_text(encoding="utf-8"))["scores"]


def evaluate_pairs(
    pairs: Sequence[tuple[Backbone, str]],
    tasks_dir: Path,
    params: EvaluateParams,
    out: Path,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, dict[str, dict[str, float]]]:
    """{backbone: {task: {protocol: top-1 %}}} for every (backbone, task) of `pairs`; kept
    fine-tuned copies go to `out/<backbone>/<task>/`. Runs `workers` processes of one thread."""
    out = Path(out)
    work = work_dir(out)
    common = {
        "code": code_digest(*EVALUATE_CODE),
        "torch": torch.__version__,
        "timm": timm.__version__,
    }
    digests: dict[str, str] = {}
    jobs, entries = [], {}
    for backbone, task in pairs:
        if task not in digests:
            digests[task] = task_digest(tasks_dir, task)
        entry = work / backbone.name / task
        own = backbone.evaluate or params
        single = own.model_copy(update={"threads": 1}) if workers > 1 else own
        key = fingerprint(
            {
                **common,
                "params": own.model_dump(mode="json", exclude={"threads"}),
                "backbone": backbone.identity,
                "keep_tuned": backbone.keep_tuned,
                "task": digests[task],
            }
        )
        entries[(backbone.name, task)] = (backbone, entry)
        if not is_built(entry, key):
            jobs.append(PairJob(backbone, task, Path(tasks_dir), single, entry, key))
    bar = tqdm(total=len(jobs), desc="evaluate", unit="pair", disable=not progress)
    scored: dict[Path, dict[str, float]] = {}
    for job, seconds in LocalExecutor(workers).map_unordered(_score_pair, jobs):
        scores = scored[job.entry] = _entry_scores(job.entry)
        log.info(
            "%s on %s: %s (%.1f s)",
            job.backbone.name,
            job.task,
            ", ".join(f"{p} {v:.2f} %" for p, v in scores.items()),
            seconds,
        )
        bar.update()
    bar.close()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with atomic_dir(out, FINETUNED_BACKBONES) as tmp:
        for (name, task), (backbone, entry) in entries.items():
            scores = scored[entry] if entry in scored else _entry_scores(entry)
            results.setdefault(name, {})[task] = scores
            if backbone.keep_tuned:
                link_tree(entry, tmp / name / task)
    tasks_of: dict[str, list[str]] = {}
    for name, task in entries:
        tasks_of.setdefault(name, []).append(task)
    for name, tasks in tasks_of.items():
        prune(work / name, tasks)
    prune(work, list(tasks_of))
    return results


def final_backbones(plan: Plan, backbones_dir: Path) -> list[Backbone]:
    """Every (config, seed) backbone of `plan`; fine-tuned copies kept for the first seed (CKA)."""
    from task2sim.train.checkpoint import load_backbone, read_meta

    out = []
    for config, seed in plan.backbones:
        name = backbone_name(config, seed)
        folder = Path(backbones_dir) / name
        if not (folder / "model.pt").is_file():
            raise Task2SimError(
                f"backbone {folder} is missing (no model.pt)",
                "pre-train the final backbones first: `dvc repro pretrain` "
                "(or `task2sim pretrain-final`)",
            )
        identity = {f: file_digest(folder / f) for f in ("model.pt", META_FILE)}
        out.append(
            Backbone(
                name,
                partial(load_backbone, folder),
                identity,
                read_meta(folder),
                keep_tuned=seed == plan.seeds[0],
            )
        )
    return out


def evaluate_backbones(
    plan: Plan,
    params: EvaluateParams,
    backbones_dir: Path,
    tasks_dir: Path,
    out: Path,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, dict[str, dict[str, float]]]:
    """{cNNN_sS: {task: {protocol: %}}}: every backbone on the tasks whose methods chose its
    config, each (backbone, task) pair once however many methods share it."""
    config_of = {backbone_name(c, s): c for c, s in plan.backbones}
    pairs = [
        (backbone, task)
        for backbone in final_backbones(plan, backbones_dir)
        for task in plan.tasks_of(config_of[backbone.name])
    ]
    return evaluate_pairs(pairs, tasks_dir, params, out, workers, progress)
