"""What every family kind shares: the genome and placed-part types and the placement helpers.

Each archetype is a pair of functions. `sample(rng)` draws a genome: shape specs for its slots and
layout parameters. Ints and strings in it (part kinds, counts, styles) fix the family's identity;
floats (proportions, exponents, angles) are jittered per instance. `layout(genome)` turns an
(already jittered) genome into placed parts. Layouts compute positions from the parameters, so
jittered parts stay attached and symmetric.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from task2sim.assets.parts import Y, frame, rotation_to
from task2sim.assets.partspec import Spec, uniform

Genome = dict[str, Any]
# (spec with size, rotation 3x3, translation 3, palette index)
Placed = tuple[Spec, np.ndarray, np.ndarray, int]
Rng = np.random.Generator
# (sample, layout): how a family's genome is drawn and how an instance is laid out
Archetype = tuple[Callable[[Rng], Genome], Callable[[Genome], list[Placed]]]


def put(
    spec: Spec,
    size: tuple[float, float, float] | np.ndarray,
    at: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 0.0),
    direction: np.ndarray = Y,
    spin: float = 0.0,
    color: int = 0,
    up: np.ndarray | None = None,
) -> Placed:
    """Place a part: its local +Y along `direction`, its centre at `at`.

    With `up`, the part's local +X turns towards `up` (so flat parts lie the intended way)."""
    placed = dict(spec)
    placed["size"] = [float(abs(s)) for s in size]
    rotation = rotation_to(direction, spin) if up is None else frame(direction, up)
    return placed, rotation, np.asarray(at, dtype=np.float64), color


def limb(
    spec: Spec,
    base: np.ndarray,
    direction: np.ndarray,
    length: float,
    thick: float,
    color: int = 1,
    depth: float | None = None,
    up: np.ndarray | None = None,
) -> Placed:
    """A part growing from `base` along `direction` (overlapping its parent a little)."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    centre = np.asarray(base) + d * length * 0.9
    size = (thick, length, thick if depth is None else depth)
    return put(spec, size, centre, d, color=color, up=up)


def surface(half: np.ndarray | tuple, direction: np.ndarray) -> np.ndarray:
    """The point of the ellipsoid with half-axes `half` in `direction` (attachment points)."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    return d / np.sqrt(np.sum((d / np.asarray(half)) ** 2))


def around(k: int, angle: float, tilt: float = 0.0, phase: float = 0.0) -> list[np.ndarray]:
    """k unit directions spread around +Y, `tilt` radians above the horizontal."""
    out = []
    for i in range(k):
        a = phase + angle * i / k
        out.append(np.array([np.cos(a) * np.cos(tilt), np.sin(tilt), np.sin(a) * np.cos(tilt)]))
    return out


def sign(rng: Rng) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def maybe_deform(rng: Rng, twistable: bool, p_each: float = 0.3) -> dict[str, float]:
    deform: dict[str, float] = {}
    if rng.random() < p_each:
        deform["taper"] = sign(rng) * uniform(rng, 0.3, 0.65)
    if twistable and rng.random() < p_each:
        deform["twist"] = sign(rng) * uniform(rng, 0.15, 0.4)
    if rng.random() < p_each * 0.8:
        deform["bend"] = sign(rng) * uniform(rng, 0.6, 1.3)
    return deform


def twistable(spec: Spec) -> bool:
    """Twisting only shows on parts whose cross-section is not round."""
    kind = spec["kind"]
    if kind == "sq":
        return not spec["style"].endswith("round")
    if kind in ("lathe", "cyl"):
        return spec["sides"] != 0
    return kind in ("prism", "box")
