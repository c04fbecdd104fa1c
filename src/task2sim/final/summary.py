"""The method view of the final evaluation: what `dvc exp show` lists and the tables a reader sees.

Backbones are scored once per (config, task); a method's score on a task is its config's. The
reference rows come from `evaluate_reference` (real-image ImageNet networks, architecture named).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.evaluate.protocols import PROTOCOLS
from task2sim.final.plan import Plan
from task2sim.final.reference import LABELS
from task2sim.sim.config import stage_name

METHOD_LABELS = {
    "task2sim": "Task2Sim",
    "domain_randomization": "Domain Randomization (c255)",
    "random": "Random",
    "all_off": "all off (c000)",
}
PROTOCOL_LABELS = {"knn": "5-NN", "linear": "linear probe", "finetune": "fine-tune"}
REFERENCE_FIX = "re-run the reference rows: `dvc repro evaluate_reference`"


def reference_key(name: str) -> str:
    return f"reference_{name}"


def read_reference(path: Path, tasks: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """reference.json, checked to cover `tasks`."""
    path = Path(path)
    if not path.is_file():
        raise Task2SimError(f"reference results {path} not found", REFERENCE_FIX)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"reference results {path} are unreadable ({exc})"
        raise Task2SimError(problem, REFERENCE_FIX) from None
    for name, per_task in raw.items():
        missing = [t for t in tasks if t not in per_task]
        if missing:
            raise Task2SimError(
                f"{path}: reference '{name}' has no result for {', '.join(missing)}", REFERENCE_FIX
            )
    return raw


def method_scores(
    plan: Plan, evaluation: dict[str, dict[str, dict[str, float]]]
) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {task: {protocol: %}}} from the per-backbone evaluation."""
    return {
        method: {task: evaluation[stage_name(config)][task] for task, config in per_task.items()}
        for method, per_task in plan.methods.items()
    }


def rows(plan: Plan, evaluation: dict, reference: dict) -> dict[str, dict[str, dict[str, float]]]:
    """Every row of the comparison: the methods (in the paper's order), then the references."""
    scores = method_scores(plan, evaluation)
    order = [m for m in METHOD_LABELS if m in scores] + [
        m for m in scores if m not in METHOD_LABELS
    ]
    out = {method: scores[method] for method in order}
    for name, per_task in reference.items():
        out[reference_key(name)] = {t: per_task[t] for t in plan.tasks}
    return out


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2)


def metrics(plan: Plan, table: dict) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {protocol: {seen: mean %, unseen: mean %}}}, 2 decimals (an empty role is left out)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row, per_task in table.items():
        out[row] = {}
        for protocol in PROTOCOLS:
            out[row][protocol] = {
                role: _mean([per_task[t][protocol] for t in tasks])
                for role, tasks in (("seen", plan.seen), ("unseen", plan.unseen))
                if tasks
            }
    return out


def label(row: str) -> str:
    if row.startswith("reference_"):
        name = row.removeprefix("reference_")
        return LABELS[name] if name == "scratch" else f"reference: {LABELS.get(name, name)}"
    return METHOD_LABELS.get(row, row)


def frame(plan: Plan, table: dict) -> pd.DataFrame:
    """One row per (method, protocol): a column per task, then the seen and unseen means."""
    summary = metrics(plan, table)
    records = []
    for row, per_task in table.items():
        for protocol in PROTOCOLS:
            record = {"method": row, "protocol": protocol}
            record.update({t: round(per_task[t][protocol], 2) for t in plan.tasks})
            record.update(summary[row][protocol])
            records.append(record)
    return pd.DataFrame.from_records(records)


def markdown(plan: Plan, data: pd.DataFrame) -> str:
    shown = data.copy()
    shown["method"] = shown["method"].map(label)
    shown["protocol"] = shown["protocol"].map(PROTOCOL_LABELS)
    shown = shown.rename(columns={t: f"{t} (unseen)" for t in plan.unseen})
    intro = (
        "Top-1 % on each downstream task after pre-training on each method's image set; seen / "
        "unseen are means over the controller's seen and unseen tasks. The reference rows are "
        "networks pre-trained on real ImageNet images, named by architecture.\n\n"
    )
    return intro + shown.to_markdown(index=False, floatfmt=".2f") + "\n"


def pretext_check(plan: Plan, backbones_dir: Path, classes: int) -> str:
    """Did the final backbones learn their pretext task? Each one's held-out pretext top-1 and
    final train loss (from its meta.json), the median against max(50 %, 5x chance)."""
    from task2sim.sim.config import stage_name
    from task2sim.train.checkpoint import read_meta

    rows = []
    for config in plan.configs:
        meta = read_meta(Path(backbones_dir) / stage_name(config))
        rows.append(
            {
                "backbone": stage_name(config),
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
    plan: Plan, table: dict, metrics_path: Path, tables_dir: Path, pretext: str = ""
) -> dict[str, dict[str, dict[str, float]]]:
    """results/metrics.json, results/tables/final.csv and final.md; returns the metrics."""
    summary = metrics(plan, table)
    data = frame(plan, table)
    atomic_write_json(metrics_path, summary)
    tables_dir = Path(tables_dir)
    atomic_write_bytes(tables_dir / "final.csv", data.to_csv(index=False).encode("utf-8"))
    text = markdown(plan, data) + pretext
    atomic_write_bytes(tables_dir / "final.md", text.encode("utf-8"))
    return summary
