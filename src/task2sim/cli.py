"""`task2sim <command>`: the entry points dvc.yaml runs, and the user-facing commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from task2sim import __version__
from task2sim.cli_help import DefaultsHelpFormatter, document
from task2sim.errors import Task2SimError

# The module that registers each command (and how it parses its arguments), in pipeline order.
# Running one command imports only its module, so what a stage imports is the code it runs
# (task2sim.pipeline.code_deps derives each stage's dvc.yaml code dependencies from it).
COMMANDS: dict[str, str] = {
    "tasks": "task2sim.datasets.cli",
    "prepare": "task2sim.datasets.cli",
    "render": "task2sim.render.cli",
    "report": "task2sim.report.cli",
    "sim-figures": "task2sim.report.cli",
    "task-sheet": "task2sim.report.cli",
    "render-index": "task2sim.report.cli",
    "plot-data": "task2sim.report.cli",
    "task2vec": "task2sim.task2vec.cli",
    "task2vec-halves": "task2sim.task2vec.cli",
    "pretrain": "task2sim.train.cli",
    "controller": "task2sim.controller.cli",
    "paper-controller": "task2sim.controller.cli",
    "loto": "task2sim.controller.cli",
    "fraction-table": "task2sim.controller.cli",
    "evaluate": "task2sim.evaluate.cli",
    "grid-search": "task2sim.evaluate.cli",
    "sweep": "task2sim.sweep.cli",
    "rewards": "task2sim.sweep.cli",
    "scratch": "task2sim.sweep.cli",
    "sweep-spread": "task2sim.sweep.cli",
    "final-sets": "task2sim.final.cli",
    "pretrain-final": "task2sim.final.cli",
    "evaluate-reference": "task2sim.final.cli",
    "evaluate-final": "task2sim.final.cli",
    "readme-verdicts": "task2sim.final.cli",
    "cka": "task2sim.cka.cli",
    "recommend": "task2sim.recommend",
    "pipelines": "task2sim.pipeline.cli",
    "dag": "task2sim.pipeline.cli",
}


def _command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` names (its first word that is not an option), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of `command`'s module when it is a known command."""
    parser = argparse.ArgumentParser(
        prog="task2sim",
        description="Task2Sim benchmark: the commands the DVC pipeline runs, and the user-facing "
        "ones (`task2sim <command> --help` for each).",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module in modules:
        importlib.import_module(module).register(sub)
    document(parser)
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse and run one command in this process; Task2SimError becomes exit status 2."""
    args = build_parser(_command_of(argv)).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s"
    )
    try:
        args.func(args)
    except Task2SimError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: task2sim {args.command} stopped; finished work is kept, and the same "
            "command resumes where it can",
            file=sys.stderr,
        )
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in this process (the program, `task2sim.entry.main`, may go warm)."""
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
