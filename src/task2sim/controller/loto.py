"""Leave-one-task-out: the controller's honest generalisation number on a reward table.

For every task of a pool, the controller is trained on all the other tasks and predicts the
held-out one; its pick is scored by the held-out task's row of the reward table. The baselines
are computed the same way, from the other tasks alone (best fixed, additive, nearest task), or
need no training (Domain Randomization, all off, Random = the row's mean); the oracle (the row's
maximum) is an upper bound. Per task the controller's reward is its mean over controller seeds.
Every paired difference (Task2Sim - baseline, per held-out task) gets a t-interval over tasks.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.controller.baselines import table_picks
from task2sim.controller.run import run_controller
from task2sim.errors import Task2SimError
from task2sim.labels import METHODS
from task2sim.paper_release import (
    PAPER_SEEN,
    PAPER_UNSEEN,
    load_paper_rewards,
    load_paper_vectors,
)
from task2sim.params import ControllerTraining, load_params
from task2sim.reward_table import ALL_OFF, DOMAIN_RANDOMIZATION, RewardTable, load_reward_table
from task2sim.stats.intervals import INTERVAL_NAME, interval_text, t_interval, verdict
from task2sim.task2vec.embed import load_vectors

log = logging.getLogger(__name__)

# The methods scored, in the tables' order, with their leave-one-task-out names.
LOTO_METHODS = {
    method: METHODS[method].loto
    for method in (
        "task2sim",
        "best_fixed",
        "additive",
        "nearest_task",
        "domain_randomization",
        "all_off",
        "random",
        "oracle",
    )
}


def _held_out_run(
    table: RewardTable,
    vectors: dict[str, np.ndarray],
    tasks: list[str],
    held_out: str,
    cfg: ControllerTraining,
    seed: int,
) -> tuple[str, int, int]:
    others = [t for t in tasks if t != held_out]
    run = run_controller(table, vectors, others, [held_out], cfg, seed)
    return held_out, seed, int(run.predictions[held_out]["config"])


def _controller_picks(
    table: RewardTable,
    vectors: dict[str, np.ndarray],
    tasks: list[str],
    cfg: ControllerTraining,
    seeds: list[int],
    workers: int,
    progress: bool,
) -> dict[str, dict[int, int]]:
    """{held-out task: {controller seed: predicted config}}."""
    cfg = cfg.model_copy(update={"threads": 1})
    jobs = [(t, s) for t in tasks for s in seeds]
    bar = tqdm(total=len(jobs), desc="leave-one-task-out", unit="run", disable=not progress)
    picks: dict[str, dict[int, int]] = {t: {} for t in tasks}
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("spawn")  # no forked torch thread pools
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
            futures = [
                pool.submit(_held_out_run, table, vectors, tasks, t, cfg, s) for t, s in jobs
            ]
            for future in futures:
                task, seed, config = future.result()
                picks[task][seed] = config
                bar.update()
    else:
        for t, s in jobs:
            task, seed, config = _held_out_run(table, vectors, tasks, t, cfg, s)
            picks[task][seed] = config
            bar.update()
    bar.close()
    return picks


def leave_one_task_out(
    table: RewardTable,
    vectors: dict[str, np.ndarray],
    tasks: list[str],
    cfg: ControllerTraining,
    seeds: list[int],
    workers: int = 1,
    progress: bool = False,
) -> dict:
    """Per held-out task: each method's config and reward; a summary with t-intervals."""
    if len(tasks) < 3:
        raise Task2SimError(
            f"leave-one-task-out needs 3 tasks at least, got {len(tasks)}",
            "add tasks to the pool (params.yaml `tasks:`)",
        )
    picks = _controller_picks(table, vectors, tasks, cfg, seeds, workers, progress)
    per_task: dict[str, dict] = {}
    for task in tasks:
        others = [t for t in tasks if t != task]
        row = table.rows([task])[0]
        entry: dict[str, dict] = {
            "task2sim": {
                "configs": [picks[task][s] for s in seeds],
                "reward": float(np.mean([row[picks[task][s]] for s in seeds])),
            }
        }
        for method in ("best_fixed", "additive", "nearest_task"):
            config = table_picks(method, table, others, [task], vectors)[task]
            entry[method] = {"config": config, "reward": float(row[config])}
        entry["domain_randomization"] = {
            "config": DOMAIN_RANDOMIZATION,
            "reward": float(row[DOMAIN_RANDOMIZATION]),
        }
        entry["all_off"] = {"config": ALL_OFF, "reward": float(row[ALL_OFF])}
        entry["random"] = {"reward": float(row.mean())}
        entry["oracle"] = {"config": int(row.argmax()), "reward": float(row.max())}
        per_task[task] = entry
    return {
        "interval": INTERVAL_NAME.replace("each task: the mean over seeds", "held-out tasks"),
        "controller_seeds": list(seeds),
        "tasks": per_task,
        "summary": summarise(per_task),
    }


def summarise(per_task: dict[str, dict]) -> dict:
    """Each method's mean reward over held-out tasks, and Task2Sim minus it, with t-intervals."""
    tasks = list(per_task)
    out: dict[str, dict] = {}
    ours = np.array([per_task[t]["task2sim"]["reward"] for t in tasks])
    for method in LOTO_METHODS:
        values = np.array([per_task[t][method]["reward"] for t in tasks])
        entry = {"reward": t_interval(values).to_json()}
        if method != "task2sim":
            difference = t_interval(ours - values)
            entry["task2sim_minus"] = difference.to_json()
            entry["verdict"] = verdict(difference)
        out[method] = entry
    return out


def loto_frame(result: dict) -> pd.DataFrame:
    """One row per held-out task, a column per method's reward."""
    records = []
    for task, entry in result["tasks"].items():
        record = {"held-out task": task}
        record.update({m: round(entry[m]["reward"], 2) for m in LOTO_METHODS})
        records.append(record)
    return pd.DataFrame.from_records(records)


LOTO_START = "<!-- leave-one-task-out: generated by `task2sim loto` -->"
LOTO_END = "<!-- end of leave-one-task-out -->"
EXPLAINED = (
    "For each task of a pool the controller is trained on all the other tasks and predicts the "
    "held-out one; every baseline is computed from the other tasks alone. Rewards are read from "
    "that pool's reward table (5-NN top-1 %). Intervals: 95 % Student-t over the held-out "
    "tasks; **better** / **worse** when the interval of the paired difference (Task2Sim - "
    "method, per task) excludes 0, else n.d. (not distinguishable)."
)
SHORT = {"better": "**better**", "worse": "**worse**", "not distinguishable": "n.d."}


def summary_table(pool: str, result: dict) -> list[str]:
    """One pool's Markdown summary: each method's mean reward and Task2Sim's difference."""
    summary = result["summary"]
    lines = [
        f"**{pool}**: {len(result['tasks'])} held-out tasks, controller seeds "
        f"{', '.join(map(str, result['controller_seeds']))}.",
        "",
        "| method | mean reward [95 % CI] | Task2Sim - method [95 % CI] | verdict |",
        "|---|---|---|---|",
    ]
    for method, label in LOTO_METHODS.items():
        entry = summary[method]
        reward = interval_text(entry["reward"])
        difference = interval_text(entry["task2sim_minus"]) if "task2sim_minus" in entry else ""
        verdict_text = SHORT.get(entry.get("verdict", ""), "")
        lines.append(f"| {label} | {reward} | {difference} | {verdict_text} |")
    return lines


def verdict_block(results: dict[str, dict]) -> str:
    """The README's generated block: every pool's summary table, between marker lines."""
    lines = [LOTO_START, EXPLAINED]
    for pool, result in results.items():
        lines += ["", *summary_table(pool, result)]
    return "\n".join([*lines, LOTO_END]) + "\n"


def markdown(results: dict[str, dict]) -> str:
    """Every pool's summary (with intervals and verdicts) and its per-task table."""
    lines = ["# Leave-one-task-out", "", EXPLAINED]
    for pool, result in results.items():
        lines += ["", f"## {pool}", "", *summary_table(pool, result)]
        lines += ["", loto_frame(result).to_markdown(index=False, floatfmt=".2f")]
    return "\n".join(lines) + "\n"


def write_markdown(results: dict[str, dict], path: Path, block_path: Path) -> None:
    atomic_write_bytes(Path(path), markdown(results).encode("utf-8"))
    atomic_write_bytes(Path(block_path), verdict_block(results).encode("utf-8"))


def loto_stage(
    params_path: Path, rewards: Path, vectors_dir: Path, out: Path, json_out: Path,
    verdicts: Path, paper: bool = True, offline: bool = False, progress: bool = True,
) -> dict:  # fmt: skip
    """The `loto` stage: leave-one-task-out on our reward table and on the paper's released one,
    written as JSON, a Markdown table and the README's verdict block."""
    params = load_params(params_path)
    cfg, settings = params.controller.training, params.loto
    start = time.perf_counter()
    tasks = [*params.controller.seen, *params.controller.unseen]
    pools = {
        f"our pool ({len(tasks)} tasks, our reward table)": (
            load_reward_table(rewards),
            load_vectors(vectors_dir, tasks),
            tasks,
        ),
    }
    if paper:
        paper_tasks = [*PAPER_SEEN, *PAPER_UNSEEN]
        pools[f"the paper's released artifacts ({len(paper_tasks)} tasks)"] = (
            load_paper_rewards(allow_download=not offline),
            load_paper_vectors(allow_download=not offline),
            paper_tasks,
        )
    results = {}
    for pool, (table, vectors, names) in pools.items():
        results[pool] = leave_one_task_out(
            table, vectors, names, cfg, settings.seeds, settings.workers, progress
        )
        summary = results[pool]["summary"]
        ours = summary["task2sim"]["reward"]
        line = ", ".join(
            f"{m} {summary[m]['reward']['mean']:.2f} ({summary[m]['verdict']})"
            for m in summary
            if m != "task2sim"
        )
        print(
            f"{pool}: Task2Sim {ours['mean']:.2f} [{ours['low']:.2f}, {ours['high']:.2f}]; {line}"
        )
    atomic_write_json(json_out, results)
    write_markdown(results, out, verdicts)
    print(f"-> {out}, {json_out}, {verdicts} ({time.perf_counter() - start:.0f} s)")
    return results
