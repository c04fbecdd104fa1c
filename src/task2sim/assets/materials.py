"""A bank of procedural materials, standing in for the 140-material subset of TDW's library.

A material is a solid (3D) pattern of two colours plus a specular response. Patterns are evaluated
per fragment in object space by the renderer (`render/shaders.py` knows each `PATTERNS` entry), so
they stick to the object and need no UV maps; their noise comes from one small baked volume
(`material_noise`), uploaded once per renderer and shared by every material.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

PATTERNS: tuple[str, ...] = (
    "plastic",
    "metal",
    "noise",
    "marble",
    "wood",
    "checker",
    "stripes",
    "dots",
    "granite",
    "camouflage",
)
"""Pattern kinds; the index of each is the `pattern` code the shader switches on."""

DEFAULT_BANK_SIZE = 140


@dataclass(frozen=True)
class Material:
    name: str
    pattern: int
    color_a: tuple[float, float, float]  # base colour, RGB in [0, 1]
    color_b: tuple[float, float, float]  # second colour of the pattern
    scale: float  # pattern frequency, in cycles per object radius
    specular: float  # strength of the highlight
    shininess: float  # Blinn-Phong exponent
    metallic: float  # 0: white highlights (dielectric); 1: highlights tinted by the base colour


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return (round(r, 4), round(g, 4), round(b, 4))


def _palette(kind: str, rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Two colours that look like the material kind (woods are brown, marbles pale, ...)."""
    hue = rng.uniform()
    if kind == "wood":
        h = rng.uniform(0.05, 0.11)
        return _hsv(h, rng.uniform(0.45, 0.7), rng.uniform(0.5, 0.8)), _hsv(
            h, rng.uniform(0.6, 0.85), rng.uniform(0.25, 0.45)
        )
    if kind == "marble":
        return _hsv(hue, rng.uniform(0.0, 0.15), rng.uniform(0.8, 0.95)), _hsv(
            hue, rng.uniform(0.1, 0.4), rng.uniform(0.2, 0.5)
        )
    if kind == "metal":
        gold = rng.uniform() < 0.4
        base = _hsv(rng.uniform(0.09, 0.15), 0.6, 0.85) if gold else _hsv(hue, 0.08, 0.75)
        return base, base
    if kind == "granite":
        return _hsv(hue, rng.uniform(0.0, 0.3), rng.uniform(0.4, 0.7)), _hsv(
            hue + 0.5, rng.uniform(0.0, 0.3), rng.uniform(0.05, 0.95)
        )
    if kind == "camouflage":
        return _hsv(rng.uniform(0.15, 0.35), rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6)), _hsv(
            rng.uniform(0.06, 0.12), rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.5)
        )
    # plastic, noise, checker, stripes, dots: any two contrasting colours
    return _hsv(hue, rng.uniform(0.4, 1.0), rng.uniform(0.5, 1.0)), _hsv(
        hue + rng.uniform(0.25, 0.75), rng.uniform(0.2, 1.0), rng.uniform(0.15, 0.9)
    )


_SPECULAR = {  # kind -> (specular, shininess, metallic) ranges
    "plastic": ((0.3, 0.6), (16, 64), (0.0, 0.0)),
    "metal": ((0.6, 1.0), (24, 96), (0.8, 1.0)),
    "marble": ((0.3, 0.6), (32, 96), (0.0, 0.0)),
}
_ROUGH = ((0.02, 0.25), (4, 16), (0.0, 0.2))


def material_bank(count: int = DEFAULT_BANK_SIZE, seed: int = 0) -> list[Material]:
    """`count` materials cycling through every pattern kind; deterministic for a seed."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6D617472]))
    bank = []
    for i in range(count):
        pattern = i % len(PATTERNS)
        kind = PATTERNS[pattern]
        color_a, color_b = _palette(kind, rng)
        spec, shine, metal = _SPECULAR.get(kind, _ROUGH)
        bank.append(
            Material(
                name=f"{kind}_{i // len(PATTERNS):02d}",
                pattern=pattern,
                color_a=color_a,
                color_b=color_b,
                scale=round(float(rng.uniform(1.5, 5.0)), 4),
                specular=round(float(rng.uniform(*spec)), 4),
                shininess=round(float(rng.uniform(*shine)), 2),
                metallic=round(float(rng.uniform(*metal)), 4),
            )
        )
    return bank
