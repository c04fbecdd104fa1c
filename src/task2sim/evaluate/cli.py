"""`task2sim evaluate` and `task2sim grid-search`: downstream accuracy of a pre-trained backbone."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.evaluate.run import BackboneRequest
from task2sim.params import PROTOCOLS


def _request(args: argparse.Namespace) -> BackboneRequest:
    return BackboneRequest(
        args.params, args.tasks_dir, args.checkpoint, args.timm_model, args.tasks, args.quiet
    )


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from task2sim.evaluate.run import evaluate_one

    evaluate_one(_request(args), args.protocols, args.out)


def _cmd_grid(args: argparse.Namespace) -> None:
    from task2sim.evaluate.run import grid_one

    grid_one(_request(args), args.protocols, args.out, args.write_params)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", help="pre-trained backbone folder")
    parser.add_argument("--timm-model", help="evaluate a random-init timm model of this name")
    add_path_options(parser, "--params", "--tasks-dir")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "evaluate", help="5-NN / linear-probe / fine-tune top-1 of a backbone on prepared tasks"
    )
    _common(evaluate)
    evaluate.add_argument("--tasks", nargs="+", help="task names (default: every task in params)")
    evaluate.add_argument(
        "--protocols", nargs="+", default=list(PROTOCOLS), help="knn linear finetune"
    )
    evaluate.add_argument("--out", type=Path, help="results JSON (default results/evaluate/)")
    evaluate.set_defaults(func=_cmd_evaluate)

    grid = sub.add_parser(
        "grid-search", help="the paper's lr / weight-decay / batch grid on a validation split"
    )
    _common(grid)
    grid.add_argument(
        "--tasks", nargs="+", help="task names from params.yaml (default: every task)"
    )
    grid.add_argument(
        "--protocols",
        nargs="+",
        default=["linear", "finetune"],
        help="linear and/or finetune (default both; linear runs first, LP-FT starts from it)",
    )
    grid.add_argument(
        "--write-params",
        action="store_true",
        help="write each winner to evaluate.<protocol>.hparams.<task> in --params",
    )
    grid.add_argument("--out", type=Path, help="grid JSON (default results/grid/BACKBONE.json)")
    grid.set_defaults(func=_cmd_grid)
