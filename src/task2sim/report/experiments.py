"""Scale curves from DVC experiments: parse `dvc exp show --json`, one row per accuracy.

The JSON (dvc 3.x) is a list of baseline commits (plus "workspace"), each
`{"rev", "name", "data": {"params": {file: {"data": {...}}}, "metrics": {file: {"data": {...}}}},
"error", "experiments": [{"name", "executor", "revs": [<same shape as a baseline>]}]}`.
A failed experiment carries `error` and stale metrics from its parent, so it is skipped; a
metrics file that could not be read carries `{"error": ...}` instead of `data`.

The metrics file holds Task2Sim's means only (what `dvc exp show` lists); every method's means
are in results/final/means.json, a plain output DVC commits into each experiment, read from the
experiment's commit with git. Without it (a saved JSON from elsewhere) the curves show Task2Sim.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from task2sim.errors import Task2SimError
from task2sim.final.summary import HEADLINE_METHOD, PROTOCOLS
from task2sim.layout import LAYOUT

SCALE_PARAMS = ("images", "classes", "objects_per_class", "model")
# As `dvc exp show` and git name them: relative, with forward slashes.
METRICS_FILE = LAYOUT.metrics.as_posix()
MEANS_FILE = LAYOUT.means.as_posix()
UNSET = "(unset)"
PARAMS_FILE = LAYOUT.params.as_posix()
COLUMNS = ["experiment", "rev", *SCALE_PARAMS, "method", "protocol", "split", "accuracy"]


def run_exp_show(all_commits: bool = False) -> list:
    """`dvc exp show --json` in the working directory (every experiment of the current commit)."""
    cmd = ["dvc", "exp", "show", "--json"] + (["--all-commits"] if all_commits else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise Task2SimError("dvc is not on PATH", "activate the project environment") from None
    if done.returncode != 0:
        raise Task2SimError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def read_exps_json(path: Path) -> list:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(
            f"cannot read {path} ({exc})", "save it with `dvc exp show --json > FILE`"
        ) from None


def git_means(rev: str) -> dict | None:
    """Every method's means at an experiment's commit (the workspace: the file on disk)."""
    try:
        if rev == "workspace":
            text = Path(MEANS_FILE).read_text(encoding="utf-8")
        else:
            done = subprocess.run(
                ["git", "show", f"{rev}:{MEANS_FILE}"], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                return None
            text = done.stdout
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def scale_values(pretrain: dict) -> tuple | None:
    """(images, classes, objects_per_class, model) of an experiment's pretrain params."""
    if not all(p in pretrain for p in SCALE_PARAMS[:3]):
        return None
    model = (pretrain.get("train") or {}).get("model") or UNSET
    return (*(pretrain[p] for p in SCALE_PARAMS[:3]), model)


def _rows(metrics: dict) -> dict:
    """The metrics file as {method: {protocol: {split: value}}}: it holds Task2Sim's row alone
    ({protocol: {split: value}}); older files held every method's."""
    if metrics and set(metrics) <= set(PROTOCOLS):
        return {HEADLINE_METHOD: metrics}
    return metrics


def _entries(exps: list) -> list[tuple[str, dict]]:
    """(name, rev entry) for baselines and experiments; experiments first, workspace last."""
    if not isinstance(exps, list):
        raise Task2SimError("`dvc exp show --json` output is not a list (dvc 3.x expected)")
    found, workspace = [], []
    for base in exps:
        if base.get("rev") == "workspace":
            workspace.append(("workspace", base))
            continue
        found.append((base.get("name") or base.get("rev", "")[:7], base))
        for exp in base.get("experiments") or []:
            for rev in exp.get("revs") or []:
                found.append((rev.get("name") or exp.get("name") or rev["rev"][:7], rev))
    return found + workspace


def _file_data(section: dict, wanted: str) -> dict | None:
    for name, content in (section or {}).items():
        if Path(name).as_posix().endswith(wanted) and isinstance(content, dict):
            return content.get("data")
    return None


def experiment_rows(
    exps: list, read_means: Callable[[str], dict | None] | None = None
) -> pd.DataFrame:
    """One row per (experiment, method, protocol, split); identical params kept once.
    `read_means(rev)` gives every method's means at that revision (None: the metrics only)."""
    rows, seen_params = [], set()
    for name, entry in _entries(exps):
        data = entry.get("data") or {}
        if entry.get("error") or not data:
            continue
        params = _file_data(data.get("params"), PARAMS_FILE) or {}
        metrics = _file_data(data.get("metrics"), METRICS_FILE)
        values = scale_values(params.get("pretrain") or {})
        if metrics is None or values is None:
            continue
        fingerprint = json.dumps(params, sort_keys=True)
        if fingerprint in seen_params:  # the workspace repeats the last experiment
            continue
        seen_params.add(fingerprint)
        means = read_means(data.get("rev") or entry.get("rev", "")) if read_means else None
        for method, protocols in (means or _rows(metrics)).items():
            for protocol, splits in (protocols or {}).items():
                for split in ("seen", "unseen"):
                    if isinstance(splits, dict) and isinstance(splits.get(split), int | float):
                        rows.append(
                            [name, data.get("rev", ""), *values, method, protocol, split,
                             float(splits[split])]
                        )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def sweep_of(table: pd.DataFrame, param: str) -> tuple[pd.DataFrame, dict] | None:
    """The rows of the largest group of experiments that vary `param` alone (the other scale
    params fixed), and those fixed values; None when no group has 2 values of `param`."""
    if table.empty:
        return None
    others = [p for p in SCALE_PARAMS if p != param]
    best = None
    for fixed, group in table.groupby(others, sort=True):
        count = group[param].nunique()
        if count >= 2 and (best is None or count > best[0]):
            best = (count, group, dict(zip(others, fixed, strict=True)))
    return None if best is None else (best[1], best[2])


def scale_table(table: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per experiment and method, a column per protocol and split."""
    if table.empty:
        return table
    wide = table.pivot_table(
        index=["experiment", *SCALE_PARAMS, "method"],
        columns=["protocol", "split"],
        values="accuracy",
        aggfunc="first",
    )
    wide.columns = [f"{protocol}_{split}" for protocol, split in wide.columns]
    return wide.reset_index().sort_values([*SCALE_PARAMS, "method"], kind="stable")
