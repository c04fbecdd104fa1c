"""The 256 rendered sweep sets at a glance: an index of what each holds, and one image of each.

`dvc repro render` ends here, so it checks that all 256 sets exist and are readable, records
their sizes and meta hashes (`results/sets/sweep_index.json`), and draws image 0 of every set in a
16 x 16 grid (`results/figures/sweep_sets.png`). Image i shows the same object in every set, so
the grid shows what each parameter switches: rows are the four high bits, columns the four low.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.datasets.image_set import load_image_set
from task2sim.errors import Task2SimError
from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_key, stage_name

GRID = 16


def index_sets(sets_dir: Path) -> tuple[dict, list[np.ndarray]]:
    """(index of every set, image 0 of each set); refuses a missing or unreadable set."""
    missing = [stage_name(c) for c in range(NUM_CONFIGS) if not (sets_dir / stage_name(c)).is_dir()]
    if missing:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        raise Task2SimError(
            f"{len(missing)} of {NUM_CONFIGS} sweep sets are missing under {sets_dir}: {shown}",
            "render them: `dvc repro render`",
        )
    sets, first_images = {}, []
    for config in range(NUM_CONFIGS):
        image_set = load_image_set(sets_dir / stage_name(config))
        images, _ = image_set.shard(0)
        first_images.append(np.asarray(images[0]))
        sets[stage_name(config)] = {
            "key": index_to_key(config),
            "images": len(image_set),
            "size": image_set.meta.get("size"),
            "classes": len(image_set.class_names),
            "meta_sha256": hashlib.sha256((image_set.root / "meta.json").read_bytes()).hexdigest(),
        }
    return {"sets": sets, "parameters_msb_first": list(PARAM_NAMES)}, first_images


def grid_figure(first_images: list[np.ndarray]) -> bytes:
    """A 16 x 16 PNG grid of one image per config, labelled by the config's bits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from task2sim.report.style import save_png

    size = first_images[0].shape[0]
    canvas = np.full((GRID * (size + 2), GRID * (size + 2), 3), 255, np.uint8)
    for config, image in enumerate(first_images):
        row, col = divmod(config, GRID)
        y, x = row * (size + 2) + 1, col * (size + 2) + 1
        canvas[y : y + size, x : x + size] = image[..., :3]
    fig, ax = plt.subplots(figsize=(10, 10.6))
    ax.imshow(canvas, interpolation="nearest")
    ticks = [(i + 0.5) * (size + 2) for i in range(GRID)]
    ax.set_xticks(ticks, [format(i, "04b") for i in range(GRID)], rotation=90, fontsize=7)
    ax.set_yticks(ticks, [format(i, "04b") for i in range(GRID)], fontsize=7)
    high, low = PARAM_NAMES[:4], PARAM_NAMES[4:]
    ax.set_xlabel("low bits: " + ", ".join(low))
    ax.set_ylabel("high bits: " + ", ".join(high))
    ax.set_title("Image 0 of every sweep set (config = 16 x row + column)")
    fig.tight_layout()
    return save_png(fig)


def write_set_index(sets_dir: Path, index_out: Path, figure_out: Path) -> None:
    index, first_images = index_sets(Path(sets_dir))
    atomic_write_json(index_out, index)
    atomic_write_bytes(figure_out, grid_figure(first_images))
