"""The scratch row: the sweep's architecture at random initialisation, scored exactly like a sweep
run (same 5-NN caps and evaluation settings), once per seed.

Without it a reward table cannot say whether pre-training taught anything: at 32 px a random
network's features already carry most of what 5-NN needs on some tasks. Seeds come from their own
stream of `sweep.train.seed`, so no scratch network shares an initialisation with a sweep run.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from task2sim.params import Params
from task2sim.sweep.design import scratch_seed


def _score_one(payload: tuple[Params, int, int, dict[str, str]]) -> dict:
    import torch

    from task2sim.datasets.format import load_task
    from task2sim.evaluate.protocols import evaluate_backbone
    from task2sim.train.recipe import create_model

    params, index, num_classes, task_dirs = payload
    torch.set_num_threads(1)
    seed = scratch_seed(params.sweep.train.seed, index)
    torch.random.default_generator.manual_seed(seed)
    model = create_model(params.sweep.train, num_classes).eval()
    evaluate = params.evaluate.model_copy(
        update={
            "max_train_images": params.sweep.max_train_images,
            "max_test_images": params.sweep.max_test_images,
            "threads": 1,
        }
    )
    tasks = {name: load_task(Path(path)) for name, path in task_dirs.items()}
    scores = evaluate_backbone(model, tasks, ["knn"], evaluate)
    return {
        "index": index,
        "seed": seed,
        "top1": {t: round(s["knn"], 4) for t, s in scores.items()},
    }


def score_scratch(params: Params, tasks_dir: Path) -> dict:
    """{"runs": [...], "tasks": {task: {mean, std, sem, n}}} over `sweep.scratch_seeds` networks,
    `sweep.workers` spawned processes at a time (this runs no torch op before they start)."""
    task_dirs = {name: str(Path(tasks_dir) / name) for name in params.tasks}
    payloads = [
        (params, i, params.sim.classes, task_dirs) for i in range(params.sweep.scratch_seeds)
    ]
    workers = min(params.sweep.workers, len(payloads))
    if workers <= 1:
        runs = [_score_one(p) for p in payloads]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            runs = pool.map(_score_one, payloads)
    summary = {}
    for task in params.tasks:
        values = np.array([run["top1"][task] for run in runs])
        summary[task] = {
            "mean": round(float(values.mean()), 3),
            "std": round(float(values.std(ddof=1)), 3),
            "sem": round(float(values.std(ddof=1) / np.sqrt(len(values))), 3),
            "n": len(values),
        }
    return {
        "model": params.sweep.train.model,
        "model_kwargs": params.sweep.train.model_kwargs,
        "protocol": "5-NN top-1 % (the sweep's caps)",
        "tasks": summary,
        "runs": runs,
    }


def write_scratch_row(params_path: Path, tasks_dir: Path, out: Path) -> dict:
    """The `scratch` stage: the scratch row scored and written as JSON."""
    from task2sim.atomic import atomic_write_json
    from task2sim.params import load_params

    result = score_scratch(load_params(params_path), tasks_dir)
    atomic_write_json(out, result)
    for task, row in result["tasks"].items():
        print(f"{task}: scratch 5-NN {row['mean']:.2f} ± {row['sem']:.2f} (s.e., n = {row['n']})")
    return result
