"""`pretrain`: one backbone per final set (`data/final/backbones/cNNN/`) with the
`pretrain.train` recipe, and its dvclive log (`results/final/logs/cNNN/`)."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import timm
import torch

from task2sim.atomic import atomic_dir
from task2sim.errors import Task2SimError
from task2sim.final.plan import Plan
from task2sim.final.store import build_once, code_digest, fingerprint, link_tree, prune, work_dir
from task2sim.outputs import OutputKind, folder_of, meta_has
from task2sim.params import TrainRecipe
from task2sim.sim.config import stage_name
from task2sim.train.checkpoint import CHECKPOINT
from task2sim.train.loop import pretrain

TRAINING_LOG = OutputKind("training log", meta_has(meta_file="metrics.json"))

log = logging.getLogger(__name__)


def set_digest(set_dir: Path) -> str:
    """The identity of a rendered set: its meta names the job and classes that made its bytes."""
    meta = Path(set_dir) / "meta.json"
    if not meta.is_file():
        raise Task2SimError(
            f"final set {set_dir} is missing (no meta.json)",
            "render the final sets first: `dvc repro final_sets` (or `task2sim final-sets`)",
        )
    return hashlib.sha256(meta.read_bytes()).hexdigest()


def pretrain_final(
    plan: Plan,
    recipe: TrainRecipe,
    sets_dir: Path,
    out: Path,
    logs_out: Path,
    progress: bool = True,
) -> list[str]:
    """Train (or reuse) the backbone of every config of `plan`; returns those trained anew."""
    out, logs_out = Path(out), Path(logs_out)
    work, logs_work = work_dir(out), work_dir(logs_out)
    names = [stage_name(c) for c in plan.configs]
    digests = {name: set_digest(Path(sets_dir) / name) for name in names}  # fail before training
    code = {
        "train": code_digest("train"),
        "torch": torch.__version__,
        "timm": timm.__version__,
        "recipe": recipe.model_dump(mode="json"),
    }
    trained = []
    with (
        atomic_dir(out, folder_of(CHECKPOINT)) as tmp,
        atomic_dir(logs_out, folder_of(TRAINING_LOG)) as tmp_logs,
    ):
        for name in names:
            start = time.perf_counter()
            reused = build_once(
                work / name,
                fingerprint({"set": digests[name], **code}),
                lambda entry, name=name: pretrain(
                    Path(sets_dir) / name,
                    recipe,
                    entry,
                    log_dir=logs_work / name,
                    progress=progress,
                ),
            )
            link_tree(work / name, tmp / name)
            if (logs_work / name).is_dir():
                link_tree(logs_work / name, tmp_logs / name)
            if reused:
                log.info("%s: already trained, reused", name)
            else:
                trained.append(name)
                log.info("%s: trained in %.1f s", name, time.perf_counter() - start)
    prune(work, names)
    prune(logs_work, names)
    return trained
