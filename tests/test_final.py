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

from task2sim.datasets.format import TaskData, load_task, save_task
from task2sim.errors import Task2SimError
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.protocols import evaluate_backbone
from task2sim.final import cli as final_cli
from task2sim.final.plan import build_plan, load_predictions, random_config, read_plan
from task2sim.final.reference import Renormalized, load_reference, references
from task2sim.params import ReferenceParams, load_params
from task2sim.sim.config import index_to_key
from task2sim.train.checkpoint import load_backbone, read_meta

ROOT = Path(__file__).resolve().parents[1]
PREDICTED = {"a": 5, "b": 5}
TINY_TRAIN = {
    "model": "resnet10t",
    "model_kwargs": {"channels": [8, 16, 32, 64], "stem_width": 8},
    "image_size": 16,
    "epochs": 1,
    "batch_size": 8,
    "warmup_epochs": 0,
    "threads": 1,
    "num_workers": 0,
}
TINY_EVALUATE = {
    "image_size": 16,
    "threads": 1,
    "max_train_images": 30,
    "max_test_images": 20,
    "linear": {"epochs": 2, "milestones": [1]},
    "finetune": {"epochs": 1, "milestones": [], "max_train_images": 16, "batch_size": 8},
}


def _task(name: str, rng: np.random.Generator, n: int = 40) -> TaskData:
    """Two classes that differ in brightness: any backbone separates them a little."""
    labels = np.arange(n) % 2
    images = (rng.integers(0, 80, (n, 16, 16, 3)) + 120 * labels[:, None, None, None]).astype(
        np.uint8
    )
    half = n // 2
    return TaskData(
        name=name,
        train_images=images[:half],
        train_labels=labels[:half].astype(np.int64),
        test_images=images[half:],
        test_labels=labels[half:].astype(np.int64),
        classes=["dark", "light"],
    )


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
    raw["tasks"] = {"a": {"source": "digits"}, "b": {"source": "digits"}}
    raw["controller"] = {**raw["controller"], "seen": ["a"], "unseen": ["b"]}
    raw["sim"] = {"classes": 3, "objects_per_class": 2, "skies": 2, "photos": False}
    raw["sim"]["background_height"] = 32
    raw["pretrain"] = {
        "images": 16,
        "classes": 3,
        "objects_per_class": 2,
        "size": 16,
        "workers": 1,
        "shard_size": 16,
        "train": TINY_TRAIN,
    }
    raw["evaluate"] = {**raw["evaluate"], **TINY_EVALUATE}
    raw["reference"] = {"efficientnet_lite0": True, "resnet50_weights": None}
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        save_task(_task(name, rng), root / "tasks" / name)
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


def test_final_stages_end_to_end(project, capsys):
    p = _paths(project)
    root = project
    _run(
        "final-sets",
        "--params",
        p["params"],
        "--predictions",
        str(root / "predictions.json"),
        "--plan",
        p["plan"],
        "--out",
        p["sets"],
    )
    plan = read_plan(Path(p["plan"]))
    raw_plan = json.loads(Path(p["plan"]).read_text())
    assert set(raw_plan) == {"methods", "configs", "seen", "unseen"}
    assert plan.methods["task2sim"] == PREDICTED and raw_plan["configs"] == plan.configs
    names = sorted(f"c{c:03d}" for c in plan.configs)
    assert sorted(d.name for d in Path(p["sets"]).iterdir()) == names
    meta = json.loads((Path(p["sets"]) / "c255" / "meta.json").read_text())
    assert meta["images"] == 16 and meta["size"] == 16 and len(meta["classes"]) == 3

    _run(
        "final-sets",
        "--params",
        p["params"],
        "--predictions",
        str(root / "predictions.json"),
        "--plan",
        p["plan"],
        "--out",
        p["sets"],
    )
    assert f"(0 rendered, {len(names)} reused)" in capsys.readouterr().out  # resumes cheaply

    _run(
        "pretrain-final",
        "--params",
        p["params"],
        "--plan",
        p["plan"],
        "--sets",
        p["sets"],
        "--out",
        p["backbones"],
        "--logs",
        p["logs"],
    )
    assert sorted(d.name for d in Path(p["backbones"]).iterdir()) == names
    assert (Path(p["logs"]) / "c000" / "metrics.json").is_file()  # dvclive

    ref_ft = root / "data" / "reference_finetuned"
    _run(
        "evaluate-reference",
        "--params",
        p["params"],
        "--tasks-dir",
        p["tasks"],
        "--out",
        p["reference"],
        "--finetuned",
        str(ref_ft),
    )
    reference = json.loads(Path(p["reference"]).read_text())
    assert list(reference) == ["efficientnet_lite0", "scratch"]
    assert set(reference["efficientnet_lite0"]) == set(reference["scratch"]) == {"a", "b"}
    saved = ref_ft / "efficientnet_lite0" / "a"
    assert read_meta(saved)["input_std"] == [0.5, 0.5, 0.5]
    assert isinstance(load_reference(saved), Renormalized)

    metrics_path = root / "results" / "metrics.json"
    tables = root / "results" / "tables"
    figure = root / "results" / "figures" / "final_per_task.png"
    _run(
        *_evaluate_final_args(p),
        "--out",
        str(root / "results" / "evaluation.json"),
        "--finetuned",
        str(root / "data" / "finetuned"),
        "--metrics",
        str(metrics_path),
        "--tables",
        str(tables),
        "--figure",
        str(figure),
    )
    evaluation = json.loads((root / "results" / "evaluation.json").read_text())
    assert sorted(evaluation) == names
    assert list(evaluation["c255"]) == ["a", "b"]  # shared by methods, evaluated once
    assert all(
        set(s) == {"knn", "linear", "finetune"} for r in evaluation.values() for s in r.values()
    )

    metrics = json.loads(metrics_path.read_text())
    rows = ["task2sim", "domain_randomization", "random", "all_off", "reference_efficientnet_lite0"]
    rows.append("reference_scratch")  # random init of the final backbones' architecture
    assert sorted(metrics) == sorted(rows)
    for row in rows:
        assert set(metrics[row]) == {"knn", "linear", "finetune"}
        for roles in metrics[row].values():
            assert set(roles) == {"seen", "unseen"}
            assert all(0 <= v <= 100 and round(v, 2) == v for v in roles.values())
    config = PREDICTED["a"]
    assert metrics["task2sim"]["knn"]["seen"] == round(evaluation[f"c{config:03d}"]["a"]["knn"], 2)
    assert metrics["reference_efficientnet_lite0"]["linear"]["unseen"] == round(
        reference["efficientnet_lite0"]["b"]["linear"], 2
    )
    table = pd.read_csv(tables / "final.csv")
    assert list(table.columns) == ["method", "protocol", "a", "b", "seen", "unseen"]
    assert len(table) == len(rows) * 3
    final_md = (tables / "final.md").read_text()
    assert "EfficientNet-Lite0" in final_md and "scratch: random initialisation" in final_md
    assert "Did the final backbones learn their pretext task?" in final_md
    assert "median held-out pretext top-1" in final_md or "not measured" in final_md
    assert figure.read_bytes()[:4] == b"\x89PNG"

    # Fine-tuned copies for CKA: load_backbone reads them; numbers equal `task2sim evaluate`'s.
    tuned = root / "data" / "finetuned" / "c255" / "b"
    assert read_meta(tuned)["finetuned"]["task"] == "b"
    load_backbone(tuned)
    params = load_params(p["params"]).evaluate
    again = evaluate_backbone(
        load_backbone(Path(p["backbones"]) / "c255"),
        {"b": load_task(Path(p["tasks"]) / "b")},
        ["knn", "linear", "finetune"],
        params,
    )
    assert again["b"] == pytest.approx(evaluation["c255"]["b"], abs=1e-3)

    # A missing backbone is refused before any work, naming the folder and the fix.
    (Path(p["backbones"]) / "c000" / "model.pt").unlink()
    with pytest.raises(Task2SimError, match="c000 is missing") as info:
        _run(
            *_evaluate_final_args(p),
            "--out",
            str(root / "x.json"),
        )
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
    net = timm.create_model("resnet10t", num_classes=0, channels=[8, 16, 32, 64], stem_width=8)
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


def test_dvc_stages_list_what_they_read():
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
