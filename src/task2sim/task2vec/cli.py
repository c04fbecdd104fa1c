"""`task2sim task2vec` and `task2sim task2vec-halves`: Task2Vec embeddings of prepared tasks,
and whether they tell each task's two halves apart."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.layout import LAYOUT
from task2sim.params import load_params


def _cmd_task2vec(args: argparse.Namespace) -> None:
    from task2sim.datasets.selection import selected_tasks
    from task2sim.task2vec.embed import embed_tasks

    params = load_params(args.params)
    names = selected_tasks(params, args.tasks, args.all, args.params, "task2vec")
    settings = params.task2vec
    if args.fraction is not None:
        settings = settings.model_copy(update={"fraction": args.fraction})
    embed_tasks(names, args.tasks_dir, settings, params.seed, args.out)


def _cmd_halves(args: argparse.Namespace) -> None:
    from task2sim.task2vec.halves import write_halves_report

    write_halves_report(load_params(args.params), args.tasks_dir, args.out)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("a fraction in (0, 1]")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "task2vec", help=f"Task2Vec embedding of prepared tasks ({LAYOUT.task2vec}/<task>.npy)"
    )
    parser.add_argument("tasks", nargs="*", help="task names from params.yaml")
    parser.add_argument("--all", action="store_true", help="every task in params.yaml")
    parser.add_argument("--params", type=Path, default=LAYOUT.params)
    parser.add_argument("--tasks-dir", type=Path, default=LAYOUT.tasks)
    parser.add_argument("--out", type=Path, default=LAYOUT.task2vec, help="output directory")
    parser.add_argument(
        "--fraction", type=_fraction, help="override task2vec.fraction (supp. Table 1)"
    )
    parser.set_defaults(func=_cmd_task2vec)

    halves = sub.add_parser(
        "task2vec-halves",
        help=f"are two halves of each task closer than any other task? ({LAYOUT.task2vec_halves})",
    )
    halves.add_argument("--params", type=Path, default=LAYOUT.params)
    halves.add_argument("--tasks-dir", type=Path, default=LAYOUT.tasks)
    halves.add_argument("--out", type=Path, default=LAYOUT.task2vec_halves)
    halves.set_defaults(func=_cmd_halves)
