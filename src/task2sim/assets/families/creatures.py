"""Creatures: a body with head, legs and tail laid out as an animal."""

from __future__ import annotations

import numpy as np

from task2sim.assets.families.base import Archetype, Genome, Placed, Rng, limb, put, surface
from task2sim.assets.partspec import pick, shape, shape_sq, uniform


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


ARCHETYPES: dict[str, Archetype] = {
    "creature": (_s_creature, _l_creature),
}
