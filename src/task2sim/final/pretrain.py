"""`pretrain`: one backbone per final set and seed (`data/final/backbones/cNNN_sS/`) with the
`pretrain.train` recipe at that seed, and its dvclive log (`results/final/logs/cNNN_sS/`).

Backbones train in spawned worker processes of `recipe.threads` torch threads each; each one's
bytes depend only on its set, recipe and seed, never on the pool.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import timm
import torch
from tqdm import tqdm

from task2sim.atomic import atomic_dir
from task2sim.errors import Task2SimError
from task2sim.final.plan import Plan, backbone_name
from task2sim.final.store import (
    build_once,
    code_digest,
    fingerprint,
    is_built,
    link_tree,
    prune,
    work_dir,
)
from task2sim.outputs import OutputKind, folder_of, meta_has
from task2sim.params import TrainRecipe
from task2sim.sim.config import stage_name
from task2sim.sweep.executors import LocalExecutor
from task2sim.train.checkpoint import CHECKPOINT
from task2sim.train.loop import pretrain

TRAINING_LOG = OutputKind("training log", meta_has(meta_file="metrics.json"))

log = logging.getLogger(__name__)


# What a backbone's bytes depend on besides its set, recipe and seed: retrain when it changes
# (tests/test_code_deps.py checks it covers the code the training runs).
TRAIN_CODE = ("train", "datasets/image_set")


def set_digest(set_dir: Path) -> str:
    """The identity of a rendered set: its meta names the job and classes that made its bytes."""
    meta = Path(set_dir) / "meta.json"
    if not meta.is_file():
        raise Task2SimError(
            f"final set {set_dir} is missing (no meta.json)",
            "render the final sets first: `dvc repro final_sets` (or `task2sim final-sets`)",
        )
    return hashlib.sha256(meta.read_bytes()).hexdigest()


def _detach_dvclive_from_experiment() -> None:
    """Inside `dvc exp run`, dvclive treats every log as the experiment's own, which costs
    time and can fail an experiment:
    - at the end of each log it loads the project's whole stage index (every dvc.yaml and lock:
      about 6 s at 537 stages, once per backbone) to `git add` untracked files of the log
      folder, and there are none (the folder is a git-ignored work area that the stage's own
      output records);
    - it signals every finished epoch to VS Code through one file per repository and deletes
      it with a check-then-remove, so two training processes race on it (FileNotFoundError).
    These workers write finished logs, not a live view of the experiment: they skip both."""
    import dvclive.live

    for name in (
        "ensure_dir_is_tracked",
        "mark_dvclive_step_completed",
        "cleanup_dvclive_step_completed",
    ):
        if hasattr(dvclive.live, name):
            setattr(dvclive.live, name, lambda *args: None)


def _train_backbone(job: tuple[Path, TrainRecipe, Path, str, Path]) -> float:
    """One backbone in a worker process: train it into `entry` unless already built there."""
    _detach_dvclive_from_experiment()
    set_dir, recipe, entry, key, log_dir = job
    start = time.perf_counter()
    build_once(
        entry,
        key,
        lambda folder: pretrain(set_dir, recipe, folder, log_dir=log_dir, progress=False),
    )
    return time.perf_counter() - start


def pretrain_final(
    plan: Plan,
    recipe: TrainRecipe,
    sets_dir: Path,
    out: Path,
    logs_out: Path,
    progress: bool = True,
    workers: int = 1,
) -> list[str]:
    """Train (or reuse) the backbone of every (config, seed) of `plan`, in `workers` spawned
    processes of `recipe.threads` torch threads each; returns the backbones trained anew."""
    out, logs_out = Path(out), Path(logs_out)
    work, logs_work = work_dir(out), work_dir(logs_out)
    digests = {c: set_digest(Path(sets_dir) / stage_name(c)) for c in plan.configs}  # fail early
    code = {
        "train": code_digest(*TRAIN_CODE),
        "torch": torch.__version__,
        "timm": timm.__version__,
    }
    names, jobs = [], []
    for config, seed in plan.backbones:
        name = backbone_name(config, seed)
        seeded = recipe.model_copy(update={"seed": seed})
        key = fingerprint(
            {"set": digests[config], **code, "recipe": seeded.model_dump(mode="json")}
        )
        names.append(name)
        if not is_built(work / name, key):
            set_dir = Path(sets_dir) / stage_name(config)
            jobs.append((set_dir, seeded, work / name, key, logs_work / name))
    trained = []
    bar = tqdm(total=len(jobs), desc="pretrain", unit="backbone", disable=not progress)
    for job, seconds in LocalExecutor(workers).map_unordered(_train_backbone, jobs):
        trained.append(job[2].name)
        log.info("%s: trained in %.1f s", job[2].name, seconds)
        bar.update()
    bar.close()
    with (
        atomic_dir(out, folder_of(CHECKPOINT)) as tmp,
        atomic_dir(logs_out, folder_of(TRAINING_LOG)) as tmp_logs,
    ):
        for name in names:
            link_tree(work / name, tmp / name)
            if (logs_work / name).is_dir():
                link_tree(logs_work / name, tmp_logs / name)
    prune(work, names)
    prune(logs_work, names)
    return sorted(trained)
