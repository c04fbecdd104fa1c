"""Linear CKA against the Gram/HSIC form, its invariances, stage features and `task2sim cka`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import yaml

from helpers import ROOT, TINY_RESNET
from task2sim.cka.linear import cka_matrix, linear_cka
from task2sim.cka.stages import stage_features
from task2sim.cli import main
from task2sim.datasets.format import TaskData, save_task
from task2sim.errors import Task2SimError
from task2sim.train.checkpoint import write_checkpoint

CKA_RESNET = {**TINY_RESNET, "channels": [8, 16, 24, 32]}
pytestmark = pytest.mark.usefixtures("one_thread")


def hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The Gram-matrix form, written independently: HSIC(K, L) = tr(KHLH) / (n - 1)^2."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def test_linear_cka_equals_the_hsic_form_and_its_invariances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 12)) + 3.0
    y = x[:, :7] @ rng.normal(size=(7, 20)) + rng.normal(size=(40, 20))
    value = linear_cka(x, y)
    assert 0 < value < 1
    assert value == pytest.approx(hsic_cka(x, y), rel=1e-10)
    assert linear_cka(x, x) == pytest.approx(1.0, rel=1e-12)
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    assert linear_cka(x @ q, y) == pytest.approx(value, rel=1e-10)  # orthogonal transform
    assert linear_cka(7.5 * x, y) == pytest.approx(value, rel=1e-10)  # isotropic scaling
    assert linear_cka(x + 100.0, y) == pytest.approx(value, rel=1e-10)  # centring
    assert linear_cka(x.astype(np.float32), y) == pytest.approx(value, rel=1e-6)
    matrix = cka_matrix([x, y, x @ q])
    assert np.allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] == pytest.approx(value, rel=1e-10)
    assert matrix[0, 2] == pytest.approx(1.0) and np.allclose(matrix, matrix.T)
    with pytest.raises(Task2SimError, match="different images"):
        linear_cka(x, y[:30])


def test_stage_features_of_resnet_and_efficientnet():
    images = np.random.default_rng(0).integers(0, 256, (5, 20, 20, 3), dtype=np.uint8)
    resnet = timm.create_model("resnet10t", num_classes=3, **CKA_RESNET)
    feats, modules = stage_features(resnet, images, 32)
    assert modules == ["layer1", "layer2", "layer3", "layer4"]
    assert [f.shape for f in feats] == [(5, 8), (5, 16), (5, 24), (5, 32)]
    lite0 = timm.create_model("tf_efficientnet_lite0", num_classes=3)
    feats, modules = stage_features(lite0, images, 32)
    assert modules == ["blocks.1", "blocks.2", "blocks.4", "blocks.6"]
    assert [f.shape[1] for f in feats] == [24, 40, 112, 320]


def _tiny_task(name: str, seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 8).astype(np.int64)
    images = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    return TaskData(name, images, labels, images.copy(), labels.copy(), ["a", "b", "c"])


def _backbone(folder: Path, seed: int, model: str = "resnet10t", kwargs=None) -> None:
    kwargs = CKA_RESNET if kwargs is None else kwargs
    torch.manual_seed(seed)
    net = timm.create_model(model, num_classes=3, **kwargs)
    write_checkpoint(folder, net, {"model": model, "num_classes": 3, "model_kwargs": kwargs})


def _project(tmp_path: Path, reference: bool = False) -> dict[str, Path]:
    """Two tasks (digits seen, mnist5k unseen), backbones for 4 configs, a plan."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["controller"].update(seen=["digits"], unseen=["mnist5k"])
    params["cka"] = {"max_images": 12}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for i, task in enumerate(("digits", "mnist5k")):
        save_task(_tiny_task(task, i), tmp_path / "tasks" / task)
    plan = {
        "methods": {
            "task2sim": {"digits": 5, "mnist5k": 255},  # picks Domain Randomization's config
            "domain_randomization": {"digits": 255, "mnist5k": 255},
            "random": {"digits": 77, "mnist5k": 5},
            "all_off": {"digits": 0, "mnist5k": 0},
        },
        "configs": [0, 5, 77, 255],
        "seen": ["digits"],
        "unseen": ["mnist5k"],
        "seeds": [3, 4],  # CKA reads the first seed's backbones
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    for config in plan["configs"]:
        _backbone(tmp_path / "backbones" / f"c{config:03d}_s3", config)
        for task in ("digits", "mnist5k"):
            _backbone(tmp_path / "finetuned" / f"c{config:03d}_s3" / task, 1000 + config)
    if reference:
        for task in ("digits", "mnist5k"):
            folder = tmp_path / "ref" / "efficientnet_lite0" / task
            _backbone(folder, 7, "tf_efficientnet_lite0", {})
    return {"root": tmp_path}


def _cli(tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "cka",
            "--params", str(tmp_path / "params.yaml"),
            "--plan", str(tmp_path / "plan.json"),
            "--backbones", str(tmp_path / "backbones"),
            "--finetuned", str(tmp_path / "finetuned"),
            "--reference-finetuned", str(tmp_path / "ref"),
            "--tasks-dir", str(tmp_path / "tasks"),
            "--out", str(tmp_path / "cka.json"),
            "--figure", str(tmp_path / "cka.png"),
            *extra,
        ]
    )  # fmt: skip


def test_cka_command_end_to_end(tmp_path, capsys):
    _project(tmp_path, reference=True)
    assert _cli(tmp_path) == 0
    content = json.loads((tmp_path / "cka.json").read_text())
    assert content["methods"] == [
        "task2sim", "domain_randomization", "random", "all_off", "reference_efficientnet_lite0"
    ]  # fmt: skip
    assert content["stage_modules"]["task2sim"] == ["layer1", "layer2", "layer3", "layer4"]
    assert content["stage_modules"]["reference_efficientnet_lite0"][0] == "blocks.1"
    assert content["tasks"]["digits"]["images"] == 12
    for phase in ("pretrained", "finetuned"):
        for stage in content["stages"]:
            seen = np.asarray(content["average"]["seen"][phase][stage])
            unseen = np.asarray(content["tasks"]["mnist5k"][phase][stage])
            assert seen.shape == (5, 5) and np.allclose(np.diag(seen), 1.0)
            assert unseen[0, 1] == pytest.approx(1.0)  # same config, same backbone
            assert seen[0, 1] < 0.9999  # different configs
    assert content["average"]["unseen"]["tasks"] == ["mnist5k"]
    assert (tmp_path / "cka.png").read_bytes()[:4] == b"\x89PNG"
    first = (tmp_path / "cka.json").read_bytes()
    assert _cli(tmp_path, "--no-figure") == 0
    assert (tmp_path / "cka.json").read_bytes() == first  # deterministic
    assert "stage-4 CKA" in capsys.readouterr().out


def test_missing_backbone_is_named_with_its_stage(tmp_path, capsys):
    _project(tmp_path)
    for folder in (tmp_path / "finetuned" / "c077_s3" / "digits").iterdir():
        folder.unlink()
    assert _cli(tmp_path, "--no-figure") == 2
    err = capsys.readouterr().err
    assert "c077" in err and "digits" in err and "evaluate" in err
    assert not (tmp_path / "cka.json").exists()
