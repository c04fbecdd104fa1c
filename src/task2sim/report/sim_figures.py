"""What the simulator makes: one row per parameter (supp. Fig. 8) and a sheet of object classes.

Both figures are rendered through the same sampler and renderer as the image sets, so they show
exactly what pre-training sees, only larger.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from task2sim.atomic import atomic_write_bytes
from task2sim.params import load_params
from task2sim.render.embedded import EmbeddedRenderer
from task2sim.render.world import World, build_world
from task2sim.report.style import save_png
from task2sim.sim.config import PARAM_LABELS, PARAM_NAMES
from task2sim.sim.scene import sample_scene

COLUMNS = 5
DPI = 100  # these figures' own resolution (the committed PNGs)


def parameter_rows(renderer: EmbeddedRenderer, world: World, seed: int) -> list[np.ndarray]:
    """Row 0: all off; row k: only parameter k on. Columns: 5 images of one object."""
    objects = sum(len(c.objects) for c in world.classes)
    layout = world.layout(images=COLUMNS * objects)
    rows = []
    for config in [0] + [1 << (len(PARAM_NAMES) - 1 - k) for k in range(len(PARAM_NAMES))]:
        scenes = [sample_scene(config, layout, seed, j * objects) for j in range(COLUMNS)]
        rows.append(np.stack([renderer.render(s).copy() for s in scenes]))
    return rows


def _save(fig: plt.Figure, out: Path) -> None:
    atomic_write_bytes(out, save_png(fig, DPI))


def sim_parameters_figure(world: World, seed: int, out: Path, size: int = 128) -> None:
    renderer = EmbeddedRenderer(
        [c.objects for c in world.classes], world.backgrounds, world.materials, size
    )
    try:
        rows = parameter_rows(renderer, world, seed)
    finally:
        renderer.close()
    labels = ["all off"] + [f"{PARAM_LABELS[n]}\n({n})" for n in PARAM_NAMES]
    fig, axes = plt.subplots(len(rows), COLUMNS, figsize=(COLUMNS * 1.5 + 1.6, len(rows) * 1.5))
    for r, (images, label) in enumerate(zip(rows, labels, strict=True)):
        for c in range(COLUMNS):
            ax = axes[r, c]
            ax.imshow(images[c])
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("One parameter on at a time: five images of one object", fontsize=11)
    fig.tight_layout()
    _save(fig, out)


def object_classes_figure(
    world: World, out: Path, size: int = 96, max_classes: int = 20, max_objects: int = 8
) -> None:
    """Config 0 (canonical) view of the first objects of each class, one row per class."""
    renderer = EmbeddedRenderer(
        [c.objects for c in world.classes], world.backgrounds, world.materials, size
    )
    classes = world.classes[:max_classes]
    columns = min(max_objects, max(len(c.objects) for c in classes))
    layout = world.layout(images=1)
    fig, axes = plt.subplots(
        len(classes), columns, figsize=(columns * 1.1 + 1.8, len(classes) * 1.1), squeeze=False
    )
    try:
        for r, object_class in enumerate(classes):
            for c in range(columns):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c >= len(object_class.objects):
                    ax.axis("off")
                    continue
                scene = replace(sample_scene(0, layout, 0, 0), class_index=r, object_index=c)
                ax.imshow(renderer.render(scene).copy())
            axes[r, 0].set_ylabel(
                object_class.name, rotation=0, ha="right", va="center", fontsize=8
            )
    finally:
        renderer.close()
    shown = (
        f"first {len(classes)} of {len(world.classes)}"
        if len(world.classes) > max_classes
        else "all"
    )
    fig.suptitle(f"Object classes ({shown}), objects of each class in a row", fontsize=11)
    fig.tight_layout()
    _save(fig, out)


def draw_sim_figures(params_path: Path, out_dir: Path) -> list[Path]:
    """Both figures of the simulator params.yaml describes, into `out_dir`."""
    sim = load_params(params_path).sim
    world = build_world(sim)
    paths = [Path(out_dir) / "sim_parameters.png", Path(out_dir) / "object_classes.png"]
    sim_parameters_figure(world, sim.seed, paths[0])
    object_classes_figure(world, paths[1])
    return paths
