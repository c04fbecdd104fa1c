"""`task2sim sweep`: the sweep jobs of some configs, run on the chosen executor, resumable."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.params import load_params, override
from task2sim.sim.config import NUM_CONFIGS, parse_config
from task2sim.sweep.executors import make_executor
from task2sim.sweep.job import SweepJob, run_sweep_job
from task2sim.sweep.rewards import RESULT_FILE


def run_sweep(
    params_path: Path,
    configs: list[str],
    every_config: bool,
    sets: Path,
    tasks_dir: Path,
    out: Path,
    force: bool = False,
    executor: str | None = None,
    jobs: int | None = None,
    address: str | None = None,
) -> int:
    """Train and score the runs of `configs` (or all 256); returns how many jobs ran. Configs
    with results are skipped unless `force`: a killed sweep resumes where it stopped."""
    if every_config == bool(configs):
        raise Task2SimError("name configs, or --all", "e.g. `task2sim sweep c255`")
    indices = list(range(NUM_CONFIGS)) if every_config else [parse_config(c) for c in configs]
    params = load_params(params_path)
    todo = [SweepJob.for_config(c, params, sets, tasks_dir, out) for c in indices]
    sweep = override(
        params.sweep,
        "sweep",
        {
            "--executor": ("executor", executor),
            "--jobs": ("jobs", jobs),
            "--address": ("address", address),
        },
    )
    if not force:  # DVC removes stale results before a stage runs
        done = [j for j in todo if (j.out_dir / RESULT_FILE).is_file()]
        if done:
            print(f"{len(done)} of {len(todo)} configs already have results; skipping them")
        todo = [j for j in todo if j not in done]
    missing_sets = [j.set_dir for j in todo if not (j.set_dir / "meta.json").is_file()]
    if missing_sets:
        raise Task2SimError(
            f"{len(missing_sets)} sweep sets are not rendered (e.g. {missing_sets[0]})",
            "render them first: `dvc repro render`",
        )
    if sweep.executor == "ray" or sweep.jobs > 1:  # pool and Ray workers must not fork
        todo = [replace(j, sweep=j.sweep.model_copy(update={"workers": 1})) for j in todo]
    pool = make_executor(sweep.executor, jobs=sweep.jobs, address=sweep.address)
    start = time.perf_counter()
    finished = 0
    for job, _ in pool.map_unordered(run_sweep_job, todo):
        finished += 1
        print(f"[{finished}/{len(todo)}] {job.out_dir} ({time.perf_counter() - start:.0f} s)")
    print(f"{finished} sweep job(s) in {time.perf_counter() - start:.1f} s")
    return finished
