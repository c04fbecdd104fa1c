"""Furniture and structures: tables, chairs, gates, houses, lamps."""

from __future__ import annotations

import numpy as np

from task2sim.assets.families.base import Archetype, Genome, Placed, Rng, limb, put
from task2sim.assets.parts import X, Y
from task2sim.assets.partspec import (
    pick,
    shape,
    shape_lathe,
    shape_simple,
    shape_sq,
    shape_tube,
    uniform,
)


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


ARCHETYPES: dict[str, Archetype] = {
    "table": (_s_table, _l_table),
    "chair": (_s_chair, _l_chair),
    "gate": (_s_gate, _l_gate),
    "house": (_s_house, _l_house),
    "lamp": (_s_lamp, _l_lamp),
}
