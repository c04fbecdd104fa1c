"""Single-body families: one shaped solid (solo) or a stack of them (stack)."""

from __future__ import annotations

from task2sim.assets.families.base import (
    Archetype,
    Genome,
    Placed,
    Rng,
    maybe_deform,
    put,
    twistable,
)
from task2sim.assets.parts import Y, Z
from task2sim.assets.partspec import pick, shape, shape_lathe, shape_simple, shape_sq, uniform

TUBE_NOUNS = {
    "ring": "hoop",
    "knot": "knot",
    "wave": "wavy_ring",
    "lissajous": "loop",
    "helix": "spring",
    "spiral": "coil",
    "arch": "magnet",
    "zigzag": "squiggle",
}
SQ_NOUNS = {"boxy": "block", "round": "pebble", "diamond": "gem", "pinched": "star"}


def _s_solo(rng: Rng) -> Genome:
    body = shape(rng, "body")
    kind = body["kind"]
    if kind == "prism":
        p = {"w": 1.0, "h": uniform(rng, 0.75, 1.3), "d": uniform(rng, 0.15, 0.4)}
        noun = f"{body['outline']}_tile"
    elif kind == "tube":
        body["uniform"] = 1
        p = {"w": 1.0, "h": 1.0, "d": 1.0}
        body["stand"] = int(
            body["curve"] in ("ring", "knot", "wave", "lissajous") and rng.random() < 0.5
        )
        noun = TUBE_NOUNS[body["curve"]]
    else:
        p = {"w": 1.0, "h": uniform(rng, 0.5, 2.0), "d": uniform(rng, 0.4, 1.1)}
        if kind == "lathe":
            p["d"] = 1.0
            noun = body["style"]
        elif kind == "sq":
            noun = SQ_NOUNS[body["style"].split("-")[1]]
        else:
            noun = {"box": "brick", "cyl": "column"}[kind]
    if kind != "tube":
        body["deform"] = maybe_deform(rng, twistable(body), 0.35)
    grad = int(rng.random() < 0.4)
    return {"p": p, "s": {"body": body}, "grad": grad, "noun": noun}


def _l_solo(g: Genome) -> list[Placed]:
    p, body = g["p"], g["s"]["body"]
    direction = Z if body.get("stand") else Y
    return [put(body, (p["w"], p["h"], p["d"]), direction=direction)]


def _s_stack(rng: Rng) -> Genome:
    n = int(rng.integers(2, 5))
    kinds = ("sq", "lathe", "sphere", "cyl", "box", "cone", "torus", "capsule")
    parts = {}
    p: dict[str, float] = {}
    for i in range(n):
        kind = pick(rng, kinds)
        if kind == "sq":
            parts[f"p{i}"] = shape_sq(rng)
        elif kind == "lathe":
            parts[f"p{i}"] = shape_lathe(rng)
        else:
            parts[f"p{i}"] = shape_simple(rng, kind)
        p[f"w{i}"] = uniform(rng, 0.35, 1.0)
        p[f"h{i}"] = uniform(rng, 0.12, 0.3) if kind == "torus" else uniform(rng, 0.2, 0.7)
    return {"p": p, "s": parts, "n": n, "noun": "totem"}


def _l_stack(g: Genome) -> list[Placed]:
    out, y = [], 0.0
    for i in range(g["n"]):
        w, h = g["p"][f"w{i}"], g["p"][f"h{i}"]
        y += h
        out.append(put(g["s"][f"p{i}"], (w, h, w), (0.0, y, 0.0), color=i % 3))
        y += h * 0.85
    return out


ARCHETYPES: dict[str, Archetype] = {
    "solo": (_s_solo, _l_solo),
    "stack": (_s_stack, _l_stack),
}
