"""`task2sim cka`: linear CKA between the methods' backbones on every task (supp. Fig. 1)."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.layout import LAYOUT


def _cmd_cka(args: argparse.Namespace) -> None:
    from task2sim.cka.sources import Layout
    from task2sim.cka.write import write_cka

    layout = Layout(args.backbones, args.finetuned, args.reference_finetuned)
    figure = None if args.no_figure else args.figure
    for line in write_cka(
        args.params, args.plan, layout, args.tasks_dir, args.tasks, args.out, figure
    ):
        print(line)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "cka", help="linear CKA of stage 1-4 features between methods (results/cka.json)"
    )
    add_path_options(
        parser, "--params", "--plan", "--backbones", "--finetuned", "--reference-finetuned",
        "--tasks-dir",
    )  # fmt: skip
    parser.add_argument("--tasks", nargs="*", help="a subset of the seen / unseen tasks")
    parser.add_argument("--out", type=Path, default=LAYOUT.cka)
    parser.add_argument("--figure", type=Path, default=LAYOUT.cka_figure)
    parser.add_argument(
        "--no-figure", action="store_true", help="write cka.json only (`task2sim report` draws it)"
    )
    parser.set_defaults(func=_cmd_cka)
