"""results/figures/rewards.png: the 256-config reward table drawn, with the methods' picks.

Top: task x config heatmap of reward minus the task's mean over configs (raw levels differ
between tasks far more than configs do within one). Below: each task's rewards sorted, the
configs each method picked (plan.json, when present) marked on the curve, the measured sweep
runs (reward_runs.csv) as dots at their config's rank, and the scratch row (random-init
backbones, scratch.json) as a band of its mean ± 2 standard errors: configs above the band are
where pre-training taught the network something 5-NN can use.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from task2sim.atomic import atomic_write_bytes
from task2sim.final.plan import Plan
from task2sim.labels import short_label
from task2sim.report.style import method_colour, save_png
from task2sim.reward_table import RewardTable

MARKERS = {"task2sim": "*", "domain_randomization": "s", "random": "D", "all_off": "o"}


def _task_order(table: RewardTable, plan: Plan | None) -> list[tuple[str, str]]:
    split = {"seen": plan.seen, "unseen": plan.unseen} if plan is not None else {}
    roles = [(t, role) for role, tasks in split.items() for t in tasks if t in table.tasks]
    placed = {t for t, _ in roles}
    return roles + [(t, "") for t in table.tasks if t not in placed]


def _picks(plan: Plan | None, task: str) -> dict[str, int]:
    methods = plan.methods if plan is not None else {}
    return {m: int(c[task]) for m, c in methods.items() if task in c}


def rewards_figure(
    table: RewardTable,
    plan: Plan | None,
    out: Path,
    scratch: dict | None = None,
    runs: pd.DataFrame | None = None,
) -> Path:
    import matplotlib.pyplot as plt

    order = _task_order(table, plan)
    values = table.rows([t for t, _ in order])
    names = [f"{t} ({r})" if r else t for t, r in order]
    ncols = min(4, len(order))
    nrows = math.ceil(len(order) / ncols)
    fig = plt.figure(figsize=(4 * ncols + 1, 0.35 * len(order) + 2.2 + 2.6 * nrows),
                     layout="constrained")  # fmt: skip
    top, bottom = fig.subfigures(2, 1, height_ratios=[0.35 * len(order) + 2.2, 2.6 * nrows])
    ax = top.subplots()
    centred = values - values.mean(axis=1, keepdims=True)
    span = float(np.abs(centred).max()) or 1.0
    image = ax.imshow(centred, aspect="auto", cmap="RdBu_r", vmin=-span, vmax=span,
                      interpolation="nearest")  # fmt: skip
    for row, (task, _) in enumerate(order):
        for i, (method, config) in enumerate(_picks(plan, task).items()):
            ax.scatter(config, row, marker=MARKERS.get(method, "x"), s=40, facecolor="none",
                       edgecolor=method_colour(method, i), linewidths=1.4)  # fmt: skip
    ax.set_yticks(range(len(order)), names, fontsize=8)
    ax.set_xticks(range(0, 256, 32))
    ax.set_xlabel("config index (bit 128 = pose_rot ... bit 1 = materials)")
    ax.set_title("rewards.json (5-NN top-1) minus the task's mean over the 256 configs (points)")
    top.colorbar(image, ax=ax, label="points", shrink=0.9)
    axes = bottom.subplots(nrows, ncols, squeeze=False)
    for k, (task, role) in enumerate(order):
        ax = axes.flat[k]
        row = values[k]
        rank = np.empty(256, int)
        rank[np.argsort(-row, kind="stable")] = np.arange(256)
        if runs is not None:
            mine = runs[runs["task"] == task]
            ax.scatter(rank[mine["config"].to_numpy()], mine["top1"], s=4, color="0.55",
                       alpha=0.6, linewidths=0, label="measured runs")  # fmt: skip
        if scratch is not None and task in scratch.get("tasks", {}):
            mean, sem = scratch["tasks"][task]["mean"], scratch["tasks"][task]["sem"]
            ax.axhspan(mean - 2 * sem, mean + 2 * sem, color="tab:red", alpha=0.18, linewidth=0,
                       label="scratch (random init), mean ± 2 s.e.")  # fmt: skip
        ax.plot(np.sort(row)[::-1], color="0.3", linewidth=1.2)
        ax.axhline(row.mean(), color="0.6", linestyle=":", linewidth=1)
        for i, (method, config) in enumerate(_picks(plan, task).items()):
            ax.scatter(rank[config], row[config], marker=MARKERS.get(method, "x"), s=50,
                       color=method_colour(method, i), zorder=3,
                       label=f"{short_label(method)}")  # fmt: skip
        ax.set_title(f"{task}" + (f" ({role})" if role else ""), fontsize=9)
        ax.set_xlabel("configs by rewards.json value (rank)", fontsize=8)
        ax.set_ylabel("5-NN top-1 (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(order) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="0.6", linestyle=":"))
    labels.append("mean over configs")
    bottom.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    atomic_write_bytes(out, save_png(fig))
    return out
