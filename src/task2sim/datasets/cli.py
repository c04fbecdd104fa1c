"""`task2sim tasks` and `task2sim prepare`: the task registry and the uniform task format."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.layout import LAYOUT
from task2sim.params import check_task_name, load_params


def _cmd_tasks(args: argparse.Namespace) -> None:
    """Print the registry with what each task needs on this machine."""
    from task2sim.datasets.listing import registry_listing

    print(registry_listing())


def _cmd_prepare(args: argparse.Namespace) -> None:
    """Build `<out>/<name>/` from params.yaml, or from an ImageFolder given on the line."""
    if args.imagefolder:
        from task2sim.datasets.prepare import prepare_imagefolder

        if not args.name or args.tasks:
            raise Task2SimError("--imagefolder needs --name NAME and no task names")
        name = check_task_name(args.name)
        prepare_imagefolder(
            args.imagefolder, name, args.size, args.skip_non_images, args.out, args.force
        )
        return
    from task2sim.datasets.prepare import prepare_tasks
    from task2sim.datasets.selection import selected_tasks

    params = load_params(args.params)
    if args.size is not None or args.skip_non_images:
        raise Task2SimError(
            "--size and --skip-non-images go with --imagefolder",
            f"for a task of {args.params}, set size / skip_non_images under its `tasks:` entry",
        )
    names = selected_tasks(params, args.tasks, args.all, args.params, "prepare")
    prepare_tasks([(n, params.tasks[n]) for n in names], params.prepare, args.out, args.force)


def register(sub: argparse._SubParsersAction) -> None:
    tasks = sub.add_parser("tasks", help="list the task registry and what is available here")
    tasks.set_defaults(func=_cmd_tasks)

    prepare = sub.add_parser(
        "prepare", help=f"write tasks in the uniform format ({LAYOUT.tasks}/<task>)"
    )
    prepare.add_argument("tasks", nargs="*", help="task names from params.yaml")
    prepare.add_argument("--all", action="store_true", help="every task in params.yaml")
    prepare.add_argument("--params", type=Path, default=LAYOUT.params)
    prepare.add_argument("--out", type=Path, default=LAYOUT.tasks, help="parent directory")
    prepare.add_argument("--imagefolder", type=Path, help="ingest this ImageFolder instead")
    prepare.add_argument("--name", help="task name for --imagefolder")
    prepare.add_argument("--size", type=int, help="image size for --imagefolder (default 64)")
    prepare.add_argument(
        "--skip-non-images",
        action="store_true",
        help="with --imagefolder: skip files that are not images instead of failing on them",
    )
    prepare.add_argument(
        "--force", action="store_true", help="replace OUT/<name> even if it is not a prepared task"
    )
    prepare.set_defaults(func=_cmd_prepare)
