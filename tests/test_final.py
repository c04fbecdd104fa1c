"""The final comparison: the per-method plan, final sets -> backbones -> evaluation through the
CLI commands on a tiny project, the method view, the reference networks, and clear errors."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch
import yaml

from helpers import (
    ROOT,
    TINY_RESNET,
    brightness_task,
    new_dvc_project,
    project_params,
    tiny_train,
)
from task2sim.datasets.format import load_task, save_task
from task2sim.errors import Task2SimError
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.protocols import evaluate_backbone
from task2sim.final import cli as final_cli
from task2sim.final.plan import build_plan, load_predictions, random_config, read_plan
from task2sim.final.reference import Renormalized, load_reference, references
from task2sim.final.stats import VERDICT_END, VERDICT_START
from task2sim.params import ReferenceParams, load_params
from task2sim.sim.config import index_to_key
from task2sim.train.checkpoint import load_backbone, read_meta

PREDICTED = {"a": 5, "c": 5, "b": 5}
SEEDS = [0, 1]
TINY_EVALUATE = {
    "image_size": 16,
    "threads": 1,
    "max_train_images": 30,
    "max_test_images": 20,
    "linear": {"epochs": 8, "milestones": [6], "batch_size": 8},
    "finetune": {"epochs": 6, "milestones": [4], "max_train_images": 20, "batch_size": 8},
}


def _evaluate_final_args(p: dict[str, str]) -> list[str]:
    """`evaluate-final` with the inputs of the prepared tiny project `p`."""
    return [
        "evaluate-final",
        *("--params", p["params"], "--plan", p["plan"], "--backbones", p["backbones"]),
        *("--tasks-dir", p["tasks"], "--reference", p["reference"]),
    ]


def _run(command: str, *argv: str) -> None:
    """A `task2sim <command>` of the final stages, as the CLI dispatches it."""
    parser = argparse.ArgumentParser()
    final_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([command, *argv, "--quiet"])
    args.func(args)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Params for two tiny tasks, the tasks, and a controller prediction for each."""
    root = tmp_path_factory.mktemp("final")
    os.environ["TASK2SIM_CACHE"] = str(root / "cache")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["tasks"] = {name: {"source": "digits"} for name in ("a", "c", "b")}
    raw["controller"] = {**raw["controller"], "seen": ["a", "c"], "unseen": ["b"]}
    raw["final"] = {**raw["final"], "seeds": SEEDS, "workers": 2}
    raw["sim"] = {"classes": 3, "objects_per_class": 2, "skies": 2, "photos": False}
    raw["sim"]["background_height"] = 32
    raw["pretrain"] = {
        "images": 16,
        "classes": 3,
        "objects_per_class": 2,
        "size": 16,
        "workers": 1,
        "shard_size": 16,
        "train": tiny_train(),
    }
    raw["evaluate"] = {**raw["evaluate"], **TINY_EVALUATE}
    raw["reference"] = {"efficientnet_lite0": True, "resnet50_weights": None}
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    rng = np.random.default_rng(0)
    for name in ("a", "c", "b"):
        save_task(brightness_task(name, rng), root / "tasks" / name)
    # A reward table and Task2Vec vectors for the table-read methods: a's best is c017, c's c042.
    table = {t: {index_to_key(i): 50.0 for i in range(256)} for t in ("a", "c", "b")}
    table["a"][index_to_key(17)] = 90.0
    table["c"][index_to_key(42)] = 90.0
    table["b"][index_to_key(99)] = 95.0
    (root / "rewards.json").write_text(json.dumps(table))
    vectors = root / "task2vec"
    vectors.mkdir()
    for name, vector in {"a": [1.0, 0.1, 0.1], "c": [0.1, 1.0, 0.1], "b": [0.9, 0.2, 0.1]}.items():
        np.save(vectors / f"{name}.npy", np.array(vector))
    predictions = {
        t: {"role": "x", "config": c, "key": index_to_key(c)} for t, c in PREDICTED.items()
    }
    (root / "predictions.json").write_text(json.dumps(predictions))
    return root


def _paths(root: Path) -> dict[str, str]:
    return {
        "params": str(root / "params.yaml"),
        "plan": str(root / "results" / "plan.json"),
        "sets": str(root / "data" / "sets"),
        "backbones": str(root / "data" / "backbones"),
        "logs": str(root / "results" / "logs"),
        "tasks": str(root / "tasks"),
        "reference": str(root / "results" / "reference.json"),
        "rewards": str(root / "rewards.json"),
        "vectors": str(root / "task2vec"),
    }


# ---------------------------------------------------------------- plan


def test_plan_methods_configs_and_dedupe():
    plan = build_plan(
        ["task2sim", "domain_randomization", "random", "all_off"],
        ["a", "b"],
        ["c"],
        random_seed=0,
        predictions={"a": 7, "b": 255, "c": 7},
    )
    assert plan.methods["task2sim"] == {"a": 7, "b": 255, "c": 7}
    assert set(plan.methods["domain_randomization"].values()) == {255}
    assert set(plan.methods["all_off"].values()) == {0}
    assert plan.methods["random"] == {t: random_config(0, t) for t in "abc"}
    expected = {7, 255, 0, *plan.methods["random"].values()}
    assert plan.configs == sorted(expected)  # one set per unique config
    assert plan.tasks_of(255) == ["a", "b", "c"] and plan.tasks_of(7) == ["a", "c"]


def test_random_method_is_seeded_stable_and_uniform():
    reordered = build_plan(["random"], ["z", "y"], ["x"], random_seed=3)
    assert reordered.methods["random"] == {t: random_config(3, t) for t in "zyx"}
    assert build_plan(["random"], ["x"], [], 3).methods["random"]["x"] == random_config(3, "x")
    draws = [random_config(0, f"task{i}") for i in range(2000)]
    assert min(draws) >= 0 and max(draws) <= 255 and len(set(draws)) > 200
    assert [random_config(1, f"task{i}") for i in range(20)] != draws[:20]


def test_predictions_errors_name_the_file_and_the_fix(tmp_path):
    missing = tmp_path / "predictions.json"
    with pytest.raises(Task2SimError, match=r"predictions\.json not found") as info:
        load_predictions(missing, ["a"])
    assert "dvc repro controller" in str(info.value)
    missing.write_text("{not json")
    with pytest.raises(Task2SimError, match="unreadable") as info:
        load_predictions(missing, ["a"])
    assert str(missing) in str(info.value) and info.value.fix
    missing.write_text(json.dumps({"a": {"config": 3}}))
    with pytest.raises(Task2SimError, match="no prediction for b"):
        load_predictions(missing, ["a", "b"])
    missing.write_text(json.dumps({"a": {"config": 300}}))
    with pytest.raises(Task2SimError, match="no config index"):
        load_predictions(missing, ["a"])


# ---------------------------------------------------------------- the stages end to end


def _final_sets(p: dict[str, str], root: Path) -> None:
    _run(
        "final-sets",
        *("--params", p["params"], "--predictions", str(root / "predictions.json")),
        *("--plan", p["plan"], "--out", p["sets"]),
        *("--rewards", p["rewards"], "--vectors", p["vectors"]),
    )


def test_final_stages_end_to_end(project, capsys):
    p = _paths(project)
    root = project
    _final_sets(p, root)
    plan = read_plan(Path(p["plan"]))
    raw_plan = json.loads(Path(p["plan"]).read_text())
    assert set(raw_plan) == {"methods", "configs", "seen", "unseen", "seeds", "notes"}
    assert plan.methods["task2sim"] == PREDICTED and raw_plan["configs"] == plan.configs
    assert plan.seeds == SEEDS
    # the table-read methods: the seen tasks alone, the oracle each task's own best
    assert plan.methods["oracle"] == {"a": 17, "c": 42, "b": 99}
    assert plan.methods["nearest_task"] == {"a": 42, "c": 17, "b": 17}  # never itself
    assert raw_plan["notes"]["nearest_task"] == {"a": "c", "c": "a", "b": "a"}
    assert set(plan.methods["best_fixed"].values()) == {17}  # first of the tied seen means
    names = sorted(f"c{c:03d}" for c in plan.configs)
    assert sorted(d.name for d in Path(p["sets"]).iterdir()) == names
    meta = json.loads((Path(p["sets"]) / "c255" / "meta.json").read_text())
    assert meta["images"] == 16 and meta["size"] == 16 and len(meta["classes"]) == 3

    _final_sets(p, root)
    assert f"(0 rendered, {len(names)} reused)" in capsys.readouterr().out  # resumes cheaply

    pretrain_args = ("--params", p["params"], "--plan", p["plan"], "--sets", p["sets"])
    _run("pretrain-final", *pretrain_args, "--out", p["backbones"], "--logs", p["logs"])
    backbones = sorted(f"{n}_s{s}" for n in names for s in SEEDS)
    assert sorted(d.name for d in Path(p["backbones"]).iterdir()) == backbones
    assert (Path(p["logs"]) / "c000_s0" / "metrics.json").is_file()  # dvclive
    # seeds differ in initialisation: different weights; the same seed again: the same bytes
    first = (Path(p["backbones"]) / "c000_s0" / "model.pt").read_bytes()
    assert first != (Path(p["backbones"]) / "c000_s1" / "model.pt").read_bytes()
    assert read_meta(Path(p["backbones"]) / "c000_s1")["recipe"]["seed"] == 1
    _run("pretrain-final", *pretrain_args, "--out", p["backbones"], "--logs", p["logs"])
    assert f"0 trained, {len(backbones)} reused" in capsys.readouterr().out
    assert (Path(p["backbones"]) / "c000_s0" / "model.pt").read_bytes() == first

    ref_ft = root / "data" / "reference_finetuned"
    _run(
        "evaluate-reference",
        *("--params", p["params"], "--tasks-dir", p["tasks"]),
        *("--out", p["reference"], "--finetuned", str(ref_ft)),
    )
    reference = pd.DataFrame.from_records(json.loads(Path(p["reference"]).read_text()))
    assert sorted(reference["row"].unique()) == ["efficientnet_lite0", "scratch"]
    scratch = reference[reference["row"] == "scratch"]
    assert sorted(scratch["seed"].unique()) == SEEDS  # one random init per seed
    assert reference[reference["row"] == "efficientnet_lite0"]["seed"].isna().all()
    assert len(reference) == (len(SEEDS) + 1) * 3 * 3  # networks x tasks x protocols
    assert sorted(d.name for d in ref_ft.iterdir()) == ["efficientnet_lite0", "scratch_s0"]
    saved = ref_ft / "efficientnet_lite0" / "a"
    assert read_meta(saved)["input_std"] == [0.5, 0.5, 0.5]
    assert read_meta(saved)["finetuned"]["settings"]["batchnorm"] == "frozen"
    assert isinstance(load_reference(saved), Renormalized)

    results = root / "results"
    _run(
        *_evaluate_final_args(p),
        *("--out", str(results / "evaluation.json"), "--finetuned", str(root / "data" / "ft")),
        *("--metrics", str(results / "metrics.json"), "--tables", str(results / "tables")),
        *("--means", str(results / "means.json")),
        *("--figure", str(results / "per_task.png"), "--summary-figure", str(results / "s.png")),
        *("--stats", str(results / "stats.json"), "--verdicts", str(results / "verdicts.md")),
    )
    records = pd.DataFrame.from_records(json.loads((results / "evaluation.json").read_text()))
    assert set(records.columns) == {"backbone", "config", "seed", "task", "protocol", "top1"}
    assert sorted(records["backbone"].unique()) == backbones
    # every (config, seed, task, protocol) once, however many methods share the config
    assert not records.duplicated(["config", "seed", "task", "protocol"]).any()
    assert set(records[records["config"] == 255]["task"]) == {"a", "b", "c"}
    assert set(records["protocol"]) == {"knn", "linear", "finetune"}

    metrics = json.loads((results / "means.json").read_text())
    rows = [*load_params(p["params"]).final.methods, "reference_scratch"]
    rows.append("reference_efficientnet_lite0")
    assert sorted(metrics) == sorted(rows)
    for row in rows:
        assert set(metrics[row]) == {"knn", "linear", "finetune"}
        for roles in metrics[row].values():
            assert set(roles) == {"seen", "unseen"}
            assert all(0 <= v <= 100 and round(v, 2) == v for v in roles.values())
    mine = records[(records["config"] == 5) & (records["protocol"] == "knn")]
    seen = mine[mine["task"].isin(["a", "c"])].groupby("task")["top1"].mean().mean()
    assert metrics["task2sim"]["knn"]["seen"] == round(seen, 2)  # mean over seeds, then tasks
    # what DVC lists: Task2Sim's six means only
    headline = json.loads((results / "metrics.json").read_text())
    assert headline == metrics["task2sim"]

    stats = json.loads((results / "stats.json").read_text())
    assert set(stats["rows"]) == set(rows)
    interval = stats["rows"]["task2sim"]["knn"]["seen"]
    assert interval["n"] == 2 and interval["low"] <= interval["mean"] <= interval["high"]
    pair = stats["task2sim_minus"]["domain_randomization"]["knn"]["unseen"]
    assert pair["verdict"] in {"better", "worse", "not distinguishable"}
    gate = stats["sanity_gate"]
    assert set(gate["references"]) == {"reference_efficientnet_lite0"}
    assert gate["finetune_at_least_knn"]["of"] == len(backbones) + len(SEEDS)  # + scratch
    assert gate["holds"], gate  # fine-tuning works at this scale: the stage's sanity gate
    verdicts = (results / "verdicts.md").read_text()
    assert verdicts.startswith(VERDICT_START) and verdicts.rstrip().endswith(VERDICT_END)
    assert "Domain Randomization (c255)" in verdicts

    final_md = (results / "tables" / "final.md").read_text()
    assert "EfficientNet-Lite0" in final_md and "scratch: random initialisation" in final_md
    assert "Did the final backbones learn their pretext task?" in final_md
    assert " ±" in final_md and "95 % Student-t" in final_md
    assert "Task2Sim vs" in (results / "tables" / "final_stats.md").read_text()
    table = pd.read_csv(results / "tables" / "final.csv")
    assert list(table.columns) == ["row", "seed", "task", "protocol", "top1"]
    for png in ("per_task.png", "s.png"):
        assert (results / png).read_bytes()[:4] == b"\x89PNG"

    # Fine-tuned copies for CKA (first seed only): numbers equal `task2sim evaluate`'s.
    tuned = root / "data" / "ft" / "c255_s0" / "b"
    assert read_meta(tuned)["finetuned"]["task"] == "b"
    assert not (root / "data" / "ft" / "c255_s1").exists()
    params = load_params(p["params"]).evaluate.model_copy(update={"threads": 1})
    again = evaluate_backbone(
        load_backbone(Path(p["backbones"]) / "c255_s1"),
        {"b": load_task(Path(p["tasks"]) / "b")},
        ["knn", "linear", "finetune"],
        params,
    )
    stored = records[(records["backbone"] == "c255_s1") & (records["task"] == "b")]
    stored_scores = dict(zip(stored["protocol"], stored["top1"], strict=True))
    assert again["b"] == pytest.approx(stored_scores, abs=1e-3)

    # A missing backbone is refused before any work, naming the folder and the fix.
    (Path(p["backbones"]) / "c000_s1" / "model.pt").unlink()
    with pytest.raises(Task2SimError, match="c000_s1 is missing") as info:
        _run(*_evaluate_final_args(p), "--out", str(root / "x.json"))
    assert "dvc repro pretrain" in str(info.value)


def test_missing_predictions_and_corrupt_rewards_are_clear(project, tmp_path):
    p = _paths(project)
    with pytest.raises(Task2SimError, match=r"nowhere\.json not found") as info:
        _run(
            "final-sets",
            "--params",
            p["params"],
            "--predictions",
            str(tmp_path / "nowhere.json"),
            "--plan",
            str(tmp_path / "plan.json"),
            "--out",
            str(tmp_path / "sets"),
        )
    assert "dvc repro controller" in str(info.value)
    assert not (tmp_path / "plan.json").exists()

    from task2sim.controller import cli as controller_cli

    rewards = tmp_path / "rewards.json"
    rewards.write_text('{"a": {"0_0": ')
    parser = argparse.ArgumentParser()
    controller_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "controller",
            "--rewards",
            str(rewards),
            "--params",
            p["params"],
            "--out",
            str(tmp_path / "controller"),
        ]
    )
    with pytest.raises(Task2SimError, match=r"rewards\.json"):
        args.func(args)
    with pytest.raises(Task2SimError, match=r"final plan .* not found") as info:
        _run("pretrain-final", "--params", p["params"], "--plan", str(tmp_path / "plan.json"))
    assert "dvc repro final_sets" in str(info.value)


# ---------------------------------------------------------------- reference networks


def test_renormalized_feeds_the_network_its_own_normalisation():
    torch.manual_seed(0)
    net = timm.create_model("resnet10t", num_classes=0, **TINY_RESNET)
    net.eval()
    wrapped = Renormalized(net, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).eval()
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    ours = FeatureExtractor(wrapped, 16)(images)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    resized = torch.nn.functional.interpolate(x, size=(18, 18), mode="bilinear", antialias=True)
    crop = (resized[:, :, 1:17, 1:17] - 0.5) / 0.5
    with torch.no_grad():
        direct = net.forward_head(net.forward_features(crop), pre_logits=True).numpy()
    np.testing.assert_allclose(ours, direct, rtol=1e-4, atol=1e-5)
    stages = FeatureExtractor(wrapped, 16).stages(images)  # CKA's hooks find the stages
    assert list(stages) == ["net.layer1", "net.layer2", "net.layer3", "net.layer4"]


def test_resnet50_reference_errors_name_the_file(tmp_path):
    with pytest.raises(Task2SimError, match=r"nope\.pth not found"):
        references(
            ReferenceParams(efficientnet_lite0=False, resnet50_weights=str(tmp_path / "nope.pth"))
        )
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    (row,) = references(ReferenceParams(efficientnet_lite0=False, resnet50_weights=str(corrupt)))
    assert row.name == "resnet50"
    with pytest.raises(Task2SimError, match=r"corrupt\.pth is not readable") as info:
        row.build()
    assert "resnet50_weights" in info.value.fix
    other = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, other)
    (row,) = references(ReferenceParams(efficientnet_lite0=False, resnet50_weights=str(other)))
    with pytest.raises(Task2SimError, match="does not fit ResNet-50"):
        row.build()


def test_final_stages_read_the_pretrain_params_and_outputs_they_need():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in ("controller", "final_sets", "pretrain", "evaluate_reference", "evaluate"):
        assert name in stages, name
    touched = {
        name
        for name, stage in stages.items()
        if "do" not in stage and any(str(p).startswith("pretrain") for p in stage.get("params", []))
    }
    assert touched <= {"final_sets", "pretrain", "evaluate", "evaluate_reference", "cka", "figures"}
    assert {"final_sets", "pretrain"} <= touched
    assert "results/metrics.json" in str(stages["evaluate"]["metrics"])
    assert "data/final/backbones" in stages["evaluate"]["deps"]
    commands = {stages[n]["cmd"].split()[1] for n in ("final_sets", "pretrain", "evaluate")}
    parser = argparse.ArgumentParser()
    final_cli.register(parser.add_subparsers(dest="command"))
    for command in commands | {"evaluate-reference"}:
        parser.parse_args([command])  # every stage command exists with its defaults


def test_a_backbone_log_inside_an_experiment_leaves_the_stage_index_alone(tmp_path, monkeypatch):
    """Inside `dvc exp run`, dvclive would load every stage file of the project at the end of
    each training log (about 6 s a backbone at the default's 537 stages); the pretrain workers
    detach it from the experiment, and the log is still written in full."""
    from dvc.repo.index import Index

    from task2sim.final.pretrain import _detach_dvclive_from_experiment
    from task2sim.train.loop import _log_row, _open_live

    project = new_dvc_project(tmp_path / "repo", project_params(), git=True)
    repo = project.path
    monkeypatch.chdir(repo)
    monkeypatch.setenv("DVC_ROOT", str(repo))  # what `dvc exp run` sets for a stage's command
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", project.run("git", "rev-parse", "HEAD").strip())

    def index_loaded(*args, **kwargs):
        pytest.fail("the training log loaded the project's stage index")

    monkeypatch.setattr(Index, "from_repo", classmethod(index_loaded))
    _detach_dvclive_from_experiment()
    live = _open_live(repo / "results/.work/c000_s0", [])
    _log_row(live, {"loss": 1.5, "lr": 0.1, "img_per_s": 10.0})
    live.end()
    metrics = json.loads((repo / "results/.work/c000_s0/metrics.json").read_text())
    assert metrics["train"]["loss"] == 1.5 and metrics["step"] == 0
