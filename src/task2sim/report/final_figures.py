"""The final comparison's figures: Fig. 4-style per-task bars (mean over seeds, 95 % t error bars
over seeds) and Task2Sim's paired differences with every other row, 95 % t-intervals over tasks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from task2sim.atomic import atomic_write_bytes
from task2sim.evaluate.protocols import PROTOCOLS
from task2sim.final.plan import Plan
from task2sim.labels import PROTOCOL_LABELS, REFERENCE_PREFIX, table_label
from task2sim.report.style import save_png
from task2sim.stats.intervals import t_interval

DPI = 100  # these two figures' own resolution (the committed PNGs)


def draw_per_task(plan: Plan, data: pd.DataFrame, path: Path) -> None:
    """Bars of every row's mean over seeds per task, 95 % t error bars over seeds (PNG)."""
    tasks = plan.tasks
    names = list(data["row"].cat.categories)
    fig, axes = plt.subplots(
        len(PROTOCOLS), 1, figsize=(max(10, 2.2 * len(tasks) + 3), 3.4 * len(PROTOCOLS))
    )
    colors = plt.get_cmap("tab20").colors
    width = 0.84 / len(names)
    x = np.arange(len(tasks))
    for ax, protocol in zip(np.atleast_1d(axes), PROTOCOLS, strict=True):
        mine = data[data["protocol"] == protocol]
        for i, name in enumerate(names):
            intervals = [
                t_interval(mine[(mine["row"] == name) & (mine["task"] == t)]["top1"].to_numpy())
                for t in tasks
            ]
            means = [v.mean for v in intervals]
            errors = [v.high - v.mean for v in intervals]
            hatch = "//" if name.startswith(REFERENCE_PREFIX) else None
            ax.bar(
                x - 0.42 + width * (i + 0.5),
                means,
                width,
                yerr=errors,
                error_kw={"elinewidth": 0.6, "capsize": 0},
                label=table_label(name),
                color=colors[i % len(colors)],
                hatch=hatch,
                edgecolor="white" if hatch else None,
            )
        ax.set_xticks(x, [f"{t}\n(unseen)" if t in plan.unseen else t for t in tasks])
        ax.set_ylabel("top-1 %")
        ax.set_ylim(0, 100)
        ax.set_title(f"{PROTOCOL_LABELS[protocol]} (mean over seeds, 95 % t-interval)")
        if plan.seen and plan.unseen:
            ax.axvline(len(plan.seen) - 0.5, color="grey", linewidth=0.8, linestyle=":")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(names)), fontsize="small")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    atomic_write_bytes(Path(path), save_png(fig, DPI))


def draw_summary(stats: dict, path: Path) -> None:
    """Task2Sim minus every other row per protocol and split (paired by seed within each task),
    with its 95 % t-interval over tasks: what the verdicts read (PNG)."""
    pairs = stats["task2sim_minus"]
    rows = list(pairs)
    splits = list(next(iter(pairs.values()))[PROTOCOLS[0]]) if rows else []
    fig, axes = plt.subplots(
        len(splits), len(PROTOCOLS), figsize=(4.2 * len(PROTOCOLS), 0.36 * len(rows) * 2 + 2),
        sharey=True, squeeze=False,
    )  # fmt: skip
    y = np.arange(len(rows))[::-1]
    colours = {"better": "tab:green", "worse": "tab:red", "not distinguishable": "0.45"}
    for r, role in enumerate(splits):
        for c, protocol in enumerate(PROTOCOLS):
            ax = axes[r][c]
            for i, row in enumerate(rows):
                entry = pairs[row][protocol][role]
                d = entry["difference"]
                ax.errorbar(
                    d["mean"], y[i], xerr=[[d["mean"] - d["low"]], [d["high"] - d["mean"]]],
                    fmt="o", color=colours[entry["verdict"]], markersize=3.5, capsize=2,
                )  # fmt: skip
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_title(f"{PROTOCOL_LABELS[protocol]}, {role} tasks", fontsize="medium")
            ax.grid(axis="x", alpha=0.3)
        axes[r][0].set_yticks(y, [table_label(row) for row in rows], fontsize="small")
    fig.supxlabel(
        "Task2Sim minus the row, top-1 points: mean over tasks, 95 % t-interval "
        "(green: Task2Sim better, red: worse, grey: not distinguishable)",
        fontsize="medium",
    )
    fig.tight_layout()
    atomic_write_bytes(Path(path), save_png(fig, DPI))
