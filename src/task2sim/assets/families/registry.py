"""The archetype registry: every family kind's (sample, layout) pair and how often it is drawn.

Each kind module lists its own archetypes; this module joins them, so the shape generator reads
one table and adding a kind means adding one import here.
"""

from __future__ import annotations

from task2sim.assets.families import (
    attachments,
    bodies,
    creatures,
    machines,
    nature,
    structures,
    trinkets,
)
from task2sim.assets.families.base import Archetype

ARCHETYPES: dict[str, Archetype] = {
    **bodies.ARCHETYPES,
    **attachments.ARCHETYPES,
    **structures.ARCHETYPES,
    **nature.ARCHETYPES,
    **creatures.ARCHETYPES,
    **machines.ARCHETYPES,
    **trinkets.ARCHETYPES,
}

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
