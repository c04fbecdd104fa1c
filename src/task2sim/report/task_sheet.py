"""The task contact sheet: one training image of every class of every downstream task.

A reader sees at a glance what each task asks for (resolution, colour, object or texture, symbol)
before reading any number about it. Deterministic: the first training image of each class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from task2sim.atomic import atomic_write_bytes
from task2sim.datasets.format import TaskData, load_task
from task2sim.params import load_params
from task2sim.report.style import save_png


def first_of_each_class(task: TaskData) -> list[np.ndarray]:
    """The first training image of each class, as RGB uint8."""
    labels = np.asarray(task.train_labels)
    images = []
    for label in range(len(task.classes)):
        index = int(np.flatnonzero(labels == label)[0])
        image = np.asarray(task.train_images[index])
        images.append(np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image)
    return images


def _short(label: str, width: int = 17) -> str:
    """A class name cut to fit under its picture (the full names are in each task's classes)."""
    return label if len(label) <= width else label[: width - 1] + "…"


def task_sheet(tasks: dict[str, TaskData], out: Path) -> Path:
    """One row per task, one column per class (class names under the pictures)."""
    import matplotlib.pyplot as plt

    columns = max(len(task.classes) for task in tasks.values())
    fig, axes = plt.subplots(
        len(tasks),
        columns,
        figsize=(1.05 * columns + 1.2, 1.35 * len(tasks) + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for row, (name, task) in enumerate(tasks.items()):
        images = first_of_each_class(task)
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(images):
                ax.axis("off")
                continue
            ax.imshow(images[col], interpolation="nearest")
            ax.set_xlabel(_short(str(task.classes[col])), fontsize=6, labelpad=1)
        size = "x".join(str(s) for s in task.image_shape[:2])
        colour = "grey" if task.image_shape[2] == 1 else "RGB"
        axes[row][0].set_ylabel(f"{name}\n{size} {colour}", fontsize=7, rotation=0, ha="right",
                                va="center", labelpad=6)  # fmt: skip
    fig.suptitle("Downstream tasks: one training image per class", fontsize=9)
    atomic_write_bytes(out, save_png(fig))
    return out


def draw_task_sheet(params_path: Path, tasks_dir: Path, out: Path) -> tuple[Path, int]:
    """The sheet of every task params.yaml lists (prepared under `tasks_dir`), and their count."""
    names = list(load_params(params_path).tasks)
    tasks = {name: load_task(Path(tasks_dir) / name) for name in names}
    return task_sheet(tasks, out), len(tasks)
