"""`task2sim sim-figures` (what the simulator renders) and `task2sim report` (figures of the
results: the reward table, CKA, scale curves from DVC experiments)."""

from __future__ import annotations

import argparse
from pathlib import Path

FIGURES_DIR = Path("results/figures")
TABLES_DIR = Path("results/tables")


def _cmd_sim_figures(args: argparse.Namespace) -> None:
    from task2sim.params import load_params
    from task2sim.render.world import build_world
    from task2sim.report.sim_figures import object_classes_figure, sim_parameters_figure

    sim = load_params(args.params).sim
    world = build_world(sim)
    sim_parameters_figure(world, sim.seed, args.out / "sim_parameters.png")
    object_classes_figure(world, args.out / "object_classes.png")
    print(f"wrote {args.out / 'sim_parameters.png'} and {args.out / 'object_classes.png'}")


def _cmd_task_sheet(args: argparse.Namespace) -> None:
    from task2sim.datasets.format import load_task
    from task2sim.params import load_params
    from task2sim.report.task_sheet import task_sheet

    names = list(load_params(args.params).tasks)
    tasks = {name: load_task(args.tasks_dir / name) for name in names}
    print(f"wrote {task_sheet(tasks, args.out)} ({len(tasks)} tasks)")


def _read_json(path: Path):
    import json

    from task2sim.errors import Task2SimError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(f"cannot read {path} ({exc})", "rebuild it with `dvc repro`") from None


def _cmd_report(args: argparse.Namespace) -> None:
    """Draw what the results allow; cheap: no network, no model runs."""
    if args.from_exps or args.exps_json:
        from task2sim.report.experiments import (
            experiment_rows,
            git_means,
            read_exps_json,
            run_exp_show,
        )
        from task2sim.report.scale import write_scale_report

        exps = read_exps_json(args.exps_json) if args.exps_json else run_exp_show(args.all_commits)
        rows = experiment_rows(exps, git_means)
        for message in write_scale_report(rows, args.out, args.tables):
            print(message)
        return
    import pandas as pd

    from task2sim.controller.rewards import load_reward_table
    from task2sim.report.rewards_figure import rewards_figure

    if args.rewards.is_file():
        plan = _read_json(args.plan) if args.plan.is_file() else None
        scratch = _read_json(args.scratch) if args.scratch.is_file() else None
        runs = pd.read_csv(args.runs) if args.runs.is_file() else None
        table = load_reward_table(args.rewards)
        path = rewards_figure(table, plan, args.out / "rewards.png", scratch, runs)
        print(f"wrote {path}" + ("" if plan else f" (no {args.plan}: methods not marked)"))
    else:
        print(f"skipped rewards.png: no {args.rewards} (`dvc repro rewards`)")
    if args.cka.is_file():
        from task2sim.cka.figure import cka_figure

        print(f"wrote {cka_figure(_read_json(args.cka), args.out / 'cka.png')}")
    else:
        print(f"skipped cka.png: no {args.cka} (`dvc repro cka`)")


def _cmd_render_index(args: argparse.Namespace) -> None:
    from task2sim.report.sweep_sets import write_set_index

    write_set_index(args.sets, args.index, args.figure)
    print(f"256 sweep sets in {args.sets}: index {args.index}, one image each in {args.figure}")


def _cmd_plot_data(args: argparse.Namespace) -> None:
    from task2sim.report.plot_data import write_plot_data

    written = write_plot_data(args.plan, args.logs, args.stats, args.out)
    print("wrote " + ", ".join(map(str, written)) + " (`dvc plots show` draws them)")


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="figures of the results (rewards, CKA); --from-exps: scale curves of experiments",
    )
    report.add_argument("--rewards", type=Path, default=Path("results/rewards.json"))
    report.add_argument("--plan", type=Path, default=Path("results/final/plan.json"))
    report.add_argument("--scratch", type=Path, default=Path("results/scratch.json"))
    report.add_argument("--runs", type=Path, default=Path("results/reward_runs.csv"))
    report.add_argument("--cka", type=Path, default=Path("results/cka.json"))
    report.add_argument(
        "--from-exps", action="store_true",
        help="accuracy against pretrain.images / classes / objects_per_class / train.model "
        "across DVC experiments (`dvc exp show --json`)",
    )  # fmt: skip
    report.add_argument("--exps-json", type=Path, help="read this saved `dvc exp show --json`")
    report.add_argument(
        "--all-commits", action="store_true", help="--from-exps: experiments of every commit"
    )
    report.add_argument("--out", type=Path, default=FIGURES_DIR, help="figures folder")
    report.add_argument("--tables", type=Path, default=TABLES_DIR, help="tables folder")
    report.set_defaults(func=_cmd_report)

    figures = sub.add_parser(
        "sim-figures", help="render the parameter strip (supp. Fig. 8) and the class contact sheet"
    )
    figures.add_argument("--params", type=Path, default=Path("params.yaml"))
    figures.add_argument("--out", type=Path, default=FIGURES_DIR, help="output folder")
    figures.set_defaults(func=_cmd_sim_figures)

    sheet = sub.add_parser(
        "task-sheet", help="one training image per class of every task (results/figures/tasks.png)"
    )
    sheet.add_argument("--params", type=Path, default=Path("params.yaml"))
    sheet.add_argument("--tasks-dir", type=Path, default=Path("data/tasks"))
    sheet.add_argument("--out", type=Path, default=FIGURES_DIR / "tasks.png", help="PNG to write")
    sheet.set_defaults(func=_cmd_task_sheet)

    index = sub.add_parser(
        "render-index", help="check the 256 sweep sets, index them and draw one image of each"
    )
    index.add_argument("--sets", type=Path, default=Path("data/sets/sweep"))
    index.add_argument("--index", type=Path, default=Path("results/sets/sweep_index.json"))
    index.add_argument("--figure", type=Path, default=FIGURES_DIR / "sweep_sets.png")
    index.set_defaults(func=_cmd_render_index)

    plot_data = sub.add_parser(
        "plot-data",
        help="the tables `dvc plots` draws: training curves and every method's intervals",
    )
    plot_data.add_argument("--plan", type=Path, default=Path("results/final/plan.json"))
    plot_data.add_argument("--logs", type=Path, default=Path("results/final/logs"))
    plot_data.add_argument("--stats", type=Path, default=Path("results/final/stats.json"))
    plot_data.add_argument("--out", type=Path, default=Path("results/plots"))
    plot_data.set_defaults(func=_cmd_plot_data)
