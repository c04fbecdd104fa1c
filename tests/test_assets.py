"""Scene assets: procedural object families, their cache, user mesh folders and backgrounds."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from task2sim.assets import cache as mesh_cache
from task2sim.assets.backgrounds import (
    BUNDLED_PHOTOS,
    bundled_photos,
    folder_backgrounds,
    procedural_skies,
    tonemap,
)
from task2sim.assets.cache import load_or_build_classes
from task2sim.assets.mesh import ObjectClass, ObjectMesh, srgb_to_linear
from task2sim.assets.shapes import MAX_TRIANGLES, procedural_classes
from task2sim.assets.user_meshes import MESH_SUFFIXES, load_mesh_folder
from task2sim.errors import Task2SimError

SEED = 3


@pytest.fixture(scope="module")
def classes() -> list[ObjectClass]:
    return procedural_classes(12, 3, SEED)


def meshes(object_classes: list[ObjectClass]) -> list[ObjectMesh]:
    return [m for c in object_classes for m in c.objects]


def assert_same(a: list[ObjectClass], b: list[ObjectClass]) -> None:
    assert [c.name for c in a] == [c.name for c in b]
    for ca, cb in zip(a, b, strict=True):
        assert len(ca.objects) == len(cb.objects)
        for ma, mb in zip(ca.objects, cb.objects, strict=True):
            assert (ma.name, ma.class_name) == (mb.name, mb.class_name)
            for field in ("positions", "normals", "colors", "faces"):
                x, y = getattr(ma, field), getattr(mb, field)
                assert x.dtype == y.dtype and np.array_equal(x, y), (ma.name, field)


# --- procedural families -------------------------------------------------------------------------


def test_every_family_kind_is_registered_and_weighted() -> None:
    """A kind module left out of the registry, or an archetype without a weight, is never drawn."""
    from task2sim.assets.families.registry import ARCHETYPE_WEIGHTS, ARCHETYPES

    assert set(ARCHETYPES) == set(ARCHETYPE_WEIGHTS)
    assert all(weight >= 1 for weight in ARCHETYPE_WEIGHTS.values())


def test_same_seed_gives_identical_arrays(classes: list[ObjectClass]) -> None:
    assert_same(procedural_classes(12, 3, SEED), classes)


def test_class_does_not_depend_on_counts(classes: list[ObjectClass]) -> None:
    fewer = procedural_classes(4, 2, SEED)
    trimmed = [ObjectClass(c.name, c.objects[:2]) for c in classes[:4]]
    assert_same(fewer, trimmed)


def test_other_seed_gives_other_families(classes: list[ObjectClass]) -> None:
    other = procedural_classes(3, 1, SEED + 1)
    assert [c.name for c in other] != [c.name for c in classes[:3]]


def test_names_are_unique_and_readable(classes: list[ObjectClass]) -> None:
    names = [c.name for c in classes]
    assert len(set(names)) == len(names)
    assert names[7].startswith("c007_") and names[7].count("_") >= 2
    objects = [m.name for m in meshes(classes)]
    assert len(set(objects)) == len(objects) and objects[4] == "c001_o1"


def test_meshes_are_normalised(classes: list[ObjectClass]) -> None:
    for m in meshes(classes):
        v = len(m.positions)
        assert m.positions.dtype == m.normals.dtype == m.colors.dtype == np.float32
        assert m.faces.dtype == np.uint32 and m.faces.shape[1] == 3 and m.faces.max() < v
        assert m.normals.shape == m.colors.shape == (v, 3)
        lo, hi = m.positions.min(0), m.positions.max(0)
        assert np.abs((lo + hi) / 2).max() < 1e-5, m.name
        assert abs(np.linalg.norm(m.positions, axis=1).max() - 1) < 1e-5, m.name
        assert np.allclose(np.linalg.norm(m.normals, axis=1), 1, atol=1e-4), m.name
        assert m.colors.min() >= 0 and m.colors.max() <= 1


def test_surfaces_are_closed_and_face_outwards(classes: list[ObjectClass]) -> None:
    for m in meshes(classes):
        p = m.positions.astype(np.float64)
        merged = trimesh.Trimesh(p, m.faces, process=True)  # welds crease-split vertices
        assert merged.is_watertight and merged.volume > 0, m.name
        assert float(np.mean(np.einsum("ij,ij->i", m.normals, m.positions))) > 0, m.name
        # Vertex normals agree with the winding of every face they belong to.
        winding = np.cross(p[m.faces[:, 1]] - p[m.faces[:, 0]], p[m.faces[:, 2]] - p[m.faces[:, 0]])
        agree = np.einsum("ij,ij->i", winding, m.normals[m.faces].mean(axis=1)) > 0
        assert agree.mean() > 0.99, m.name


def test_triangle_budget(classes: list[ObjectClass]) -> None:
    counts = [m.triangles for m in meshes(classes)]
    assert max(counts) <= MAX_TRIANGLES and min(counts) >= 12


def _descriptor(m: ObjectMesh) -> np.ndarray:
    """D2 distance histogram, radius histogram and half-extents: independent of the generator's
    own (silhouette) similarity check."""
    surface = trimesh.Trimesh(m.positions, m.faces, process=False)
    points, _ = trimesh.sample.sample_surface(surface, 600, seed=0)
    d2 = np.histogram(np.linalg.norm(points[:300] - points[300:], axis=1), 12, (0, 2))[0] / 300
    radius = np.histogram(np.linalg.norm(points, axis=1), 8, (0, 1))[0] / 600
    return np.concatenate([d2, radius, np.ptp(m.positions, axis=0) / 2])


def test_families_are_distinct_and_instances_recognisable(classes: list[ObjectClass]) -> None:
    features = np.array([_descriptor(m) for m in meshes(classes)])
    labels = np.repeat(np.arange(len(classes)), [len(c.objects) for c in classes])
    dist = np.linalg.norm(features[:, None] - features[None], axis=-1)
    same = labels[:, None] == labels[None]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    within, between = dist[same & off_diagonal].mean(), dist[~same].mean()
    assert between > 2 * within
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(axis=1)] == labels).mean() >= 0.85  # leave-one-out 1-NN


# --- cache ---------------------------------------------------------------------------------------


def test_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = load_or_build_classes(3, 2, SEED, tmp_path)
    path = mesh_cache.cache_path(tmp_path, 3, 2, SEED)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]

    def no_rebuild(*args: object) -> None:
        raise AssertionError("rebuilt instead of loading the cache")

    monkeypatch.setattr(mesh_cache, "procedural_classes", no_rebuild)
    assert_same(load_or_build_classes(3, 2, SEED, tmp_path), built)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered", "other_key"])
def test_corrupt_cache_is_rebuilt(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    built = load_or_build_classes(2, 2, SEED, tmp_path)
    path = mesh_cache.cache_path(tmp_path, 2, 2, SEED)
    if damage == "garbage":
        path.write_bytes(b"not a zip file")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif damage == "tampered":
        with np.load(path) as data:
            arrays = dict(data)
        arrays["positions"] = arrays["positions"] * 1.01
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    else:  # a valid file, but built for another seed
        other = procedural_classes(2, 2, SEED + 1)
        key = {"generator_version": mesh_cache.GENERATOR_VERSION, "seed": SEED + 1}
        key.update(classes=2, objects_per_class=2)
        path.write_bytes(mesh_cache.encode_classes(other, key))
    with caplog.at_level(logging.WARNING, logger="task2sim.assets.cache"):
        assert_same(load_or_build_classes(2, 2, SEED, tmp_path), built)
    assert "corrupt" in caplog.text and str(path) in caplog.text
    assert_same(mesh_cache.decode_classes(path, mesh_cache._key(2, 2, SEED)), built)


def test_sky_cache_round_trip_and_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    skies = mesh_cache.load_or_build_skies(2, SEED, 16, tmp_path)
    assert [s.shape for s in skies] == [(16, 32, 3)] * 2
    (path,) = tmp_path.iterdir()
    calls: list[int] = []
    real = mesh_cache.procedural_skies

    def counting(*args: object) -> list[np.ndarray]:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(mesh_cache, "procedural_skies", counting)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(mesh_cache.load_or_build_skies(2, SEED, 16, tmp_path), skies, strict=True)
    )
    assert calls == []  # loaded, not regenerated
    path.write_bytes(path.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="task2sim.assets.cache"):
        again = mesh_cache.load_or_build_skies(2, SEED, 16, tmp_path)
    assert calls == [1] and "corrupt" in caplog.text
    assert all(np.array_equal(a, b) for a, b in zip(again, skies, strict=True))


# --- user mesh folders ---------------------------------------------------------------------------


def _coloured_box(rgb: tuple[int, int, int], faces: bool) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    if faces:
        box.visual.face_colors = (*rgb, 255)
    else:
        box.visual.vertex_colors = (*rgb, 255)
    return box


def _linear(rgb: tuple[int, int, int]) -> np.ndarray:
    return srgb_to_linear(np.asarray(rgb) / 255.0)


def test_mesh_folder_loads_every_format(tmp_path: Path) -> None:
    (tmp_path / "boxes").mkdir()
    (tmp_path / "round").mkdir()
    _coloured_box((255, 0, 0), faces=True).export(tmp_path / "boxes" / "a.ply")
    _coloured_box((0, 0, 255), faces=False).export(tmp_path / "boxes" / "b.obj")
    trimesh.creation.box().export(tmp_path / "boxes" / "c.stl")
    ball = trimesh.creation.icosphere(subdivisions=2)
    ball.visual.vertex_colors = (0, 255, 0, 255)
    cone = trimesh.creation.cone(radius=0.5, height=1.0)
    cone.apply_translation((3.0, 0.0, 0.0))
    trimesh.Scene([ball, cone]).export(tmp_path / "round" / "pair.glb")
    (tmp_path / "round" / "notes.mtl").write_text("companion files are skipped\n")

    loaded = load_mesh_folder(tmp_path)
    assert [c.name for c in loaded] == ["boxes", "round"]
    a, b, c = loaded[0].objects
    assert [m.name for m in loaded[0].objects] == ["boxes_a.ply", "boxes_b.obj", "boxes_c.stl"]
    assert np.allclose(a.colors, _linear((255, 0, 0)), atol=1e-6)
    assert np.allclose(b.colors, _linear((0, 0, 255)), atol=1e-6)
    assert np.allclose(c.colors, srgb_to_linear(np.full(3, 0.6)), atol=1e-6)
    pair = loaded[1].objects[0]
    assert pair.triangles == len(ball.faces) + len(cone.faces)
    assert np.isclose(pair.colors[:, 1].max(), 1.0)  # the green ball kept its colour
    for m in meshes(loaded):
        assert m.class_name in ("boxes", "round")
        assert abs(np.linalg.norm(m.positions, axis=1).max() - 1) < 1e-5
        lo, hi = m.positions.min(0), m.positions.max(0)
        assert np.abs((lo + hi) / 2).max() < 1e-5
    # Box faces meet at right angles: crease normals are the face normals, unit and axis-aligned.
    assert np.allclose(np.abs(a.normals).max(axis=1), 1.0, atol=1e-5)


def _error(root: Path, **kwargs: int) -> str:
    with pytest.raises(Task2SimError) as info:
        load_mesh_folder(root, **kwargs)
    assert info.value.fix
    return str(info.value)


def test_mesh_folder_errors(tmp_path: Path) -> None:
    assert "does not exist" in _error(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    assert "not a folder" in _error(tmp_path / "file.txt")
    root = tmp_path / "root"
    root.mkdir()
    assert "no class subfolders" in _error(root)
    (root / "empty").mkdir()
    assert "holds no mesh files" in _error(root) and "empty" in _error(root)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("model.fbx", b"binary", "unsupported mesh file"),
        ("broken.glb", b"glTF garbage that is not a binary glTF", "broken.glb"),
        ("broken.ply", b"ply\nformat nonsense\n", "broken.ply"),
        ("flat.obj", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "degenerate"),
        ("points.obj", b"v 0 0 0\nv 1 0 0\n", "no triangles"),
    ],
)
def test_bad_mesh_files_are_named(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / name).write_bytes(content)
    message = _error(tmp_path)
    assert expected in message and name in message
    if expected == "unsupported mesh file":
        assert all(suffix in message for suffix in MESH_SUFFIXES)


def test_mesh_over_triangle_budget(tmp_path: Path) -> None:
    (tmp_path / "cls").mkdir()
    trimesh.creation.icosphere(subdivisions=4).export(tmp_path / "cls" / "dense.stl")  # 5120
    if importlib.util.find_spec("fast_simplification") is None:
        message = _error(tmp_path, max_triangles=1000)
        assert "5120 triangles" in message and "dense.stl" in message
    else:
        (mesh,) = load_mesh_folder(tmp_path, max_triangles=1000)[0].objects
        assert mesh.triangles <= 1100


# --- backgrounds ---------------------------------------------------------------------------------


def _wraps(image: np.ndarray) -> bool:
    """The longitude seam (last column next to the first) is no sharper than an ordinary column."""
    img = image.astype(np.float64)
    seam = np.abs(img[:, 0] - img[:, -1]).mean()
    typical = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2))
    return seam <= 2 * typical.mean() + 1.0


def test_procedural_skies() -> None:
    skies = procedural_skies(4, 0, 32)
    assert len(skies) == 4
    for sky in skies:
        assert sky.shape == (32, 64, 3) and sky.dtype == np.uint8
        assert _wraps(sky) and sky.std() > 2
    again = procedural_skies(4, 0, 32)
    assert all(np.array_equal(a, b) for a, b in zip(skies, again, strict=True))
    assert not np.array_equal(skies[0], procedural_skies(1, 1, 32)[0])
    assert len({s.tobytes() for s in skies}) == 4
    # Sky above, ground below: the top rows are brighter and bluer on average.
    top = np.mean([s[:8].mean(axis=(0, 1)) for s in skies], axis=0)
    assert top[2] >= top[0]


def test_bundled_photos_need_no_network() -> None:
    photos = bundled_photos(32)
    assert len(photos) == len(BUNDLED_PHOTOS) >= 5
    for photo in photos:
        assert photo.shape == (32, 64, 3) and photo.dtype == np.uint8
        assert np.array_equal(photo[:, 0], photo[:, -1])  # mirrored: exact wrap
        assert photo.std(axis=(0, 1)).min() > 5  # a real picture, not a flat fill


def _write_hdr(path: Path, radiance: np.ndarray) -> None:
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    assert cv2.imwrite(str(path), radiance[..., ::-1].astype(np.float32))


def test_hdr_and_photo_folders(tmp_path: Path) -> None:
    height = 16
    radiance = np.ones((40, 80, 3), dtype=np.float32) * 50.0  # bright absolute scale
    radiance[:, 40:] *= 0.1  # right half ten times darker
    radiance[:20, :, 2] *= 2.0  # blue sky
    _write_hdr(tmp_path / "a.hdr", radiance)
    _write_hdr(tmp_path / "b.exr", radiance)
    Image.fromarray(np.full((30, 50, 3), (200, 30, 30), np.uint8)).save(tmp_path / "c.png")
    maps = folder_backgrounds(tmp_path, height)
    assert len(maps) == 3
    for m in maps:
        assert m.shape == (height, 2 * height, 3) and m.dtype == np.uint8
    for m in maps[:2]:  # tone-mapped: neither black nor clipped, layout kept
        assert 30 < m.mean() < 230
        assert m[:, :12].mean() > m[:, -12:].mean() + 20
        assert m[:6, :, 2].mean() > m[:6, :, 0].mean()
    assert np.allclose(maps[0], maps[1], atol=3)
    assert np.array_equal(maps[2][:, 0], maps[2][:, -1])  # photo mirrored into a panorama
    assert tuple(maps[2][5, 5]) == (200, 30, 30)


def test_tonemap_is_scale_free() -> None:
    radiance = np.random.default_rng(0).gamma(2.0, 1.0, (8, 16, 3))
    assert np.abs(tonemap(radiance).astype(int) - tonemap(radiance * 1000.0)).max() <= 1


def _bg_error(root: Path) -> str:
    with pytest.raises(Task2SimError) as info:
        folder_backgrounds(root, 8)
    assert info.value.fix
    return str(info.value)


def test_background_folder_errors(tmp_path: Path) -> None:
    assert "does not exist" in _bg_error(tmp_path / "missing")
    root = tmp_path / "bg"
    root.mkdir()
    assert "is empty" in _bg_error(root)
    (root / "sky.tif").write_bytes(b"x")
    message = _bg_error(root)
    assert "sky.tif" in message and ".hdr" in message and ".exr" in message
    (root / "sky.tif").unlink()
    (root / "broken.hdr").write_bytes(b"#?RADIANCE\nnonsense")
    assert "broken.hdr" in _bg_error(root)
    (root / "broken.hdr").unlink()
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    assert "broken.jpg" in _bg_error(root)
