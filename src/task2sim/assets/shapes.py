"""Procedural object classes: seeded family genomes, jittered into recognisable instances.

Family i is drawn from its own random stream (seed, i), with a balanced rotation over the
archetypes in `families/`; a genome whose discrete structure repeats an earlier family's is
redrawn. Family i therefore never depends on how many classes were asked for. Instances jitter
every continuous parameter of the genome by a family-specific +-12..20 % and vary their colours
slightly within the family palette.
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

from task2sim.assets import parts as P
from task2sim.assets.families.base import Genome, Placed
from task2sim.assets.families.registry import ARCHETYPE_WEIGHTS, ARCHETYPES
from task2sim.assets.mesh import ObjectClass, ObjectMesh, normalize_arrays, srgb_to_linear
from task2sim.assets.partspec import build_part, uniform

MAX_TRIANGLES = 4000
# Families whose prototypes' silhouettes overlap more than this (mean IoU) count as the same.
MAX_SIMILARITY = 0.82
_ATTEMPTS = 40
_TAG_FAMILY, _TAG_INSTANCE, _TAG_ORDER, _TAG_PALETTE = 0x46414D, 0x494E53, 0x4F5244, 0x50414C
_NO_JITTER = frozenset({"palette", "noun", "jitter"})
# Keys that do not change a family's shape, so they cannot make two families distinct.
_NOT_SHAPE = _NO_JITTER | {"grad", "name"}


def _archetype_order(seed: int, block: int) -> list[str]:
    """One block of families: every archetype, as often as its weight, in a seeded order."""
    names = [n for n in sorted(ARCHETYPE_WEIGHTS) for _ in range(ARCHETYPE_WEIGHTS[n])]
    rng = np.random.default_rng([seed, block, _TAG_ORDER])
    return [names[i] for i in rng.permutation(len(names))]


def signature(value: Any) -> Any:
    """The discrete structure of a genome (kinds, counts, styles, signs): what makes a family."""
    if isinstance(value, dict):
        return tuple((k, signature(value[k])) for k in sorted(value) if k not in _NOT_SHAPE)
    if isinstance(value, list | tuple):
        if value and all(isinstance(x, float) for x in value):
            return ("floats", len(value))
        return tuple(signature(x) for x in value)
    if isinstance(value, float):
        return "+" if value >= 0 else "-"
    return value


HUES = ("red", "orange", "yellow", "lime", "green", "teal", "cyan", "blue", "purple", "pink")


def _palette(rng: np.random.Generator) -> list[list[float]]:
    """Three HSV colours in one of a few harmonious schemes."""
    scheme = int(rng.integers(6))
    h = float(rng.random())
    if scheme == 0:  # monochrome
        hues = [h, h, h + 0.04]
    elif scheme == 1:  # complementary
        hues = [h, h + 0.5, h + 0.08]
    elif scheme == 2:  # triad
        hues = [h, h + 1 / 3, h + 2 / 3]
    elif scheme == 3:  # analogous
        hues = [h, h + 0.09, h - 0.09]
    elif scheme == 4:  # natural: wood, leaf, stone
        hues = [uniform(rng, 0.05, 0.12), uniform(rng, 0.22, 0.38), uniform(rng, 0.0, 1.0)]
    else:  # bright accent on a neutral
        hues = [h, h + 0.5, h]
    out = []
    for k, hue in enumerate(hues):
        sat = uniform(rng, 0.4, 0.9)
        if scheme == 5 and k != 1:
            sat = uniform(rng, 0.0, 0.15)
        if scheme == 4 and k == 2:
            sat = uniform(rng, 0.05, 0.2)
        out.append([hue % 1.0, sat, uniform(rng, 0.45, 0.95)])
    return out


def _adjective(genome: Genome) -> str:
    deform: dict[str, float] = {}
    for spec in genome["s"].values():
        deform.update(spec.get("deform", {}))
    if "twist" in deform:
        return "twisted"
    if "bend" in deform:
        return "bent"
    if "taper" in deform:
        return "flared" if deform["taper"] > 0 else "tapered"
    h, s, _ = genome["palette"][0]
    if s < 0.2:
        return "grey"
    return HUES[int(h * len(HUES)) % len(HUES)]


def silhouettes(vertices: np.ndarray, faces: np.ndarray, grid: int = 24) -> np.ndarray:
    """Front, side and top silhouettes (3, grid, grid) of a mesh normalised like ObjectMesh.

    Surface points are sampled densely enough to hit every cell a triangle covers. The grid is
    offset by an odd fraction, so vertices on symmetry planes (x=0, ...) never sit on a cell
    border where rounding could differ between machines."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    v = vertices - (lo + hi) / 2.0
    v = v / np.linalg.norm(v, axis=1).max()
    tri = v[faces]
    edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1).max(axis=1) * grid / 2
    steps = np.clip(np.ceil(edge * 2).astype(int), 1, 48)
    points = [v]
    for k in np.unique(steps):
        a, b = np.meshgrid(np.arange(k + 1), np.arange(k + 1))
        inside = (a + b) <= k
        w = np.stack([a[inside], b[inside], k - a[inside] - b[inside]], 1) / k
        points.append(np.einsum("sk,fkd->fsd", w, tri[steps == k]).reshape(-1, 3))
    cells = np.clip(np.floor((np.concatenate(points) + 1.0) / 2.0 * grid + 0.3183), 0, grid - 1)
    cells = cells.astype(np.int64)
    out = np.zeros((3, grid, grid), dtype=bool)
    for axis, (u, w) in enumerate(((1, 2), (0, 2), (0, 1))):
        out[axis, cells[:, u], cells[:, w]] = True
    return out


def _similarity(sil: np.ndarray, earlier: list[np.ndarray]) -> float:
    """Highest mean silhouette IoU between `sil` and any earlier family's prototype."""
    if not earlier:
        return 0.0
    stack = np.stack(earlier)
    inter = (stack & sil).sum(axis=(2, 3))
    union = np.maximum((stack | sil).sum(axis=(2, 3)), 1)
    return float((inter / union).mean(axis=1).max())


def family_genomes(count: int, seed: int) -> list[Genome]:
    """Genomes of families 0..count-1, each distinct from every earlier one.

    A draw is rejected when its discrete structure repeats an earlier family's, or when its
    prototype's silhouettes overlap an earlier prototype's by more than `MAX_SIMILARITY` (then the
    least similar of `_ATTEMPTS` draws is kept)."""
    block = sum(ARCHETYPE_WEIGHTS.values())
    seen: set = set()
    sils: list[np.ndarray] = []
    genomes: list[Genome] = []
    order: list[str] = []
    for i in range(count):
        if i // block >= len(order) // block:
            order += _archetype_order(seed, i // block)
        arch = order[i]
        best: tuple[float, Genome, Any, np.ndarray] | None = None
        for attempt in range(_ATTEMPTS):
            genome = ARCHETYPES[arch][0](np.random.default_rng([seed, i, attempt, _TAG_FAMILY]))
            genome["arch"] = arch
            key = signature(genome)
            if key in seen and not (best is None and attempt == _ATTEMPTS - 1):
                continue
            vertices, faces, _, _ = shape_arrays(genome)
            sil = silhouettes(vertices, faces)
            similarity = _similarity(sil, sils)
            if best is None or similarity < best[0]:
                best = (similarity, genome, key, sil)
            if similarity <= MAX_SIMILARITY:
                break
        assert best is not None
        _, genome, key, sil = best
        seen.add(key)
        sils.append(sil)
        rng = np.random.default_rng([seed, i, _TAG_PALETTE])
        genome["palette"] = _palette(rng)
        genome["jitter"] = uniform(rng, 0.12, 0.2)
        genome["name"] = f"c{i:03d}_{_adjective(genome)}_{genome['noun']}"
        genomes.append(genome)
    return genomes


def jitter(value: Any, rng: np.random.Generator, amount: float) -> Any:
    """Multiply every float by U(1-amount, 1+amount), in a fixed (sorted-key) traversal order."""
    if isinstance(value, dict):
        return {
            k: (value[k] if k in _NO_JITTER else jitter(value[k], rng, amount))
            for k in sorted(value)
        }
    if isinstance(value, list):
        return [jitter(x, rng, amount) for x in value]
    if isinstance(value, float):
        return value * float(rng.uniform(1.0 - amount, 1.0 + amount))
    return value


def _instance_colors(palette: list[list[float]], rng: np.random.Generator) -> np.ndarray:
    out = []
    for h, s, v in palette:
        h2 = (h + rng.uniform(-0.025, 0.025)) % 1.0
        s2 = float(np.clip(s + rng.uniform(-0.08, 0.08), 0.0, 1.0))
        v2 = float(np.clip(v + rng.uniform(-0.08, 0.08), 0.05, 1.0))
        out.append(colorsys.hsv_to_rgb(h2, s2, v2))
    return srgb_to_linear(np.asarray(out))


def _assemble(placed: list[Placed], res: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    geometries = []
    for spec, rotation, translation, _ in placed:
        v, f = build_part(spec, res)
        geometries.append((P.transform(v, rotation, translation), f))
    return P.merge(geometries)


def shape_arrays(genome: Genome) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces, part index per vertex and palette slot per part, within the budget."""
    placed = ARCHETYPES[genome["arch"]][1](genome)
    res = 1.0
    for _ in range(8):
        vertices, faces, owner = _assemble(placed, res)
        if len(faces) <= MAX_TRIANGLES:
            break
        res = float(res * 0.95 * np.sqrt(MAX_TRIANGLES / len(faces)))
    else:
        raise RuntimeError(f"{genome['arch']}: {len(faces)} triangles over {MAX_TRIANGLES}")
    return vertices, faces, owner, np.array([c for *_, c in placed])


def build_instance(genome: Genome, seed: int, family: int, instance: int) -> ObjectMesh:
    """One object of a family: jittered genome, laid out, coloured and normalised."""
    rng = np.random.default_rng([seed, family, instance, _TAG_INSTANCE])
    vertices, faces, owner, slots = shape_arrays(jitter(genome, rng, genome["jitter"]))
    palette = _instance_colors(genome["palette"], rng)
    colors = palette[slots[owner] % len(palette)]
    if genome.get("grad"):
        y = vertices[:, 1]
        t = ((y - y.min()) / max(float(np.ptp(y)), 1e-9))[:, None]
        colors = (1 - t) * palette[0] + t * palette[1]
    prefix = genome["name"].split("_")[0]
    return normalize_arrays(vertices, faces, colors, genome["name"], f"{prefix}_o{instance}")


def procedural_classes(classes: int, objects_per_class: int, seed: int) -> list[ObjectClass]:
    """`classes` distinct shape families with `objects_per_class` instances each (deterministic)."""
    if classes < 1 or objects_per_class < 1:
        raise ValueError("classes and objects_per_class must be >= 1")
    out = []
    for i, genome in enumerate(family_genomes(classes, seed)):
        objects = tuple(build_instance(genome, seed, i, j) for j in range(objects_per_class))
        out.append(ObjectClass(name=genome["name"], objects=objects))
    return out
