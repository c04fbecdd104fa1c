"""Intervals, paired differences, the sanity gate, the table-read baselines and leave-one-task-out.

Each statistic is checked against a case worked out by hand; the pairing and leave-one-task-out
tests are built so that they fail if a seed were mismatched or a held-out task leaked in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import PAPER_DIR, ROOT, needs_paper
from task2sim import paper_release as paper
from task2sim.controller import loto as loto_module
from task2sim.controller.baselines import additive_optimum, best_fixed, nearest_seen, table_picks
from task2sim.controller.loto import leave_one_task_out, markdown
from task2sim.final.plan import Plan
from task2sim.final.stats import embed_block, paired_differences, sanity_gate, split_intervals
from task2sim.params import ControllerTraining
from task2sim.reward_table import RewardTable
from task2sim.stats.intervals import t_interval, verdict

# ---------------------------------------------------------------- intervals


def test_t_interval_matches_a_hand_computed_case():
    # mean 3, sd sqrt(2.5), se sqrt(0.5); t(0.975, 4) = 2.776445
    interval = t_interval([1, 2, 3, 4, 5])
    half = 2.776445105 * np.sqrt(0.5)
    assert interval.mean == pytest.approx(3.0)
    assert (interval.low, interval.high) == pytest.approx((3 - half, 3 + half), abs=1e-6)
    assert interval.n == 5
    assert t_interval([7.0]).low == t_interval([7.0]).high == 7.0  # one unit: no interval
    assert t_interval([2, 2, 2]).to_json() == {"mean": 2.0, "low": 2.0, "high": 2.0, "n": 3}
    with pytest.raises(ValueError):
        t_interval([])


def test_verdicts_follow_the_interval():
    assert verdict(t_interval([1.0, 1.2, 0.9, 1.1])) == "better"
    assert verdict(t_interval([-1.0, -1.2, -0.9])) == "worse"
    assert verdict(t_interval([-1.0, 1.0, 0.5])) == "not distinguishable"
    assert verdict(t_interval([5.0])) == "not distinguishable"  # no replication, no claim


# ---------------------------------------------------------------- paired differences


def _scores(rows: dict[str, dict]) -> pd.DataFrame:
    """A scores frame like `summary.scores_frame`'s from {row: {(seed, task, protocol): %}}."""
    records = [
        {"row": row, "seed": seed, "task": task, "protocol": protocol, "top1": top1}
        for row, cells in rows.items()
        for (seed, task, protocol), top1 in cells.items()
    ]
    data = pd.DataFrame.from_records(records)
    data["row"] = pd.Categorical(data["row"], list(rows), ordered=True)
    return data


def test_paired_difference_matches_seeds_not_positions():
    """Each seed shifts both methods alike (a shared initialisation); Task2Sim is always exactly
    one point better at the same seed. Pairing by seed gives +1 with no spread; pairing in
    any other order (the other method's records are stored in reverse) would not."""
    plan = Plan({}, ["s1", "s2", "s3"], ["u1", "u2"], seeds=[0, 1, 2])
    shift = {0: 0.0, 1: 30.0, 2: 60.0}
    tasks = [*plan.seen, *plan.unseen]
    protocols = ("knn", "linear", "finetune")
    ours = {
        (s, t, p): 10 + shift[s] + 1 + i for s in (0, 1, 2) for i, t in enumerate(tasks)
        for p in protocols
    }  # fmt: skip
    theirs = {
        (s, t, p): 10 + shift[s] + i for s in (2, 1, 0) for i, t in enumerate(tasks)
        for p in protocols
    }  # fmt: skip
    fixed = {(None, t, p): 40.0 for t in tasks for p in protocols}  # one network, no seed
    data = _scores({"task2sim": ours, "other": theirs, "reference_fixed": fixed})
    pairs = paired_differences(plan, data)
    for protocol in protocols:
        for role in ("seen", "unseen"):
            entry = pairs["other"][protocol][role]
            assert entry["difference"]["mean"] == pytest.approx(1.0)
            assert entry["difference"]["low"] == pytest.approx(1.0)  # no spread: paired
            assert entry["verdict"] == "better"
    # the fixed network stands at every seed index: ours - 40, averaged over seeds
    expected = np.mean([10 + shift[s] + 1 + 0 - 40 for s in (0, 1, 2)])
    seen = pairs["reference_fixed"]["knn"]["seen"]["difference"]
    assert seen["n"] == 3 and seen["mean"] == pytest.approx(expected + 1, abs=0.01)
    means = split_intervals(plan, data)
    assert means["task2sim"]["knn"]["unseen"]["n"] == 2
    assert means["task2sim"]["knn"]["seen"]["mean"] == pytest.approx(10 + 30 + 1 + 1)


def test_sanity_gate_counts_backbones_and_the_imagenet_rows():
    def rows(finetune: float) -> dict:
        return {
            (s, t, p): {"knn": 50.0, "linear": 40.0, "finetune": finetune}[p]
            for s in (0, 1) for t in ("a", "b") for p in ("knn", "linear", "finetune")
        }  # fmt: skip

    imagenet = {(None, t, p): v for (_, t, p), v in rows(45.0).items()}
    data = _scores({"task2sim": rows(60.0), "reference_lite": imagenet})
    records = pd.DataFrame.from_records(
        [
            {"backbone": f"c001_s{s}", "seed": s, "task": t, "protocol": p, "top1": v}
            for (s, t, p), v in rows(60.0).items()
        ]
        + [
            {"backbone": f"c002_s{s}", "seed": s, "task": t, "protocol": p, "top1": v}
            for (s, t, p), v in rows(30.0).items()
        ]
    )
    gate = sanity_gate(data, records)
    assert gate["references"]["reference_lite"]["holds"]  # 45 >= 40
    assert gate["finetune_at_least_knn"] == {"backbones": 2, "of": 4}
    assert not gate["holds"]  # 2 of 4 is no majority
    one_more = records[records["backbone"] != "c002_s1"]
    assert sanity_gate(data, one_more)["holds"]  # 2 of 3


# ---------------------------------------------------------------- table-read baselines


def _table(rows: dict[str, dict[int, float]], base: float = 50.0) -> RewardTable:
    values = np.full((len(rows), 256), base)
    for i, overrides in enumerate(rows.values()):
        for config, value in overrides.items():
            values[i, config] = value
    return RewardTable(tuple(rows), values)


def test_best_fixed_nearest_and_oracle_use_only_what_they_may():
    table = _table({"a": {3: 85, 7: 60}, "b": {7: 80}, "u": {200: 99}})
    assert best_fixed(table, ["a", "b"]) == 7  # (60 + 80) / 2 beats (85 + 50) / 2
    vectors = {"a": np.array([1.0, 0, 0]), "b": np.array([0, 1.0, 0]), "u": np.array([0.1, 1, 0])}
    assert nearest_seen(vectors, ["a", "b"], "u") == "b"
    assert nearest_seen(vectors, ["a", "b"], "a") == "b"  # never its own neighbour
    picks = table_picks("nearest_task", table, ["a", "b"], ["a", "b", "u"], vectors)
    assert picks == {"a": 7, "b": 3, "u": 7}
    assert table_picks("oracle", table, ["a", "b"], ["u"]) == {"u": 200}


def test_additive_optimum_finds_the_best_of_a_smooth_table():
    """A table that is exactly main + two-way: the fit recovers it and its argmax."""
    from task2sim.stats.factorial import design_matrix

    rng = np.random.default_rng(0)
    coefficients = rng.normal(0, 1, 37)
    smooth = design_matrix(range(256)) @ coefficients
    table = RewardTable(("a", "b"), np.stack([50 + smooth, 50 + smooth]))
    assert additive_optimum(table, ["a", "b"]) == int(np.argmax(smooth))


@needs_paper
def test_additive_baseline_on_the_paper_table_is_c092(monkeypatch):
    monkeypatch.setenv("TASK2SIM_PAPER_DIR", str(PAPER_DIR))
    table = paper.load_paper_rewards(allow_download=False)
    seen, unseen = list(paper.PAPER_SEEN), list(paper.PAPER_UNSEEN)
    config = additive_optimum(table, seen)
    assert config == 92
    assert float(table.rows(unseen)[:, config].mean()) == pytest.approx(56.74, abs=0.005)


# ---------------------------------------------------------------- leave-one-task-out


def test_leave_one_task_out_never_trains_on_the_held_out_task(monkeypatch):
    """Each held-out task has a config only it rewards (90 %). The controller spy checks it is
    never among the training tasks, and the baselines, built from the others, never pick it."""
    tasks = ["a", "b", "c", "d"]
    own = {"a": 11, "b": 22, "c": 33, "d": 44}
    table = _table({t: {own[t]: 90.0, 5: 70.0} for t in tasks})
    vectors = {t: np.eye(4)[i] + 0.1 for i, t in enumerate(tasks)}
    calls = []

    class FakeRun:
        def __init__(self, unseen: list[str], config: int) -> None:
            self.predictions = {unseen[0]: {"config": config}}

    def spy(table, vectors, seen, unseen, cfg, seed, progress=False):
        calls.append((list(seen), list(unseen), seed))
        assert unseen[0] not in seen
        return FakeRun(unseen, 5)

    monkeypatch.setattr(loto_module, "run_controller", spy)
    result = leave_one_task_out(table, vectors, tasks, ControllerTraining(), seeds=[0, 1])
    assert sorted((u[0], s) for _, u, s in calls) == [(t, s) for t in tasks for s in (0, 1)]
    assert all(sorted(seen + unseen) == tasks for seen, unseen, _ in calls)
    for task, entry in result["tasks"].items():
        assert entry["task2sim"]["reward"] == 70.0
        assert entry["oracle"] == {"config": own[task], "reward": 90.0}  # the bound only
        for method in ("best_fixed", "additive", "nearest_task"):
            assert entry[method]["config"] != own[task], (task, method)
    summary = result["summary"]
    assert summary["task2sim"]["reward"]["mean"] == 70.0
    assert summary["oracle"]["verdict"] == "worse"
    assert "Leave-one-task-out" in markdown({"toy": result})


def test_leave_one_task_out_trains_a_real_controller():
    tasks = ["a", "b", "c"]
    table = _table({t: {9: 80.0} for t in tasks})
    vectors = {t: np.eye(3)[i] + 0.2 for i, t in enumerate(tasks)}
    cfg = ControllerTraining(epochs=20, warmup_epochs=2, decay_epochs=10, imitation_start_epoch=5)
    result = leave_one_task_out(table, vectors, tasks, cfg, seeds=[0])
    for entry in result["tasks"].values():
        assert len(entry["task2sim"]["configs"]) == 1
        assert 0 <= entry["task2sim"]["configs"][0] < 256


# ---------------------------------------------------------------- the README's verdicts


def test_readme_verdicts_are_the_generated_ones():
    """The README's verdict blocks equal the committed results (`task2sim readme-verdicts`)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in ("results/final/verdicts.md", "results/loto_verdicts.md"):
        generated = (ROOT / block).read_text(encoding="utf-8")
        assert embed_block(readme, generated) == readme, f"README differs from {block}"


def test_embed_block_replaces_only_between_the_markers():
    readme = "intro\n<!-- a -->\nold\n<!-- /a -->\nrest\n"
    assert embed_block(readme, "<!-- a -->\nnew\n<!-- /a -->\n") == (
        "intro\n<!-- a -->\nnew\n<!-- /a -->\nrest\n"
    )
    with pytest.raises(ValueError, match="no block"):
        embed_block("no markers\n", "<!-- a -->\nnew\n<!-- /a -->\n")


def test_headline_is_task2sim_or_nothing():
    """metrics.json names no method, so only Task2Sim's row may fill it."""
    from task2sim.final.summary import headline

    row = {"knn": {"seen": 50.0, "unseen": 60.0}}
    assert headline({"domain_randomization": row, "task2sim": row}) is row
    assert headline({"domain_randomization": row}) == {}
