"""`task2sim controller`, `paper-controller` (supp. Table 1), `loto` and `fraction-table`."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.layout import LAYOUT


def _cmd_controller(args: argparse.Namespace) -> None:
    from task2sim.controller.run import controller_stage

    controller_stage(args.params, args.rewards, args.vectors, args.out, args.seed, args.loss)


def _cmd_paper_controller(args: argparse.Namespace) -> None:
    from task2sim.controller.paper_table import paper_controller_stage

    paper_controller_stage(args.params, args.out, offline=args.offline)


def _cmd_fraction_table(args: argparse.Namespace) -> None:
    from task2sim.controller.fraction_table import fraction_table_stage

    fraction_table_stage(
        args.params, args.tasks_dir, args.vectors, args.rewards, args.work_dir, args.out, args.json
    )


def _cmd_loto(args: argparse.Namespace) -> None:
    from task2sim.controller.loto import loto_stage

    loto_stage(
        args.params, args.rewards, args.vectors, args.out, args.json, args.verdicts,
        paper=not args.no_paper, offline=args.offline, progress=not args.quiet,
    )  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    controller = sub.add_parser(
        "controller", help="train the Task2Sim controller on a reward table and predict configs"
    )
    controller.add_argument(
        "--rewards", type=Path, required=True, help="reward table JSON {task: {key: %%}}"
    )
    add_path_options(controller, "--vectors", "--params")
    controller.add_argument("--out", type=Path, default=LAYOUT.controller)
    controller.add_argument("--seed", type=int, help="default: params.yaml seed")
    controller.add_argument(
        "--loss", choices=("per_task", "official"), help="override controller.training.loss"
    )
    controller.set_defaults(func=_cmd_controller)

    paper = sub.add_parser(
        "paper-controller",
        help="supp. Table 1 from the paper's released reward table and Task2Vec vectors",
    )
    paper.add_argument("--out", type=Path, default=LAYOUT.paper)
    add_path_options(paper, "--params")
    paper.add_argument("--offline", action="store_true", help="never download the released files")
    paper.set_defaults(func=_cmd_paper_controller)

    loto = sub.add_parser(
        "loto",
        help="leave-one-task-out: the controller retrained without each task, against baselines",
    )
    add_path_options(loto, "--params", "--rewards", "--vectors")
    loto.add_argument("--out", type=Path, default=LAYOUT.loto_table)
    loto.add_argument("--json", type=Path, default=LAYOUT.loto)
    loto.add_argument(
        "--verdicts", type=Path, default=LAYOUT.loto_verdicts,
        help="the README's generated summary block",
    )  # fmt: skip
    loto.add_argument(
        "--no-paper", action="store_true", help="our pool only (no released paper artifacts)"
    )
    loto.add_argument("--offline", action="store_true", help="never download the released files")
    loto.add_argument("--quiet", action="store_true", help="no progress bar")
    loto.set_defaults(func=_cmd_loto)

    fractions = sub.add_parser(
        "fraction-table",
        help="supp. Table 1 on our pipeline: Task2Vec from fractions of each task's data",
    )
    add_path_options(fractions, "--params", "--rewards", "--vectors", "--tasks-dir")
    fractions.add_argument("--work-dir", type=Path, default=LAYOUT.task2vec_fractions)
    fractions.add_argument("--out", type=Path, default=LAYOUT.fraction_table)
    fractions.add_argument("--json", type=Path, default=LAYOUT.fraction_table_json)
    fractions.set_defaults(func=_cmd_fraction_table)
