"""`task2sim tasks` and `task2sim prepare`: the task registry and the uniform task format."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from task2sim.errors import Task2SimError

DEFAULT_TASKS_DIR = Path("data/tasks")


def _cmd_tasks(args: argparse.Namespace) -> None:
    """Print the registry with what each task needs on this machine."""
    from task2sim.datasets.registry import all_tasks

    rows, notes = [], []
    for info in all_tasks().values():
        reason = info.missing()
        if reason is not None:
            notes.append(f"  {info.name}: {reason}")
        rows.append(
            {
                "task": info.name,
                "domain": info.domain,
                "source": info.availability,
                "here": "ready" if reason is None else _SHORT_STATUS[info.availability],
                "classes": info.classes or "-",
                "train": info.train or "-",
                "test": info.test or "-",
                "paper": info.paper_role or "-",
            }
        )
    print(_left_aligned(rows))
    if notes:
        print("\nnot ready here:")
        print("\n".join(notes))


def _left_aligned(rows: list[dict[str, object]]) -> str:
    """A plain text table, every column left-aligned to its widest cell."""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


_SHORT_STATUS = {"offline": "missing", "download": "to download", "manual": "manual"}


def _cmd_prepare(args: argparse.Namespace) -> None:
    """Build `data/tasks/<name>/` from params.yaml, or from an ImageFolder given on the line."""
    from task2sim.datasets.imagefolder import entry_from_cli
    from task2sim.datasets.prepare import prepare_task
    from task2sim.params import PrepareParams, check_task_name, load_params

    if args.imagefolder:
        if not args.name or args.tasks:
            raise Task2SimError("--imagefolder needs --name NAME and no task names")
        entry = entry_from_cli(args.imagefolder, args.size, args.skip_non_images)
        jobs = [(check_task_name(args.name), entry)]
        prepare_params = PrepareParams()
    else:
        params = load_params(args.params)
        names = list(params.tasks) if args.all else args.tasks
        if args.size is not None or args.skip_non_images:
            raise Task2SimError(
                "--size and --skip-non-images go with --imagefolder",
                f"for a task of {args.params}, set size / skip_non_images under its `tasks:` entry",
            )
        if not names:
            raise Task2SimError(
                "name a task to prepare", "e.g. `task2sim prepare digits`, or --all"
            )
        unknown = [n for n in names if n not in params.tasks]
        if unknown:
            raise Task2SimError(
                f"{args.params} has no task named {', '.join(unknown)}",
                f"add it under `tasks:` in {args.params} (known: {', '.join(params.tasks)})",
            )
        jobs = [(n, params.tasks[n]) for n in names]
        prepare_params = params.prepare
    for name, entry in jobs:
        start = time.perf_counter()
        task = prepare_task(name, entry, prepare_params, args.out / name, force=args.force)
        counts = task.counts()
        print(
            f"{name}: {counts['classes']} classes, "
            f"{counts['train']} train / {counts['test']} test, "
            f"images {task.image_shape} -> {args.out / name} "
            f"({time.perf_counter() - start:.1f} s)"
        )


def register(sub: argparse._SubParsersAction) -> None:
    tasks = sub.add_parser("tasks", help="list the task registry and what is available here")
    tasks.set_defaults(func=_cmd_tasks)

    prepare = sub.add_parser(
        "prepare", help="write tasks in the uniform format (data/tasks/<task>)"
    )
    prepare.add_argument("tasks", nargs="*", help="task names from params.yaml")
    prepare.add_argument("--all", action="store_true", help="every task in params.yaml")
    prepare.add_argument("--params", type=Path, default=Path("params.yaml"))
    prepare.add_argument("--out", type=Path, default=DEFAULT_TASKS_DIR, help="parent directory")
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
