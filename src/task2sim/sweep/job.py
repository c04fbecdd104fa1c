"""One sweep job: pre-train the sweep backbone on set cNNN, then 5-NN top-1 on every task.

The job is a plain function of paths and params, so the same code runs in a `sweep@cNNN` stage, in
a local process pool or on a Ray worker; its output folder appears atomically when it is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from task2sim.atomic import atomic_dir, atomic_write_json
from task2sim.outputs import OutputKind, meta_has
from task2sim.params import EvaluateParams, SweepParams
from task2sim.sim.config import index_to_key, stage_name
from task2sim.sweep.rewards import RESULT_FILE
from task2sim.train.checkpoint import CHECKPOINT

BACKBONE_DIR = "backbone"
_HAS_RESULT = meta_has("config", "top1", meta_file=RESULT_FILE)
# A result folder, also one whose rewards.json was lost but whose backbone is still ours.
SWEEP_RESULT = OutputKind(
    "sweep result",
    lambda folder: _HAS_RESULT(folder) or CHECKPOINT.recognise(folder / BACKBONE_DIR),
)


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

    def knn_params(self) -> EvaluateParams:
        """The evaluation settings with the sweep's (smaller) per-task image caps."""
        return self.evaluate.model_copy(
            update={
                "max_train_images": self.sweep.max_train_images,
                "max_test_images": self.sweep.max_test_images,
            }
        )


def run_sweep_job(job: SweepJob, progress: bool = False) -> dict[str, float]:
    """Train, score, and write `out_dir` (backbone/ + rewards.json); returns task -> top-1 %."""
    from task2sim.datasets.format import load_task
    from task2sim.evaluate.protocols import evaluate_backbone
    from task2sim.train.checkpoint import load_backbone
    from task2sim.train.loop import pretrain

    start = time.perf_counter()
    with atomic_dir(job.out_dir, SWEEP_RESULT) as tmp:
        pretrain(job.set_dir, job.sweep.train, tmp / BACKBONE_DIR, progress=progress)
        trained = time.perf_counter()
        model = load_backbone(tmp / BACKBONE_DIR)
        tasks = {name: load_task(path) for name, path in job.tasks.items()}
        scores = evaluate_backbone(model, tasks, ["knn"], job.knn_params())
        top1 = {name: round(result["knn"], 4) for name, result in scores.items()}
        atomic_write_json(
            tmp / RESULT_FILE,
            {
                "config": job.config,
                "key": index_to_key(job.config),
                "top1": top1,
                "protocol": "5-NN top-1 %",
            },
        )
    seconds = time.perf_counter() - start
    print(
        f"{stage_name(job.config)}: trained {trained - start:.1f} s, scored "
        f"{seconds - (trained - start):.1f} s; "
        + ", ".join(f"{t} {v:.1f}" for t, v in top1.items())
    )
    return top1
