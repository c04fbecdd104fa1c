"""Data for `dvc plots`: the final backbones' training curves (from their dvclive logs) and every
method's means with their 95 % intervals, as long CSV tables that the project's Vega-Lite
templates (.dvc/plots/) draw, one line per backbone or one interval per method. Long tables
rather than one plot per file, so 81 backbones make one readable plot and `dvc plots diff`
overlays experiments."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_bytes
from task2sim.errors import Task2SimError
from task2sim.final.plan import Plan, backbone_name, read_plan
from task2sim.labels import PROTOCOL_LABELS, table_label

CURVES = ("loss", "lr")  # the dvclive series of train/ that are worth a curve
TRAINING_FILE = "training.csv"
METHODS_FILE = "methods.csv"


def _methods_of(plan: Plan) -> dict[int, str]:
    """Config -> the methods that picked it for some task ("task2sim / oracle")."""
    users: dict[int, list[str]] = {c: [] for c in plan.configs}
    for method, per_task in plan.methods.items():
        for config in sorted(set(per_task.values())):
            users[config].append(method)
    return {c: " / ".join(names) for c, names in users.items()}


def training_curves(plan: Plan, logs_dir: Path) -> pd.DataFrame:
    """One row per (backbone, epoch): loss and lr, with the config, seed and its methods."""
    methods = _methods_of(plan)
    frames = []
    for config, seed in plan.backbones:
        name = backbone_name(config, seed)
        series = None
        for curve in CURVES:
            path = Path(logs_dir) / name / "plots" / "metrics" / "train" / f"{curve}.tsv"
            if not path.is_file():
                raise Task2SimError(
                    f"training log {path} not found",
                    "re-run the pre-training: `dvc repro pretrain`",
                )
            frame = pd.read_csv(path, sep="\t")
            series = frame if series is None else series.merge(frame, on="step")
        frames.append(
            series.assign(
                backbone=name, config=f"c{config:03d}", seed=seed, methods=methods[config]
            )
        )
    columns = ["backbone", "config", "seed", "methods", "step", *CURVES]
    return pd.concat(frames, ignore_index=True)[columns]


def method_intervals(stats: dict) -> pd.DataFrame:
    """One row per (method, protocol, split): the mean over tasks and its 95 % t-interval."""
    rows = []
    for row, protocols in stats["rows"].items():
        for protocol, splits in protocols.items():
            for split, cell in splits.items():
                rows.append(
                    {
                        "method": table_label(row),
                        "protocol": PROTOCOL_LABELS.get(protocol, protocol),
                        "split": split,
                        "accuracy": cell["mean"],
                        "low": cell["low"],
                        "high": cell["high"],
                        "tasks": cell["n"],
                    }
                )
    return pd.DataFrame.from_records(rows)


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def write_plot_data(plan_path: Path, logs_dir: Path, stats_path: Path, out_dir: Path) -> list[Path]:
    """results/plots/training.csv and methods.csv; returns the paths written."""
    plan = read_plan(plan_path)
    try:
        stats = json.loads(Path(stats_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(
            f"cannot read {stats_path} ({exc})", "re-run the evaluation: `dvc repro evaluate`"
        ) from None
    written = []
    for name, frame in (
        (TRAINING_FILE, training_curves(plan, logs_dir)),
        (METHODS_FILE, method_intervals(stats)),
    ):
        path = Path(out_dir) / name
        atomic_write_bytes(path, _csv(frame))
        written.append(path)
    return written
