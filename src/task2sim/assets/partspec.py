"""Part specifications: small dicts of shape parameters, sampled per family and built per instance.

A spec names a part kind and its shape parameters; `size` (half-extents) and an optional
`deform` are added by the layout. Floats are what instances jitter, ints and strings are what
make a family recognisable, so shape *style* choices are always stored as ints or strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from task2sim.assets import parts as P

Spec = dict[str, Any]

# Superquadric exponent regimes: boxy, round, diamond-like, pinched (concave faces).
SQ_REGIMES: dict[str, tuple[float, float]] = {
    "boxy": (0.15, 0.3),
    "round": (0.8, 1.1),
    "diamond": (1.7, 2.1),
    "pinched": (2.6, 3.2),
}

# Lathe profiles, five radii from bottom to top.
LATHE_STYLES: dict[str, tuple[float, ...]] = {
    "vase": (0.6, 1.0, 0.7, 0.35, 0.55),
    "bottle": (0.9, 1.0, 0.95, 0.35, 0.3),
    "bulb": (0.3, 0.9, 1.0, 0.7, 0.2),
    "hourglass": (1.0, 0.55, 0.25, 0.55, 1.0),
    "urn": (0.45, 0.75, 1.0, 0.8, 0.6),
    "goblet": (0.7, 0.15, 0.15, 0.8, 1.0),
    "spire": (1.0, 0.75, 0.5, 0.3, 0.12),
    "barrel": (0.75, 0.95, 1.0, 0.95, 0.75),
    "bell": (1.0, 0.55, 0.45, 0.4, 0.3),
}

OUTLINES = ("star", "gear", "polygon", "superellipse", "flower", "blob", "cross")
CURVES = ("ring", "knot", "wave", "lissajous", "helix", "spiral", "arch", "zigzag")
KNOTS = ((2, 3), (3, 2), (2, 5), (3, 4), (3, 5), (5, 2), (4, 3))


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def pick(rng: np.random.Generator, options: tuple | list, weights: list[float] | None = None):
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        return options[int(rng.choice(len(options), p=w / w.sum()))]
    return options[int(rng.integers(len(options)))]


def shape_sq(rng: np.random.Generator, regimes: tuple[str, ...] = tuple(SQ_REGIMES)) -> Spec:
    r1, r2 = pick(rng, regimes), pick(rng, regimes)
    return {
        "kind": "sq",
        "style": f"{r1}-{r2}",
        "e1": uniform(rng, *SQ_REGIMES[r1]),
        "e2": uniform(rng, *SQ_REGIMES[r2]),
    }


def shape_lathe(rng: np.random.Generator, styles: tuple[str, ...] = tuple(LATHE_STYLES)) -> Spec:
    style = pick(rng, styles)
    base = np.asarray(LATHE_STYLES[style])
    controls = np.clip(base + rng.uniform(-0.08, 0.08, len(base)), 0.1, 1.1)
    sides = int(pick(rng, (0, 0, 0, 3, 4, 5, 6, 8)))
    return {
        "kind": "lathe",
        "style": style,
        "radii": [float(c) for c in controls],
        "sides": sides,
        "pointed": [int(rng.random() < 0.15), int(rng.random() < 0.25)],
    }


def shape_prism(rng: np.random.Generator, outlines: tuple[str, ...] = OUTLINES) -> Spec:
    outline = pick(rng, outlines)
    spec: Spec = {"kind": "prism", "outline": outline, "bevel": 0.0}
    if rng.random() < 0.4:
        spec["bevel"] = uniform(rng, 0.1, 0.22)
    if outline == "star":
        spec.update(n=int(rng.integers(4, 9)), inner=uniform(rng, 0.35, 0.6))
    elif outline == "gear":
        spec.update(n=int(rng.integers(7, 15)), depth=uniform(rng, 0.15, 0.3))
    elif outline == "polygon":
        spec.update(n=int(rng.integers(3, 9)))
    elif outline == "superellipse":
        spec.update(n=int(pick(rng, (0, 1))), power=0.0)
        spec["power"] = uniform(rng, 0.5, 0.8) if spec["n"] == 0 else uniform(rng, 3.0, 5.0)
    elif outline == "flower":
        spec.update(n=int(rng.integers(3, 8)), amp=uniform(rng, 0.2, 0.4))
    elif outline == "blob":
        spec.update(
            n=int(rng.integers(2, 5)),
            amps=[uniform(rng, 0.05, 0.3) for _ in range(5)],
            phases=[uniform(rng, 0.5, 6.0) for _ in range(5)],
        )
    elif outline == "cross":
        spec.update(n=4, arm=uniform(rng, 0.22, 0.42))
    return spec


def shape_tube(rng: np.random.Generator, curves: tuple[str, ...] = CURVES) -> Spec:
    kind = pick(rng, curves)
    spec: Spec = {
        "kind": "tube",
        "curve": kind,
        "section": int(pick(rng, (0, 0, 3, 4, 5))),
        "thick": uniform(rng, 0.1, 0.2),
    }
    if kind == "knot":
        p, q = KNOTS[int(rng.integers(len(KNOTS)))]
        spec.update(p=p, q=q, depth=uniform(rng, 0.35, 0.5))
    elif kind == "wave":
        spec.update(waves=int(rng.integers(3, 8)), amp=uniform(rng, 0.15, 0.35))
    elif kind == "lissajous":
        spec.update(phase=uniform(rng, 0.3, 1.2), amp=uniform(rng, 0.3, 0.8))
    elif kind == "helix":
        spec.update(turns=int(rng.integers(2, 6)), pitch=uniform(rng, 0.7, 1.4))
    elif kind == "spiral":
        spec.update(turns=uniform(rng, 1.5, 3.0), pitch=uniform(rng, 0.0, 0.6))
    elif kind == "arch":
        spec.update(leg=uniform(rng, 0.4, 1.4))
    elif kind == "zigzag":
        spec.update(waves=int(rng.integers(1, 4)) + 0.5, amp=uniform(rng, 0.2, 0.5))
    return spec


def shape_simple(rng: np.random.Generator, kind: str) -> Spec:
    spec: Spec = {"kind": kind}
    if kind in ("cyl", "cone"):
        spec["sides"] = int(pick(rng, (0, 0, 0, 3, 4, 6)))
    elif kind == "torus":
        spec["minor"] = uniform(rng, 0.18, 0.4)
    elif kind == "annulus":
        spec["inner"] = uniform(rng, 0.45, 0.75)
    return spec


ROLES: dict[str, tuple[tuple[str, ...], list[float]]] = {
    "body": (("sq", "lathe", "prism", "tube", "box", "cyl"), [3, 3, 2, 1.5, 0.5, 0.5]),
    "blob": (("sphere", "sq", "lathe", "box", "capsule", "cyl"), [2, 3, 1.5, 1, 1, 0.5]),
    "limb": (("cyl", "capsule", "cone", "box", "sq", "lathe"), [3, 2, 1.5, 1.5, 1, 1]),
    "disc": (("cyl", "torus", "annulus", "prism", "sq"), [3, 1.5, 1, 2, 1]),
    "slab": (("box", "sq", "cyl", "prism"), [3, 2, 2, 2]),
}


def shape(rng: np.random.Generator, role: str) -> Spec:
    """A part shape suited to a role: a body, a roundish blob, a long limb, a flat disc or slab."""
    kinds, weights = ROLES[role]
    kind = pick(rng, kinds, weights)
    if kind == "sq":
        regimes = {"blob": ("round", "boxy", "diamond"), "limb": ("round", "boxy")}
        slab = ("boxy", "round")
        return shape_sq(
            rng, slab if role in ("disc", "slab") else regimes.get(role, tuple(SQ_REGIMES))
        )
    if kind == "lathe":
        styles = ("barrel", "bulb", "urn") if role == "blob" else tuple(LATHE_STYLES)
        return shape_lathe(rng, ("spire", "barrel", "vase", "bell") if role == "limb" else styles)
    if kind == "prism":
        return shape_prism(rng)
    if kind == "tube":
        return shape_tube(rng)
    return shape_simple(rng, kind)


# --- building a spec into geometry ---------------------------------------------------------------


def _ring_sides(base: int, res: float, minimum: int = 8) -> int:
    return max(minimum, round(base * res / 2.0) * 2)


def _straight(section: np.ndarray, radii: np.ndarray) -> P.Geometry:
    rings = len(radii)
    centers = np.outer(np.linspace(-1.0, 1.0, rings), P.Y)
    return P.sweep(centers, np.tile(P.X, (rings, 1)), np.tile(-P.Z, (rings, 1)), radii, section)


def _section(sides: int, res: float) -> np.ndarray:
    return P.circle(_ring_sides(20, res)) if sides == 0 else P.polygon(sides)


def _outline(spec: Spec, res: float) -> np.ndarray:
    o, n = spec["outline"], int(spec.get("n", 0))
    smooth = _ring_sides(36, res, 16)
    if o == "star":
        return P.star(n, min(spec["inner"], 0.9))
    if o == "gear":
        return P.gear(n, min(spec["depth"], 0.45))
    if o == "polygon":
        return P.polygon(n)
    if o == "superellipse":
        return P.superellipse(spec["power"], smooth)
    if o == "flower":
        amps = np.zeros(n)
        amps[-1] = min(spec["amp"], 0.6)
        return P.radial(amps, np.zeros(n), max(smooth, 6 * n))
    if o == "blob":
        amps = np.asarray(spec["amps"][:n]) / np.arange(1, n + 1) ** 0.5
        return P.radial(amps, np.asarray(spec["phases"][:n]), smooth)
    if o == "cross":
        return P.cross(min(spec["arm"], 0.8))
    raise ValueError(f"unknown outline {o!r}")


def raw_part(spec: Spec, res: float, dense: bool) -> P.Geometry:
    """Geometry of a spec at nominal size; `dense` adds rings so deformations bend smoothly."""
    kind = spec["kind"]
    rings_straight = 10 if dense else 2
    if kind == "sq":
        rings = max(8, round(14 * res))
        e1 = float(np.clip(spec["e1"], 0.1, 3.5))
        e2 = float(np.clip(spec["e2"], 0.1, 3.5))
        return P.superquadric(e1, e2, np.ones(3), rings, _ring_sides(20, res))
    if kind == "lathe":
        rings = max(6, round(14 * res))
        pointed = (bool(spec["pointed"][0]), bool(spec["pointed"][1]))
        radii = np.clip(np.asarray(spec["radii"]), 0.05, 2.0)
        return P.lathe(radii, 2.0, _section(spec["sides"], res), rings, pointed)
    if kind == "prism":
        rings = 8 if dense else 2
        return P.prism(_outline(spec, res), 0.5, rings, float(np.clip(spec["bevel"], 0.0, 0.3)))
    if kind == "tube":
        c = spec["curve"]
        winding = c in ("knot", "lissajous", "helix", "turret")
        samples = _ring_sides(110 if winding else 64, res, 24)
        pts, closed = P.curve(c, samples, spec)
        section = P.circle(8) if spec["section"] == 0 else P.polygon(spec["section"])
        radius = np.full(len(pts), float(np.clip(spec["thick"], 0.03, 0.35)))
        if spec.get("ramp", 0):
            ramp = np.linspace(0.25, 1.6, len(pts))
            radius *= ramp if spec["ramp"] > 0 else ramp[::-1]
        return P.tube(pts, radius, section, closed)
    if kind == "box":
        if dense:
            return _straight(P.polygon(4), np.ones(rings_straight))
        return P.box(np.ones(3))
    if kind == "sphere":
        return P.sphere(1.0, 2 if res >= 0.7 else 1)
    if kind == "capsule":
        return P.capsule(2.0, 0.6, _ring_sides(14, res))
    if kind == "cyl":
        return _straight(_section(spec["sides"], res), np.ones(rings_straight))
    if kind == "cone":
        radii = np.linspace(1.0, 0.0, max(rings_straight, 3))
        return _straight(_section(spec["sides"], res), radii)
    if kind == "torus":
        return P.torus(1.0, float(np.clip(spec["minor"], 0.08, 0.6)), _ring_sides(24, res, 12))
    if kind == "annulus":
        inner = float(np.clip(spec["inner"], 0.2, 0.9))
        return P.annulus(inner, 1.0, 0.5, _ring_sides(24, res, 12))
    raise ValueError(f"unknown part kind {kind!r}")


def build_part(spec: Spec, res: float, dense: bool = False) -> P.Geometry:
    """Fit the part's bounding box to +-`size` and apply its own deformations."""
    deform = spec.get("deform", {})
    size = np.abs(np.asarray(spec["size"], dtype=np.float64))
    v, f = raw_part(spec, res, dense or bool(deform))
    if spec["kind"] == "prism":
        # Extrude along the thinnest axis, so a flat prism shows its outline, whatever its use.
        thin = int(spec.get("axis", np.argmin(size)))
        if thin == 0:
            v = v @ np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]).T
        elif thin == 1:
            v = v @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]).T
    lo, hi = v.min(axis=0), v.max(axis=0)
    half = np.maximum((hi - lo) / 2.0, 1e-9)
    if spec.get("uniform"):
        v = (v - (lo + hi) / 2.0) * (size.max() / half.max())
    else:
        v = (v - (lo + hi) / 2.0) / half * size
    if "taper" in deform:
        v = P.taper(v, float(np.clip(deform["taper"], -0.85, 0.85)))
    if "twist" in deform:
        v = P.twist(v, deform["twist"])
    if "bend" in deform:
        v = P.bend(v, deform["bend"])
    return v, f
