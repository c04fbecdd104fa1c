"""Machines: vehicles, axles, rockets, planes, windmills."""

from __future__ import annotations

import numpy as np

from task2sim.assets.families.base import Archetype, Genome, Placed, Rng, around, limb, put
from task2sim.assets.parts import X, Y, Z
from task2sim.assets.partspec import (
    pick,
    shape,
    shape_lathe,
    shape_prism,
    shape_simple,
    shape_sq,
    uniform,
)


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


ARCHETYPES: dict[str, Archetype] = {
    "vehicle": (_s_vehicle, _l_vehicle),
    "axle": (_s_axle, _l_axle),
    "rocket": (_s_rocket, _l_rocket),
    "plane": (_s_plane, _l_plane),
    "windmill": (_s_windmill, _l_windmill),
}
