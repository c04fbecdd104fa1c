"""The `pretrain` stage: one backbone per final set and seed, with its training log."""

from __future__ import annotations

import time
from pathlib import Path

from task2sim.final.plan import read_plan
from task2sim.final.pretrain import pretrain_final
from task2sim.params import load_params


def pretrain_stage(
    params_path: Path, plan_path: Path, sets: Path, out: Path, logs: Path, progress: bool = True
) -> None:
    """Pre-train (or reuse) every backbone of the plan (`final.workers` processes)."""
    params = load_params(params_path)
    plan = read_plan(plan_path)
    start = time.perf_counter()
    recipe = params.pretrain.train
    trained = pretrain_final(plan, recipe, sets, out, logs, progress, params.final.workers)
    total = len(plan.backbones)
    print(
        f"{total} backbones ({len(plan.configs)} sets x {len(plan.seeds)} seeds; "
        f"{len(trained)} trained, {total - len(trained)} reused), {recipe.model} x "
        f"{recipe.epochs} epochs -> {out} ({time.perf_counter() - start:.1f} s)"
    )
