"""The paper's released artifacts: finding and verifying them, baselines, and the acceptance runs.

The files are read from `../shared/paper` beside the project (or $TASK2SIM_PAPER_DIR), never copied
into the repository; without them these tests skip, saying how to provide them.
"""

from __future__ import annotations

import json
import os
import statistics

import numpy as np
import pytest

from helpers import PAPER_DIR, needs_paper, new_dvc_project, project_params
from task2sim import paper_release as paper
from task2sim.controller.baselines import baselines
from task2sim.controller.paper_table import paper_table, render_markdown, write_table
from task2sim.controller.run import run_controller
from task2sim.errors import Task2SimError
from task2sim.params import ControllerTraining, PaperControllerParams
from task2sim.sim.config import index_to_key


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No sibling folder, an empty download cache, no env override: only what a test sets."""
    monkeypatch.delenv("TASK2SIM_PAPER_DIR", raising=False)
    monkeypatch.setenv("TASK2SIM_ROOT", str(tmp_path / "project"))
    monkeypatch.setenv("TASK2SIM_RAW", str(tmp_path / "raw"))
    return tmp_path


@needs_paper
def test_pinned_sums_are_the_published_ones():
    published = dict(
        reversed(line.split()) for line in (PAPER_DIR / "SHA256SUMS").read_text().splitlines()
    )
    for name, artifact in paper.ARTIFACTS.items():
        assert artifact.sha256 == published[name]


@needs_paper
def test_env_folder_is_used_and_verified(isolated, monkeypatch):
    monkeypatch.setenv("TASK2SIM_PAPER_DIR", str(PAPER_DIR))
    assert paper.locate("reward_db.json", allow_download=False) == PAPER_DIR / "reward_db.json"
    bad = isolated / "bad"
    bad.mkdir()
    (bad / "reward_db.json").write_text("{}")
    monkeypatch.setenv("TASK2SIM_PAPER_DIR", str(bad))
    with pytest.raises(Task2SimError, match=r"has sha256 .* but the released reward_db.json"):
        paper.locate("reward_db.json", allow_download=False)


@needs_paper
def test_downloads_from_the_pinned_commit_and_verifies(isolated, server, monkeypatch):
    for name, artifact in paper.ARTIFACTS.items():
        server.files[f"repo/{artifact.upstream_path}"] = (PAPER_DIR / name).read_bytes()
    monkeypatch.setattr(paper, "UPSTREAM", server.url("repo/"))
    path = paper.locate("reward_db.json")
    assert path == isolated / "raw" / "paper" / "reward_db.json"
    assert path.read_bytes() == (PAPER_DIR / "reward_db.json").read_bytes()
    server.files["repo/task_db/resnet18_imagenet_8_unseen_tasks.pt"] = b"tampered"
    with pytest.raises(Task2SimError, match=r"sha256 is .* expected"):
        paper.locate("resnet18_imagenet_8_unseen_tasks.pt")
    assert ("repo/controller_db/reward_db.json", None) in server.requests


def test_nothing_reachable_says_where_to_put_the_files(isolated, server, monkeypatch):
    monkeypatch.setattr(paper, "UPSTREAM", server.url("nothing/"))
    with pytest.raises(Task2SimError) as info:
        paper.locate("reward_db.json")
    message = str(info.value)
    assert "HTTP 404" in message and "TASK2SIM_PAPER_DIR" in message
    assert str(isolated / "shared" / "paper") in message  # the sibling folder of the project
    with pytest.raises(Task2SimError, match="was not found"):
        paper.locate("reward_db.json", allow_download=False)


@needs_paper
def test_released_table_and_vectors_load():
    table = paper.load_paper_rewards(allow_download=False)
    vectors = paper.load_paper_vectors(allow_download=False)
    assert set(table.tasks) == set(paper.PAPER_SEEN) | set(paper.PAPER_UNSEEN) == set(vectors)
    assert table.values.shape == (20, 256)
    assert all(v.shape == (9600,) and np.isfinite(v).all() for v in vectors.values())
    raw = json.loads((PAPER_DIR / "reward_db.json").read_text())
    assert list(raw["SVHN"]) == [index_to_key(i) for i in range(256)]  # keys in index order


@needs_paper
def test_baselines_match_a_direct_reading_of_the_json():
    raw = json.loads((PAPER_DIR / "reward_db.json").read_text())
    seen, unseen = list(paper.PAPER_SEEN), list(paper.PAPER_UNSEEN)
    out = baselines(paper.load_paper_rewards(False), seen, unseen)
    for role, tasks in (("seen", seen), ("unseen", unseen)):
        mean = statistics.fmean
        dr = mean(raw[t]["1_1_1_1_1_3_0_1_1"] for t in tasks)
        off = mean(raw[t]["0_0_0_0_0_1_0_0_0"] for t in tasks)
        rand = mean(mean(raw[t].values()) for t in tasks)
        oracle = mean(max(raw[t].values()) for t in tasks)
        assert out["domain_randomization"][role] == pytest.approx(dr)
        assert out["all_off"][role] == pytest.approx(off)
        assert out["random"][role] == pytest.approx(rand)
        assert out["oracle"][role] == pytest.approx(oracle)
    keys = list(raw[seen[0]])
    best_key = max(keys, key=lambda k: statistics.fmean(raw[t][k] for t in seen))
    assert out["best_fixed_on_seen"]["key"] == best_key


@needs_paper
def test_per_task_controller_on_the_released_table_one_seed():
    """Acceptance, reduced to one seed of the full recipe (the 5-seed check is marked slow)."""
    table = paper.load_paper_rewards(False)
    vectors = paper.load_paper_vectors(False)
    run = run_controller(
        table,
        vectors,
        list(paper.PAPER_SEEN),
        list(paper.PAPER_UNSEEN),
        ControllerTraining(loss="per_task"),
        seed=0,
    )
    seen, unseen = run.scores["seen"]["reward"], run.scores["unseen"]["reward"]
    assert seen >= 30.0 and unseen >= 52.5, (seen, unseen)
    assert seen <= run.scores["seen"]["oracle"] and unseen <= run.scores["unseen"]["oracle"]
    assert run.seconds <= 60


@pytest.mark.slow
@needs_paper
def test_table1_over_five_seeds_both_losses(tmp_path):
    content, seconds = paper_table(ControllerTraining(), PaperControllerParams(), False)
    per_task = content["task2sim"]["per_task"]
    assert per_task["seen"]["mean"] >= 30.0 and per_task["unseen"]["mean"] >= 52.5
    assert len(content["runs"]) == 10 and max(seconds) <= 60
    official = content["task2sim"]["official"]
    assert official["seen"]["mean"] <= content["baselines"]["oracle"]["seen"]
    write_table(content, tmp_path)
    markdown = (tmp_path / "table1.md").read_text()
    assert "| Task2Sim, paper (supp. Table 1) | 30.46 | 53.06 |" in markdown
    assert json.loads((tmp_path / "table1.json").read_text())["task2sim"] == content["task2sim"]


@needs_paper
def test_table_renders_every_row():
    params = PaperControllerParams(seeds=[0, 1], losses=["official"], workers=1)
    content, _ = paper_table(ControllerTraining(epochs=3), params, False)
    markdown = render_markdown(content)
    for label in ("Domain Randomization (set 255", "Random", "All off (set 0", "oracle"):
        assert label in markdown
    assert markdown.count("| official |") == 2
    assert "official all-pairs loss" in markdown


@pytest.mark.slow
@needs_paper
def test_dvc_stage_runs_offline_from_the_sibling_folder(tmp_path):
    """`dvc repro paper_controller` in a fresh repo whose ../shared/paper holds the files."""
    (tmp_path / "shared").mkdir()
    os.symlink(PAPER_DIR, tmp_path / "shared" / "paper")  # a link, not a copy
    params = project_params()
    params["controller"]["training"]["epochs"] = 3
    params["paper_controller"] = {"seeds": [0, 1], "losses": ["per_task"], "workers": 1}
    project = new_dvc_project(
        tmp_path / "project",
        params,
        env={"TASK2SIM_PAPER_DIR": None, "TASK2SIM_ROOT": str(tmp_path / "project")},
    )
    project.dvc("repro", "paper_controller")
    table = json.loads((project.path / "results/paper/table1.json").read_text())
    assert [r["seed"] for r in table["runs"]] == [0, 1]
    assert "Running stage" not in project.dvc("repro", "paper_controller")
