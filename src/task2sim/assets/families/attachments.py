"""Families of a body with attachments: radial arms, paired limbs, a handle."""

from __future__ import annotations

import numpy as np

from task2sim.assets.families.base import Archetype, Genome, Placed, Rng, around, limb, put, surface
from task2sim.assets.parts import Y, Z
from task2sim.assets.partspec import (
    pick,
    shape,
    shape_lathe,
    shape_simple,
    shape_sq,
    shape_tube,
    uniform,
)


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


ARCHETYPES: dict[str, Archetype] = {
    "radial": (_s_radial, _l_radial),
    "bilateral": (_s_bilateral, _l_bilateral),
    "handle": (_s_handle, _l_handle),
}
