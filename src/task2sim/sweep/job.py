"""One sweep job: the runs of one config (one per replicate, each with its own seed), each a
backbone pre-trained on set cNNN and scored by 5-NN on every task.

The job is a plain function of paths and params, so the same code runs in a `sweep@cNNN` stage, in
a local process pool or on a Ray worker. A stage runs its replicates in `sweep.workers` forked
processes of `sweep.train.threads` torch threads (default one) each: on two idle cores that is as
fast as one process of two threads, and on a busy machine a process that loses its core slows
only itself instead of stalling a thread team (benchmarks/busy_sweep.py).
The output folder appears atomically when every run is done; configs outside the design write a
result with no runs, so the stage set does not depend on the design.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from task2sim.atomic import atomic_dir, atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, meta_has
from task2sim.params import EvaluateParams, SweepParams, TrainRecipe
from task2sim.scratch import remove_path
from task2sim.sim.config import index_to_key, stage_name
from task2sim.sweep.design import design_configs, run_seed
from task2sim.sweep.rewards import RESULT_FILE

SWEEP_RESULT = OutputKind("sweep result", meta_has("config", "runs", meta_file=RESULT_FILE))


@dataclass(frozen=True)
class SweepJob:
    config: int
    set_dir: Path  # render@cNNN's output
    tasks: dict[str, Path]  # task name -> prepared task folder
    sweep: SweepParams
    evaluate: EvaluateParams
    out_dir: Path  # data/sweep/cNNN

    @classmethod
    def for_config(
        cls, config: int, params, sets_dir: Path, tasks_dir: Path, sweep_dir: Path
    ) -> SweepJob:
        return cls(
            config=config,
            set_dir=Path(sets_dir) / stage_name(config),
            tasks={name: Path(tasks_dir) / name for name in params.tasks},
            sweep=params.sweep,
            evaluate=params.evaluate,
            out_dir=Path(sweep_dir) / stage_name(config),
        )

    @property
    def in_design(self) -> bool:
        return self.config in design_configs(self.sweep.design)

    @property
    def threads(self) -> int:
        """Torch threads of each worker: `sweep.train.threads`, or one (0 = unset)."""
        return self.sweep.train.threads or 1

    def recipe(self, replicate: int) -> TrainRecipe:
        """The sweep recipe with this run's own seed."""
        seed = run_seed(self.sweep.train.seed, self.config, replicate)
        return self.sweep.train.model_copy(update={"seed": seed, "threads": self.threads})

    def knn_params(self) -> EvaluateParams:
        """The evaluation settings with the sweep's (smaller) per-task image caps."""
        return self.evaluate.model_copy(
            update={
                "max_train_images": self.sweep.max_train_images,
                "max_test_images": self.sweep.max_test_images,
                "threads": self.threads,
            }
        )


def train_and_score(job: SweepJob, replicate: int, work_dir: Path) -> dict:
    """One run: pre-train with the replicate's seed, then 5-NN top-1 on every task."""
    from task2sim.datasets.format import load_task
    from task2sim.evaluate.protocols import evaluate_backbone
    from task2sim.train.checkpoint import load_backbone, read_meta
    from task2sim.train.loop import pretrain

    recipe = job.recipe(replicate)
    backbone = work_dir / f"backbone_r{replicate}"
    summary = pretrain(job.set_dir, recipe, backbone, progress=False, resume=False)
    model = load_backbone(backbone)
    tasks = {name: load_task(path) for name, path in job.tasks.items()}
    scores = evaluate_backbone(model, tasks, ["knn"], job.knn_params())
    return {
        "replicate": replicate,
        "seed": recipe.seed,
        "top1": {name: round(result["knn"], 4) for name, result in scores.items()},
        "train_loss": round(float(read_meta(backbone)["final_train_loss"]), 5),
        "heldout_top1": summary["heldout_top1"],
    }


def _child(job: SweepJob, replicate: int, work_dir: Path) -> None:
    """A forked worker: one run, its result as JSON beside the backbone; never returns."""
    code = 1
    try:
        run = train_and_score(job, replicate, work_dir)
        atomic_write_json(work_dir / f"run_r{replicate}.json", run)
        code = 0
    except BaseException:  # the parent reports the failure; the traceback goes to stderr
        traceback.print_exc()
    finally:
        os._exit(code)


def _run_replicates(job: SweepJob, work_dir: Path) -> list[dict]:
    """Every replicate's run, `sweep.workers` at a time in forked processes (inline when one).

    Forking is safe here: the caller has run no torch op and made no GL context yet."""
    replicates = list(range(job.sweep.replicates))
    workers = min(job.sweep.workers, len(replicates))
    if workers <= 1 or multiprocessing.current_process().daemon:  # pool workers cannot fork
        return [train_and_score(job, r, work_dir) for r in replicates]
    context = multiprocessing.get_context("fork")
    pending, running = list(replicates), {}
    while pending or running:
        while pending and len(running) < workers:
            replicate = pending.pop(0)
            process = context.Process(target=_child, args=(job, replicate, work_dir))
            process.start()
            running[replicate] = process
        finished = multiprocessing.connection.wait([p.sentinel for p in running.values()])
        for replicate, process in list(running.items()):
            if process.sentinel in finished:
                process.join()
                del running[replicate]
                if process.exitcode != 0:
                    for other in running.values():
                        other.terminate()
                    raise Task2SimError(
                        f"run {replicate} of {stage_name(job.config)} failed "
                        f"(exit code {process.exitcode}; its error is printed above)",
                        "fix the cause and re-run the stage",
                    )
    return [
        json.loads((work_dir / f"run_r{r}.json").read_text(encoding="utf-8")) for r in replicates
    ]


def run_sweep_job(job: SweepJob, progress: bool = False) -> list[dict]:
    """Train and score every replicate, write `out_dir/rewards.json`; returns the runs."""
    del progress  # runs report one line each; a bar per forked worker would interleave
    start = time.perf_counter()
    with atomic_dir(job.out_dir, SWEEP_RESULT) as tmp:
        runs = _run_replicates(job, tmp) if job.in_design else []
        for leftover in tmp.iterdir():  # backbones and per-run files: the result holds it all
            if leftover.name != RESULT_FILE:
                remove_path(leftover)
        atomic_write_json(
            tmp / RESULT_FILE,
            {
                "config": job.config,
                "key": index_to_key(job.config),
                "design": job.sweep.design,
                "in_design": job.in_design,
                "protocol": "5-NN top-1 %",
                "runs": runs,
            },
        )
    seconds = time.perf_counter() - start
    if not runs:
        print(f"{stage_name(job.config)}: not in the {job.sweep.design} design; no runs")
    for run in runs:
        print(
            f"{stage_name(job.config)} r{run['replicate']} (seed {run['seed']}): held-out "
            f"pretext top-1 {run['heldout_top1']} %, train loss {run['train_loss']:.3f}; 5-NN "
            + ", ".join(f"{t} {v:.1f}" for t, v in run["top1"].items())
        )
    if runs:
        print(f"{stage_name(job.config)}: {len(runs)} runs in {seconds:.1f} s")
    return runs
