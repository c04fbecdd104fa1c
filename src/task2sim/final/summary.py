"""The method view of the final evaluation: every score as a record, the means `dvc exp show`
lists, and the tables a reader sees.

Backbones are scored once per (config, seed, task); a method's score on a task at a seed is its
config's backbone at that seed. The reference rows come from `evaluate_reference`: the scratch
row has one network per seed, the ImageNet rows one fixed network (their score stands for every
seed index when paired). Intervals: `task2sim.stats.intervals`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.evaluate.protocols import PROTOCOLS
from task2sim.final.plan import Plan, backbone_name
from task2sim.labels import METHODS, PROTOCOL_LABELS, table_label
from task2sim.stats.intervals import interval_text, t_interval

REFERENCE_FIX = "re-run the reference rows: `dvc repro evaluate_reference`"
COLUMNS = ["row", "seed", "task", "protocol", "top1"]
HEADLINE_METHOD = "task2sim"


def reference_key(name: str) -> str:
    return f"reference_{name}"


def records_of(
    scores: dict[str, dict[str, dict[str, float]]], ids: dict[str, tuple[str, int | None]]
) -> list[dict]:
    """Flatten {network: {task: {protocol: %}}} into records; `ids` maps network -> (row, seed)."""
    out = []
    for name, per_task in scores.items():
        row, seed = ids[name]
        for task, per_protocol in per_task.items():
            for protocol, top1 in per_protocol.items():
                out.append(
                    {"row": row, "seed": seed, "task": task, "protocol": protocol, "top1": top1}
                )
    return out


def backbone_records(plan: Plan, evaluation: dict) -> list[dict]:
    """evaluation.json's records: one per (config, seed, task, protocol)."""
    out = []
    for config, seed in plan.backbones:
        name = backbone_name(config, seed)
        for task, per_protocol in evaluation.get(name, {}).items():
            for protocol, top1 in per_protocol.items():
                out.append(
                    {
                        "backbone": name,
                        "config": config,
                        "seed": seed,
                        "task": task,
                        "protocol": protocol,
                        "top1": top1,
                    }
                )
    return out


def read_reference(path: Path, tasks: list[str]) -> pd.DataFrame:
    """reference.json's records, checked to cover `tasks` for every reference row."""
    path = Path(path)
    if not path.is_file():
        raise Task2SimError(f"reference results {path} not found", REFERENCE_FIX)
    try:
        data = pd.DataFrame.from_records(json.loads(path.read_text(encoding="utf-8")))
        data = data[COLUMNS]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        problem = f"reference results {path} are unreadable ({exc!r})"
        raise Task2SimError(problem, REFERENCE_FIX) from None
    for row, group in data.groupby("row"):
        missing = [t for t in tasks if t not in set(group["task"])]
        if missing:
            raise Task2SimError(
                f"{path}: reference '{row}' has no result for {', '.join(missing)}", REFERENCE_FIX
            )
    data = data[data["task"].isin(tasks)].copy()
    data["row"] = data["row"].map(reference_key)
    return data


def scores_frame(plan: Plan, records: list[dict], reference: pd.DataFrame) -> pd.DataFrame:
    """Every (row, seed, task, protocol) score: the methods in params order, then references."""
    by_backbone = pd.DataFrame.from_records(records)
    parts = []
    for method, per_task in plan.methods.items():
        for task, config in per_task.items():
            picked = by_backbone[(by_backbone["config"] == config) & (by_backbone["task"] == task)]
            parts.append(picked.assign(row=method)[COLUMNS])
    data = pd.concat([*parts, reference[COLUMNS]], ignore_index=True)
    methods = [m for m in METHODS if m in plan.methods]  # the paper's rows first
    methods += [m for m in plan.methods if m not in METHODS]
    order = [*methods, *dict.fromkeys(reference["row"])]
    data["row"] = pd.Categorical(data["row"], order, ordered=True)
    data["protocol"] = pd.Categorical(data["protocol"], PROTOCOLS, ordered=True)
    return data.sort_values(["row", "protocol", "task", "seed"], kind="stable")


def task_means(data: pd.DataFrame) -> pd.DataFrame:
    """The mean over seeds of every (row, protocol, task)."""
    grouped = data.groupby(["row", "protocol", "task"], observed=True)["top1"]
    return grouped.mean().reset_index()


def split_tasks(plan: Plan) -> dict[str, list[str]]:
    return {role: tasks for role, tasks in (("seen", plan.seen), ("unseen", plan.unseen)) if tasks}


def method_means(plan: Plan, data: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {protocol: {seen: mean %, unseen: mean %}}}: the mean over tasks of each task's
    mean over seeds, 2 decimals (results/final/means.json)."""
    means = task_means(data)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in data["row"].cat.categories:
        out[row] = {}
        for protocol in PROTOCOLS:
            mine = means[(means["row"] == row) & (means["protocol"] == protocol)]
            out[row][protocol] = {
                role: round(float(mine[mine["task"].isin(tasks)]["top1"].mean()), 2)
                for role, tasks in split_tasks(plan).items()
            }
    return out


def headline(means: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """What `dvc exp show` lists: Task2Sim's row of means.json, {protocol: {seen, unseen}}, six
    numbers with short names, so that queued experiments side by side fit 200 columns. Empty
    when final.methods leaves Task2Sim out: the file names no method, so no other row may
    stand in for it."""
    return means.get(HEADLINE_METHOD, {})


def cell(values: pd.Series) -> str:
    """A table cell: the mean over seeds and the half-width of its 95 % t-interval."""
    interval = t_interval(values.to_numpy())
    if interval.n < 2:
        return f"{interval.mean:.2f}"
    return f"{interval.mean:.2f} ±{interval.high - interval.mean:.2f}"


def per_task_table(plan: Plan, data: pd.DataFrame, split_intervals: dict) -> pd.DataFrame:
    """One row per (method, protocol): a cell per task (mean over seeds ± the 95 % t half-width
    over seeds), then the seen and unseen means with their 95 % t-intervals over tasks."""
    records = []
    for (row, protocol), group in data.groupby(["row", "protocol"], observed=True, sort=False):
        record = {"method": table_label(row), "protocol": PROTOCOL_LABELS[protocol]}
        for task in plan.tasks:
            name = f"{task} (unseen)" if task in plan.unseen else task
            record[name] = cell(group[group["task"] == task]["top1"])
        for role in split_tasks(plan):
            record[role] = interval_text(split_intervals[row][protocol][role])
        records.append(record)
    return pd.DataFrame.from_records(records)


def markdown(plan: Plan, table: pd.DataFrame, seeds: list[int]) -> str:
    intro = (
        "Top-1 % on each downstream task after pre-training on each method's image set. A task "
        f"cell is the mean over the {len(seeds)} pre-training seeds ({', '.join(map(str, seeds))}) "
        "± the half-width of its 95 % Student-t interval over those seeds; seen / unseen are the "
        "means over the controller's seen and unseen tasks of the per-task means, with 95 % "
        "Student-t intervals over tasks. The ImageNet reference is one fixed network: its cells "
        "are single runs. Methods read from the reward table (best fixed, additive, nearest task) "
        "use the seen tasks alone; the oracle is an upper bound.\n\n"
    )
    return intro + table.to_markdown(index=False) + "\n"


def pretext_check(plan: Plan, backbones_dir: Path, classes: int) -> str:
    """Did the final backbones learn their pretext task? Each one's held-out pretext top-1 and
    final train loss (from its meta.json), the median against max(50 %, 5x chance)."""
    from task2sim.train.checkpoint import read_meta

    rows = []
    for config, seed in plan.backbones:
        meta = read_meta(Path(backbones_dir) / backbone_name(config, seed))
        rows.append(
            {
                "backbone": backbone_name(config, seed),
                "held-out pretext top-1 (%)": meta.get("heldout_top1"),
                "final train loss": round(float(meta["final_train_loss"]), 4),
            }
        )
    data = pd.DataFrame(rows)
    heldout = data["held-out pretext top-1 (%)"].dropna().astype(float)
    bar = max(50.0, 500.0 / classes)
    if heldout.empty:
        verdict = "no held-out images (pretrain.train.holdout_images is 0): not measured."
    else:
        met = "met" if heldout.median() >= bar else "not met"
        verdict = (
            f"median held-out pretext top-1 {heldout.median():.1f} % over {len(heldout)} "
            f"backbones (chance {100 / classes:.0f} %, bar {bar:.0f} %: {met})."
        )
    return (
        "\n## Did the final backbones learn their pretext task?\n\nEach backbone's top-1 on the "
        "last `pretrain.train.holdout_images` images of its set, never trained on, no "
        f"augmentation: {verdict}\n\n" + data.to_markdown(index=False) + "\n"
    )


def write_summary(
    plan: Plan,
    data: pd.DataFrame,
    stats: dict,
    metrics_path: Path,
    means_path: Path,
    tables_dir: Path,
    extra: str = "",
) -> dict[str, dict[str, dict[str, float]]]:
    """results/metrics.json (the headline), results/final/means.json (every row),
    results/tables/final.csv (every score) and final.md."""
    summary = method_means(plan, data)
    atomic_write_json(means_path, summary)
    atomic_write_json(metrics_path, headline(summary))
    tables_dir = Path(tables_dir)
    csv = data.assign(row=data["row"].astype(str), protocol=data["protocol"].astype(str))
    csv = csv.to_csv(index=False)
    atomic_write_bytes(tables_dir / "final.csv", csv.encode("utf-8"))
    table = per_task_table(plan, data, stats["rows"])
    text = markdown(plan, table, plan.seeds) + extra
    atomic_write_bytes(tables_dir / "final.md", text.encode("utf-8"))
    return summary
