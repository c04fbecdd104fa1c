"""ImageFolder ingestion: layouts, image modes, and every bad input named in a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_image
from task2sim.datasets.format import load_task
from task2sim.datasets.imagefolder import load_imagefolder
from task2sim.datasets.prepare import prepare_task
from task2sim.errors import Task2SimError
from task2sim.params import PrepareParams, TaskEntry


def _prepare(root: Path, out: Path, **entry: object):
    return prepare_task(
        "mine", TaskEntry(source="imagefolder", path=str(root), **entry), PrepareParams(), out
    )


def test_flat_layout_is_split_70_30_per_class(make_imagefolder, tmp_path):
    root = make_imagefolder({"cat": 10, "dog": 10, "owl": 20})
    task = _prepare(root, tmp_path / "out", size=16)
    assert task.classes == ["cat", "dog", "owl"]
    assert np.bincount(task.test_labels).tolist() == [3, 3, 6]
    assert np.bincount(task.train_labels).tolist() == [7, 7, 14]
    assert task.train_images.shape == (28, 16, 16, 3)
    assert task.meta["split"]["kind"] == "per-class"
    loaded = load_task(tmp_path / "out")
    np.testing.assert_array_equal(loaded.test_images, task.test_images)


def test_official_split_layout_is_kept(make_imagefolder, tmp_path):
    make_imagefolder({"a": 4, "b": 3}, root=tmp_path / "ds" / "train")
    make_imagefolder({"b": 2}, root=tmp_path / "ds" / "test")
    raw = load_imagefolder(tmp_path / "ds", size=8)
    assert raw.classes == ["a", "b"]
    assert raw.labels.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert raw.test_labels.tolist() == [1, 1]  # remapped to the train class order


def test_split_is_deterministic_and_seeded(make_imagefolder, tmp_path):
    root = make_imagefolder({"a": 12, "b": 12})
    first = _prepare(root, tmp_path / "one", size=8)
    again = _prepare(root, tmp_path / "two", size=8)
    np.testing.assert_array_equal(first.test_images, again.test_images)
    other = prepare_task(
        "mine",
        TaskEntry(source="imagefolder", path=str(root), size=8),
        PrepareParams(split_seed=1),
        tmp_path / "three",
    )
    assert not np.array_equal(first.test_images, other.test_images)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16", "CMYK"])
def test_mixed_image_modes_are_converted_to_rgb(tmp_path, mode):
    root = tmp_path / "mixed"
    for i in range(3):
        write_image(root / "a" / f"{i}.png", "RGB", seed=i)
        write_image(root / "b" / f"{i}.png", mode, seed=10 + i)
    raw = load_imagefolder(root, size=12)
    assert raw.images.shape == (6, 12, 12, 3) and raw.images.dtype == np.uint8


def test_transparent_pixels_become_white(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        for i in range(2):
            (tmp_path / "t" / name).mkdir(parents=True, exist_ok=True)
            Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "t" / name / f"{i}.png")
    raw = load_imagefolder(tmp_path / "t", size=8)
    assert (raw.images == 255).all()


def test_corrupt_image_is_named(make_imagefolder, tmp_path):
    root = make_imagefolder()
    bad = root / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(Task2SimError, match=r"broken\.png") as info:
        _prepare(root, tmp_path / "out")
    assert "replace or delete" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_truncated_image_is_named(make_imagefolder, tmp_path):
    root = make_imagefolder()
    victim = next((root / "cat").iterdir())
    victim.write_bytes(victim.read_bytes()[:60])
    with pytest.raises(Task2SimError, match=victim.name):
        load_imagefolder(root)


def test_non_image_files_fail_unless_skipped(make_imagefolder, tmp_path):
    root = make_imagefolder()
    (root / "owl" / "notes.txt").write_text("not an image")
    with pytest.raises(Task2SimError, match=r"notes\.txt") as info:
        load_imagefolder(root)
    assert "skip_non_images" in str(info.value)
    raw = load_imagefolder(root, skip_non_images=True)
    assert len(raw.labels) == 18


def test_hidden_files_and_root_files_are_ignored(make_imagefolder):
    root = make_imagefolder()
    (root / "cat" / ".DS_Store").write_bytes(b"\0\1")
    (root / "LICENSE").write_text("CC0")
    assert len(load_imagefolder(root).labels) == 18


def test_empty_class_folder_is_named(make_imagefolder):
    root = make_imagefolder()
    (root / "zebra").mkdir()
    with pytest.raises(Task2SimError, match=r"zebra.*holds no images"):
        load_imagefolder(root)


def test_single_class_is_refused(make_imagefolder):
    root = make_imagefolder({"only": 5})
    with pytest.raises(Task2SimError, match="1 class folder"):
        load_imagefolder(root)


def test_duplicate_class_names_are_refused(make_imagefolder):
    root = make_imagefolder({"Cat": 3, "cat": 3})
    with pytest.raises(Task2SimError, match="duplicate class names"):
        load_imagefolder(root)


def test_test_class_missing_from_train_is_refused(make_imagefolder, tmp_path):
    make_imagefolder({"a": 3, "b": 3}, root=tmp_path / "ds" / "train")
    make_imagefolder({"c": 2}, root=tmp_path / "ds" / "test")
    with pytest.raises(Task2SimError, match=r"no training folder: \['c'\]"):
        load_imagefolder(tmp_path / "ds")


def test_class_with_one_image_cannot_be_split(make_imagefolder, tmp_path):
    root = make_imagefolder({"a": 5, "b": 1})
    with pytest.raises(Task2SimError, match="class 'b' has 1"):
        _prepare(root, tmp_path / "out")


def test_missing_root_is_named(tmp_path):
    with pytest.raises(Task2SimError, match="not a directory"):
        load_imagefolder(tmp_path / "nowhere")


def test_failed_prepare_keeps_previous_output(make_imagefolder, tmp_path):
    root = make_imagefolder()
    out = tmp_path / "out"
    _prepare(root, out, size=8)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (root / "cat" / "junk.txt").write_text("x")
    with pytest.raises(Task2SimError):
        _prepare(root, out, size=8)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "out"]  # no temp dirs left


def test_prepare_twice_gives_identical_files(make_imagefolder, tmp_path):
    """No timestamps or timings in the outputs: DVC sees the same hashes on every machine."""
    root = make_imagefolder()
    _prepare(root, tmp_path / "a", size=8)
    _prepare(root, tmp_path / "b", size=8)
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
