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

# Each module adds its own sub-commands, so the command list reads like the pipeline.
COMMAND_MODULES = (
    "task2sim.datasets.cli",
    "task2sim.render.cli",
    "task2sim.report.cli",
    "task2sim.task2vec.cli",
    "task2sim.train.cli",
    "task2sim.controller.cli",
    "task2sim.evaluate.cli",
    "task2sim.sweep.cli",
    "task2sim.final.cli",
    "task2sim.cka.cli",
    "task2sim.recommend",
    "task2sim.dag",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="task2sim",
        description="Task2Sim benchmark: the commands the DVC pipeline runs, and the user-facing "
        "ones (`task2sim <command> --help` for each).",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    document(parser)
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse and run one command in this process; Task2SimError becomes exit status 2."""
    args = build_parser().parse_args(argv)
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
    """The `task2sim` program: per-config stage commands run in a warm process when possible."""
    if argv is None:
        from task2sim.warm import run_warm

        code = run_warm(sys.argv[1:])
        if code is not None:
            return code
        argv = sys.argv[1:]
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
