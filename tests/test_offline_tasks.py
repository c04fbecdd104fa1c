"""Each offline task: counts, classes, shapes, provenance, and a deterministic split."""

from __future__ import annotations

import numpy as np
import pytest

from task2sim.datasets import offline
from task2sim.datasets.prepare import prepare_task
from task2sim.errors import Task2SimError
from task2sim.params import PrepareParams, TaskEntry

# name: (classes, total images, image shape, official split sizes or None)
EXPECTED = {
    "digits": (10, 1797, (8, 8, 1), None),
    "mnist5k": (10, 5000, (28, 28, 1), None),
    "fashion_mnist": (10, 70000, (28, 28, 1), (60000, 10000)),
    "animals": (10, 10000, (28, 28, 1), None),
    "clipart": (12, 728, (64, 64, 3), None),
    "emoji": (9, 1906, (64, 64, 3), None),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Prepare every offline task once (about 15 s in all) and share the results."""
    out = tmp_path_factory.mktemp("tasks")
    return {
        name: prepare_task(name, TaskEntry(source=name), PrepareParams(), out / name)
        for name in EXPECTED
    }


@pytest.mark.parametrize("name", list(EXPECTED))
def test_counts_classes_and_shapes(prepared, name):
    n_classes, total, shape, official = EXPECTED[name]
    task = prepared[name]
    assert len(task.classes) == n_classes
    assert task.image_shape == shape
    assert len(task.train_labels) + len(task.test_labels) == total
    if official:
        assert (len(task.train_labels), len(task.test_labels)) == official
        assert task.meta["split"] == "official"
    else:
        test_share = len(task.test_labels) / total
        assert 0.28 < test_share < 0.32
    assert set(np.unique(task.test_labels)) == set(range(n_classes))
    assert task.meta["inputs_sha256"] and task.meta["package"]
    assert task.train_images.std() > 10  # real pictures, not blank arrays


@pytest.mark.parametrize("name", ["digits", "emoji"])
def test_split_is_deterministic(prepared, tmp_path, name):
    again = prepare_task(name, TaskEntry(source=name), PrepareParams(), tmp_path / name)
    np.testing.assert_array_equal(again.test_images, prepared[name].test_images)
    np.testing.assert_array_equal(again.train_labels, prepared[name].train_labels)
    reseeded = prepare_task(
        name, TaskEntry(source=name), PrepareParams(split_seed=7), tmp_path / "x"
    )
    assert not np.array_equal(
        reseeded.test_labels, prepared[name].test_labels
    ) or not np.array_equal(reseeded.test_images, prepared[name].test_images)


def test_known_labels(prepared):
    assert prepared["fashion_mnist"].classes[9] == "Ankle boot"
    assert prepared["clipart"].classes[0] == "animals/birds"
    assert "Smileys & Emotion" in prepared["emoji"].classes
    assert "Component" not in prepared["emoji"].classes


def test_size_option_resizes(tmp_path):
    task = prepare_task(
        "digits", TaskEntry(source="digits", size=32), PrepareParams(), tmp_path / "d"
    )
    assert task.image_shape == (32, 32, 1)


def test_missing_debian_data_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "FASHION_DIR", tmp_path)
    assert "dataset-fashion-mnist" in offline.fashion_mnist_missing()
    with pytest.raises(Task2SimError, match="bootstrap"):
        offline.load_fashion_mnist(TaskEntry(source="fashion_mnist"))
    monkeypatch.setattr(offline, "CLIPART_DIR", tmp_path)
    with pytest.raises(Task2SimError, match="openclipart-png"):
        offline.load_clipart(TaskEntry(source="clipart"))


def test_missing_npm_data_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("TASK2SIM_DEPS", str(tmp_path))
    assert "emoji-datasource-google" in offline.emoji_missing()
    with pytest.raises(Task2SimError, match="bootstrap"):
        offline.load_emoji(TaskEntry(source="emoji"))


def test_tampered_pickle_is_not_loaded(monkeypatch, tmp_path):
    fake = tmp_path / "animal_mnist" / "data" / "Animal_MNIST"
    fake.mkdir(parents=True)
    for name in offline.ANIMAL_FILES:
        (fake / name).write_bytes(b"evil")
    monkeypatch.setattr(offline, "_animal_dir", lambda: fake)
    with pytest.raises(Task2SimError, match="refusing to unpickle"):
        offline.load_animals(TaskEntry(source="animals"))


def test_truncated_idx_file_is_named(tmp_path):
    import gzip

    path = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(
            bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 9
        )
    with pytest.raises(Task2SimError, match="truncated"):
        offline.read_idx(path)
