"""`task2sim report`: scale curves from `dvc exp show --json`, the reward and CKA figures.

tests/data/dvc_exp_show.json is real dvc 3.67 output (`dvc exp show --json --all-commits`) of a
throwaway repository: a stage writing results/metrics.json from pretrain params, baseline
images=2000, experiments `-S pretrain.images=4000`, `=8000`, then classes=20 and
objects_per_class=4 committed, and one failed queued experiment (images=3). Its one absolute
path (the failed run's log) was replaced by PROJECT.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from task2sim.cli import main
from task2sim.report.experiments import experiment_rows, scale_table, sweep_of
from task2sim.sim.config import index_to_key

FIXTURE = Path(__file__).parent / "data" / "dvc_exp_show.json"
TASKS = ["digits", "clipart", "mnist5k"]


@pytest.fixture
def exps() -> list:
    return json.loads(FIXTURE.read_text())


def test_parser_reads_experiments_and_skips_failed_and_repeated_ones(exps):
    table = experiment_rows(exps)
    runs = table.groupby("experiment")[["images", "classes", "objects_per_class"]].first()
    assert sorted(map(tuple, runs.to_numpy().tolist())) == [
        (2000, 10, 8), (4000, 10, 8), (8000, 10, 8), (8000, 20, 4)
    ]  # fmt: skip
    assert 3 not in set(table["images"])  # the failed experiment carries stale metrics
    assert "workspace" not in set(table["experiment"])  # repeats the last experiment
    assert {"aroid-pans", "white-iglu"} <= set(table["experiment"])
    row = table[
        (table.experiment == "white-iglu") & (table.method == "task2sim")
        & (table.protocol == "linear") & (table.split == "unseen")
    ]  # fmt: skip
    assert row["accuracy"].tolist() == [45.0]  # 40 + 4 + 1 + 1 + 0 - 1 in the toy stage
    rows, fixed = sweep_of(table, "images")
    assert sorted(set(rows["images"])) == [2000, 4000, 8000]
    assert fixed == {"classes": 10, "objects_per_class": 8, "model": "(unset)"}
    assert sweep_of(table, "classes") is None  # 10 -> 20 changed objects_per_class too
    wide = scale_table(table)
    assert {"knn_seen", "finetune_unseen"} <= set(wide.columns) and len(wide) == 4 * 5


def test_every_method_comes_from_means_and_backbones_make_a_curve(exps):
    """means.json at each experiment's commit gives every method; pretrain.train.model is a
    scale dimension of its own (supp. Figs 2-3)."""
    for entry in exps:
        for exp in entry.get("experiments") or []:
            for rev in exp["revs"]:
                rev["data"]["params"]["params.yaml"]["data"]["pretrain"]["train"] = {
                    "model": "resnet50" if rev["name"] == "white-iglu" else "resnet18"
                }
    asked = []

    def read_means(rev: str) -> dict:
        asked.append(rev)
        return {"domain_randomization": {"knn": {"seen": 12.5, "unseen": 20.0}}}

    table = experiment_rows(exps, read_means)
    assert set(table["method"]) == {"domain_randomization"}
    assert all(len(rev) == 40 or rev == "workspace" for rev in asked)
    wide = scale_table(table)
    assert set(wide["model"]) >= {"resnet18", "resnet50"}


def test_report_from_exps_writes_curves_csv_and_says_what_is_missing(tmp_path, capsys):
    figures, tables = tmp_path / "figures", tmp_path / "tables"
    args = ["report", "--exps-json", str(FIXTURE), "--out", str(figures), "--tables", str(tables)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (figures / "scale_images.png").read_bytes()[:4] == b"\x89PNG"
    assert not (figures / "scale_classes.png").exists()
    assert "dvc exp run -S pretrain.classes=40" in out
    csv = (tables / "scale.csv").read_text()
    assert csv.splitlines()[0].startswith(
        "experiment,images,classes,objects_per_class,model,method"
    )
    first = (figures / "scale_images.png").read_bytes()
    assert main(args) == 0 and (figures / "scale_images.png").read_bytes() == first
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"rev": "workspace", "data": {}, "error": None}]))
    assert main(["report", "--exps-json", str(empty), "--out", str(figures)]) == 0
    assert "dvc exp run -S pretrain.images=4000" in capsys.readouterr().out


def _rewards(path: Path) -> None:
    rng = np.random.default_rng(0)
    table = {
        t: {index_to_key(i): float(30 + 10 * k + rng.normal(0, 2)) for i in range(256)}
        for k, t in enumerate(TASKS)
    }
    path.write_text(json.dumps(table))


def test_report_draws_rewards_and_cka_when_present(tmp_path, capsys):
    _rewards(tmp_path / "rewards.json")
    plan = {
        "methods": {
            "task2sim": {"digits": 17, "clipart": 200, "mnist5k": 17},
            "domain_randomization": dict.fromkeys(TASKS, 255),
            "all_off": dict.fromkeys(TASKS, 0),
        },
        "configs": [0, 17, 200, 255],
        "seen": ["digits", "clipart"],
        "unseen": ["mnist5k"],
        "seeds": [0],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    base = ["report", "--rewards", str(tmp_path / "rewards.json"), "--out", str(tmp_path)]
    args = [*base, "--plan", str(tmp_path / "plan.json"), "--cka", str(tmp_path / "cka.json")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "rewards.png").read_bytes()[:4] == b"\x89PNG"
    assert "skipped cka.png" in out
    eye = np.eye(3).tolist()
    stages = ["stage1", "stage2", "stage3", "stage4"]
    phase = {"pretrained": dict.fromkeys(stages, eye), "finetuned": dict.fromkeys(stages, eye)}
    cka = {
        "methods": ["task2sim", "domain_randomization", "all_off"],
        "stages": stages,
        "phases": ["pretrained", "finetuned"],
        "average": {"seen": {**phase, "tasks": ["digits"]}},
    }
    (tmp_path / "cka.json").write_text(json.dumps(cka))
    assert (
        main([*base, "--plan", str(tmp_path / "none.json"), "--cka", str(tmp_path / "cka.json")])
        == 0
    )
    assert (tmp_path / "cka.png").read_bytes()[:4] == b"\x89PNG"
    assert "methods not marked" in capsys.readouterr().out


def test_one_label_table_names_every_method_in_every_output():
    from task2sim.controller.loto import LOTO_METHODS
    from task2sim.labels import METHODS, REFERENCES, short_label, table_label
    from task2sim.report.style import METHOD_COLOURS

    assert set(LOTO_METHODS) == set(METHODS)
    assert all(short_label(m) != m for m in METHOD_COLOURS)  # every coloured row has a name
    assert table_label("domain_randomization") == "Domain Randomization (c255)"
    assert short_label("domain_randomization") == "Domain Rand."
    assert table_label("reference_scratch") == REFERENCES["scratch"].description
    assert table_label("reference_vit") == "reference: vit"
    assert short_label("reference_vit") == "ImageNet (vit)"
    assert table_label("new_method") == short_label("new_method") == "new_method"
