"""Hand-sized objects: tools, crowns, strings of beads."""

from __future__ import annotations

import itertools

import numpy as np

from task2sim.assets.families.base import Archetype, Genome, Placed, Rng, around, limb, put
from task2sim.assets.parts import X, Y
from task2sim.assets.partspec import (
    pick,
    shape,
    shape_lathe,
    shape_prism,
    shape_simple,
    shape_sq,
    shape_tube,
    uniform,
)


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


ARCHETYPES: dict[str, Archetype] = {
    "tool": (_s_tool, _l_tool),
    "crown": (_s_crown, _l_crown),
    "beads": (_s_beads, _l_beads),
}
