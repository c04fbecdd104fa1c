"""Supp. Fig. 1 from cka.json: CKA heatmaps, rows = after pre-training / after fine-tuning,
columns = stages 1-4, one panel for seen and one for unseen tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from task2sim.atomic import atomic_write_bytes
from task2sim.labels import short_label
from task2sim.report.style import save_png

PHASE_TITLES = {"pretrained": "after pre-training", "finetuned": "after fine-tuning"}


def cka_figure(content: dict, out: Path) -> Path:
    """Draw every role present in `content['average']` and write one PNG."""
    import matplotlib.pyplot as plt

    roles = [r for r in ("seen", "unseen") if r in content.get("average", {})]
    if not roles:
        raise ValueError("cka.json holds no seen or unseen average")
    labels = [short_label(m) for m in content["methods"]]
    k = len(labels)
    stages, phases = content["stages"], content["phases"]
    cell = 0.5 * k + 1.0
    fig = plt.figure(
        figsize=(cell * len(stages) + 1.5, cell * len(phases) * len(roles) + 0.8),
        layout="constrained",
    )
    halves = fig.subfigures(len(roles), 1, squeeze=False)[:, 0]
    for half, role in zip(halves, roles, strict=True):
        tasks = content["average"][role]["tasks"]
        half.suptitle(
            f"{role} tasks (mean over {len(tasks)}: {', '.join(tasks)})", fontweight="bold"
        )
        axes = half.subplots(len(phases), len(stages), squeeze=False)
        for r, phase in enumerate(phases):
            for c, stage in enumerate(stages):
                ax = axes[r, c]
                matrix = np.asarray(content["average"][role][phase][stage])
                image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
                for i in range(k):
                    for j in range(k):
                        value = matrix[i, j]
                        ax.text(
                            j,
                            i,
                            f"{value:.2f}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="black" if value > 0.6 else "white",
                        )
                ax.set_xticks(
                    range(k),
                    labels if r == len(phases) - 1 else [""] * k,
                    rotation=45,
                    ha="right",
                    fontsize=8,
                )
                ax.set_yticks(range(k), labels if c == 0 else [""] * k, fontsize=8)
                if r == 0:
                    ax.set_title(f"stage {c + 1}", fontsize=10)
                if c == 0:
                    ax.set_ylabel(PHASE_TITLES.get(phase, phase), fontsize=10)
        half.colorbar(image, ax=axes, shrink=0.6, label="linear CKA")
    atomic_write_bytes(out, save_png(fig))
    return out
