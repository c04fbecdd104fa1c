"""Does Task2Vec tell tasks apart? Each task's two random halves against every other task's.

A task embedding is only useful to the controller if two samples of the same task land closer to
each other than to any other task. Each task's training split is cut into two random halves, each
half is embedded as a task of its own, and the within-task distance is compared with the nearest
half of any other task (the Task2Vec paper's normalised cosine, and the plain cosine the controller
sees after L2 normalisation).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.datasets.format import TaskData, load_task
from task2sim.params import Params, Task2VecParams
from task2sim.task2vec.distance import cosine, normalized_cosine

DISTANCES = {"task2vec": normalized_cosine, "cosine": cosine}


def halves(task: TaskData, seed: int = 123) -> list[TaskData]:
    """The task's training split in two random halves, each a task named `<name>_0` / `_1`."""
    order = np.random.default_rng(seed).permutation(len(task.train_labels))
    return [
        replace(
            task,
            name=f"{task.name}_{k}",
            train_images=np.asarray(task.train_images[np.sort(part)]),
            train_labels=np.asarray(task.train_labels[np.sort(part)]),
        )
        for k, part in enumerate(np.array_split(order, 2))
    ]


def embed_halves(
    tasks: dict[str, TaskData], params: Task2VecParams, seed: int, progress=None
) -> dict[str, np.ndarray]:
    """`<task>_0` / `<task>_1` -> Task2Vec vector of that half."""
    from task2sim.task2vec.embed import embed_task

    vectors = {}
    for task in tasks.values():
        for half in halves(task):
            vectors[half.name] = embed_task(half, params, seed)[0].vector
            if progress is not None:
                progress(half.name)
    return vectors


def halves_table(vectors: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    """Per task and distance: within-task distance, the nearest other task and its distance."""
    rows = []
    for name in names:
        row: dict[str, object] = {"task": name}
        for label, distance in DISTANCES.items():
            within = distance(vectors[f"{name}_0"], vectors[f"{name}_1"])
            nearest, across = min(
                (
                    (distance(vectors[f"{name}_{i}"], vectors[f"{other}_{j}"]), other)
                    for other in names
                    if other != name
                    for i in (0, 1)
                    for j in (0, 1)
                ),
            )[::-1]
            row.update(
                {
                    f"{label} within": within,
                    f"{label} nearest other": across,
                    f"{label} nearest task": nearest,
                    f"{label} separated": within < across,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def write_halves_report(params: Params, tasks_dir: Path, out: Path) -> None:
    """`task2sim task2vec-halves`: embed both halves of every params task, write the table as
    Markdown to `out` (and its rows as JSON beside it), and print it."""
    names = list(params.tasks)
    start = time.perf_counter()
    tasks = {name: load_task(Path(tasks_dir) / name) for name in names}
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
    atomic_write_bytes(out, text.encode("utf-8"))
    atomic_write_json(out.with_suffix(".json"), table.to_dict(orient="records"))
    print(text)
    print(f"-> {out} ({time.perf_counter() - start:.0f} s)")
