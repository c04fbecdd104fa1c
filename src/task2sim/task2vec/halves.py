"""Does Task2Vec tell tasks apart? Each task's two random halves against every other task's.

A task embedding is only useful to the controller if two samples of the same task land closer to
each other than to any other task. Each task's training split is cut into two random halves, each
half is embedded as a task of its own, and the within-task distance is compared with the nearest
half of any other task (the Task2Vec paper's normalised cosine, and the plain cosine the controller
sees after L2 normalisation).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from task2sim.datasets.format import TaskData
from task2sim.params import Task2VecParams
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
