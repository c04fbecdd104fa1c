"""Object family archetypes: how a family's genome is sampled and how an instance is laid out.

Each archetype is a pair of functions. `sample(rng)` draws a genome: shape specs for its slots and
layout parameters. Ints and strings in it (part kinds, counts, styles) fix the family's identity;
floats (proportions, exponents, angles) are jittered per instance. `layout(genome)` turns an
(already jittered) genome into placed parts. Layouts compute positions from the parameters, so
jittered parts stay attached and symmetric.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from task2sim.assets.parts import X, Y, Z, frame, rotation_to
from task2sim.assets.partspec import (
    Spec,
    pick,
    shape,
    shape_lathe,
    shape_prism,
    shape_simple,
    shape_sq,
    shape_tube,
    uniform,
)

Genome = dict[str, Any]
# (spec with size, rotation 3x3, translation 3, palette index)
Placed = tuple[Spec, np.ndarray, np.ndarray, int]
Rng = np.random.Generator


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


ARCHETYPES: dict[str, tuple[Callable[[Rng], Genome], Callable[[Genome], list[Placed]]]] = {}


def archetype(name: str):
    def register(pair: tuple[Callable, Callable]):
        ARCHETYPES[name] = pair
        return pair

    return register


# --- single bodies -------------------------------------------------------------------------------

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


archetype("solo")((_s_solo, _l_solo))


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


archetype("stack")((_s_stack, _l_stack))


# --- a body with attachments ---------------------------------------------------------------------


def _s_radial(rng: Rng) -> Genome:
    mode = pick(rng, ("out", "up", "down", "diag", "double"))
    body = shape(rng, "blob")
    arm = shape(rng, "limb")
    p = {
        "bw": uniform(rng, 0.5, 0.9),
        "bh": uniform(rng, 0.4, 0.9),
        "len": uniform(rng, 0.35, 0.9),
        "thick": uniform(rng, 0.07, 0.2),
        "tilt": uniform(rng, 0.25, 0.7),
    }
    k = int(rng.integers(3, 9))
    noun = {"out": "urchin", "up": "crown_pot", "down": "spider", "diag": "starburst"}
    return {
        "p": p,
        "s": {"body": body, "arm": arm},
        "k": k,
        "mode": mode,
        "noun": noun.get(mode, "sputnik"),
    }


def _l_radial(g: Genome) -> list[Placed]:
    p, k, mode = g["p"], g["k"], g["mode"]
    half = np.array([p["bw"], p["bh"], p["bw"]])
    out = [put(g["s"]["body"], half, color=0)]
    if mode == "out":
        dirs = around(k, 2 * np.pi)
    elif mode == "diag":
        dirs = around(k, 2 * np.pi, tilt=-p["tilt"])
    elif mode == "double":
        dirs = around(k, 2 * np.pi, tilt=p["tilt"]) + around(k, 2 * np.pi, -p["tilt"], np.pi / k)
    else:
        dirs = around(k, 2 * np.pi, tilt=0.5 if mode == "up" else -0.5)
    for d in dirs:
        if mode in ("up", "down"):
            base = surface(half, d) * 0.8
            grow = Y if mode == "up" else -Y
            out.append(limb(g["s"]["arm"], base, grow + 0.25 * d, p["len"], p["thick"]))
        else:
            out.append(limb(g["s"]["arm"], surface(half, d) * 0.8, d, p["len"], p["thick"]))
    return out


archetype("radial")((_s_radial, _l_radial))


def _s_bilateral(rng: Rng) -> Genome:
    mode = pick(rng, ("arms", "ears", "wheels", "wings", "horns"))
    body = shape(rng, "body" if rng.random() < 0.5 else "blob")
    if body["kind"] == "tube":
        body = shape(rng, "blob")
    pair = shape(rng, {"wheels": "disc", "wings": "slab"}.get(mode, "limb"))
    p = {
        "bw": uniform(rng, 0.45, 0.8),
        "bh": uniform(rng, 0.6, 1.1),
        "bd": uniform(rng, 0.4, 0.8),
        "len": uniform(rng, 0.35, 0.8),
        "thick": uniform(rng, 0.08, 0.2),
        "tilt": uniform(rng, 0.1, 0.6),
        "at": uniform(rng, 0.1, 0.5),
    }
    nose = int(rng.random() < 0.4)
    s = {"body": body, "pair": pair}
    if nose:
        s["nose"] = shape(rng, "blob")
    noun = {
        "arms": "figure",
        "ears": "bunny",
        "wheels": "roller",
        "wings": "glider",
        "horns": "bull",
    }
    return {"p": p, "s": s, "mode": mode, "nose": nose, "noun": noun[mode]}


def _l_bilateral(g: Genome) -> list[Placed]:
    p, mode = g["p"], g["mode"]
    half = np.array([p["bw"], p["bh"], p["bd"]])
    out = [put(g["s"]["body"], half, color=0)]
    for side in (-1.0, 1.0):
        if mode == "arms":
            d = np.array([side, -p["tilt"], 0.0])
            base = surface(half, np.array([side, p["at"], 0.0])) * 0.85
            out.append(limb(g["s"]["pair"], base, d, p["len"], p["thick"]))
        elif mode in ("ears", "horns"):
            base = surface(half, np.array([side * 0.5, 1.0, 0.0])) * 0.85
            d = (
                np.array([side * p["tilt"], 1.0, 0.0])
                if mode == "ears"
                else np.array([side, p["tilt"] + 0.2, 0.3])
            )
            out.append(limb(g["s"]["pair"], base, d, p["len"], p["thick"] * 1.3, depth=p["thick"]))
        elif mode == "wheels":
            r = p["len"] * 0.8
            at = (side * (p["bw"] + p["thick"] * 0.8), -p["bh"] * 0.6, 0.0)
            out.append(put(g["s"]["pair"], (r, p["thick"], r), at, np.array([side, 0, 0]), color=1))
        else:  # wings: flat slabs along X
            base = np.array([side * p["bw"] * 0.8, p["at"] * p["bh"], 0.0])
            d = np.array([side, p["tilt"] * 0.5, 0.0])
            out.append(
                limb(
                    g["s"]["pair"], base, d, p["len"] * 1.3, p["thick"] * 0.5, depth=p["len"] * 0.6
                )
            )
    if g["nose"]:
        r = p["thick"] * 1.6
        at = surface(half, np.array([0.0, p["at"], 1.0])) + np.array([0.0, 0.0, r * 0.6])
        out.append(put(g["s"]["nose"], (r, r, r), at, color=2))
    return out


archetype("bilateral")((_s_bilateral, _l_bilateral))


def _s_handle(rng: Rng) -> Genome:
    mode = pick(rng, ("side", "top", "two"))
    body = pick(
        rng,
        (
            shape_lathe(rng, ("barrel", "urn", "vase", "bell", "bottle")),
            shape_simple(rng, "cyl"),
            shape_sq(rng, ("boxy", "round")),
        ),
    )
    p = {
        "w": uniform(rng, 0.5, 0.8),
        "h": uniform(rng, 0.6, 1.1),
        "r": uniform(rng, 0.3, 0.55),
        "t": uniform(rng, 0.05, 0.1),
    }
    handle = shape_simple(rng, "torus") if mode != "top" else shape_tube(rng, ("arch",))
    noun = {"side": "mug", "top": "pail", "two": "amphora"}[mode]
    return {"p": p, "s": {"body": body, "handle": handle}, "mode": mode, "noun": noun}


def _l_handle(g: Genome) -> list[Placed]:
    p, mode = g["p"], g["mode"]
    out = [put(g["s"]["body"], (p["w"], p["h"], p["w"]), color=0)]
    r, t = p["r"] * p["h"] * 1.25, p["t"]
    spec = dict(g["s"]["handle"])
    if mode == "top":
        spec["thick"] = 0.08
        out.append(put(spec, (p["w"] * 0.95, p["h"] * 0.6, t), (0.0, p["h"] * 1.45, 0.0), color=1))
        return out
    spec["minor"] = 0.22
    for side in (1.0,) if mode == "side" else (-1.0, 1.0):
        at = (side * (p["w"] + r * 0.65), p["h"] * 0.15, 0.0)
        out.append(put(spec, (r, t * 1.5, r), at, Z, color=1))
    return out


archetype("handle")((_s_handle, _l_handle))


# --- furniture and structures --------------------------------------------------------------------


def _s_table(rng: Rng) -> Genome:
    k = int(pick(rng, (1, 3, 4, 4)))
    top = shape(rng, "slab")
    leg = shape(rng, "limb")
    p = {
        "w": uniform(rng, 0.8, 1.2),
        "d": uniform(rng, 0.5, 1.0),
        "t": uniform(rng, 0.05, 0.14),
        "legh": uniform(rng, 0.5, 1.2),
        "thick": uniform(rng, 0.05, 0.12),
        "splay": uniform(rng, 0.05, 0.3),
    }
    shelf = int(k > 1 and rng.random() < 0.4)
    s = {"top": top, "leg": leg}
    if k == 1:
        s["foot"] = shape(rng, "disc")
    noun = {1: "pedestal", 3: "stool", 4: "table"}[k]
    return {"p": p, "s": s, "k": k, "shelf": shelf, "noun": noun}


def _l_table(g: Genome) -> list[Placed]:
    p, k = g["p"], g["k"]
    top = g["s"]["top"]
    out = [put(top, (p["w"], p["t"], p["d"]), (0.0, p["legh"] * 2, 0.0), color=0)]
    y_top = p["legh"] * 2 - p["t"]
    if k == 1:
        leg = (p["thick"] * 2, p["legh"], p["thick"] * 2)
        out.append(put(g["s"]["leg"], leg, (0.0, p["legh"], 0.0), color=1))
        foot = (p["w"] * 0.5, p["t"], p["d"] * 0.5)
        out.append(put(g["s"]["foot"], foot, (0, p["t"], 0), color=2))
        return out
    if k == 4:
        corners = [(1, 1), (-1, 1), (1, -1), (-1, -1)]
    else:
        corners = [(0, 1), (-0.87, -0.5), (0.87, -0.5)]
    for cx, cz in corners:
        base = np.array([cx * p["w"] * 0.8, y_top, cz * p["d"] * 0.8])
        d = np.array([cx * p["splay"], -1.0, cz * p["splay"]])
        out.append(limb(g["s"]["leg"], base, d, p["legh"], p["thick"], color=1))
    if g["shelf"]:
        shelf = (p["w"] * 0.75, p["t"] * 0.6, p["d"] * 0.75)
        out.append(put(top, shelf, (0.0, p["legh"] * 0.8, 0.0), color=2))
    return out


archetype("table")((_s_table, _l_table))


def _s_chair(rng: Rng) -> Genome:
    seat, back, leg = shape(rng, "slab"), shape(rng, "slab"), shape(rng, "limb")
    p = {
        "w": uniform(rng, 0.5, 0.8),
        "legh": uniform(rng, 0.4, 0.7),
        "backh": uniform(rng, 0.5, 0.9),
        "t": uniform(rng, 0.05, 0.1),
        "thick": uniform(rng, 0.04, 0.08),
        "lean": uniform(rng, 0.05, 0.3),
    }
    arms = int(rng.random() < 0.4)
    noun = "armchair" if arms else "chair"
    return {"p": p, "s": {"seat": seat, "back": back, "leg": leg}, "arms": arms, "noun": noun}


def _l_chair(g: Genome) -> list[Placed]:
    p = g["p"]
    w, t, y = p["w"], p["t"], p["legh"] * 2
    seat = g["s"]["seat"]
    out = [put(seat, (w, t, w), (0, y, 0), color=0)]
    for cx, cz in [(1, 1), (-1, 1), (1, -1), (-1, -1)]:
        base = np.array([cx * w * 0.85, y - t, cz * w * 0.85])
        out.append(limb(g["s"]["leg"], base, -Y, p["legh"], p["thick"]))
    lean = np.array([0.0, 1.0, -p["lean"]])
    at = np.array([0.0, y, -w * 0.9]) + lean / np.linalg.norm(lean) * p["backh"]
    out.append(put(g["s"]["back"], (w, p["backh"], t), at, lean, color=2))
    if g["arms"]:
        for side in (-1.0, 1.0):
            at = (side * w, y + p["backh"] * 0.7, 0)
            out.append(put(seat, (t * 1.2, t, w * 0.9), at, color=1))
    return out


archetype("chair")((_s_chair, _l_chair))


def _s_gate(rng: Rng) -> Genome:
    post, beam = shape(rng, "limb"), shape(rng, "limb")
    mode = pick(rng, ("lintel", "double", "arch"))
    p = {
        "w": uniform(rng, 0.6, 1.1),
        "h": uniform(rng, 0.8, 1.4),
        "thick": uniform(rng, 0.08, 0.16),
        "over": uniform(rng, 0.1, 0.35),
    }
    s = {"post": post, "beam": beam}
    if mode == "arch":
        s["arch"] = shape_tube(rng, ("arch",))
    return {"p": p, "s": s, "mode": mode, "noun": "gate"}


def _l_gate(g: Genome) -> list[Placed]:
    p, mode = g["p"], g["mode"]
    post = (p["thick"], p["h"], p["thick"])
    out = [put(g["s"]["post"], post, (side * p["w"], 0.0, 0.0)) for side in (-1.0, 1.0)]
    if mode == "arch":
        spec = dict(g["s"]["arch"], leg=0.0, thick=0.12)
        size = (p["w"] + p["thick"], p["w"] * 0.7, p["thick"])
        out.append(put(spec, size, (0, p["h"] + 0.6 * p["w"], 0), color=1))
        return out
    span = p["w"] + p["thick"] + p["over"]
    beam = (p["thick"] * 1.2, span, p["thick"] * 1.2)
    out.append(put(g["s"]["beam"], beam, (0.0, p["h"], 0.0), X, color=1))
    if mode == "double":
        bar = (p["thick"] * 0.8, p["w"], p["thick"] * 0.8)
        out.append(put(g["s"]["beam"], bar, (0.0, p["h"] * 0.4, 0.0), X, color=2))
    return out


archetype("gate")((_s_gate, _l_gate))


def _s_house(rng: Rng) -> Genome:
    roof = pick(rng, ("gable", "pyramid", "dome", "flat", "cone"))
    p = {
        "w": uniform(rng, 0.6, 1.0),
        "h": uniform(rng, 0.4, 1.0),
        "d": uniform(rng, 0.5, 0.9),
        "rh": uniform(rng, 0.3, 0.7),
        "over": uniform(rng, 1.05, 1.25),
    }
    chimney = int(rng.random() < 0.5)
    s = {"walls": shape_sq(rng, ("boxy",)) if rng.random() < 0.3 else {"kind": "box"}}
    if roof == "gable":
        s["roof"] = {"kind": "prism", "outline": "polygon", "n": 3, "bevel": 0.0, "axis": 2}
    elif roof == "pyramid":
        s["roof"] = {"kind": "cone", "sides": 4}
    elif roof == "cone":
        s["roof"] = {"kind": "cone", "sides": 0}
    elif roof == "dome":
        s["roof"] = {
            "kind": "lathe",
            "style": "dome",
            "radii": [1.0, 0.95, 0.8, 0.5, 0.1],
            "sides": 0,
            "pointed": [0, 1],
        }
    else:
        s["roof"] = {"kind": "box"}
    noun = {
        "gable": "house",
        "pyramid": "hut",
        "dome": "observatory",
        "flat": "bungalow",
        "cone": "tower",
    }[roof]
    if roof == "cone":
        s["walls"] = {"kind": "cyl", "sides": 0}
    return {"p": p, "s": s, "roof": roof, "chimney": chimney, "noun": noun}


def _l_house(g: Genome) -> list[Placed]:
    p, roof = g["p"], g["roof"]
    w, h, d, rh, o = p["w"], p["h"], p["d"], p["rh"], p["over"]
    if roof == "cone":
        d = w
    out = [put(g["s"]["walls"], (w, h, d), color=0)]
    if roof == "flat":
        out.append(put(g["s"]["roof"], (w * o, rh * 0.15, d * o), (0, h + rh * 0.1, 0), color=1))
    else:
        out.append(put(g["s"]["roof"], (w * o, rh, d * o), (0, h + rh * 0.95, 0), color=1))
    if g["chimney"]:
        at = (w * 0.5, h + rh * 1.0, 0.0)
        out.append(put({"kind": "box"}, (0.1 * w, rh * 0.6, 0.1 * w), at, color=2))
    return out


archetype("house")((_s_house, _l_house))


def _s_lamp(rng: Rng) -> Genome:
    base, shade = (
        shape(rng, "disc"),
        pick(
            rng,
            (
                shape_simple(rng, "cone"),
                shape_lathe(rng, ("bell", "spire", "barrel")),
                shape_sq(rng, ("round",)),
            ),
        ),
    )
    p = {
        "bw": uniform(rng, 0.35, 0.6),
        "h": uniform(rng, 0.7, 1.3),
        "sw": uniform(rng, 0.4, 0.8),
        "sh": uniform(rng, 0.25, 0.5),
        "bend": uniform(rng, 0.3, 1.2),
    }
    arm = int(pick(rng, (0, 1)))
    return {
        "p": p,
        "s": {"base": base, "shade": shade, "pole": {"kind": "cyl", "sides": 0}},
        "arm": arm,
        "noun": "desk_lamp" if arm else "floor_lamp",
    }


def _l_lamp(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["base"], (p["bw"], 0.08, p["bw"]), color=0)]
    pole = dict(g["s"]["pole"])
    top = np.array([0.0, 2 * p["h"], 0.0])
    if g["arm"]:
        pole["deform"] = {"bend": p["bend"]}
        radius = 2 * p["h"] / p["bend"]
        half = p["bend"] / 2
        top = np.array([radius * (1 - np.cos(half)), p["h"] + radius * np.sin(half), 0.0])
    out.append(put(pole, (0.04, p["h"], 0.04), (0, p["h"], 0), color=1))
    shade = (p["sw"], p["sh"], p["sw"])
    out.append(put(g["s"]["shade"], shade, top + np.array([0, p["sh"] * 0.3, 0]), color=2))
    return out


archetype("lamp")((_s_lamp, _l_lamp))


# --- nature --------------------------------------------------------------------------------------


def _s_tree(rng: Rng) -> Genome:
    crown = pick(rng, ("cones", "ball", "puffs", "umbrella", "palm"))
    trunk = pick(
        rng,
        (
            shape_simple(rng, "cyl"),
            shape_lathe(rng, ("spire", "barrel")),
            shape_simple(rng, "cone"),
        ),
    )
    p = {
        "th": uniform(rng, 0.4, 0.9),
        "tr": uniform(rng, 0.08, 0.16),
        "cw": uniform(rng, 0.6, 1.0),
        "ch": uniform(rng, 0.5, 1.0),
        "droop": uniform(rng, 0.2, 0.6),
    }
    k = int(rng.integers(2, 4)) if crown == "cones" else int(rng.integers(3, 7))
    s = {"trunk": trunk}
    if crown in ("ball", "umbrella"):
        s["crown"] = shape_sq(rng, ("round", "diamond", "boxy"))
    elif crown == "puffs":
        s["crown"] = shape(rng, "blob")
    elif crown == "palm":
        s["crown"] = shape_prism(rng, ("star", "polygon", "superellipse"))
    else:
        s["crown"] = shape_simple(rng, "cone")
    offsets = [[uniform(rng, -1, 1), uniform(rng, -0.3, 1), uniform(rng, -1, 1)] for _ in range(k)]
    bend = {"bend": sign(rng) * uniform(rng, 0.3, 0.9)} if rng.random() < 0.3 else {}
    noun = {"cones": "pine", "ball": "tree", "puffs": "bush", "umbrella": "acacia", "palm": "palm"}
    return {
        "p": p,
        "s": s,
        "crown": crown,
        "k": k,
        "offsets": offsets,
        "bend": bend,
        "noun": noun[crown],
    }


def _l_tree(g: Genome) -> list[Placed]:
    p, crown, k = g["p"], g["crown"], g["k"]
    trunk = dict(g["s"]["trunk"])
    if g["bend"]:
        trunk["deform"] = dict(g["bend"])
    out = [put(trunk, (p["tr"], p["th"], p["tr"]), (0, p["th"], 0), color=2)]
    top = 2 * p["th"]
    spec = g["s"]["crown"]
    if crown == "cones":
        for i in range(k):
            scale = 1.0 - 0.28 * i
            y = top + p["ch"] * 0.5 * (1 + 1.1 * i * 0.8)
            out.append(
                put(spec, (p["cw"] * scale, p["ch"] * 0.6 * scale, p["cw"] * scale), (0, y, 0))
            )
    elif crown == "ball":
        out.append(put(spec, (p["cw"], p["ch"], p["cw"]), (0, top + p["ch"] * 0.8, 0)))
    elif crown == "umbrella":
        out.append(
            put(spec, (p["cw"] * 1.2, p["ch"] * 0.3, p["cw"] * 1.2), (0, top + p["ch"] * 0.2, 0))
        )
    elif crown == "puffs":
        for off in g["offsets"]:
            r = p["cw"] * 0.45
            at = np.array(
                [off[0] * p["cw"] * 0.5, top + r + off[1] * p["ch"] * 0.5, off[2] * p["cw"] * 0.5]
            )
            out.append(put(spec, (r, r, r), at))
    else:
        for d in around(k + 2, 2 * np.pi, tilt=-p["droop"]):
            out.append(
                limb(spec, np.array([0, top, 0]), d, p["cw"] * 0.6, 0.04, 0, p["cw"] * 0.22, Y)
            )
    return out


archetype("tree")((_s_tree, _l_tree))


def _s_mushroom(rng: Rng) -> Genome:
    cap = pick(
        rng,
        (
            {
                "kind": "lathe",
                "style": "cap",
                "radii": [1.0, 0.95, 0.8, 0.55, 0.15],
                "sides": 0,
                "pointed": [0, 1],
            },
            shape_sq(rng, ("round", "diamond")),
            shape_simple(rng, "cone"),
        ),
    )
    stem = pick(rng, (shape_simple(rng, "cyl"), shape_lathe(rng, ("barrel", "vase", "bulb"))))
    p = {
        "sh": uniform(rng, 0.3, 0.7),
        "sr": uniform(rng, 0.12, 0.3),
        "cw": uniform(rng, 0.6, 1.0),
        "ch": uniform(rng, 0.2, 0.6),
    }
    spots = int(rng.integers(0, 2)) * int(rng.integers(4, 8))
    return {"p": p, "s": {"cap": cap, "stem": stem}, "spots": spots, "noun": "mushroom"}


def _l_mushroom(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["stem"], (p["sr"], p["sh"], p["sr"]), (0, p["sh"], 0), color=1)]
    y = 2 * p["sh"] + p["ch"] * 0.3
    out.append(put(g["s"]["cap"], (p["cw"], p["ch"], p["cw"]), (0, y, 0), color=0))
    for d in around(g["spots"], 2 * np.pi, tilt=0.5):
        at = surface((p["cw"], p["ch"], p["cw"]), d) + np.array([0, y, 0])
        out.append(put({"kind": "sphere"}, (0.09, 0.09, 0.09), at, color=2))
    return out


archetype("mushroom")((_s_mushroom, _l_mushroom))


def _s_flower(rng: Rng) -> Genome:
    petal = pick(
        rng,
        (
            shape_sq(rng, ("round", "diamond")),
            shape_prism(rng, ("polygon", "star")),
            shape_simple(rng, "capsule"),
        ),
    )
    k = int(rng.integers(4, 10))
    p = {
        "sh": uniform(rng, 0.6, 1.2),
        "pl": uniform(rng, 0.25, 0.45),
        "pw": uniform(rng, 0.1, 0.2),
        "cr": uniform(rng, 0.12, 0.25),
        "lean": uniform(rng, 0.0, 0.4),
    }
    leaves = int(rng.random() < 0.6)
    return {
        "p": p,
        "s": {"petal": petal, "center": shape(rng, "blob")},
        "k": k,
        "leaves": leaves,
        "noun": "flower",
    }


def _l_flower(g: Genome) -> list[Placed]:
    p, k = g["p"], g["k"]
    out = [put({"kind": "cyl", "sides": 0}, (0.035, p["sh"], 0.035), (0, p["sh"], 0), color=2)]
    head = np.array([0.0, 2 * p["sh"], 0.0])
    out.append(put(g["s"]["center"], (p["cr"], p["cr"], p["cr"] * 0.6), head, color=1))
    for i in range(k):
        a = 2 * np.pi * i / k
        d = np.array([np.cos(a), np.sin(a), p["lean"]])
        out.append(
            limb(
                g["s"]["petal"], head + d * p["cr"] * 0.5, d, p["pl"], p["pw"], color=0, depth=0.03
            )
        )
    if g["leaves"]:
        for side in (-1.0, 1.0):
            out.append(
                limb(
                    {"kind": "sq", "style": "round-round", "e1": 1.0, "e2": 1.0},
                    np.array([0, p["sh"] * 0.7, 0]),
                    np.array([side, 0.6, 0]),
                    p["pl"] * 0.9,
                    p["pw"] * 0.8,
                    color=2,
                    depth=0.03,
                )
            )
    return out


archetype("flower")((_s_flower, _l_flower))


def _s_cluster(rng: Rng) -> Genome:
    mode = pick(rng, ("crystals", "heap", "spikes"))
    n = int(rng.integers(4, 9))
    if mode == "heap":
        part = shape(rng, "blob")
    elif mode == "crystals":
        part = pick(
            rng,
            (shape_lathe(rng, ("spire",)), shape_simple(rng, "cone"), shape_sq(rng, ("diamond",))),
        )
        part["sides"] = int(pick(rng, (4, 5, 6)))
    else:
        part = shape(rng, "limb")
    rows = []
    for _ in range(n):
        rows.append(
            [
                uniform(rng, -1, 1),
                uniform(rng, 0.2, 1.0),
                uniform(rng, -1, 1),
                uniform(rng, 0.5, 1.0),
            ]
        )
    p = {
        "spread": uniform(rng, 0.3, 0.8),
        "size": uniform(rng, 0.25, 0.45),
        "aspect": uniform(rng, 2.0, 4.0),
    }
    base = int(mode != "spikes" and rng.random() < 0.5)
    s = {"part": part}
    if base:
        s["base"] = shape(rng, "disc")
    return {"p": p, "s": s, "mode": mode, "rows": rows, "base": base, "noun": mode}


def _l_cluster(g: Genome) -> list[Placed]:
    p, mode = g["p"], g["mode"]
    out = []
    for i, (x, y, z, s) in enumerate(g["rows"]):
        r = p["size"] * s
        if mode == "heap":
            at = np.array([x * p["spread"], y * p["spread"] * 0.6, z * p["spread"]])
            out.append(put(g["s"]["part"], (r, r, r), at, color=i % 2))
            continue
        d = (
            np.array([x, 2 * y - 1.2, z])
            if mode == "spikes"
            else np.array([x * p["spread"], 1.0, z * p["spread"]])
        )
        out.append(limb(g["s"]["part"], np.zeros(3), d, r * p["aspect"] * 0.5, r * 0.5, i % 2))
    if g["base"]:
        size = (p["spread"] + p["size"], p["size"] * 0.3, p["spread"] + p["size"])
        out.append(put(g["s"]["base"], size, (0, -p["size"] * 0.2, 0), color=2))
    return out


archetype("cluster")((_s_cluster, _l_cluster))


def _s_shell(rng: Rng) -> Genome:
    variant = pick(rng, ("snail", "turret", "horn"))
    curve = {"snail": "spiral", "turret": "turret", "horn": "helix"}[variant]
    tube = shape_tube(rng, (curve,))
    tube.update(
        ramp=-1 if variant == "turret" else 1,
        section=int(pick(rng, (0, 0, 5, 6))),
        thick=uniform(rng, 0.12, 0.22),
        uniform=1,
        turns=int(rng.integers(2, 5)) if variant != "snail" else uniform(rng, 1.8, 3.0),
    )
    if variant == "turret":
        tube["pitch"] = uniform(rng, 1.2, 2.0)
    stand = int(variant != "turret" and rng.random() < 0.5)
    return {"p": {"s": 1.0}, "s": {"tube": tube}, "stand": stand, "noun": variant}


def _l_shell(g: Genome) -> list[Placed]:
    direction = Z if g["stand"] else Y
    return [put(g["s"]["tube"], (1.0, 1.0, 1.0), direction=direction)]


archetype("shell")((_s_shell, _l_shell))


# --- creatures and machines ----------------------------------------------------------------------


def _s_creature(rng: Rng) -> Genome:
    legs = int(pick(rng, (2, 4, 4, 6)))
    body = shape_sq(rng, ("round", "boxy", "diamond"))
    head = shape(rng, "blob")
    leg = shape(rng, "limb")
    p = {
        "bw": uniform(rng, 0.3, 0.5),
        "bh": uniform(rng, 0.25, 0.45),
        "bl": uniform(rng, 0.6, 1.0),
        "hr": uniform(rng, 0.2, 0.35),
        "neck": uniform(rng, 0.0, 0.6),
        "legl": uniform(rng, 0.25, 0.6),
        "legt": uniform(rng, 0.05, 0.1),
        "tail": uniform(rng, 0.2, 0.6),
    }
    extras = {"tail": int(rng.random() < 0.6), "ears": int(rng.random() < 0.5)}
    s = {"body": body, "head": head, "leg": leg}
    if extras["ears"]:
        s["ear"] = shape(rng, "limb")
    noun = {2: "bird", 4: "quadruped", 6: "beetle"}[legs]
    return {"p": p, "s": s, "legs": legs, **extras, "noun": noun}


def _l_creature(g: Genome) -> list[Placed]:
    p = g["p"]
    half = np.array([p["bw"], p["bh"], p["bl"]])
    out = [put(g["s"]["body"], half, color=0)]
    head_at = surface(half, np.array([0, p["neck"], 1.0])) + np.array(
        [0, p["hr"] * 0.6, p["hr"] * 0.5]
    )
    out.append(put(g["s"]["head"], (p["hr"], p["hr"], p["hr"] * 1.1), head_at, color=0))
    zs = {2: [0.0], 4: [-0.6, 0.6], 6: [-0.65, 0.0, 0.65]}[g["legs"]]
    for z in zs:
        for side in (-1.0, 1.0):
            base = np.array([side * p["bw"] * 0.6, -p["bh"] * 0.6, z * p["bl"]])
            d = np.array([side * (0.6 if g["legs"] == 6 else 0.1), -1.0, 0.0])
            out.append(limb(g["s"]["leg"], base, d, p["legl"], p["legt"], color=1))
    if g["tail"]:
        base = surface(half, np.array([0, 0.3, -1.0]))
        out.append(
            limb(
                {"kind": "cone", "sides": 0},
                base * 0.9,
                np.array([0, 0.8, -1.0]),
                p["tail"],
                p["legt"] * 1.2,
                color=1,
            )
        )
    if g["ears"]:
        for side in (-1.0, 1.0):
            base = head_at + np.array([side * p["hr"] * 0.5, p["hr"] * 0.7, 0.0])
            out.append(
                limb(
                    g["s"]["ear"],
                    base,
                    np.array([side * 0.3, 1.0, 0.0]),
                    p["hr"] * 0.6,
                    p["legt"],
                    color=2,
                )
            )
    return out


archetype("creature")((_s_creature, _l_creature))


def _s_vehicle(rng: Rng) -> Genome:
    wheels = int(pick(rng, (3, 4, 4, 6)))
    body = pick(rng, ({"kind": "box"}, shape_sq(rng, ("boxy", "round"))))
    cabin = pick(rng, ({"kind": "box"}, shape_sq(rng, ("boxy", "round")), shape_simple(rng, "cyl")))
    wheel = pick(rng, (shape_simple(rng, "cyl"), shape_simple(rng, "torus")))
    if wheel["kind"] == "cyl":
        wheel["sides"] = int(pick(rng, (0, 0, 6, 8)))
    p = {
        "w": uniform(rng, 0.4, 0.6),
        "h": uniform(rng, 0.2, 0.4),
        "l": uniform(rng, 0.8, 1.1),
        "ch": uniform(rng, 0.15, 0.35),
        "cl": uniform(rng, 0.3, 0.7),
        "cz": uniform(rng, -0.5, 0.5),
        "wr": uniform(rng, 0.18, 0.3),
    }
    noun = {3: "trike", 4: "car", 6: "truck"}[wheels]
    return {
        "p": p,
        "s": {"body": body, "cabin": cabin, "wheel": wheel},
        "wheels": wheels,
        "noun": noun,
    }


def _l_vehicle(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["body"], (p["w"], p["h"], p["l"]), color=0)]
    cabin = g["s"]["cabin"]
    out.append(
        put(
            cabin,
            (p["w"] * 0.85, p["ch"], p["l"] * p["cl"]),
            (0, p["h"] + p["ch"] * 0.9, p["cz"] * p["l"] * 0.4),
            color=1,
        )
    )
    if g["wheels"] == 3:
        spots = [(-1.0, -0.7), (1.0, -0.7), (0.0, 0.8)]
    elif g["wheels"] == 4:
        spots = [(s, z) for s in (-1.0, 1.0) for z in (-0.7, 0.7)]
    else:
        spots = [(s, z) for s in (-1.0, 1.0) for z in (-0.75, -0.3, 0.7)]
    for sx, z in spots:
        at = (sx * (p["w"] + 0.04), -p["h"] * 0.8, z * p["l"])
        d = X if sx >= 0 else -X
        out.append(put(g["s"]["wheel"], (p["wr"], 0.06, p["wr"]), at, d, color=2))
    return out


archetype("vehicle")((_s_vehicle, _l_vehicle))


def _s_axle(rng: Rng) -> Genome:
    end = shape(rng, pick(rng, ("blob", "disc")))
    mid = int(rng.random() < 0.4)
    p = {
        "len": uniform(rng, 0.6, 1.0),
        "r": uniform(rng, 0.04, 0.1),
        "er": uniform(rng, 0.25, 0.5),
        "et": uniform(rng, 0.1, 0.35),
    }
    s = {"end": end, "rod": {"kind": "cyl", "sides": int(pick(rng, (0, 6)))}}
    if mid:
        s["mid"] = shape(rng, "blob")
    return {"p": p, "s": s, "mid": mid, "noun": "spool" if mid else "dumbbell"}


def _l_axle(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["rod"], (p["r"], p["len"], p["r"]), direction=X, color=1)]
    for side in (-1.0, 1.0):
        d = X if side > 0 else -X
        out.append(put(g["s"]["end"], (p["er"], p["et"], p["er"]), (side * p["len"], 0, 0), d))
    if g["mid"]:
        r = p["er"] * 0.6
        out.append(put(g["s"]["mid"], (r, r, r), color=2))
    return out


archetype("axle")((_s_axle, _l_axle))


def _s_tool(rng: Rng) -> Genome:
    mode = pick(rng, ("hammer", "axe", "fork", "mallet", "paddle"))
    handle = pick(
        rng,
        (
            shape_simple(rng, "cyl"),
            shape_simple(rng, "capsule"),
            shape_lathe(rng, ("barrel", "spire")),
        ),
    )
    if mode in ("hammer", "mallet"):
        head = shape(rng, "limb") if mode == "hammer" else shape(rng, "blob")
    elif mode == "axe":
        head = shape_prism(rng, ("polygon", "superellipse", "blob"))
    elif mode == "paddle":
        head = shape_sq(rng, ("round", "boxy"))
    else:
        head = shape(rng, "limb")
    p = {
        "hl": uniform(rng, 0.8, 1.1),
        "hr": uniform(rng, 0.04, 0.08),
        "hw": uniform(rng, 0.3, 0.55),
        "ht": uniform(rng, 0.08, 0.18),
    }
    prongs = int(rng.integers(2, 6)) if mode == "fork" else 0
    return {
        "p": p,
        "s": {"handle": handle, "head": head},
        "mode": mode,
        "prongs": prongs,
        "noun": mode,
    }


def _l_tool(g: Genome) -> list[Placed]:
    p, mode = g["p"], g["mode"]
    out = [put(g["s"]["handle"], (p["hr"], p["hl"], p["hr"]), color=2)]
    top = p["hl"]
    head = g["s"]["head"]
    if mode in ("hammer", "mallet"):
        out.append(put(head, (p["ht"], p["hw"], p["ht"]), (p["hw"] * 0.3, top, 0), X, color=0))
    elif mode == "axe":
        out.append(
            put(
                head,
                (p["hw"], p["hw"] * 0.7, p["ht"] * 0.3),
                (p["hw"] * 0.7, top - p["hw"] * 0.3, 0),
                Y,
                color=0,
            )
        )
    elif mode == "paddle":
        out.append(
            put(head, (p["hw"] * 0.7, p["hw"], p["ht"] * 0.3), (0, top + p["hw"] * 0.8, 0), color=0)
        )
    else:
        out.append(
            put({"kind": "box"}, (p["hw"], p["ht"] * 0.4, p["ht"] * 0.4), (0, top, 0), color=1)
        )
        k = g["prongs"]
        for i in range(k):
            x = -p["hw"] + 2 * p["hw"] * i / max(k - 1, 1)
            out.append(limb(head, np.array([x, top, 0]), Y, p["hw"] * 0.7, p["ht"] * 0.3, color=0))
    return out


archetype("tool")((_s_tool, _l_tool))


def _s_rocket(rng: Rng) -> Genome:
    body = pick(
        rng,
        (
            shape_lathe(rng, ("barrel", "bottle", "bulb")),
            shape_simple(rng, "cyl"),
            shape_simple(rng, "capsule"),
        ),
    )
    fins = int(rng.integers(3, 5))
    fin = pick(rng, ({"kind": "box"}, shape_prism(rng, ("polygon",)), shape_sq(rng, ("boxy",))))
    boosters = int(rng.random() < 0.3) * 2
    p = {
        "r": uniform(rng, 0.2, 0.35),
        "h": uniform(rng, 0.8, 1.2),
        "nose": uniform(rng, 0.25, 0.5),
        "fl": uniform(rng, 0.2, 0.4),
        "fh": uniform(rng, 0.2, 0.4),
    }
    return {
        "p": p,
        "s": {"body": body, "fin": fin, "nose": {"kind": "cone", "sides": 0}},
        "fins": fins,
        "boosters": boosters,
        "noun": "rocket",
    }


def _l_rocket(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["body"], (p["r"], p["h"], p["r"]), color=0)]
    out.append(
        put(
            g["s"]["nose"],
            (p["r"] * 0.95, p["nose"], p["r"] * 0.95),
            (0, p["h"] + p["nose"] * 0.95, 0),
            color=1,
        )
    )
    for i, d in enumerate(around(g["fins"], 2 * np.pi, phase=np.pi / 2)):
        at = d * (p["r"] + p["fl"] * 0.8) + np.array([0, -p["h"] + p["fh"], 0])
        out.append(
            put(
                g["s"]["fin"],
                (p["fl"], p["fh"], 0.03),
                at,
                Y,
                -np.arctan2(d[2], d[0]),
                color=2 if i % 2 else 1,
            )
        )
    for side in (-1.0, 1.0)[: g["boosters"]]:
        out.append(
            put(
                g["s"]["body"],
                (p["r"] * 0.45, p["h"] * 0.6, p["r"] * 0.45),
                (side * p["r"] * 1.4, -p["h"] * 0.35, 0),
                color=1,
            )
        )
    return out


archetype("rocket")((_s_rocket, _l_rocket))


def _s_plane(rng: Rng) -> Genome:
    body = pick(
        rng,
        (
            shape_simple(rng, "capsule"),
            shape_sq(rng, ("round", "diamond")),
            shape_lathe(rng, ("spire", "bulb")),
        ),
    )
    wing = pick(
        rng,
        (
            {"kind": "box"},
            shape_sq(rng, ("boxy", "round")),
            shape_prism(rng, ("polygon", "superellipse")),
        ),
    )
    p = {
        "bl": uniform(rng, 0.8, 1.0),
        "br": uniform(rng, 0.1, 0.2),
        "span": uniform(rng, 0.6, 1.0),
        "chord": uniform(rng, 0.15, 0.35),
        "sweep": uniform(rng, 0.0, 0.6),
        "dihedral": uniform(rng, 0.0, 0.25),
        "fin": uniform(rng, 0.15, 0.3),
    }
    engines = int(rng.random() < 0.4)
    return {
        "p": p,
        "s": {"body": body, "wing": wing},
        "engines": engines,
        "noun": "jet" if engines else "plane",
    }


def _l_plane(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["body"], (p["br"], p["bl"], p["br"]), direction=Z, color=0)]
    wing, tail_z = g["s"]["wing"], -p["bl"] * 0.85
    for side in (-1.0, 1.0):
        d = np.array([side, p["dihedral"], -p["sweep"]])
        base = np.array([0, 0, p["bl"] * 0.1])
        out.append(limb(wing, base, d, p["span"] * 0.5, 0.03, 1, depth=p["chord"], up=Y))
        tail = np.array([side, 0.1, -0.2])
        length, chord = p["span"] * 0.18, p["chord"] * 0.5
        out.append(limb(wing, np.array([0, 0, tail_z]), tail, length, 0.02, 1, chord, up=Y))
        if g["engines"]:
            at = (side * p["span"] * 0.45, -0.08, p["bl"] * 0.15)
            out.append(put({"kind": "cyl", "sides": 0}, (0.06, 0.15, 0.06), at, Z, color=2))
    fin = (0.02, p["fin"], p["chord"] * 0.7)
    out.append(put(wing, fin, (0, p["fin"] * 0.9, tail_z), color=2))
    return out


archetype("plane")((_s_plane, _l_plane))


def _s_windmill(rng: Rng) -> Genome:
    blades = int(rng.integers(2, 7))
    blade = pick(
        rng,
        (
            {"kind": "box"},
            shape_sq(rng, ("round", "boxy", "diamond")),
            shape_prism(rng, ("polygon", "superellipse")),
        ),
    )
    tower = pick(
        rng, (shape_simple(rng, "cyl"), shape_lathe(rng, ("spire",)), shape_simple(rng, "cone"))
    )
    p = {
        "h": uniform(rng, 0.6, 1.0),
        "tr": uniform(rng, 0.06, 0.18),
        "bl": uniform(rng, 0.4, 0.75),
        "bw": uniform(rng, 0.06, 0.15),
        "hub": uniform(rng, 0.07, 0.14),
    }
    return {"p": p, "s": {"blade": blade, "tower": tower}, "blades": blades, "noun": "windmill"}


def _l_windmill(g: Genome) -> list[Placed]:
    p = g["p"]
    out = [put(g["s"]["tower"], (p["tr"], p["h"], p["tr"]), (0, 0, 0), color=2)]
    hub = np.array([0.0, p["h"], p["tr"] + p["hub"]])
    out.append(put({"kind": "sphere"}, (p["hub"], p["hub"], p["hub"]), hub, color=1))
    for i in range(g["blades"]):
        a = np.pi / 2 + np.pi / (2 * g["blades"]) + 2 * np.pi * i / g["blades"]
        d = np.array([np.cos(a), np.sin(a), 0.0])
        out.append(limb(g["s"]["blade"], hub, d, p["bl"], p["bw"] * 1.5, color=0, depth=0.025))
    return out


archetype("windmill")((_s_windmill, _l_windmill))


def _s_crown(rng: Rng) -> Genome:
    ring = pick(
        rng,
        (
            shape_simple(rng, "torus"),
            shape_simple(rng, "annulus"),
            shape_tube(rng, ("wave", "ring")),
        ),
    )
    spike = pick(rng, (shape(rng, "limb"), shape_simple(rng, "sphere")))
    k = int(rng.integers(4, 10))
    mode = pick(rng, ("up", "out"))
    p = {
        "r": 1.0,
        "t": uniform(rng, 0.12, 0.3),
        "len": uniform(rng, 0.2, 0.5),
        "thick": uniform(rng, 0.06, 0.14),
    }
    return {
        "p": p,
        "s": {"ring": ring, "spike": spike},
        "k": k,
        "mode": mode,
        "noun": "crown" if mode == "up" else "cogwheel",
    }


def _l_crown(g: Genome) -> list[Placed]:
    p = g["p"]
    ring = dict(g["s"]["ring"])
    if ring["kind"] == "tube":
        ring["uniform"] = 1
    out = [put(ring, (p["r"], p["t"], p["r"]), color=0)]
    for d in around(g["k"], 2 * np.pi):
        if g["mode"] == "up":
            base = d * p["r"] * 0.9 + np.array([0, p["t"] * 0.5, 0])
            out.append(limb(g["s"]["spike"], base, Y, p["len"], p["thick"], color=1))
        else:
            out.append(limb(g["s"]["spike"], d * p["r"] * 0.95, d, p["len"], p["thick"], color=1))
    return out


archetype("crown")((_s_crown, _l_crown))


def _s_beads(rng: Rng) -> Genome:
    path = pick(rng, ("helix", "arch", "zigzag", "ring", "line"))
    bead = shape(rng, "blob")
    k = int(rng.integers(5, 11))
    p = {
        "r0": uniform(rng, 0.15, 0.3),
        "r1": uniform(rng, 0.08, 0.3),
        "pitch": uniform(rng, 0.5, 1.2),
    }
    string = int(rng.random() < 0.5)
    return {
        "p": p,
        "s": {"bead": bead},
        "path": path,
        "k": k,
        "string": string,
        "noun": {"helix": "caterpillar", "ring": "necklace"}.get(path, "bead_chain"),
    }


def _l_beads(g: Genome) -> list[Placed]:
    p, k, path = g["p"], g["k"], g["path"]
    t = np.linspace(0.0, 1.0, k)
    if path == "helix":
        pts = np.stack(
            [0.6 * np.cos(3 * np.pi * t), (t - 0.5) * 2 * p["pitch"], 0.6 * np.sin(3 * np.pi * t)],
            1,
        )
    elif path == "arch":
        a = np.pi * t
        pts = np.stack([np.cos(a), np.sin(a) * p["pitch"], np.zeros(k)], 1)
    elif path == "zigzag":
        pts = np.stack(
            [(t - 0.5) * 2, np.where(np.arange(k) % 2 == 0, 0.0, p["pitch"] * 0.4), np.zeros(k)], 1
        )
    elif path == "ring":
        a = 2 * np.pi * np.arange(k) / k
        pts = np.stack([np.cos(a), np.zeros(k), np.sin(a)], 1)
    else:
        pts = np.stack([np.zeros(k), (t - 0.5) * 2 * p["pitch"], np.zeros(k)], 1)
    out = []
    for i, (pt, s) in enumerate(zip(pts, np.linspace(p["r0"], p["r1"], k), strict=True)):
        out.append(put(g["s"]["bead"], (s, s, s), pt, color=i % 2))
    if g["string"]:
        for a, b in itertools.pairwise(pts):
            d = b - a
            length = np.linalg.norm(d) / 2 * 0.97  # ends apart: no coincident rings
            out.append(
                put({"kind": "cyl", "sides": 0}, (0.025, length, 0.025), (a + b) / 2, d, color=2)
            )
    return out


archetype("beads")((_s_beads, _l_beads))


# How often each archetype appears in one block of families (solo has the most internal variety).
ARCHETYPE_WEIGHTS: dict[str, int] = {
    "solo": 6,
    "stack": 2,
    "radial": 2,
    "bilateral": 2,
    "handle": 1,
    "table": 1,
    "chair": 1,
    "gate": 1,
    "house": 1,
    "lamp": 1,
    "tree": 1,
    "mushroom": 1,
    "flower": 1,
    "cluster": 1,
    "shell": 1,
    "creature": 2,
    "vehicle": 1,
    "axle": 1,
    "tool": 1,
    "rocket": 1,
    "plane": 1,
    "windmill": 1,
    "crown": 1,
    "beads": 1,
}
