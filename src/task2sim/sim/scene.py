"""Per-image scene specs: what image i of a set shows, drawn from a stream keyed by (seed, i).

Every random value is drawn for every image whatever the config, in a fixed order, and the config
only decides which draws are used. So image i of set c255 shows the same object as image i of c000,
switching one parameter on changes exactly the factor it names, and image i never depends on how
many workers rendered the set or in which order. Ranges follow the official generator (SPEC §1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from task2sim.sim.config import index_to_flags

# Fixed values used while a parameter is off (the "canonical" scene).
BASE_DISTANCE = 3.0  # camera-object distance, in object radii
BASE_LIGHT_INTENSITY = 1.0
BASE_LIGHT_COLOR = (1.0, 0.98, 0.95)
BASE_LIGHT_YAW = 0.0  # degrees, added to the default light direction
BASE_LIGHT_PITCH = 0.0
SHARP_APERTURE = 70.0  # the generator's "everything in focus" aperture

# Ranges while a parameter is on (SPEC §1).
ROTATION_RANGE = (-180.0, 180.0)
DISTANCE_FACTOR_RANGE = (0.4, 1.5)
INTENSITY_OFFSET_RANGE = (-0.6, 0.6)
COLOR_CHANNEL_RANGE = (0.05, 1.0)
LIGHT_ANGLE_RANGE = (0.0, 360.0)
BLUR_PROBABILITY = 0.75
FOCUS_OFFSET_RANGE = (-1.0, 1.0)
APERTURE_RANGE = (0.5, 1.2)
VIEW_PITCH_RANGE = (-20.0, 20.0)  # camera looks around but keeps the object in view


@dataclass(frozen=True)
class SceneSpec:
    """Everything a backend needs to draw one image; plain numbers so any renderer can use it."""

    index: int
    class_index: int
    object_index: int  # within its class
    rotation: tuple[float, float, float]  # pitch, yaw, roll in degrees, applied to the object
    distance: float  # camera-object distance
    light_intensity: float
    light_color: tuple[float, float, float]
    light_yaw: float  # degrees the light is rotated from its default direction
    light_pitch: float
    background: int  # index into the background bank
    view_yaw: float  # degrees the camera looks away from the canonical view
    view_pitch: float
    focus_distance: float
    aperture: float
    material: int  # index into the material bank; -1 = the object's own material

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SetLayout:
    """How a set's images are divided: equally per class, then per object (SPEC §1)."""

    images: int
    objects: tuple[int, ...]  # objects of each class
    backgrounds: int
    materials: int

    @classmethod
    def uniform(
        cls, images: int, classes: int, objects_per_class: int, backgrounds: int, materials: int
    ) -> SetLayout:
        return cls(images, (objects_per_class,) * classes, backgrounds, materials)

    @property
    def classes(self) -> int:
        return len(self.objects)

    @property
    def background_period(self) -> int:
        """Images of one object between skybox switches: max(2, round(per-object / skyboxes))."""
        per_object = self.images / sum(self.objects)
        return max(2, round(per_object / self.backgrounds))

    def place(self, index: int) -> tuple[int, int, int, int]:
        """(class, object within class, object's n-th image, object's number in the whole set).

        Images go round-robin over classes, then over each class's objects, so every prefix of a
        set is balanced.
        """
        class_index = index % self.classes
        nth_of_class = index // self.classes
        count = self.objects[class_index]
        object_index = nth_of_class % count
        first_object = sum(self.objects[:class_index])
        return class_index, object_index, nth_of_class // count, first_object + object_index


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of image `index` of a set: independent of every other image."""
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def sample_scene(config: int, layout: SetLayout, seed: int, index: int) -> SceneSpec:
    """The scene of image `index` of set `config`."""
    flags = index_to_flags(config)
    rng = scene_rng(seed, index)
    # Draw everything, always, in this order (see the module docstring).
    rotation = rng.uniform(*ROTATION_RANGE, size=3)
    distance_factor = rng.uniform(*DISTANCE_FACTOR_RANGE)
    intensity_offset = rng.uniform(*INTENSITY_OFFSET_RANGE)
    color = rng.uniform(*COLOR_CHANNEL_RANGE, size=3)
    light_angles = rng.uniform(*LIGHT_ANGLE_RANGE, size=2)
    blur_draw = rng.uniform()
    focus_offset = rng.uniform(*FOCUS_OFFSET_RANGE)
    aperture = rng.uniform(*APERTURE_RANGE)
    view_yaw = rng.uniform(0.0, 360.0)
    view_pitch = rng.uniform(*VIEW_PITCH_RANGE)
    material = int(rng.integers(layout.materials))

    class_index, object_index, repeat, global_object = layout.place(index)

    distance = BASE_DISTANCE * (distance_factor if flags["pose_scale"] else 1.0)
    if flags["backgr"]:
        # Cycle through the bank; each object starts at its own offset so small sets use it all.
        background = (repeat // layout.background_period + global_object) % layout.backgrounds
        view = (float(view_yaw), float(view_pitch))
    else:
        background, view = 0, (0.0, 0.0)
    if flags["blur"] and blur_draw < BLUR_PROBABILITY:
        focus, lens = distance + float(focus_offset), float(aperture)
    else:
        focus, lens = distance, SHARP_APERTURE
    return SceneSpec(
        index=index,
        class_index=class_index,
        object_index=object_index,
        rotation=_triple(rotation) if flags["pose_rot"] else (0.0, 0.0, 0.0),
        distance=float(distance),
        light_intensity=BASE_LIGHT_INTENSITY
        + (float(intensity_offset) if flags["lighting_intensity"] else 0.0),
        light_color=_triple(color) if flags["lighting_color"] else BASE_LIGHT_COLOR,
        light_yaw=float(light_angles[0]) if flags["lighting_dir"] else BASE_LIGHT_YAW,
        light_pitch=float(light_angles[1]) if flags["lighting_dir"] else BASE_LIGHT_PITCH,
        background=int(background),
        view_yaw=view[0],
        view_pitch=view[1],
        focus_distance=float(focus),
        aperture=lens,
        material=material if flags["materials"] else -1,
    )


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))
