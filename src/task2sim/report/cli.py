"""The figure and plot-data commands: `report` (figures of the results: the reward table, CKA,
scale curves from DVC experiments), `sim-figures` (what the simulator renders), `task-sheet`,
`render-index` and `plot-data`. Each handler parses its options and calls one drawing function."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.layout import LAYOUT


def _cmd_sim_figures(args: argparse.Namespace) -> None:
    from task2sim.report.sim_figures import draw_sim_figures

    written = draw_sim_figures(args.params, args.out)
    print("wrote " + " and ".join(map(str, written)))


def _cmd_task_sheet(args: argparse.Namespace) -> None:
    from task2sim.report.task_sheet import draw_task_sheet

    path, count = draw_task_sheet(args.params, args.tasks_dir, args.out)
    print(f"wrote {path} ({count} tasks)")


def _cmd_report(args: argparse.Namespace) -> None:
    """Draw what the results allow; cheap: no network, no model runs."""
    if args.from_exps or args.exps_json:
        from task2sim.report.scale import scale_report

        messages = scale_report(args.exps_json, args.all_commits, args.out, args.tables)
    else:
        from task2sim.report.figures import draw_figures

        messages = draw_figures(
            args.rewards, args.plan, args.scratch, args.runs, args.cka, args.out
        )
    for message in messages:
        print(message)


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
    add_path_options(report, "--rewards", "--plan", "--scratch", "--runs", "--cka")
    report.add_argument(
        "--from-exps", action="store_true",
        help="accuracy against pretrain.images / classes / objects_per_class / train.model "
        "across DVC experiments (`dvc exp show --json`)",
    )  # fmt: skip
    report.add_argument("--exps-json", type=Path, help="read this saved `dvc exp show --json`")
    report.add_argument(
        "--all-commits", action="store_true", help="--from-exps: experiments of every commit"
    )
    report.add_argument("--out", type=Path, default=LAYOUT.figures, help="figures folder")
    report.add_argument("--tables", type=Path, default=LAYOUT.tables, help="tables folder")
    report.set_defaults(func=_cmd_report)

    figures = sub.add_parser(
        "sim-figures", help="render the parameter strip (supp. Fig. 8) and the class contact sheet"
    )
    add_path_options(figures, "--params")
    figures.add_argument("--out", type=Path, default=LAYOUT.figures, help="output folder")
    figures.set_defaults(func=_cmd_sim_figures)

    sheet = sub.add_parser(
        "task-sheet", help="one training image per class of every task (results/figures/tasks.png)"
    )
    add_path_options(sheet, "--params", "--tasks-dir")
    sheet.add_argument(
        "--out", type=Path, default=LAYOUT.figures / "tasks.png", help="PNG to write"
    )
    sheet.set_defaults(func=_cmd_task_sheet)

    index = sub.add_parser(
        "render-index", help="check the 256 sweep sets, index them and draw one image of each"
    )
    index.add_argument("--sets", type=Path, default=LAYOUT.sweep_sets)
    index.add_argument("--index", type=Path, default=LAYOUT.sweep_index)
    index.add_argument("--figure", type=Path, default=LAYOUT.figures / "sweep_sets.png")
    index.set_defaults(func=_cmd_render_index)

    plot_data = sub.add_parser(
        "plot-data",
        help="the tables `dvc plots` draws: training curves and every method's intervals",
    )
    add_path_options(plot_data, "--plan", "--logs", "--stats")
    plot_data.add_argument("--out", type=Path, default=LAYOUT.plots)
    plot_data.set_defaults(func=_cmd_plot_data)
