"""`sweep_spread`: what the reward table is worth, in numbers generated from the runs.

Four questions, each answered per task from `results/reward_runs.csv` (every sweep run) and
`results/scratch.json` (random-init backbones scored like the sweep's):
1. Did the backbones learn their pretext task? Held-out pretext top-1 of every run.
2. Does pre-training beat random initialisation? Sweep mean against scratch, s.e. from seeds.
3. Is the table reliable? Split-half correlation, Spearman-Brown, main-effect sign agreement.
4. What is in it? Main effects with replicate-supported standard errors, and the split of the
   variation into main effects, two-way interactions, higher orders and seed noise, beside the
   same split of the paper's released table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.params import Params, load_params
from task2sim.sim.config import PARAM_NAMES
from task2sim.stats.factorial import fit_two_way, variance_split
from task2sim.sweep.design import design_configs
from task2sim.sweep.reliability import (
    SIGNIFICANT_T,
    pure_error,
    split_half,
    sum_of_squares_split,
    versus_scratch,
)

RELIABILITY_BAR = 0.75
AGREEMENT_BAR = 0.9
SCRATCH_Z = 3.0


def learning_bar(classes: int) -> float:
    """The held-out pretext top-1 a sweep must reach: 50 % or 5x chance, whichever is higher."""
    return max(50.0, 5 * 100.0 / classes)


def runs_for_reliability(
    r_half: float, half_runs: int, target: float = RELIABILITY_BAR
) -> int | None:
    """Runs the table would need for reliability `target`, by the Spearman-Brown prophecy from
    the half-table correlation `r_half` of `half_runs` runs (None: no signal measured)."""
    if not r_half > 0:
        return None
    return math.ceil(half_runs * target * (1 - r_half) / (r_half * (1 - target)))


def measure_spread(params_path: Path, runs_path: Path, scratch_path: Path, out: Path) -> dict:
    params = load_params(params_path)
    runs = pd.read_csv(runs_path)
    scratch = json.loads(Path(scratch_path).read_text(encoding="utf-8"))
    tasks = list(params.tasks)
    lacking = [t for t in tasks if t not in set(runs["task"]) or t not in scratch["tasks"]]
    if lacking:
        raise Task2SimError(
            f"no sweep runs or scratch scores for {', '.join(lacking)}",
            "re-run them: `dvc repro sweep_spread`",
        )
    report = {
        "design": _design(params, runs),
        "learning": _learning(params, runs),
        "tasks": {},
        "paper_variance_split": _paper_split(),
    }
    for task in tasks:
        task_runs = runs[runs["task"] == task]
        report["tasks"][task] = _task(params, task_runs, scratch["tasks"][task])
    report["summary"] = _summary(report)
    text = render_text(report)
    atomic_write_bytes(out, text.encode("utf-8"))
    atomic_write_json(out.with_suffix(".json"), _rounded(report))
    print(text)
    return report


def _design(params: Params, runs: pd.DataFrame) -> dict:
    sweep = params.sweep
    return {
        "design": sweep.design,
        "configs": len(design_configs(sweep.design)),
        "replicates": sweep.replicates,
        "runs": int(runs.drop_duplicates(["config", "replicate"]).shape[0]),
        "table": sweep.table,
        "updates_per_run": _updates(params),
    }


def _updates(params: Params) -> int:
    """Optimizer updates of one sweep run: epochs x full batches of the non-held-out images."""
    recipe = params.sweep.train
    images = params.render.images - recipe.holdout_images
    return recipe.epochs * (images // recipe.batch_size)


def _learning(params: Params, runs: pd.DataFrame) -> dict:
    per_run = runs.drop_duplicates(["config", "replicate"])
    heldout = per_run["heldout_top1"].astype(float)
    bar = learning_bar(params.sim.classes)
    return {
        "classes": params.sim.classes,
        "chance": 100.0 / params.sim.classes,
        "bar": bar,
        "median_heldout_top1": float(heldout.median()),
        "share_at_bar": float((heldout >= bar).mean()),
        "quartiles_heldout_top1": [float(heldout.quantile(q)) for q in (0.25, 0.75)],
        "median_train_loss": float(per_run["train_loss"].median()),
        "passes": bool(heldout.median() >= bar),
    }


def _task(params: Params, runs: pd.DataFrame, scratch_row: dict) -> dict:
    sweep = params.sweep
    fit = fit_two_way(runs["config"].tolist(), runs["top1"].tolist())
    noise, dof = pure_error(runs)
    row = {
        "versus_scratch": versus_scratch(runs, scratch_row),
        "seed_noise_std": noise,
        "seed_noise_dof": dof,
        "model_residual_std": fit.residual_std,
        "main_effects": dict(zip(PARAM_NAMES, fit.main_effects.tolist(), strict=True)),
        "main_effect_se": dict(zip(PARAM_NAMES, fit.main_effect_errors.tolist(), strict=True)),
        "variance_split": sum_of_squares_split(runs),
        "sum_of_squares": float(((runs["top1"] - runs["top1"].mean()) ** 2).sum()),
    }
    try:
        half = split_half(runs, sweep.design, sweep.replicates, sweep.table)
        row["split_half"] = {
            "r": half.r,
            "spearman_brown": half.spearman_brown,
            "runs_for_bar": runs_for_reliability(half.r, len(runs) // 2),
            "significant_main_effects": half.significant,
            "agreeing_signs": half.agreeing,
        }
    except ValueError as exc:  # one run per config of a quarter, or cell means of a fraction
        row["split_half"] = {"unavailable": str(exc)}
    return row


def _paper_split() -> dict | None:
    """Main / two-way / higher-order shares of the paper's released reward table, pooled over
    its tasks (each task weighted by its sum of squares), or None where the file is not
    available offline."""
    from task2sim.paper_release import load_paper_rewards

    try:
        table = load_paper_rewards(allow_download=False)
    except Task2SimError:
        return None
    weights = [float(np.sum((row - row.mean()) ** 2)) for row in table.values]
    return _pooled([variance_split(row) for row in table.values], weights) | {"tasks": len(weights)}


def _pooled(splits: list[dict[str, float]], weights: list[float]) -> dict[str, float]:
    """Shares of the summed sum of squares over tasks (the tasks' shares weighted by their SS)."""
    total = sum(weights) or 1.0
    return {
        k: sum(s[k] * w for s, w in zip(splits, weights, strict=True)) / total for k in splits[0]
    }


def _summary(report: dict) -> dict:
    rows = report["tasks"].values()
    halves = [r["split_half"] for r in rows if "r" in r["split_half"]]
    significant = sum(h["significant_main_effects"] for h in halves)
    agreeing = sum(h["agreeing_signs"] for h in halves)
    reliable = sum(h["spearman_brown"] >= RELIABILITY_BAR for h in halves)
    needed = sorted(h["runs_for_bar"] or math.inf for h in halves)
    share = math.ceil(2 * len(needed) / 3) if needed else 0
    beats = sum(r["versus_scratch"]["z"] > SCRATCH_Z for r in rows)
    ours = [r["variance_split"] for r in rows]
    weights = [r["sum_of_squares"] for r in rows]
    return {
        "tasks": len(report["tasks"]),
        "beats_scratch": beats,
        "reliable_tasks": reliable,
        "reliability_measured": len(halves),
        "runs_for_bar_on_two_thirds": needed[share - 1]
        if share and math.isfinite(needed[share - 1])
        else None,
        "significant_main_effects": significant,
        "agreeing_signs": agreeing,
        "sign_agreement": agreeing / significant if significant else None,
        "pooled_variance_split": _pooled(ours, weights),
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def render_text(report: dict) -> str:
    d, learn, s = report["design"], report["learning"], report["summary"]
    n = s["tasks"]
    agreement = s["sign_agreement"]
    lines = [
        "# The reward sweep: learning, scratch, reliability",
        "",
        f"Design **{d['design']}**: {d['configs']} configs x {d['replicates']} replicates = "
        f"{d['runs']} runs, {d['updates_per_run']} updates each, every run with its own seed "
        f"(initialisation and data order). `results/rewards.json` holds "
        + (
            "the main + two-way model fitted to all runs, predicted for all 256 configs."
            if d["table"] == "two_way"
            else "each config's mean over its runs."
        ),
        "",
        "## Did the backbones learn?",
        "",
        f"Median held-out pretext top-1 over the {d['runs']} runs (the set's last images, never "
        f"trained on, no augmentation): **{learn['median_heldout_top1']:.1f} %** (quartiles "
        f"{learn['quartiles_heldout_top1'][0]:.1f} / {learn['quartiles_heldout_top1'][1]:.1f} %; "
        f"chance {learn['chance']:.0f} %, bar {learn['bar']:.0f} %: "
        f"{_verdict(learn['passes'])}); {100 * learn['share_at_bar']:.0f} % of runs reach the "
        f"bar. Median final train loss {learn['median_train_loss']:.3f}.",
        "",
        "## Pre-training against random initialisation",
        "",
        f"Sweep mean over all runs against the scratch row (the same architecture at random "
        f"initialisation, scored identically); standard errors from the seeds (sweep: pooled "
        f"within-config seed noise / sqrt(runs); scratch: its seeds' std / sqrt(n)). Beats "
        f"scratch by more than {SCRATCH_Z:g} s.e. on **{s['beats_scratch']} of {n}** tasks.",
        "",
        _scratch_table(report).to_markdown(index=False),
        "",
        "## Reliability (split halves that share no run)",
        "",
        f"Spearman-Brown reliability >= {RELIABILITY_BAR} on **{s['reliable_tasks']} of "
        f"{s['reliability_measured']}** tasks; main effects with |t| >= {SIGNIFICANT_T:g} in one "
        f"half: {s['significant_main_effects']}, same sign in the other: {s['agreeing_signs']}"
        + (f" (**{100 * agreement:.0f} %**)." if agreement is not None else ".")
        + " The last column is the Spearman-Brown prophecy from the half-table correlation: "
        f"runs of this design a task would need for reliability {RELIABILITY_BAR} (-: no signal "
        "measured); two thirds of the tasks would reach it at "
        + (
            f"**{s['runs_for_bar_on_two_thirds']} runs** ({d['runs']} now)."
            if s["runs_for_bar_on_two_thirds"]
            else "no finite number of runs measured here."
        ),
        "",
        _reliability_table(report).to_markdown(index=False),
        "",
        "## Main effects (on minus off, points)",
        "",
        "From the main + two-way fit to all runs; one standard error from the fit's residual "
        "(seed noise plus higher orders, from replicated runs with independent seeds); * marks "
        f"|t| >= {SIGNIFICANT_T:g}.",
        "",
        _effects_table(report).to_markdown(disable_numparse=True),
        "",
        "## What the variation is made of",
        "",
        _split_text(report),
        "",
    ]
    return "\n".join(lines)


def _scratch_table(report: dict) -> pd.DataFrame:
    rows = []
    for task, row in report["tasks"].items():
        v = row["versus_scratch"]
        rows.append(
            {
                "task": task,
                "sweep mean": f"{v['sweep_mean']:.2f} ± {v['sweep_se']:.2f}",
                "scratch": f"{v['scratch_mean']:.2f} ± {v['scratch_se']:.2f}",
                "difference": f"{v['difference']:+.2f} ± {v['difference_se']:.2f}",
                "z": f"{v['z']:.1f}",
                f"beats (z > {SCRATCH_Z:g})": "yes" if v["z"] > SCRATCH_Z else "no",
                "seed noise std": f"{row['seed_noise_std']:.2f}",
            }
        )
    return pd.DataFrame(rows)


def _reliability_table(report: dict) -> pd.DataFrame:
    rows = []
    for task, row in report["tasks"].items():
        half = row["split_half"]
        if "r" not in half:
            rows.append({"task": task, "half-table r": half["unavailable"]})
            continue
        rows.append(
            {
                "task": task,
                "half-table r": f"{half['r']:.2f}",
                "Spearman-Brown": f"{half['spearman_brown']:.2f}",
                f">= {RELIABILITY_BAR}": "yes"
                if half["spearman_brown"] >= RELIABILITY_BAR
                else "no",
                "significant main effects": half["significant_main_effects"],
                "same sign": half["agreeing_signs"],
                f"runs for {RELIABILITY_BAR}": half["runs_for_bar"] or "-",
            }
        )
    return pd.DataFrame(rows)


def _effects_table(report: dict) -> pd.DataFrame:
    shown = {}
    for task, row in report["tasks"].items():
        cells = {}
        for name in PARAM_NAMES:
            effect, se = row["main_effects"][name], row["main_effect_se"][name]
            cells[name] = f"{effect:+.2f}{'*' if abs(effect) >= SIGNIFICANT_T * se else ''}"
        cells["1 s.e."] = f"{row['main_effect_se'][PARAM_NAMES[0]]:.2f}"
        shown[task] = cells
    return pd.DataFrame.from_dict(shown, orient="index").rename_axis("task")


def _split_text(report: dict) -> str:
    mean = report["summary"]["pooled_variance_split"]
    paper = report["paper_variance_split"]
    ours = (
        f"Our runs (share of the sum of squares about each task's mean, pooled over tasks): main "
        f"effects {100 * mean['main']:.0f} %, two-way interactions {100 * mean['two_way']:.0f} %, "
        f"higher orders / lack of fit {100 * mean['lack_of_fit']:.0f} %, seed noise "
        f"{100 * mean['seed_noise']:.0f} %."
    )
    if paper is None:
        return ours + " The paper's released table is not available offline here."
    return ours + (
        f" The paper's released `reward_db.json` ({paper['tasks']} tasks, pooled the same way; "
        f"one run per config, so its noise sits inside the orders): main "
        f"{100 * paper['main']:.0f} %, two-way "
        f"{100 * paper['two_way']:.0f} %, higher {100 * paper['higher']:.0f} %. Our "
        f"`rewards.json` itself has no higher orders when it is the fitted main + two-way model."
    )


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


__all__ = ["learning_bar", "measure_spread", "render_text"]
