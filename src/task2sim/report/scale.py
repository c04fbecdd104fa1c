"""Accuracy against pre-training scale: one figure per swept param, a panel per protocol and
split, a line per method (results/figures/scale_<param>.png, results/tables/scale.csv)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_bytes
from task2sim.labels import PROTOCOL_LABELS, REFERENCE_PREFIX, short_label
from task2sim.report.experiments import (
    SCALE_PARAMS,
    experiment_rows,
    git_means,
    read_exps_json,
    run_exp_show,
    scale_table,
    sweep_of,
)
from task2sim.report.style import method_colour, save_png

PROTOCOL_ORDER = ("knn", "linear", "finetune")
PARAM_TITLES = {
    "images": "pre-training images",
    "classes": "object classes",
    "objects_per_class": "objects per class",
    "model": "backbone (pretrain.train.model)",
}
EXAMPLES = {"images": 4000, "classes": 20, "objects_per_class": 4, "model": "resnet18"}
MODEL_LADDER = ("resnet10t", "resnet18", "resnet26", "resnet34", "resnet50", "resnet101")


def _model_order(name: str) -> tuple[int, str]:
    """Backbones by size: the ResNet ladder first, any other timm name after, alphabetically."""
    return (MODEL_LADDER.index(name), name) if name in MODEL_LADDER else (len(MODEL_LADDER), name)


def scale_figure(rows: pd.DataFrame, param: str, fixed: dict, out: Path) -> Path:
    import matplotlib.pyplot as plt

    protocols = [p for p in PROTOCOL_ORDER if p in set(rows["protocol"])]
    protocols += sorted(set(rows["protocol"]) - set(protocols))
    splits = [s for s in ("seen", "unseen") if s in set(rows["split"])]
    methods = list(dict.fromkeys(rows["method"]))
    categorical = param == "model"
    ticks = sorted(rows[param].unique(), key=_model_order if categorical else None)
    fig, axes = plt.subplots(
        len(splits), len(protocols), figsize=(4 * len(protocols), 3.2 * len(splits) + 0.8),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for r, split in enumerate(splits):
        for c, protocol in enumerate(protocols):
            ax = axes[r, c]
            panel = rows[(rows["split"] == split) & (rows["protocol"] == protocol)]
            for i, method in enumerate(methods):
                line = panel[panel["method"] == method].groupby(param)["accuracy"].mean()
                if line.empty:
                    continue
                xs = [ticks.index(v) for v in line.index] if categorical else line.index
                ax.plot(
                    xs, line.values, marker="o", label=short_label(method),
                    color=method_colour(method, i),
                    linestyle="--" if method.startswith(REFERENCE_PREFIX) else "-",
                )  # fmt: skip
            if param == "images":
                ax.set_xscale("log")
            positions = range(len(ticks)) if categorical else ticks
            ax.set_xticks(list(positions), [str(v) for v in ticks])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            ax.set_title(f"{PROTOCOL_LABELS.get(protocol, protocol)}, {split} tasks", fontsize=10)
            ax.set_xlabel(PARAM_TITLES[param])
            if c == 0:
                ax.set_ylabel("mean top-1 accuracy (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5))
    held = ", ".join(f"{k} = {v}" for k, v in fixed.items())
    fig.suptitle(f"Accuracy against {PARAM_TITLES[param]} ({held})")
    atomic_write_bytes(out, save_png(fig))
    return out


def _another(param: str, values: list) -> int | str:
    """A value to suggest: the example, or twice the largest (the next backbone up) when taken."""
    if EXAMPLES[param] not in values:
        return EXAMPLES[param]
    if param == "model":
        return next((m for m in MODEL_LADDER if m not in values), MODEL_LADDER[-1])
    return 2 * max(values)


def write_scale_report(table: pd.DataFrame, figures_dir: Path, tables_dir: Path) -> list[str]:
    """Write the CSV and every figure a sweep allows; returns messages for the user."""
    messages = []
    if table.empty:
        return [
            "no experiment has both pretrain params and results/metrics.json: run e.g. "
            "`dvc exp run -S pretrain.images=4000`"
        ]
    buffer = io.StringIO()
    scale_table(table).to_csv(buffer, index=False, float_format="%.2f", lineterminator="\n")
    csv = Path(tables_dir) / "scale.csv"
    atomic_write_bytes(csv, buffer.getvalue().encode("utf-8"))
    messages.append(f"wrote {csv} ({table['experiment'].nunique()} experiments)")
    for param in SCALE_PARAMS:
        sweep = sweep_of(table, param)
        if sweep is None:
            values = sorted(table[param].unique().tolist(), key=str)
            key = "train.model" if param == "model" else param
            messages.append(
                f"pretrain.{key}: fewer than 2 values with the other scale params fixed "
                f"(have {values}); run e.g. "
                f"`dvc exp run -S pretrain.{key}={_another(param, values)}` for a curve"
            )
            continue
        rows, fixed = sweep
        path = scale_figure(rows, param, fixed, Path(figures_dir) / f"scale_{param}.png")
        count = rows[param].nunique()
        key = "train.model" if param == "model" else param
        messages.append(f"wrote {path} ({count} values of pretrain.{key})")
    return messages


def scale_report(
    exps_json: Path | None, all_commits: bool, figures_dir: Path, tables_dir: Path
) -> list[str]:
    """The scale report of DVC experiments: read from a saved `dvc exp show --json` when given,
    else from `dvc exp show` itself (`all_commits`: every commit's experiments)."""
    exps = read_exps_json(exps_json) if exps_json else run_exp_show(all_commits)
    return write_scale_report(experiment_rows(exps, git_means), figures_dir, tables_dir)
