"""`task2sim sweep`, `rewards`, `sweep-spread`: the reward table of the 256 sweep sets."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

SETS_DIR = Path("data/sets/sweep")
TASKS_DIR = Path("data/tasks")
SWEEP_DIR = Path("data/sweep")
REWARDS_FILE = Path("results/rewards.json")
RUNS_FILE = Path("results/reward_runs.csv")
SCRATCH_FILE = Path("results/scratch.json")
SPREAD_FILE = Path("results/sweep_spread.md")


def _jobs(args: argparse.Namespace, configs: list[int]):
    from task2sim.params import load_params
    from task2sim.sweep.job import SweepJob

    params = load_params(args.params)
    return params, [
        SweepJob.for_config(c, params, args.sets, args.tasks_dir, args.out) for c in configs
    ]


def _cmd_sweep(args: argparse.Namespace) -> None:
    from task2sim.errors import Task2SimError
    from task2sim.params import override
    from task2sim.sim.config import NUM_CONFIGS, parse_config
    from task2sim.sweep.executors import make_executor
    from task2sim.sweep.job import run_sweep_job
    from task2sim.sweep.rewards import RESULT_FILE

    if args.all == bool(args.configs):
        raise Task2SimError("name configs, or --all", "e.g. `task2sim sweep c255`")
    configs = list(range(NUM_CONFIGS)) if args.all else [parse_config(c) for c in args.configs]
    params, jobs = _jobs(args, configs)
    sweep = override(
        params.sweep,
        "sweep",
        {
            "--executor": ("executor", args.executor),
            "--jobs": ("jobs", args.jobs),
            "--address": ("address", args.address),
        },
    )
    if not args.force:  # a killed sweep resumes; DVC removes stale results before a stage runs
        done = [j for j in jobs if (j.out_dir / RESULT_FILE).is_file()]
        if done:
            print(f"{len(done)} of {len(jobs)} configs already have results; skipping them")
        jobs = [j for j in jobs if j not in done]
    missing_sets = [j.set_dir for j in jobs if not (j.set_dir / "meta.json").is_file()]
    if missing_sets:
        raise Task2SimError(
            f"{len(missing_sets)} sweep sets are not rendered (e.g. {missing_sets[0]})",
            "render them first: `dvc repro render`",
        )
    if sweep.executor == "ray" or sweep.jobs > 1:  # pool and Ray workers must not fork
        jobs = [replace(j, sweep=j.sweep.model_copy(update={"workers": 1})) for j in jobs]
    executor = make_executor(sweep.executor, jobs=sweep.jobs, address=sweep.address)
    start = time.perf_counter()
    finished = 0
    for job, _ in executor.map_unordered(run_sweep_job, jobs):
        finished += 1
        print(f"[{finished}/{len(jobs)}] {job.out_dir} ({time.perf_counter() - start:.0f} s)")
    print(f"{finished} sweep job(s) in {time.perf_counter() - start:.1f} s")


def _cmd_rewards(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_write_bytes, atomic_write_json
    from task2sim.params import load_params
    from task2sim.sweep.rewards import gather_runs, reward_table

    params = load_params(args.params)
    tasks = list(params.tasks)
    runs = gather_runs(args.sweep_dir, tasks, params.sweep.design)
    atomic_write_bytes(args.runs, runs.to_csv(index=False).encode("utf-8"))
    table = reward_table(runs, tasks, params.sweep.table)
    atomic_write_json(args.out, table, sort_keys=False)  # keys in config index order
    configs = runs["config"].nunique()
    print(
        f"{args.runs}: {len(runs) // len(tasks)} runs of {configs} configs; {args.out}: "
        f"{len(table)} tasks x {len(next(iter(table.values())))} configs ({params.sweep.table})"
    )


def _cmd_scratch(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_write_json
    from task2sim.params import load_params
    from task2sim.sweep.scratch_row import score_scratch

    params = load_params(args.params)
    result = score_scratch(params, args.tasks_dir)
    atomic_write_json(args.out, result)
    for task, row in result["tasks"].items():
        print(f"{task}: scratch 5-NN {row['mean']:.2f} ± {row['sem']:.2f} (s.e., n = {row['n']})")


def _cmd_spread(args: argparse.Namespace) -> None:
    from task2sim.sweep.spread import measure_spread

    measure_spread(args.params, args.runs, args.scratch, args.out)


def _cmd_pipelines(args: argparse.Namespace) -> None:
    from task2sim.errors import Task2SimError
    from task2sim.sweep.pipeline_files import stale_pipeline_files, write_pipeline_files

    if args.check:
        stale = stale_pipeline_files(args.root)
        if stale:
            raise Task2SimError(
                f"{len(stale)} pipeline files are out of date (e.g. {stale[0]})",
                "regenerate them: `task2sim pipelines`",
            )
        print("pipeline files are up to date")
        return
    changed = write_pipeline_files(args.root)
    print(f"wrote {len(changed)} pipeline file(s)" if changed else "pipeline files are up to date")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--sets", type=Path, default=SETS_DIR, help="rendered sweep sets")
    parser.add_argument("--tasks-dir", type=Path, default=TASKS_DIR, help="prepared tasks")


def register(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser(
        "sweep", help="pre-train a sweep backbone on set cNNN and score it by 5-NN on every task"
    )
    sweep.add_argument("configs", nargs="*", help="config indices, cNNN or paper keys")
    sweep.add_argument("--all", action="store_true", help="all 256 configs")
    sweep.add_argument("--force", action="store_true", help="re-run configs that have results")
    _common(sweep)
    sweep.add_argument("--out", type=Path, default=SWEEP_DIR, help="parent of the cNNN results")
    sweep.add_argument("--executor", choices=["local", "ray"], help="override sweep.executor")
    sweep.add_argument("--jobs", type=int, help="override sweep.jobs (local executor)")
    sweep.add_argument("--address", help="override sweep.address (Ray cluster)")
    sweep.set_defaults(func=_cmd_sweep)

    rewards = sub.add_parser("rewards", help="gather the 256 sweep results into the reward table")
    rewards.add_argument("--params", type=Path, default=Path("params.yaml"))
    rewards.add_argument("--sweep-dir", type=Path, default=SWEEP_DIR)
    rewards.add_argument("--out", type=Path, default=REWARDS_FILE, help="the reward table")
    rewards.add_argument("--runs", type=Path, default=RUNS_FILE, help="every raw run (CSV)")
    rewards.set_defaults(func=_cmd_rewards)

    scratch = sub.add_parser(
        "scratch",
        help="score the sweep's architecture at random initialisation (the scratch row)",
    )
    scratch.add_argument("--params", type=Path, default=Path("params.yaml"))
    scratch.add_argument("--tasks-dir", type=Path, default=TASKS_DIR, help="prepared tasks")
    scratch.add_argument("--out", type=Path, default=SCRATCH_FILE)
    scratch.set_defaults(func=_cmd_scratch)

    spread = sub.add_parser(
        "sweep-spread",
        help="learning, scratch, split-half reliability and effects of the reward sweep",
    )
    spread.add_argument("--params", type=Path, default=Path("params.yaml"))
    spread.add_argument("--runs", type=Path, default=RUNS_FILE, help="every sweep run (CSV)")
    spread.add_argument("--scratch", type=Path, default=SCRATCH_FILE, help="the scratch row")
    spread.add_argument("--out", type=Path, default=SPREAD_FILE)
    spread.set_defaults(func=_cmd_spread)

    pipelines = sub.add_parser(
        "pipelines",
        help="write pipelines/cNNN/dvc.yaml: the render@cNNN and sweep@cNNN stages of each config",
    )
    pipelines.add_argument("--root", type=Path, default=Path("."), help="project root")
    pipelines.add_argument("--check", action="store_true", help="only check they are current")
    pipelines.set_defaults(func=_cmd_pipelines)
