"""The offline tasks of offline_extra.py: classes, counts, splits by group, and known source files
found, pixel for pixel, in the prepared task (each file decoded here with PIL or resvg directly)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from task2sim.datasets import offline, offline_extra
from task2sim.datasets.offline_extra import (
    openarena_surface,
    wesnoth_unit_of,
)
from task2sim.datasets.prepare import prepare_task
from task2sim.datasets.raw import RawTask
from task2sim.errors import Task2SimError
from task2sim.params import PrepareParams, TaskEntry

# name: (classes in order, total images, image shape)
EXPECTED = {
    "elpv": (offline_extra.ELPV_CLASSES, 2624, (64, 64, 1)),
    "tuxpaint": (offline_extra.TUXPAINT_CLASSES, 466, (64, 64, 3)),
    "game_textures": (["block", "floor", "light", "trim", "wall"], 387, (64, 64, 3)),
    "wesnoth_units": (offline_extra.WESNOTH_CLASSES, 1141, (64, 64, 3)),
    "remix_icons": (offline_extra.REMIX_CLASSES, 1040, (64, 64, 3)),
    "flags": (
        ["Africa", "Asia", "Europe", "North America", "Oceania", "South America"],
        480,
        (64, 64, 3),
    ),
    "emoji_twitter": (
        [
            "Activities",
            "Animals & Nature",
            "Flags",
            "Food & Drink",
            "Objects",
            "People & Body",
            "Smileys & Emotion",
            "Symbols",
            "Travel & Places",
        ],
        1906,
        (64, 64, 3),
    ),
}
SIZE = 64


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Prepare each available task once (about 10 s in all); None where its source is missing."""
    out = tmp_path_factory.mktemp("tasks")
    tasks = {}
    for name in EXPECTED:
        if offline.OFFLINE_SOURCES[name].missing() is None:
            tasks[name] = prepare_task(name, TaskEntry(source=name), PrepareParams(), out / name)
    return tasks


def _task(prepared, name):
    reason = offline.OFFLINE_SOURCES[name].missing()
    if reason is not None:
        pytest.skip(f"source of {name} not installed here: {reason}")
    return prepared[name]


# --- independent decoding of one source file (PIL / resvg calls, not task2sim's helpers) --------
def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _padded(image: Image.Image) -> np.ndarray:
    fitted = ImageOps.contain(image, (SIZE, SIZE), method=Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    canvas.paste(fitted, ((SIZE - fitted.width) // 2, (SIZE - fitted.height) // 2))
    return np.asarray(canvas)


def _svg(path: Path) -> np.ndarray:
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=path.read_text(), width=SIZE, skip_system_fonts=True)
    return _padded(_on_white(Image.open(io.BytesIO(bytes(png)))))


def _where(task, expected: np.ndarray) -> list[tuple[str, int]]:
    """(side, label) of every prepared image equal to `expected`."""
    found = []
    for side in ("train", "test"):
        images = getattr(task, f"{side}_images")
        labels = getattr(task, f"{side}_labels")
        hits = np.flatnonzero((images == expected).all(axis=(1, 2, 3)))
        found += [(side, int(labels[i])) for i in hits]
    return found


def _assert_found(task, expected: np.ndarray, class_name: str) -> str:
    hits = _where(task, expected)
    assert hits, "the source file's pixels are not in the prepared task"
    assert {task.classes[label] for _, label in hits} == {class_name}
    return hits[0][0]


# --- counts, classes, splits ---------------------------------------------------------------------
@pytest.mark.parametrize("name", list(EXPECTED))
def test_counts_classes_and_provenance(prepared, name):
    classes, total, shape = EXPECTED[name]
    task = _task(prepared, name)
    assert task.classes == list(classes)
    assert task.image_shape == shape
    assert len(task.train_labels) + len(task.test_labels) == total
    assert 0.25 < len(task.test_labels) / total < 0.35  # 70/30 per class, by group where grouped
    assert set(np.unique(task.test_labels)) == set(range(len(classes)))
    assert set(np.unique(task.train_labels)) == set(range(len(classes)))
    counts = np.bincount(np.concatenate([task.train_labels, task.test_labels]))
    assert counts.min() >= 30
    meta = task.meta
    assert meta["inputs_sha256"] and meta["package"] and meta["license"]
    assert meta["size"] == SIZE
    assert task.train_images.std() > 10


def test_caps_are_recorded(prepared):
    units = _task(prepared, "wesnoth_units")
    counts = np.bincount(np.concatenate([units.train_labels, units.test_labels]))
    assert counts.max() == offline_extra.WESNOTH_CAP == units.meta["per_class_cap"]
    icons = _task(prepared, "remix_icons")
    assert icons.meta["per_class_cap"] == f"{offline_extra.REMIX_CAP} icons"
    assert icons.meta["rasteriser"] == "resvg-py==0.5.0"


# --- known files, pixel for pixel ---------------------------------------------------------------
def test_elpv_pixels_and_labels(prepared):
    task = _task(prepared, "elpv")
    folder = offline_extra._elpv_dir()
    rows = dict(line.split()[:2] for line in (folder / "labels.csv").read_text().splitlines())
    for name, class_name in [("cell0001.png", "defect p=1"), ("cell0004.png", "defect p=0")]:
        assert float(rows[f"images/{name}"]) == {"defect p=1": 1.0, "defect p=0": 0.0}[class_name]
        grey = Image.open(folder / "images" / name).convert("L")
        assert grey.size == (300, 300)
        expected = np.asarray(grey.resize((SIZE, SIZE), Image.Resampling.BICUBIC))[..., None]
        _assert_found(task, expected, class_name)
    assert task.meta["package"] == "elpv-dataset==1.0.0.post1"


def test_emoji_twitter_pixels(prepared):
    task = _task(prepared, "emoji_twitter")
    root = offline_extra._npm_root(offline_extra.EMOJI_TWITTER_NPM)
    path = root / "img" / "twitter" / "64" / "1f600.png"  # grinning face
    _assert_found(task, np.asarray(_on_white(Image.open(path))), "Smileys & Emotion")


def test_tuxpaint_pixels_and_mirror_groups(prepared):
    task = _task(prepared, "tuxpaint")
    stamps = offline_extra.TUXPAINT_DIR
    _assert_found(task, _padded(_on_white(Image.open(stamps / "food/fruit/banana.png"))), "food")
    sides = {
        _assert_found(task, _padded(_on_white(Image.open(stamps / rel))), "vehicles")
        for rel in [
            "vehicles/emergency/sedan_police.png",
            "vehicles/emergency/sedan_police_mirror.png",
        ]
    }
    assert len(sides) == 1  # a stamp and its mirror image never straddle the split


def test_wesnoth_units_pixels(prepared):
    task = _task(prepared, "wesnoth_units")
    sprite = Image.open(offline_extra.WESNOTH_UNITS_DIR / "drakes" / "burner.png")
    assert sprite.size == (72, 72)
    hits = _where(task, _padded(_on_white(sprite)))
    # burner.png may fall outside the evenly spaced cap; the first file of the class never does
    first = sorted((offline_extra.WESNOTH_UNITS_DIR / "drakes").rglob("*.png"))[0]
    _assert_found(task, _padded(_on_white(Image.open(first))), "drakes")
    assert all(task.classes[label] == "drakes" for _, label in hits)


def test_game_textures_pixels(prepared):
    task = _task(prepared, "game_textures")
    with zipfile.ZipFile(offline_extra.OPENARENA_PK3) as archive:
        light = Image.open(io.BytesIO(archive.read("textures/base_light/light1.jpg")))
        expected = ImageOps.fit(light.convert("RGB"), (SIZE, SIZE), Image.Resampling.BICUBIC)
        mask = Image.open(io.BytesIO(archive.read("textures/base_light/light1.blend.jpg")))
        masked = ImageOps.fit(mask.convert("RGB"), (SIZE, SIZE), Image.Resampling.BICUBIC)
    _assert_found(task, np.asarray(expected), "light")
    assert not _where(task, np.asarray(masked))  # glow masks are left out


def test_remix_icons_pixels_and_groups(prepared):
    task = _task(prepared, "remix_icons")
    root = offline_extra._npm_root(offline_extra.REMIXICON_NPM) / "icons" / "Weather"
    sides = {_assert_found(task, _svg(root / f"sun-{s}.svg"), "Weather") for s in ("line", "fill")}
    assert len(sides) == 1  # both styles of one icon on one side


def test_flags_pixels_groups_and_ambiguous_copies(prepared):
    task = _task(prepared, "flags")
    root = offline_extra._npm_root(offline_extra.FLAG_ICONS_NPM)
    countries = {c["code"]: c for c in json.loads((root / "country.json").read_text())}
    assert countries["de"]["continent"] == "Europe"
    wide = _svg(root / "flags" / "4x3" / "de.svg")
    assert (wide[:8] == 255).all() and (wide[-8:] == 255).all()  # 4:3 fits 64 x 48, padded
    sides = {_assert_found(task, img, "Europe") for img in (wide, _svg(root / "flags/1x1/de.svg"))}
    assert len(sides) == 1  # both cuts of one flag on one side
    # France's flag is also French Guiana's (South America), Reunion's (Africa), ...: dropped
    assert countries["gf"]["continent"] == "South America"
    assert not _where(task, _svg(root / "flags" / "4x3" / "fr.svg"))
    assert task.meta["identical_images"]["dropped_ambiguous"] > 0


def test_prepare_is_byte_identical(prepared, tmp_path):
    import hashlib

    task = _task(prepared, "flags")
    out = [tmp_path / "a", tmp_path / "b"]
    for folder in out:
        prepare_task("flags", TaskEntry(source="flags"), PrepareParams(), folder)

    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    assert digests(out[0]) == digests(out[1])
    np.testing.assert_array_equal(np.load(out[0] / "test_images.npy"), task.test_images)


# --- pure helpers --------------------------------------------------------------------------------
def test_wesnoth_unit_of():
    names = {"whelp", "whelp-ne", "troll-hero", "grunt-defend"}
    folder = Path("/x/trolls")
    assert wesnoth_unit_of(folder / "whelp-attack-2.png", names) == "trolls/whelp"
    assert wesnoth_unit_of(folder / "troll-hero-defend-1.png", names) == "trolls/troll-hero"
    assert wesnoth_unit_of(folder / "whelp-ne-idle-3.png", names) == "trolls/whelp-ne"
    assert wesnoth_unit_of(folder / "elder-wose-die-1.png", names) == "trolls/elder"


@pytest.mark.parametrize(
    ("member", "surface"),
    [
        ("textures/gothic_wall/a.jpg", "wall"),
        ("textures/evil1_walls/a.jpg", "wall"),
        ("textures/base_wall2/a.tga", "wall"),
        ("textures/evil6_lights/a.jpg", "light"),
        ("textures/base_light/light1.blend.jpg", None),
        ("textures/base_wall/x_glow.tga", None),
        ("textures/skies/a.jpg", None),
        ("textures/gothic_wall/", None),
        ("env/base_wall/a.jpg", None),
    ],
)
def test_openarena_surface(member, surface):
    assert openarena_surface(member) == surface


def test_merge_identical_groups_copies_and_drops_conflicts():
    images = np.zeros((6, 2, 2, 1), dtype=np.uint8)
    images[0] = images[1] = 10  # copies, same label: one group
    images[2] = images[3] = 20  # copies, labels 0 and 1: ambiguous, dropped with their groups
    images[4], images[5] = 30, 40
    raw = RawTask(images, np.array([0, 0, 0, 1, 1, 1]), ["a", "b"], {}, groups=None)
    merged = offline_extra.merge_identical(raw)
    assert merged.labels.tolist() == [0, 0, 1, 1]
    assert merged.groups.tolist() == ["0", "0", "4", "5"]
    assert merged.provenance["identical_images"] == {"copies": 2, "dropped_ambiguous": 2}
    grouped = RawTask(images, raw.labels, raw.classes, {}, groups=np.array(list("ppqqrr")))
    # 2 and 3 conflict and share group q: q goes; p and r stay
    out = offline_extra.merge_identical(grouped)
    assert out.groups.tolist() == ["p", "p", "r", "r"]
    unique = RawTask(images[4:], np.array([0, 1]), ["a", "b"], {})
    assert offline_extra.merge_identical(unique).groups is None


def test_evenly_spaced_is_deterministic():
    assert offline_extra._evenly_spaced(list(range(10)), 4) == [0, 2, 5, 7]
    assert offline_extra._evenly_spaced([1, 2], 4) == [1, 2]


# --- missing sources are explained ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("attribute", "load", "package"),
    [
        ("TUXPAINT_DIR", "load_tuxpaint", "tuxpaint-stamps-default"),
        ("WESNOTH_UNITS_DIR", "load_wesnoth_units", "wesnoth-1.16-data"),
        ("OPENARENA_PK3", "load_game_textures", "openarena-081-textures"),
    ],
)
def test_missing_debian_data_is_explained(monkeypatch, tmp_path, attribute, load, package):
    monkeypatch.setattr(offline_extra, attribute, tmp_path / "absent")
    with pytest.raises(Task2SimError, match=package) as info:
        getattr(offline_extra, load)(TaskEntry(source="x"))
    assert "bootstrap" in info.value.fix


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("emoji_twitter", "emoji-datasource-twitter@16.0.0"),
        ("remix_icons", "remixicon@4.9.1"),
        ("flags", "flag-icons@7.5.0"),
    ],
)
def test_missing_npm_data_is_explained(monkeypatch, tmp_path, name, package):
    monkeypatch.setenv("TASK2SIM_DEPS", str(tmp_path))
    assert package in offline.OFFLINE_SOURCES[name].missing()
    with pytest.raises(Task2SimError, match="not found"):
        offline.OFFLINE_SOURCES[name].load(TaskEntry(source=name))


def test_missing_python_packages_are_explained(monkeypatch):
    monkeypatch.setattr(offline_extra, "_elpv_dir", lambda: None)
    assert "elpv-dataset" in offline_extra.elpv_missing()
    monkeypatch.setattr(offline_extra, "RESVG_DIST", "no-such-dist-task2sim")
    assert "SVG rasteriser" in offline_extra.remix_icons_missing()
