"""Natural forms: trees, mushrooms, flowers, clusters, shells."""

from __future__ import annotations

import numpy as np

from task2sim.assets.families.base import (
    Archetype,
    Genome,
    Placed,
    Rng,
    around,
    limb,
    put,
    sign,
    surface,
)
from task2sim.assets.parts import Y, Z
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


ARCHETYPES: dict[str, Archetype] = {
    "tree": (_s_tree, _l_tree),
    "mushroom": (_s_mushroom, _l_mushroom),
    "flower": (_s_flower, _l_flower),
    "cluster": (_s_cluster, _l_cluster),
    "shell": (_s_shell, _l_shell),
}
