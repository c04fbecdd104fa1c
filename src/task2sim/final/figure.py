"""Fig. 4-style per-task bars: one panel per protocol, a group of bars per task, one per method."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from task2sim.atomic import atomic_write_bytes
from task2sim.evaluate.protocols import PROTOCOLS
from task2sim.final.plan import Plan
from task2sim.final.summary import PROTOCOL_LABELS, label


def draw_per_task(plan: Plan, table: dict, path: Path) -> None:
    """Write the bars of `table` ({row: {task: {protocol: %}}}) to `path` (PNG, no timestamp)."""
    tasks = plan.tasks
    names = list(table)
    fig, axes = plt.subplots(
        len(PROTOCOLS), 1, figsize=(max(8, 1.6 * len(tasks) + 3), 3.2 * len(PROTOCOLS))
    )
    colors = plt.get_cmap("tab10").colors
    width = 0.8 / len(names)
    x = np.arange(len(tasks))
    for ax, protocol in zip(np.atleast_1d(axes), PROTOCOLS, strict=True):
        for i, name in enumerate(names):
            values = [table[name][t][protocol] for t in tasks]
            hatch = "//" if name.startswith("reference_") else None
            ax.bar(
                x - 0.4 + width * (i + 0.5),
                values,
                width,
                label=label(name),
                color=colors[i % len(colors)],
                hatch=hatch,
                edgecolor="white" if hatch else None,
            )
        ax.set_xticks(x, [f"{t}\n(unseen)" if t in plan.unseen else t for t in tasks])
        ax.set_ylabel("top-1 %")
        ax.set_ylim(0, 100)
        ax.set_title(PROTOCOL_LABELS[protocol])
        if plan.seen and plan.unseen:
            ax.axvline(len(plan.seen) - 0.5, color="grey", linewidth=0.8, linestyle=":")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(names)), fontsize="small")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
