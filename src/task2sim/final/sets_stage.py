"""The `final_sets` stage: the per-method plan, and one pre-training set per unique config."""

from __future__ import annotations

import time
from pathlib import Path

from task2sim.controller.baselines import TABLE_METHODS
from task2sim.final.plan import build_plan, load_predictions, write_plan
from task2sim.final.sets import render_final_sets
from task2sim.params import load_params
from task2sim.reward_table import load_reward_table
from task2sim.task2vec.embed import load_vectors


def final_sets_stage(
    params_path: Path,
    predictions_path: Path,
    rewards: Path,
    vectors_dir: Path,
    plan_path: Path,
    out: Path,
    progress: bool = True,
) -> None:
    """Plan every method's config per task (the controller's predictions, the table-read
    baselines, the nearest task), render (or reuse) each unique config's set, write the plan."""
    params = load_params(params_path)
    split, final = params.controller, params.final
    tasks = [*split.seen, *split.unseen]
    predictions = load_predictions(predictions_path, tasks) if "task2sim" in final.methods else None
    table = vectors = None
    if set(final.methods) & set(TABLE_METHODS):
        table = load_reward_table(rewards)
    if "nearest_task" in final.methods:
        vectors = load_vectors(vectors_dir, tasks)
    plan = build_plan(
        final.methods,
        split.seen,
        split.unseen,
        final.random_seed,
        predictions,
        final.seeds,
        table,
        vectors,
    )
    start = time.perf_counter()
    rendered = render_final_sets(params, plan, out, progress=progress)
    write_plan(plan, plan_path)
    for method, per_task in plan.methods.items():
        print(f"{method}: " + ", ".join(f"{t} c{c:03d}" for t, c in per_task.items()))
    print(
        f"{len(plan.configs)} unique configs ({len(rendered)} rendered, "
        f"{len(plan.configs) - len(rendered)} reused), {params.pretrain.images} images at "
        f"{params.pretrain.size} px each -> {out} ({time.perf_counter() - start:.1f} s)"
    )
