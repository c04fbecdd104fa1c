"""Each simulation parameter, switched on alone, varies exactly the factor it names.

Image i of set c000 and image i of a set with one parameter on show the same object from the same
random draws (the sampler draws everything always), so each test compares the two directly and
across several images of one object.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from task2sim.assets.materials import material_bank
from task2sim.render.embedded import EmbeddedRenderer, MeshArrays
from task2sim.sim.config import PARAM_NAMES
from task2sim.sim.scene import SHARP_APERTURE, SetLayout, sample_scene

SIZE = 64
CLASSES, OBJECTS = 2, 1
REPEATS = 6  # images of the same object


def _mesh(mesh: trimesh.Trimesh, color: tuple[float, float, float]) -> MeshArrays:
    mesh = mesh.copy()
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_scale(1.0 / np.linalg.norm(mesh.vertices, axis=1).max())
    n = len(mesh.vertices)
    return MeshArrays(
        mesh.vertices.astype("f4"),
        mesh.vertex_normals.astype("f4"),
        np.tile(np.asarray(color, "f4"), (n, 1)),
        mesh.faces.astype("u4"),
    )


def _backgrounds() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    maps = []
    for k in range(4):
        h = 64
        base = rng.integers(40, 220, size=3)
        ramp = np.linspace(0.6, 1.2, h)[:, None, None]
        image = np.clip(base * ramp * np.ones((h, 2 * h, 3)), 0, 255)
        image[:, (np.arange(2 * h) // (4 + k)) % 2 == 0] *= 0.7  # stripes: rotations show
        maps.append(image.astype(np.uint8))
    return maps


@pytest.fixture(scope="module")
def renderer():
    box = trimesh.creation.box((1.6, 0.9, 0.5))  # asymmetric: rotations change its outline
    wedge = trimesh.creation.cone(0.7, 1.6, sections=24)
    classes = [[_mesh(box, (0.8, 0.3, 0.2))], [_mesh(wedge, (0.2, 0.5, 0.8))]]
    r = EmbeddedRenderer(classes, _backgrounds(), material_bank(20), SIZE)
    yield r
    r.close()


LAYOUT = SetLayout.uniform(CLASSES * OBJECTS * REPEATS, CLASSES, OBJECTS, 4, 20)


def _render(renderer, config: int) -> tuple[np.ndarray, np.ndarray]:
    """REPEATS images of class 0's object: (images float (R,S,S,3), masks (R,S,S))."""
    images, masks = [], []
    for j in range(REPEATS):
        scene = sample_scene(config, LAYOUT, seed=3, index=j * CLASSES * OBJECTS)
        assert scene.class_index == 0
        images.append(renderer.render(scene).astype(np.float64))
        masks.append(renderer.object_mask())
    return np.stack(images), np.stack(masks)


def _only(name: str) -> int:
    return 1 << (len(PARAM_NAMES) - 1 - PARAM_NAMES.index(name))


def _object_stat(images: np.ndarray, masks: np.ndarray, fn) -> np.ndarray:
    return np.array([fn(img[m]) for img, m in zip(images, masks, strict=True)])


def _chroma(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.mean(axis=0)
    return rgb / rgb.sum()


@pytest.fixture(scope="module")
def base(renderer):
    return _render(renderer, 0)


def test_all_off_repeats_the_same_image(base):
    images, _ = base
    assert np.array_equal(images[0], images[-1])


def _dilate(masks: np.ndarray) -> np.ndarray:
    """Grow masks by one pixel: the anti-aliasing pass blends the object's edge into them."""
    grown = masks.copy()
    grown[:, 1:] |= masks[:, :-1]
    grown[:, :-1] |= masks[:, 1:]
    grown[:, :, 1:] |= grown[:, :, :-1].copy()
    grown[:, :, :-1] |= grown[:, :, 1:].copy()
    return grown


def _background_same(a, b, masks_a, masks_b) -> bool:
    outside = ~_dilate(masks_a | masks_b)
    return bool(np.array_equal(a[outside], b[outside]))


def test_pose_rot_changes_the_outline_only(renderer, base):
    images, masks = _render(renderer, _only("pose_rot"))
    assert all(not np.array_equal(m, masks[0]) for m in masks[1:])
    assert _background_same(images, base[0], masks, base[1])


def test_pose_scale_changes_the_apparent_size(renderer, base):
    images, masks = _render(renderer, _only("pose_scale"))
    areas = masks.sum(axis=(1, 2))
    assert areas.std() > 0.1 * areas.mean()
    assert base[1].sum(axis=(1, 2)).std() == 0
    assert _background_same(images, base[0], masks, base[1])


def _lighting_case(renderer, base, name):
    images, masks = _render(renderer, _only(name))
    assert np.array_equal(masks, base[1]), "lighting must not move the object"
    assert _background_same(images, base[0], masks, base[1])
    return images, masks


def test_lighting_intensity_changes_brightness_not_colour(renderer, base):
    images, masks = _lighting_case(renderer, base, "lighting_intensity")
    brightness = _object_stat(images, masks, lambda p: p.mean())
    assert brightness.std() > 2.0
    chroma = _object_stat(images, masks, _chroma)
    hue_spread = np.abs(chroma - chroma.mean(axis=0)).max()
    assert hue_spread < 0.05


def test_lighting_color_changes_the_objects_chroma(renderer, base):
    images, masks = _lighting_case(renderer, base, "lighting_color")
    chroma = _object_stat(images, masks, _chroma)
    assert chroma.std(axis=0).max() > 0.02
    base_chroma = _object_stat(*base, _chroma)
    assert base_chroma.std(axis=0).max() < 1e-9


def test_lighting_dir_moves_the_shading(renderer, base):
    images, masks = _lighting_case(renderer, base, "lighting_dir")
    # where on the object it is bright changes: per-pixel differences beyond a uniform scale
    changed = [np.abs(img[m] - base[0][0][m]).mean() for img, m in zip(images, masks, strict=True)]
    assert min(changed) > 2.0


def _sharpness(image: np.ndarray) -> float:
    grey = image.mean(axis=-1)
    lap = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float(lap.var())


def test_blur_softens_some_images_and_keeps_geometry(renderer, base):
    images, masks = _render(renderer, _only("blur"))
    assert np.array_equal(masks, base[1])  # depth unchanged: only the post pass differs
    ratios = [_sharpness(i) / _sharpness(b) for i, b in zip(images, base[0], strict=True)]
    assert min(ratios) < 0.6  # p = 0.75 per image: some images are clearly blurred
    scenes = [sample_scene(_only("blur"), LAYOUT, 3, j * CLASSES * OBJECTS) for j in range(REPEATS)]
    sharp = [s.aperture == SHARP_APERTURE for s in scenes]
    assert 0 < sum(sharp) < REPEATS
    for image, reference, is_sharp in zip(images, base[0], sharp, strict=True):
        assert np.array_equal(image, reference) == is_sharp


def test_backgr_changes_the_background(renderer, base):
    images, masks = _render(renderer, _only("backgr"))
    assert np.array_equal(masks, base[1])
    outside = ~masks
    differs = [np.abs(i[o] - b[o]).mean() for i, b, o in zip(images, base[0], outside, strict=True)]
    assert np.mean(differs) > 5.0
    backgrounds = {bytes(i[o].astype(np.uint8)) for i, o in zip(images, outside, strict=True)}
    assert len(backgrounds) > 1


def test_materials_repaint_the_object_only(renderer, base):
    images, masks = _render(renderer, _only("materials"))
    assert np.array_equal(masks, base[1])
    assert _background_same(images, base[0], masks, base[1])
    chroma = _object_stat(images, masks, _chroma)
    assert chroma.std(axis=0).max() > 0.02
    assert not np.array_equal(images[0][masks[0]], base[0][0][masks[0]])


def test_same_scenes_give_identical_bytes(renderer):
    a = _render(renderer, 255)[0]
    b = _render(renderer, 255)[0]
    assert np.array_equal(a, b)
