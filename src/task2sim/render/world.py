"""The world a set is rendered from: object classes, backgrounds and materials, built from params.

Every worker process builds its own copy (meshes come from an on-disk cache keyed by seed), so
nothing large is pickled across process boundaries and no GL state is ever forked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from task2sim.assets.materials import Material, material_bank
from task2sim.assets.mesh import ObjectClass
from task2sim.params import SimParams
from task2sim.paths import cache_dir
from task2sim.sim.scene import SetLayout


@dataclass(frozen=True)
class World:
    classes: list[ObjectClass]
    backgrounds: list[np.ndarray]  # equirect uint8 (H, 2H, 3)
    background_names: list[str]
    materials: list[Material]

    def layout(self, images: int) -> SetLayout:
        return SetLayout(
            images=images,
            objects=tuple(len(c.objects) for c in self.classes),
            backgrounds=len(self.backgrounds),
            materials=len(self.materials),
        )

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


def build_world(sim: SimParams) -> World:
    from task2sim.assets.backgrounds import bundled_photos, folder_backgrounds
    from task2sim.assets.cache import load_or_build_skies

    if sim.meshes:
        from task2sim.assets.user_meshes import load_mesh_folder

        classes = load_mesh_folder(Path(sim.meshes))
    else:
        from task2sim.assets.cache import load_or_build_classes

        classes = load_or_build_classes(
            sim.classes, sim.objects_per_class, sim.seed, cache_dir() / "meshes"
        )
    backgrounds: list[np.ndarray] = []
    names: list[str] = []
    skies = load_or_build_skies(sim.skies, sim.seed, sim.background_height, cache_dir() / "skies")
    backgrounds += skies
    names += [f"sky_{i:03d}" for i in range(len(skies))]
    if sim.photos:
        photos = bundled_photos(sim.background_height)
        backgrounds += photos
        names += [f"photo_{i:03d}" for i in range(len(photos))]
    for folder in sim.background_folders:
        images = folder_backgrounds(Path(folder), sim.background_height)
        backgrounds += images
        names += [f"{Path(folder).name}_{i:03d}" for i in range(len(images))]
    return World(classes, backgrounds, names, material_bank(sim.materials, sim.seed))
