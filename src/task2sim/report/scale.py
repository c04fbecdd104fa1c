"""Accuracy against pre-training scale: one figure per swept param, a panel per protocol and
split, a line per method (results/figures/scale_<param>.png, results/tables/scale.csv)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_bytes
from task2sim.report.experiments import SCALE_PARAMS, scale_table, sweep_of
from task2sim.report.style import method_colour, method_label, save_png

PROTOCOL_ORDER = ("knn", "linear", "finetune")
PROTOCOL_TITLES = {"knn": "5-NN", "linear": "linear probe", "finetune": "fine-tune"}
PARAM_TITLES = {
    "images": "pre-training images",
    "classes": "object classes",
    "objects_per_class": "objects per class",
}
EXAMPLES = {"images": 4000, "classes": 20, "objects_per_class": 4}


def scale_figure(rows: pd.DataFrame, param: str, fixed: dict, out: Path) -> Path:
    import matplotlib.pyplot as plt

    protocols = [p for p in PROTOCOL_ORDER if p in set(rows["protocol"])]
    protocols += sorted(set(rows["protocol"]) - set(protocols))
    splits = [s for s in ("seen", "unseen") if s in set(rows["split"])]
    methods = list(dict.fromkeys(rows["method"]))
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
                ax.plot(
                    line.index, line.values, marker="o", label=method_label(method),
                    color=method_colour(method, i),
                    linestyle="--" if method.startswith("reference_") else "-",
                )  # fmt: skip
            if param == "images":
                ax.set_xscale("log")
            ticks = sorted(rows[param].unique())
            ax.set_xticks(ticks, [str(v) for v in ticks])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            ax.set_title(f"{PROTOCOL_TITLES.get(protocol, protocol)}, {split} tasks", fontsize=10)
            ax.set_xlabel(PARAM_TITLES[param])
            if c == 0:
                ax.set_ylabel("mean top-1 accuracy (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5))
    held = ", ".join(f"{k} = {v}" for k, v in fixed.items())
    fig.suptitle(f"Accuracy against {PARAM_TITLES[param]} ({held})")
    atomic_write_bytes(out, save_png(fig))
    return out


def _another(param: str, values: list) -> int:
    """A value to suggest: the example, or twice the largest when the example is taken."""
    return EXAMPLES[param] if EXAMPLES[param] not in values else 2 * max(values)


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
            values = sorted(table[param].unique().tolist())
            messages.append(
                f"pretrain.{param}: fewer than 2 values with the other scale params fixed "
                f"(have {values}); run e.g. "
                f"`dvc exp run -S pretrain.{param}={_another(param, values)}` for a curve"
            )
            continue
        rows, fixed = sweep
        path = scale_figure(rows, param, fixed, Path(figures_dir) / f"scale_{param}.png")
        count = rows[param].nunique()
        messages.append(f"wrote {path} ({count} values of pretrain.{param})")
    return messages
