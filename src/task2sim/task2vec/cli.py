"""`task2sim task2vec`: Task2Vec embeddings of prepared tasks (`data/task2vec/<task>.npy`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from task2sim.errors import Task2SimError

DEFAULT_OUT = Path("data/task2vec")
DEFAULT_TASKS_DIR = Path("data/tasks")


def _cmd_task2vec(args: argparse.Namespace) -> None:
    from task2sim.datasets.format import load_task
    from task2sim.params import load_params
    from task2sim.task2vec.embed import embed_task, write_embedding

    params = load_params(args.params)
    names = list(params.tasks) if args.all else args.tasks
    if not names:
        raise Task2SimError("name a task to embed", "e.g. `task2sim task2vec digits`, or --all")
    unknown = [n for n in names if n not in params.tasks]
    if unknown:
        raise Task2SimError(
            f"{args.params} has no task named {', '.join(unknown)}",
            f"add it under `tasks:` in {args.params} (known: {', '.join(params.tasks)})",
        )
    settings = params.task2vec
    if args.fraction is not None:
        settings = settings.model_copy(update={"fraction": args.fraction})
    for name in names:
        start = time.perf_counter()
        task = load_task(args.tasks_dir / name)
        embedding, meta = embed_task(task, settings, params.seed)
        path = write_embedding(embedding, meta, args.out, name)
        print(
            f"{name}: {meta['dims']}-d Task2Vec ({settings.probe}, {meta['pool_images']} images, "
            f"head fit {100 * meta['classifier_fit_accuracy']:.0f} %) -> {path} "
            f"({time.perf_counter() - start:.1f} s)"
        )


def _cmd_halves(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from task2sim.atomic import atomic_write_bytes, atomic_write_json
    from task2sim.datasets.format import load_task
    from task2sim.params import load_params
    from task2sim.task2vec.halves import embed_halves, halves_table

    params = load_params(args.params)
    names = list(params.tasks)
    start = time.perf_counter()
    tasks = {name: load_task(args.tasks_dir / name) for name in names}
    with tqdm(total=2 * len(names), desc="task2vec halves", unit="half") as bar:
        vectors = embed_halves(tasks, params.task2vec, params.seed, lambda _: bar.update())
    table = halves_table(vectors, names)
    shown = table.copy()
    for column in shown.columns:
        if column.endswith(("within", "other")):
            shown[column] = shown[column].map(lambda v: f"{v:.4f}")
    separated = int(table["task2vec separated"].sum())
    text = (
        f"Two random halves of each task's training split, each embedded with Task2Vec "
        f"({params.task2vec.probe}, {params.task2vec.image_size} px, "
        f"{params.task2vec.fisher_samples} Fisher draws), against every other task's halves. "
        f"By the Task2Vec distance the halves are closer to each other than to any other task "
        f"for {separated} of {len(names)} tasks.\n\n" + shown.to_markdown(index=False) + "\n"
    )
    atomic_write_bytes(args.out, text.encode("utf-8"))
    atomic_write_json(args.out.with_suffix(".json"), table.to_dict(orient="records"))
    print(text)
    print(f"-> {args.out} ({time.perf_counter() - start:.0f} s)")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("a fraction in (0, 1]")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "task2vec", help="Task2Vec embedding of prepared tasks (data/task2vec/<task>.npy)"
    )
    parser.add_argument("tasks", nargs="*", help="task names from params.yaml")
    parser.add_argument("--all", action="store_true", help="every task in params.yaml")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--tasks-dir", type=Path, default=DEFAULT_TASKS_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--fraction", type=_fraction, help="override task2vec.fraction (supp. Table 1)"
    )
    parser.set_defaults(func=_cmd_task2vec)

    halves = sub.add_parser(
        "task2vec-halves",
        help="are two halves of each task closer than any other task? (results/task2vec_halves.md)",
    )
    halves.add_argument("--params", type=Path, default=Path("params.yaml"))
    halves.add_argument("--tasks-dir", type=Path, default=DEFAULT_TASKS_DIR)
    halves.add_argument("--out", type=Path, default=Path("results/task2vec_halves.md"))
    halves.set_defaults(func=_cmd_halves)
