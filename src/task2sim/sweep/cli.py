"""`task2sim sweep`, `rewards`, `sweep-spread`: the reward table of the 256 sweep sets."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.layout import LAYOUT


def _cmd_sweep(args: argparse.Namespace) -> None:
    from task2sim.sweep.run import run_sweep

    run_sweep(
        args.params, args.configs, args.all, args.sets, args.tasks_dir, args.out, args.force,
        args.executor, args.jobs, args.address,
    )  # fmt: skip


def _cmd_rewards(args: argparse.Namespace) -> None:
    from task2sim.sweep.rewards import write_reward_table

    write_reward_table(args.params, args.sweep_dir, args.runs, args.out)


def _cmd_scratch(args: argparse.Namespace) -> None:
    from task2sim.sweep.scratch_row import write_scratch_row

    write_scratch_row(args.params, args.tasks_dir, args.out)


def _cmd_spread(args: argparse.Namespace) -> None:
    from task2sim.sweep.spread import measure_spread

    measure_spread(args.params, args.runs, args.scratch, args.out)


def register(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser(
        "sweep", help="pre-train a sweep backbone on set cNNN and score it by 5-NN on every task"
    )
    sweep.add_argument("configs", nargs="*", help="config indices, cNNN or paper keys")
    sweep.add_argument("--all", action="store_true", help="all 256 configs")
    sweep.add_argument("--force", action="store_true", help="re-run configs that have results")
    add_path_options(sweep, "--params", "--tasks-dir")
    sweep.add_argument("--sets", type=Path, default=LAYOUT.sweep_sets)
    sweep.add_argument(
        "--out", type=Path, default=LAYOUT.sweep_runs, help="parent of the cNNN results"
    )
    sweep.add_argument("--executor", choices=["local", "ray"], help="override sweep.executor")
    sweep.add_argument("--jobs", type=int, help="override sweep.jobs (local executor)")
    sweep.add_argument("--address", help="override sweep.address (Ray cluster)")
    sweep.set_defaults(func=_cmd_sweep)

    rewards = sub.add_parser("rewards", help="gather the 256 sweep results into the reward table")
    add_path_options(rewards, "--params")
    rewards.add_argument("--sweep-dir", type=Path, default=LAYOUT.sweep_runs)
    rewards.add_argument("--out", type=Path, default=LAYOUT.rewards, help="the reward table")
    rewards.add_argument(
        "--runs", type=Path, default=LAYOUT.reward_runs, help="every raw run (CSV)"
    )
    rewards.set_defaults(func=_cmd_rewards)

    scratch = sub.add_parser(
        "scratch",
        help="score the sweep's architecture at random initialisation (the scratch row)",
    )
    add_path_options(scratch, "--params", "--tasks-dir")
    scratch.add_argument("--out", type=Path, default=LAYOUT.scratch)
    scratch.set_defaults(func=_cmd_scratch)

    spread = sub.add_parser(
        "sweep-spread",
        help="learning, scratch, split-half reliability and effects of the reward sweep",
    )
    add_path_options(spread, "--params", "--runs", "--scratch")
    spread.add_argument("--out", type=Path, default=LAYOUT.sweep_spread)
    spread.set_defaults(func=_cmd_spread)
