"""`task2sim recommend`: a tiny ImageFolder, a random-weights probe, a policy made here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from task2sim.cli import main
from task2sim.controller.policy import Policy
from task2sim.datasets.image_set import load_image_set
from task2sim.sim.config import PARAM_NAMES, index_to_key
from task2sim.task2vec.probes import build_probe

ROOT = Path(__file__).resolve().parents[1]
PROBE = "resnet10t"
# Heads biased so head k prefers 'on' for even k: 10101010 = config 170, whatever the input.
ON_LOGIT = torch.tensor([1.0 if k % 2 == 0 else -1.0 for k in range(len(PARAM_NAMES))])


def _dims() -> int:
    """What Task2Vec gives for the probe: one value per conv / BN output channel, head excluded."""
    model = build_probe(PROBE, "random", 3).model
    return sum(
        m.weight.shape[0] for m in model.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d)
    )


def _policy(path: Path, in_dim: int) -> None:
    torch.manual_seed(0)
    policy = Policy(in_dim, hidden=8)
    with torch.no_grad():
        policy.heads.weight.zero_()
        policy.heads.bias.copy_(torch.stack([-ON_LOGIT / 2, ON_LOGIT / 2], dim=1).reshape(-1))
    torch.save(policy.state_dict(), path)


def _params(tmp_path: Path) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["task2vec"].update(
        probe=PROBE, weights="random", image_size=32, fisher_samples=32, fit_samples=64,
        fit_epochs=1, batch_size=16, max_images=None, threads=1,
    )  # fmt: skip
    params["sim"].update(
        classes=3, objects_per_class=2, skies=2, photos=False, background_height=32
    )
    params["pretrain"].update(classes=2, objects_per_class=1, size=16, workers=1, shard_size=4)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture
def setup(tmp_path, make_imagefolder):
    folder = make_imagefolder({"cat": 6, "dog": 6, "owl": 6})
    return folder, _params(tmp_path)


def _recommend_args(folder: Path, params: Path, policy: Path) -> list[str]:
    return ["recommend", str(folder), "--params", str(params), "--policy", str(policy)]


def test_recommend_prints_the_config_and_writes_json(setup, tmp_path, capsys):
    folder, params = setup
    _policy(tmp_path / "policy.pt", _dims())
    out = tmp_path / "pred.json"
    args = _recommend_args(folder, params, tmp_path / "policy.pt")
    assert main([*args, "--size", "16", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"predicted config: c170 (paper key {index_to_key(170)})" in text
    assert all(name in text for name in PARAM_NAMES)
    result = json.loads(out.read_text())
    assert result["config"] == 170 and result["key"] == index_to_key(170)
    expected = torch.sigmoid(ON_LOGIT).numpy()  # softmax of (-l/2, l/2) = sigmoid(l)
    got = [result["prob_on"][name] for name in PARAM_NAMES]  # JSON keys are sorted
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert result["task2vec"]["dims"] == _dims() and result["task2vec"]["classes"] == 3


def test_a_policy_of_another_probe_width_is_refused(setup, tmp_path, capsys):
    folder, params = setup
    _policy(tmp_path / "policy.pt", _dims() + 5)
    args = _recommend_args(folder, params, tmp_path / "policy.pt")
    assert main([*args, "--size", "16"]) == 2
    err = capsys.readouterr().err
    assert f"{_dims() + 5}-d" in err and f"{_dims()}-d" in err and PROBE in err
    assert main(["recommend", str(folder), "--params", str(params), "--policy", "nope.pt"]) == 2
    assert "no controller policy" in capsys.readouterr().err


def test_recommend_renders_the_predicted_set(setup, tmp_path):
    folder, params = setup
    _policy(tmp_path / "policy.pt", _dims())
    out = tmp_path / "my_set"
    args = _recommend_args(folder, params, tmp_path / "policy.pt")
    assert main([*args, "--size", "16", "--render", "6", "--out", str(out)]) == 0
    image_set = load_image_set(out)
    images, labels = image_set.arrays()
    assert images.shape == (6, 16, 16, 3) and image_set.meta["config"] == 170
    assert len(image_set.class_names) == 2
    assert set(labels.tolist()) == {0, 1}
