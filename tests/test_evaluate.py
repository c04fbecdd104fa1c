"""Downstream evaluation: 5-NN against a plain reference, features, probe, fine-tune, grid, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import yaml
from torch import nn

from task2sim.cli import main
from task2sim.datasets.format import TaskData, save_task
from task2sim.errors import Task2SimError
from task2sim.evaluate import grid as grid_module
from task2sim.evaluate.data import Split, stratified_cap
from task2sim.evaluate.features import FeatureExtractor, stage_modules
from task2sim.evaluate.finetune import finetune, finetune_top1
from task2sim.evaluate.grid import grid_search
from task2sim.evaluate.heads import fit_head, head_top1
from task2sim.evaluate.knn import knn_predict, knn_top1
from task2sim.evaluate.linear_probe import linear_probe_top1
from task2sim.evaluate.protocols import evaluate_backbone
from task2sim.evaluate.transforms import train_transform
from task2sim.params import EvaluateParams, HParams, parse_params

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


def reference_knn(train, labels, test, k, temperature, classes):
    """The specification, written plainly: float64, a stable sort, a loop over neighbours."""
    train = np.asarray(train, np.float64)
    test = np.asarray(test, np.float64)
    train = train / np.linalg.norm(train, axis=1, keepdims=True)
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    predicted = []
    for row in test:
        sims = train @ row
        votes = np.zeros(classes)
        for i in np.argsort(-sims, kind="stable")[:k]:
            votes[labels[i]] += np.exp(sims[i] / temperature)
        predicted.append(int(np.argmax(votes)))
    return np.array(predicted)


def colour_task(
    name: str = "toy", per_class: int = 30, test_per_class: int = 10, size: int = 16, grey=False
) -> TaskData:
    """Three classes told apart by colour (or grey level): easy, and crop/flip keep the label."""
    rng = np.random.default_rng(len(name))
    channels = 1 if grey else 3

    def side(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(3), count)
        if grey:
            base = (50 + 75 * labels)[:, None, None, None]
        else:
            base = 40 + 160 * np.eye(3)[labels][:, None, None, :]
        images = base + rng.normal(0, 25, (len(labels), size, size, channels))
        return images.clip(0, 255).astype(np.uint8), labels.astype(np.int64)

    train_images, train_labels = side(per_class)
    test_images, test_labels = side(test_per_class)
    return TaskData(name, train_images, train_labels, test_images, test_labels, ["a", "b", "c"])


def small_cnn() -> nn.Module:
    """Not a timm model: features are its plain output (the extractor's fallback path)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def test_resnet() -> nn.Module:
    torch.manual_seed(0)
    return timm.create_model("test_resnet", pretrained=False, num_classes=0).eval()


test_resnet.__test__ = False  # a model factory, not a test


# ---------------------------------------------------------------- 5-NN


@pytest.mark.parametrize("k", [1, 5, 7])
@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_knn_equals_the_plain_reference_on_fixed_features(k, chunk):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 16)).astype(np.float32)
    labels = rng.integers(0, 3, 300)  # k = 5, 7 > 3 classes
    test = rng.normal(size=(60, 16)).astype(np.float32)
    ours = knn_predict(train, labels, test, k=k, num_classes=3, chunk_size=chunk)
    assert ours.dtype == np.int64
    assert np.array_equal(ours, reference_knn(train, labels, test, k, 0.07, 3))


def test_knn_ties_in_similarity_go_to_the_lower_index_and_vote_ties_to_the_lower_class():
    eye = np.eye(4, dtype=np.float32)
    train = eye[[1, 0, 2, 0, 3, 0, 1, 2]]
    labels = np.array([0, 2, 1, 0, 1, 1, 2, 0])
    test = eye[[0, 0, 0, 1]]
    for k, expected in [(1, [2, 2, 2, 0]), (3, [0, 0, 0, 2]), (5, [0, 0, 0, 0])]:
        ours = knn_predict(train, labels, test, k=k, num_classes=3)
        assert ours.tolist() == expected
        assert np.array_equal(ours, reference_knn(train, labels, test, k, 0.07, 3))
    # rows 1, 3, 5 tie at similarity 1, then rows 0, 2 (lowest of the zeros): classes 0, 1 gain 1.
    assert knn_predict(train, labels, eye[[0]], k=5).tolist() == [0]
    # Exact duplicates with different labels, plus random queries.
    rng = np.random.default_rng(1)
    base = rng.normal(size=(40, 8)).astype(np.float32)
    train = np.concatenate([base, base, base])
    labels = rng.integers(0, 4, len(train))
    test = rng.normal(size=(30, 8)).astype(np.float32)
    for k in (1, 2, 4, 5):
        ours = knn_predict(train, labels, test, k=k, num_classes=4, chunk_size=8)
        assert np.array_equal(ours, reference_knn(train, labels, test, k, 0.07, 4))


def test_knn_accuracy_and_errors():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 32))
    labels = rng.integers(0, 4, 200)
    train = centres[labels] + 0.3 * rng.normal(size=(200, 32))
    test_labels = rng.integers(0, 4, 50)
    test = centres[test_labels] + 0.3 * rng.normal(size=(50, 32))
    assert knn_top1(train, labels, test, test_labels) == 100.0
    assert knn_top1(train, labels, test, (test_labels + 1) % 4) == 0.0
    with pytest.raises(Task2SimError, match="k = 201 neighbours but the memory bank holds 200"):
        knn_predict(train, labels, test, k=201)
    with pytest.raises(Task2SimError, match="k = 0"):
        knn_predict(train, labels, test, k=0)
    with pytest.raises(Task2SimError, match="same D"):
        knn_predict(train, labels, test[:, :5])
    with pytest.raises(Task2SimError, match="labels"):
        knn_predict(train, labels[:-1], test)


# ---------------------------------------------------------------- features


@pytest.mark.parametrize("grey", [False, True])
def test_features_shape_dtype_and_batch_size_invariance(grey):
    task = colour_task(grey=grey, per_class=5, size=12)
    model = test_resnet()
    full = FeatureExtractor(model, 32, batch_size=256)(task.train_images)
    assert full.shape == (15, model.num_features) and full.dtype == np.float32
    assert np.isfinite(full).all()
    for batch in (1, 4):
        again = FeatureExtractor(model, 32, batch_size=batch)(task.train_images)
        np.testing.assert_allclose(again, full, rtol=1e-5, atol=1e-6)
    model.train()
    FeatureExtractor(model, 32)(task.train_images[:2])
    assert model.training  # the caller's mode is restored


def test_stage_features_for_cka():
    model = test_resnet()
    assert stage_modules(model) == ["layer1", "layer2", "layer3", "layer4"]
    images = colour_task(per_class=2).train_images
    stages = FeatureExtractor(model, 32, batch_size=4).stages(images)
    widths = [info["num_chs"] for info in model.feature_info[-4:]]
    assert [v.shape for v in stages.values()] == [(6, w) for w in widths]
    assert all(v.dtype == np.float32 for v in stages.values())
    last = FeatureExtractor(model, 32)(images)
    np.testing.assert_allclose(stages["layer4"], last, rtol=1e-5, atol=1e-6)  # avg pool alike
    with pytest.raises(Task2SimError, match="no four feature stages"):
        stage_modules(small_cnn())


def test_train_transform_is_seeded_and_shaped():
    images = colour_task(per_class=2, size=20).train_images
    first = train_transform(images, 24, torch.Generator().manual_seed(3))
    again = train_transform(images, 24, torch.Generator().manual_seed(3))
    other = train_transform(images, 24, torch.Generator().manual_seed(4))
    assert first.shape == (6, 3, 24, 24) and torch.isfinite(first).all()
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_image_size_out_of_range_is_refused():
    with pytest.raises(Task2SimError, match=r"image_size 8 is out of range 16\.\.1024"):
        FeatureExtractor(small_cnn(), 8)
    with pytest.raises(Task2SimError, match=r"evaluate\.image_size"):
        parse_params(_raw_params(image_size=2048))


# ---------------------------------------------------------------- linear probe, fine-tune


def test_linear_probe_reaches_high_accuracy_on_a_separable_task():
    task = colour_task()
    extractor = FeatureExtractor(small_cnn(), 16)
    train = Split(task.train_images, task.train_labels)
    test = Split(task.test_images, task.test_labels)
    settings = EvaluateParams().linear.model_copy(update={"epochs": 15, "milestones": [10]})
    hp = HParams(lr=0.01, weight_decay=0.0, batch_size=16)
    assert linear_probe_top1(extractor, train, test, 3, hp, settings, seed=0) >= 95.0
    augmented = settings.model_copy(update={"augment": True, "epochs": 4, "milestones": []})
    once = linear_probe_top1(extractor, train, test, 3, hp, augmented, seed=0)
    assert once >= 90.0
    assert linear_probe_top1(extractor, train, test, 3, hp, augmented, seed=0) == once


def test_head_is_dropout_bn_linear_and_fits_cached_features():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    features = rng.normal(size=(200, 8)).astype(np.float32) + 3 * labels[:, None]
    settings = EvaluateParams().linear
    head = fit_head(features, labels, 2, settings.for_task("x"), settings, seed=0)
    assert [type(m) for m in head] == [nn.Dropout, nn.BatchNorm1d, nn.Linear]
    assert head[0].p == 0.2 and not head[1].affine and not head.training
    assert head_top1(head, features, labels) >= 99.0


def test_finetune_updates_a_copy_of_the_backbone_and_learns_an_easy_task():
    task = colour_task(grey=True, per_class=40)
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    extractor = FeatureExtractor(model, 16)
    train = Split(task.train_images, task.train_labels)
    test = Split(task.test_images, task.test_labels)
    settings = EvaluateParams().finetune.model_copy(
        update={"epochs": 6, "milestones": [5], "max_train_images": None}
    )
    hp = HParams(lr=0.05, weight_decay=1e-5, batch_size=16)
    tuned, _ = finetune(extractor, train, 3, hp, settings, seed=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    changed = [k for k, v in tuned.state_dict().items() if not torch.equal(before[k], v)]
    assert "0.weight" in changed and "3.weight" in changed  # both conv layers trained
    trained = finetune_top1(extractor, train, test, 3, hp, settings, seed=0)
    frozen = finetune_top1(
        extractor, train, test, 3, hp.model_copy(update={"lr": 1e-7}), settings, 0
    )
    assert trained >= 90.0 and trained > frozen


# ---------------------------------------------------------------- protocols, grid


def tiny_params(**update) -> EvaluateParams:
    raw = _raw_params(**update)["evaluate"]
    return EvaluateParams.model_validate(raw)


def _raw_params(**evaluate) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["tasks"] = {"toy": {"source": "digits"}, "grey": {"source": "mnist5k"}}
    raw["controller"] = {**raw["controller"], "seen": ["toy"], "unseen": ["grey"]}
    raw["evaluate"] = {
        "image_size": 16,
        "max_train_images": None,
        "max_test_images": None,
        "linear": {"epochs": 3, "milestones": [2]},
        "finetune": {"epochs": 1, "milestones": [], "max_train_images": 30, "batch_size": 8},
        "grid": {"lrs": [1e-3, 1e-2], "weight_decays": [0.0, 1e-5], "batch_sizes": [16]},
        **evaluate,
    }
    return raw


def test_evaluate_backbone_is_deterministic_and_per_task():
    tasks = {"toy": colour_task("toy"), "grey": colour_task("grey", grey=True)}
    params = tiny_params()
    first = evaluate_backbone(test_resnet(), tasks, ["knn", "linear", "finetune"], params)
    assert set(first) == {"toy", "grey"}
    assert all(list(row) == ["knn", "linear", "finetune"] for row in first.values())
    assert all(0 <= v <= 100 for row in first.values() for v in row.values())
    again = evaluate_backbone(test_resnet(), tasks, ["knn", "linear", "finetune"], params)
    assert again == first  # same seed, same numbers
    alone = evaluate_backbone(test_resnet(), {"grey": tasks["grey"]}, ["linear"], params)
    assert alone["grey"]["linear"] == first["grey"]["linear"]
    with pytest.raises(Task2SimError, match="unknown protocol 'knnn'"):
        evaluate_backbone(test_resnet(), tasks, ["knnn"], params)


def test_per_task_hparams_override_the_defaults():
    params = tiny_params(linear={"epochs": 3, "milestones": [], "hparams": {"toy": {"lr": 0.5}}})
    assert params.linear.for_task("toy") == HParams(lr=0.5, weight_decay=0.0, batch_size=128)
    assert params.linear.for_task("grey").lr == 0.01
    with pytest.raises(Task2SimError, match="hparams names task 'tyo'"):
        parse_params(_raw_params(linear={"hparams": {"tyo": {"lr": 0.1}}}))
    with pytest.raises(Task2SimError, match="milestones"):
        parse_params(_raw_params(linear={"epochs": 10, "milestones": [12]}))


def test_grid_search_tries_every_combination_and_keeps_the_best(monkeypatch):
    task = colour_task(per_class=20)
    params = tiny_params()
    found = grid_search(small_cnn(), task, ["linear"], params)
    table = found["linear"]["table"]
    combos = {(r["lr"], r["weight_decay"], r["batch_size"]) for r in table}
    assert combos == {(lr, wd, 16) for lr in (1e-3, 1e-2) for wd in (0.0, 1e-5)}
    assert found["linear"]["best"] == max(table, key=lambda r: r["top1"])
    # Ties go to the first combination in grid order.
    scores = iter([50.0, 80.0, 80.0, 10.0])
    monkeypatch.setattr(grid_module, "linear_probe_top1", lambda *a, **k: next(scores))
    best = grid_search(small_cnn(), task, ["linear"], params)["linear"]["best"]
    assert best == {"lr": 1e-3, "weight_decay": 1e-5, "batch_size": 16, "top1": 80.0}
    with pytest.raises(Task2SimError, match="unknown protocol 'knn'"):
        grid_search(small_cnn(), task, ["knn"], params)


def test_stratified_cap_keeps_every_class():
    labels = np.repeat([0, 1, 2], [100, 10, 1])
    kept = stratified_cap(labels, 20, seed=0)
    assert np.all(np.diff(kept) > 0) and set(labels[kept]) == {0, 1, 2}
    assert len(kept) <= 21
    assert np.array_equal(kept, stratified_cap(labels, 20, seed=0))
    assert len(stratified_cap(labels, None, seed=0)) == 111


# ---------------------------------------------------------------- CLI


def _project(tmp_path: Path, **evaluate) -> tuple[Path, Path]:
    tasks_dir = tmp_path / "tasks"
    save_task(colour_task("toy"), tasks_dir / "toy")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(_raw_params(**evaluate)), encoding="utf-8")
    return params, tasks_dir


def test_cli_evaluate_and_grid_search_end_to_end(tmp_path, capsys):
    params, tasks_dir = _project(tmp_path)
    out = tmp_path / "results" / "toy.json"
    common = ["--params", str(params), "--tasks-dir", str(tasks_dir), "--quiet"]
    argv = ["evaluate", "--timm-model", "test_resnet", "--tasks", "toy", "--out", str(out)]
    assert main([*argv, *common]) == 0
    results = json.loads(out.read_text())
    assert list(results) == ["toy"] and set(results["toy"]) == {"knn", "linear", "finetune"}
    meta = json.loads((out.parent / "toy.meta.json").read_text())
    assert meta["tasks"]["toy"] == {"train": 90, "test": 30, "classes": 3}
    assert meta["params"]["image_size"] == 16
    assert "toy: knn" in capsys.readouterr().out
    assert main([*argv, *common]) == 0
    assert json.loads(out.read_text()) == results  # same numbers again

    grid_out = tmp_path / "grid.json"
    grid_argv = ["grid-search", "--timm-model", "test_resnet", "--tasks", "toy"]
    assert main([*grid_argv, "--protocols", "linear", "--out", str(grid_out), *common]) == 0
    grid = json.loads(grid_out.read_text())
    assert len(grid["tasks"]["toy"]["linear"]["table"]) == 4
    assert "evaluate.linear.hparams.toy: {lr:" in capsys.readouterr().out

    # --write-params puts each winner into params.yaml, keeping its comments and other keys
    params.write_text("# the project's knobs\n" + params.read_text(), encoding="utf-8")
    before = yaml.safe_load(params.read_text())
    argv = [*grid_argv, "--protocols", "linear", "finetune", "--write-params", "--out"]
    assert main([*argv, str(grid_out), *common]) == 0
    after = yaml.safe_load(params.read_text())
    grid = json.loads(grid_out.read_text())["tasks"]["toy"]
    for protocol in ("linear", "finetune"):
        best = {k: grid[protocol]["best"][k] for k in ("lr", "weight_decay", "batch_size")}
        assert after["evaluate"][protocol]["hparams"] == {"toy": best}
        after["evaluate"][protocol].pop("hparams")
        before["evaluate"][protocol].pop("hparams", None)
    assert after == before
    assert params.read_text().startswith("# the project's knobs")


def test_cli_errors_are_clear(tmp_path, capsys):
    params, tasks_dir = _project(tmp_path)
    common = ["--params", str(params), "--tasks-dir", str(tasks_dir), "--quiet"]
    model = ["--timm-model", "test_resnet"]
    cases = [
        ([*model, "--protocols", "knn", "5nn"], "unknown protocol '5nn'"),
        ([*model, "--tasks", "nope"], "has no task named nope"),
        ([*model, "--tasks", "grey"], "is missing"),  # in params, never prepared
        (["--tasks", "toy"], "no backbone given"),
        ([str(tmp_path / "nowhere"), "--tasks", "toy"], "not found"),
        ([str(tmp_path), *model, "--tasks", "toy"], "not both"),
    ]
    for argv, message in cases:
        assert main(["evaluate", *argv, *common]) == 2
        assert message in capsys.readouterr().err
    grid_argv = ["grid-search", *model, "--tasks", "toy", "--protocols", "knn", *common]
    assert main(grid_argv) == 2
    assert "unknown protocol 'knn'" in capsys.readouterr().err
