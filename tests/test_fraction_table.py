"""Supp. Table 1 on our pipeline: Task2Vec from fractions of the data -> controller -> reward."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from task2sim.cli import main
from task2sim.datasets.format import TaskData, save_task
from task2sim.params import FractionTableParams, Task2VecParams
from task2sim.sim.config import NUM_CONFIGS, index_to_key
from task2sim.task2vec.embed import embed_task, write_embedding

TASK2VEC = {
    "probe": "resnet18",
    "weights": "random",
    "image_size": 32,
    "fisher_samples": 128,
    "fit_samples": 256,
    "fit_epochs": 2,
    "batch_size": 32,
    "threads": 1,
}
NAMES = ["t0", "t1", "t2"]


def _task(name: str, seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 20)
    images = rng.normal(40 + 50 * labels[:, None, None, None] + 10 * seed, 30, (60, 16, 16, 3))
    images = images.clip(0, 255).astype(np.uint8)
    return TaskData(name, images, labels, images[:6], labels[:6], ["a", "b", "c"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """Three tiny tasks, their 100 % vectors (as the task2vec stage), a random reward table."""
    settings = Task2VecParams(**TASK2VEC)
    for seed, name in enumerate(NAMES):
        task = _task(name, seed)
        save_task(task, tmp_path / "data" / "tasks" / name)
        embedding, meta = embed_task(task, settings, 0)
        write_embedding(embedding, meta, tmp_path / "data" / "task2vec", name)
    values = np.random.default_rng(3).uniform(20, 80, (len(NAMES), NUM_CONFIGS))
    table = {n: {index_to_key(c): float(values[i, c]) for c in range(NUM_CONFIGS)}
             for i, n in enumerate(NAMES)}  # fmt: skip
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "rewards.json").write_text(json.dumps(table))
    params = {
        "seed": 0,
        "tasks": {n: {"source": "digits"} for n in NAMES},
        "controller": {
            "seen": NAMES[:2],
            "unseen": NAMES[2:],
            "training": {"epochs": 20, "hidden": 16},
        },
        "task2vec": TASK2VEC,
        "fraction_table": {"fractions": [1.0, 0.5]},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_rows_reuse_the_main_vectors_and_embed_the_other_fractions(project):
    assert main(["fraction-table"]) == 0
    assert main(["controller", "--rewards", "results/rewards.json"]) == 0
    content = json.loads((project / "results" / "table1.json").read_text())
    full, half = content["rows"]
    assert full["fraction"] == 1.0 and full["vectors"] == "data/task2vec"
    predictions = json.loads((project / "results" / "controller" / "predictions.json").read_text())
    assert full["configs"] == {t: p["config"] for t, p in predictions.items()}  # = controller
    metrics = json.loads((project / "results" / "controller" / "metrics.json").read_text())
    assert full["seen"] == round(metrics["seen"]["reward"], 4)
    meta = json.loads(
        (project / "data" / "task2vec_fractions" / "fraction-0.5" / "t0.json").read_text()
    )
    assert meta["pool_images"] == 30  # half of each of 3 classes of 20
    table = (project / "results" / "tables" / "table1.md").read_text()
    assert "| 100 % of each class |" in table and "| 50 % of each class |" in table
    assert "Per-task oracle" in table and content["baselines"]["oracle"]["seen"] >= half["seen"]


def test_missing_rewards_fail_with_the_fix(project):
    (project / "results" / "rewards.json").unlink()
    assert main(["fraction-table"]) == 2
    assert not (project / "results" / "table1.json").exists()


@pytest.mark.parametrize("fractions", [[0.0], [1.5], [0.5, 0.5], []])
def test_bad_fractions_are_refused(fractions):
    with pytest.raises(ValidationError):
        FractionTableParams(fractions=fractions)
