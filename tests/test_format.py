"""The uniform task format: round trip, validation, and clear errors on damaged directories."""

from __future__ import annotations

import numpy as np
import pytest

from task2sim.datasets.format import TaskData, load_task, save_task
from task2sim.datasets.split import split_per_class
from task2sim.errors import Task2SimError


def _task(n_classes: int = 3) -> TaskData:
    rng = np.random.default_rng(0)
    return TaskData(
        name="toy",
        train_images=rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8),
        train_labels=np.arange(12, dtype=np.int64) % n_classes,
        test_images=rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8),
        test_labels=np.arange(6, dtype=np.int64) % n_classes,
        classes=[f"c{i}" for i in range(n_classes)],
        meta={"source": "test"},
    )


def test_round_trip(tmp_path):
    save_task(_task(), tmp_path / "toy")
    loaded = load_task(tmp_path / "toy")
    np.testing.assert_array_equal(loaded.train_images, _task().train_images)
    assert loaded.classes == ["c0", "c1", "c2"]
    assert loaded.meta["counts"]["per_class"]["test"] == [2, 2, 2]


def test_same_task_gives_identical_bytes(tmp_path):
    save_task(_task(), tmp_path / "a")
    save_task(_task(), tmp_path / "b")
    for name in ("train_images.npy", "test_labels.npy", "classes.json", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_missing_file_says_how_to_rebuild(tmp_path):
    save_task(_task(), tmp_path / "toy")
    (tmp_path / "toy" / "test_labels.npy").unlink()
    with pytest.raises(Task2SimError, match=r"missing test_labels.npy[\s\S]*dvc repro prepare@toy"):
        load_task(tmp_path / "toy")


def test_corrupt_array_is_reported(tmp_path):
    save_task(_task(), tmp_path / "toy")
    (tmp_path / "toy" / "train_images.npy").write_bytes(b"garbage")
    with pytest.raises(Task2SimError, match="corrupt"):
        load_task(tmp_path / "toy")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: setattr(t, "classes", ["a"]), "2 or more"),
        (lambda t: setattr(t, "classes", ["a", "A", "b"]), "duplicate class names"),
        (lambda t: setattr(t, "train_labels", t.train_labels + 5), "out of range"),
        (lambda t: setattr(t, "test_images", t.test_images.astype(np.float32)), "uint8"),
        (lambda t: setattr(t, "test_images", t.test_images[:, :4]), "differ in shape"),
        (lambda t: setattr(t, "train_labels", np.zeros(12, dtype=np.int64)), "no training image"),
    ],
)
def test_invalid_tasks_are_not_written(tmp_path, change, message):
    task = _task()
    change(task)
    with pytest.raises(Task2SimError, match=message):
        save_task(task, tmp_path / "toy")
    assert not (tmp_path / "toy").exists()


def test_split_groups_stay_together():
    labels = np.repeat([0, 1], 20)
    groups = np.repeat(np.arange(10), 4)  # 5 groups of 4 per class
    train, test = split_per_class(labels, 0.3, seed=0, groups=groups)
    assert not set(groups[train]) & set(groups[test])
    assert len(test) == 16  # round(5 * 0.3) = 2 groups x 4 images, per class
    again = split_per_class(labels, 0.3, seed=0, groups=groups)
    np.testing.assert_array_equal(test, again[1])
