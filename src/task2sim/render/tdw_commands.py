"""Scene specs as ThreeDWorld (TDW 1.13) commands: pure functions, importable without `tdw`.

The TDW backend only sends what these functions return, so every parameter's effect on the
commands can be tested without a build. A `TdwWorld` names the assets (models per class, HDRI
skyboxes, materials) and their asset-bundle URLs; the default one is read from the metadata the
`tdw` package ships (read as JSON files, so `tdw` need not import).

Geometry: the object is scaled to TDW's "unit scale" (longest side 1 m) and its centroid sits at
`TARGET`; scene distances are in object radii, so a distance d puts the camera d * 0.5 m away.
The camera looks at `TARGET` from `CAMERA_ELEVATION_DEGREES` above the front (as the embedded
renderer does). Background on turns the whole camera + object rig by the view yaw/pitch about the
object, so the object looks the same while the skybox (and the sun) behind it changes, as the
official generator does by parenting the object to the camera.
"""

from __future__ import annotations

import importlib.util
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from task2sim.errors import Task2SimError
from task2sim.sim.scene import (
    BASE_LIGHT_INTENSITY,
    SceneSpec,
    SetLayout,
)

Command = dict[str, Any]

AVATAR_ID = "a"
AVATAR_TYPE = "A_Img_Caps_Kinematic"
SCENE_NAME = "ProcGenScene"  # TDW's empty scene: only the skybox around the object
TARGET = (0.0, 1.0, 0.0)  # where the object's centroid sits, metres
METRES_PER_UNIT = 0.5  # scene distances are in object radii; a unit-scale object has radius 0.5 m
FIELD_OF_VIEW_DEGREES = 40.0  # same as the embedded renderer
CAMERA_ELEVATION_DEGREES = 20.0  # same as the embedded renderer
CANONICAL_SKYBOX = "fish_hoek_beach_4k"  # the official generator's fixed skybox (background off)
MIN_SUN_ELEVATION = 120  # the official generator's filter for outdoor skyboxes
PAPER_MATERIALS = 140  # size of the paper's material subset
INSTALL_FIX = "in the project folder: pip install -e '.[tdw]'"


@dataclass(frozen=True)
class TdwModel:
    """One model of the TDW model library, with what `add_object` and materials need."""

    name: str
    url: str
    scale_factor: float = 1.0  # the record's own scale factor (add_object)
    unit_scale: float = 1.0  # extra scale that makes the longest side 1 m
    center: tuple[float, float, float] = (0.0, 0.5, 0.0)  # bounds centre at unit scale, metres
    category: str = ""
    substructure: tuple[tuple[str, int], ...] = ()  # (sub-object name, number of material slots)


@dataclass(frozen=True)
class TdwSkybox:
    """An HDRI skybox record: `add_hdri_skybox` wants all of these fields as in the metadata."""

    name: str
    url: str
    exposure: float
    initial_skybox_rotation: float
    sun_elevation: float
    sun_initial_angle: float
    sun_intensity: float


@dataclass(frozen=True)
class TdwMaterial:
    name: str
    url: str


@dataclass(frozen=True)
class TdwWorld:
    """The asset banks a scene spec indexes: class -> models, background -> skybox, material."""

    classes: tuple[tuple[TdwModel, ...], ...]
    skyboxes: tuple[TdwSkybox, ...]
    materials: tuple[TdwMaterial, ...]
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.classes:
            raise Task2SimError("the TDW world has no classes", "give at least one class")
        for c, models in enumerate(self.classes):
            if not models:
                name = self.class_names[c] if c < len(self.class_names) else str(c)
                raise Task2SimError(
                    f"class {name} of the TDW world has no models", "give every class a model"
                )
        if not self.skyboxes:
            raise Task2SimError("the TDW world has no skyboxes", "give at least one HDRI skybox")

    @property
    def needs_signed_urls(self) -> bool:
        """Models of TDW's full library live in a private bucket reached by pre-signed URLs."""
        return any("tdw-private" in m.url for models in self.classes for m in models)

    def layout(self, images: int) -> SetLayout:
        """The set layout whose scene specs index this world's banks."""
        return SetLayout(
            images=images,
            objects=tuple(len(models) for models in self.classes),
            backgrounds=len(self.skyboxes),
            materials=max(1, len(self.materials)),  # an empty bank fails only if materials is on
        )

    def to_json(self) -> dict[str, Any]:
        """The full JSON form (what `world_from_json` reads back without `tdw` installed)."""
        names = self.class_names or tuple(str(c) for c in range(len(self.classes)))
        return {
            "classes": {
                name: [_model_json(m) for m in models]
                for name, models in zip(names, self.classes, strict=True)
            },
            "skyboxes": [vars(s).copy() for s in self.skyboxes],
            "materials": [vars(m).copy() for m in self.materials],
        }


# ---------------------------------------------------------------- worlds from metadata / JSON


def metadata_dir() -> Path:
    """The `metadata_libraries` folder of the installed `tdw` package, found without importing it
    (importing `tdw.librarian` needs `pkg_resources`, which new setuptools no longer ship)."""
    spec = importlib.util.find_spec("tdw")
    if spec is None or not spec.submodule_search_locations:
        raise Task2SimError(
            "the TDW asset metadata needs the tdw package, which is not installed", INSTALL_FIX
        )
    return Path(next(iter(spec.submodule_search_locations))) / "metadata_libraries"


def load_library(name: str) -> dict[str, dict[str, Any]]:
    """Records of one shipped metadata library (e.g. models_core.json), by name."""
    path = Path(name) if Path(name).is_absolute() else metadata_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))["records"]
    except FileNotFoundError:
        raise Task2SimError(
            f"TDW metadata library '{name}' not found at {path}",
            "use a library the tdw package ships: models_core.json, models_full.json, "
            "hdri_skyboxes.json, materials_low.json",
        ) from None


def model_from_record(record: dict[str, Any], system: str | None = None) -> TdwModel:
    """A `TdwModel` from a model-library record (unit scale as `TDWUtils.get_unit_scale`)."""
    bounds = record.get("bounds") or {}
    try:
        extent = max(
            bounds["top"]["y"] - bounds["bottom"]["y"],
            bounds["front"]["z"] - bounds["back"]["z"],
            bounds["right"]["x"] - bounds["left"]["x"],
        )
        unit = 1.0 / extent if extent > 0 else 1.0
        c = bounds["center"]
        center = (c["x"] * unit, c["y"] * unit, c["z"] * unit)
    except KeyError:
        unit, center = 1.0, (0.0, 0.5, 0.0)
    return TdwModel(
        name=record["name"],
        url=record["urls"][system or platform.system()],
        scale_factor=float(record.get("scale_factor", 1.0)),
        unit_scale=float(unit),
        center=(float(center[0]), float(center[1]), float(center[2])),
        category=record.get("wcategory", ""),
        substructure=tuple(
            (sub["name"], len(sub["materials"])) for sub in record.get("substructure", [])
        ),
    )


def skybox_from_record(record: dict[str, Any], system: str | None = None) -> TdwSkybox:
    return TdwSkybox(
        name=record["name"],
        url=record["urls"][system or platform.system()],
        exposure=float(record["exposure"]),
        initial_skybox_rotation=float(record["initial_skybox_rotation"]),
        sun_elevation=float(record["sun_elevation"]),
        sun_initial_angle=float(record["sun_initial_angle"]),
        sun_intensity=float(record["sun_intensity"]),
    )


def outdoor_skyboxes(records: dict[str, dict[str, Any]], system: str | None = None) -> list:
    """The paper's background bank: outdoor HDRIs with sun elevation >= 120, sorted by name,
    the canonical one (background off) first."""
    names = sorted(
        n
        for n, r in records.items()
        if r.get("location") != "interior" and r.get("sun_elevation", 0) >= MIN_SUN_ELEVATION
    )
    if CANONICAL_SKYBOX in names:
        names.remove(CANONICAL_SKYBOX)
        names.insert(0, CANONICAL_SKYBOX)
    return [skybox_from_record(records[n], system) for n in names]


def spread(names: list[str], count: int) -> list[str]:
    """`count` names evenly spaced over the sorted list: a fixed subset across material types."""
    names = sorted(names)
    if count >= len(names):
        return names
    return [names[(i * len(names)) // count] for i in range(count)]


def default_world(
    classes: int = 10,
    objects_per_class: int = 4,
    library: str = "models_core.json",
    materials: int = PAPER_MATERIALS,
    material_library: str = "materials_low.json",
    system: str | None = None,
) -> TdwWorld:
    """A deterministic world from the shipped metadata: the first `classes` wnids (sorted) that
    have `objects_per_class` usable models, their first models by name; outdoor skyboxes; an even
    spread of `materials` materials. `models_core.json` is public; `models_full.json` (the
    paper's) needs TDW's private bucket."""
    records = load_library(library)
    by_wnid: dict[str, list[str]] = {}
    for name, record in records.items():
        if not record.get("do_not_use", False) and record.get("wnid"):
            by_wnid.setdefault(record["wnid"], []).append(name)
    wnids = sorted(w for w, names in by_wnid.items() if len(names) >= objects_per_class)
    if len(wnids) < classes:
        raise Task2SimError(
            f"{library} has {len(wnids)} classes with >= {objects_per_class} models, "
            f"{classes} asked for",
            "ask for fewer classes or objects per class, or use models_full.json",
        )
    chosen = wnids[:classes]
    models = tuple(
        tuple(model_from_record(records[n], system) for n in sorted(by_wnid[w])[:objects_per_class])
        for w in chosen
    )
    material_records = load_library(material_library)
    return TdwWorld(
        classes=models,
        skyboxes=tuple(outdoor_skyboxes(load_library("hdri_skyboxes.json"), system)),
        materials=tuple(
            TdwMaterial(n, material_records[n]["urls"][system or platform.system()])
            for n in spread(list(material_records), materials)
        ),
        class_names=tuple(chosen),
    )


def world_from_json(path: str | Path, system: str | None = None) -> TdwWorld:
    """A user's world. Entries are full records (as `TdwWorld.to_json` writes) or bare names,
    which are looked up in the shipped metadata (`library`, `material_library` keys). Without
    `skyboxes` / `materials`, the default banks (outdoor HDRIs, 140 materials) are used."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise Task2SimError(
            f"cannot read the TDW world {path}: {error}", "give a JSON file (see TdwWorld.to_json)"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("classes"), dict):
        raise Task2SimError(
            f"the TDW world {path} has no 'classes' object", 'write {"classes": {name: [models]}}'
        )
    libraries: dict[str, dict[str, dict[str, Any]]] = {}

    def lookup(entry: Any, library: str, what: str) -> dict[str, Any] | None:
        if isinstance(entry, dict):
            return None
        if library not in libraries:
            libraries[library] = load_library(library)
        if entry not in libraries[library]:
            raise Task2SimError(
                f"unknown {what} '{entry}' in {path}: not in the TDW library {library}",
                f"check the name, or give its full record (name, url, ...) in {path.name}",
            )
        return libraries[library][entry]

    def model(entry: Any) -> TdwModel:
        record = lookup(entry, data.get("library", "models_core.json"), "model")
        if record is not None:
            return model_from_record(record, system)
        entry = dict(entry)
        entry["center"] = tuple(entry.get("center", (0.0, 0.5, 0.0)))
        entry["substructure"] = tuple(tuple(s) for s in entry.get("substructure", ()))
        return TdwModel(**entry)

    def skybox(entry: Any) -> TdwSkybox:
        record = lookup(entry, "hdri_skyboxes.json", "skybox")
        return skybox_from_record(record, system) if record is not None else TdwSkybox(**entry)

    def material(entry: Any) -> TdwMaterial:
        record = lookup(entry, data.get("material_library", "materials_low.json"), "material")
        if record is None:
            return TdwMaterial(**entry)
        return TdwMaterial(entry, record["urls"][system or platform.system()])

    def material_records() -> dict[str, dict[str, Any]]:
        name = data.get("material_library", "materials_low.json")
        if name not in libraries:
            libraries[name] = load_library(name)
        return libraries[name]

    if "skyboxes" in data:
        skyboxes = tuple(skybox(s) for s in data["skyboxes"])
    else:
        skyboxes = tuple(outdoor_skyboxes(load_library("hdri_skyboxes.json"), system))
    if "materials" in data:
        materials = tuple(material(m) for m in data["materials"])
    else:
        materials = tuple(material(n) for n in spread(list(material_records()), PAPER_MATERIALS))
    try:
        return TdwWorld(
            classes=tuple(tuple(model(m) for m in ms) for ms in data["classes"].values()),
            skyboxes=skyboxes,
            materials=materials,
            class_names=tuple(data["classes"]),
        )
    except TypeError as error:
        raise Task2SimError(
            f"a record in the TDW world {path} has wrong fields: {error}",
            "write records as TdwWorld.to_json does, or give bare library names",
        ) from None


def _model_json(model: TdwModel) -> dict[str, Any]:
    out = vars(model).copy()
    out["center"] = list(model.center)
    out["substructure"] = [list(s) for s in model.substructure]
    return out


# ---------------------------------------------------------------- geometry


Quaternion = tuple[float, float, float, float]  # x, y, z, w (Unity's order)


def _axis_angle(axis: tuple[float, float, float], degrees: float) -> Quaternion:
    half = math.radians(degrees) / 2
    s = math.sin(half)
    return (axis[0] * s, axis[1] * s, axis[2] * s, math.cos(half))


def _mul(a: Quaternion, b: Quaternion) -> Quaternion:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def euler_quaternion(pitch: float, yaw: float, roll: float) -> Quaternion:
    """Unity's `Quaternion.Euler(pitch, yaw, roll)`: roll about z, then pitch about x, then yaw
    about y, the same order as the embedded renderer's object rotation."""
    q = _axis_angle((0.0, 1.0, 0.0), yaw)
    q = _mul(q, _axis_angle((1.0, 0.0, 0.0), pitch))
    return _mul(q, _axis_angle((0.0, 0.0, 1.0), roll))


def rotate(q: Quaternion, v: tuple[float, float, float]) -> tuple[float, float, float]:
    x, y, z, _ = _mul(_mul(q, (v[0], v[1], v[2], 0.0)), (-q[0], -q[1], -q[2], q[3]))
    return (x, y, z)


def _vec(v: tuple[float, float, float]) -> dict[str, float]:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def _quat(q: Quaternion) -> dict[str, float]:
    return {"x": float(q[0]), "y": float(q[1]), "z": float(q[2]), "w": float(q[3])}


def camera_position(scene: SceneSpec) -> tuple[float, float, float]:
    """Camera at `distance` radii from the object, above its front, turned by the view."""
    e = math.radians(CAMERA_ELEVATION_DEGREES)
    d = scene.distance * METRES_PER_UNIT
    offset = rotate(_view(scene), (0.0, d * math.sin(e), d * math.cos(e)))
    return (TARGET[0] + offset[0], TARGET[1] + offset[1], TARGET[2] + offset[2])


def _view(scene: SceneSpec) -> Quaternion:
    return euler_quaternion(scene.view_pitch, scene.view_yaw, 0.0)


def object_id(scene: SceneSpec) -> int:
    """A fresh TDW object id per image (ids must be unique while objects live)."""
    return scene.index + 1


# ---------------------------------------------------------------- commands


def setup_commands(size: int, world: TdwWorld | None = None) -> list[Command]:
    """First-frame commands: empty scene, one camera, `_img` pass only (PNG), quality and the
    official generator's post-processing. Images are sent only when a frame asks for them."""
    commands: list[Command] = [
        {"$type": "load_scene", "scene_name": SCENE_NAME},
        {"$type": "create_avatar", "type": AVATAR_TYPE, "id": AVATAR_ID},
        {"$type": "simulate_physics", "value": False},
        {"$type": "set_img_pass_encoding", "value": True},
        {"$type": "set_pass_masks", "avatar_id": AVATAR_ID, "pass_masks": ["_img"]},
        {"$type": "send_images", "frequency": "never"},
        {"$type": "set_screen_size", "width": size, "height": size},
        {"$type": "set_render_quality", "render_quality": 5},
        {
            "$type": "set_field_of_view",
            "avatar_id": AVATAR_ID,
            "field_of_view": FIELD_OF_VIEW_DEGREES,
        },
        {"$type": "set_camera_clipping_planes", "avatar_id": AVATAR_ID, "near": 0.01, "far": 160},
        {"$type": "set_anti_aliasing", "avatar_id": AVATAR_ID, "mode": "subpixel"},
        {"$type": "set_vignette", "enabled": False},
        {"$type": "set_post_exposure", "post_exposure": 0.6},
        {"$type": "set_contrast", "contrast": -20},
        {"$type": "set_saturation", "saturation": 10},
        {"$type": "set_screen_space_reflections", "enabled": False},
        {"$type": "set_shadow_strength", "strength": 1.0},
    ]
    if world is not None and world.needs_signed_urls:
        commands.insert(0, {"$type": "use_pre_signed_urls", "value": True})
    return commands


def scene_commands(
    scene: SceneSpec, world: TdwWorld, previous: SceneSpec | None = None
) -> list[Command]:
    """The commands of one image, given the image sent before it on the same build (None for the
    first). Light rotation, colour, focus and aperture are set absolutely every frame; the light
    intensity can only be adjusted by a delta, from the skybox's sun intensity when the skybox is
    (re)added this frame, otherwise from the previous image's intensity."""
    model = _model(scene, world)
    oid = object_id(scene)
    q_object = _mul(_view(scene), euler_quaternion(*scene.rotation))
    pivot = (TARGET[0] - model.center[0], TARGET[1] - model.center[1], TARGET[2] - model.center[2])
    s = model.unit_scale
    commands: list[Command] = []
    if previous is not None:
        commands.append({"$type": "destroy_object", "id": object_id(previous)})
    commands += [
        {
            "$type": "add_object",
            "name": model.name,
            "url": model.url,
            "scale_factor": model.scale_factor,
            "position": _vec(pivot),
            "rotation": {"x": 0.0, "y": 0.0, "z": 0.0},
            "category": model.category,
            "id": oid,
        },
        {"$type": "scale_object", "id": oid, "scale_factor": {"x": s, "y": s, "z": s}},
        {"$type": "rotate_object_to", "id": oid, "rotation": _quat(q_object), "use_centroid": True},
    ]
    new_skybox = previous is None or previous.background != scene.background
    if new_skybox:
        sky = _skybox(scene, world)
        commands.append(
            {
                "$type": "add_hdri_skybox",
                "name": sky.name,
                "url": sky.url,
                "exposure": sky.exposure,
                "initial_skybox_rotation": sky.initial_skybox_rotation,
                "sun_elevation": sky.sun_elevation,
                "sun_initial_angle": sky.sun_initial_angle,
                "sun_intensity": sky.sun_intensity,
            }
        )
    # Offset from the skybox's sun intensity that the build already has.
    applied = 0.0
    if previous is not None and not new_skybox:
        applied = previous.light_intensity - BASE_LIGHT_INTENSITY
    r, g, b = scene.light_color
    commands += [
        {
            "$type": "teleport_avatar_to",
            "avatar_id": AVATAR_ID,
            "position": _vec(camera_position(scene)),
        },
        {"$type": "look_at_position", "avatar_id": AVATAR_ID, "position": _vec(TARGET)},
        {"$type": "reset_directional_light_rotation", "index": 0},
        {
            "$type": "rotate_directional_light_by",
            "angle": scene.light_yaw,
            "axis": "yaw",
            "index": 0,
        },
        {
            "$type": "rotate_directional_light_by",
            "angle": scene.light_pitch,
            "axis": "pitch",
            "index": 0,
        },
        {
            "$type": "adjust_directional_light_intensity_by",
            "intensity": scene.light_intensity - BASE_LIGHT_INTENSITY - applied,
            "index": 0,
        },
        {
            "$type": "set_directional_light_color",
            "color": {"r": r, "g": g, "b": b, "a": 1.0},
            "index": 0,
        },
        {"$type": "set_focus_distance", "focus_distance": scene.focus_distance * METRES_PER_UNIT},
        {"$type": "set_aperture", "aperture": scene.aperture},
    ]
    commands += material_commands(scene, world, model, oid)
    commands.append({"$type": "send_images", "frequency": "once", "ids": [AVATAR_ID]})
    return commands


def material_commands(
    scene: SceneSpec, world: TdwWorld, model: TdwModel, oid: int
) -> list[Command]:
    """One material on every material slot of every sub-object; none for the object's own."""
    if scene.material < 0:
        return []
    if not 0 <= scene.material < len(world.materials):
        raise Task2SimError(
            f"scene {scene.index} asks for material {scene.material}; the TDW world has "
            f"{len(world.materials)}",
            "build the set layout from the same TDW world (materials = len(world.materials))",
        )
    if not model.substructure:
        raise Task2SimError(
            f"model '{model.name}' has no substructure, so its materials cannot be set",
            "give its substructure ([sub-object name, material slots] pairs) in the world JSON",
        )
    mat = world.materials[scene.material]
    commands: list[Command] = [{"$type": "add_material", "name": mat.name, "url": mat.url}]
    for sub_object, slots in model.substructure:
        commands += [
            {
                "$type": "set_visual_material",
                "id": oid,
                "material_name": mat.name,
                "object_name": sub_object,
                "material_index": i,
            }
            for i in range(slots)
        ]
    return commands


def _model(scene: SceneSpec, world: TdwWorld) -> TdwModel:
    try:
        return world.classes[scene.class_index][scene.object_index]
    except IndexError:
        raise Task2SimError(
            f"scene {scene.index} asks for class {scene.class_index} object "
            f"{scene.object_index}; the TDW world has {len(world.classes)} classes",
            "build the set layout from the same TDW world (classes, objects per class)",
        ) from None


def _skybox(scene: SceneSpec, world: TdwWorld) -> TdwSkybox:
    if not 0 <= scene.background < len(world.skyboxes):
        raise Task2SimError(
            f"scene {scene.index} asks for background {scene.background}; the TDW world has "
            f"{len(world.skyboxes)} skyboxes",
            "build the set layout from the same TDW world (backgrounds = len(world.skyboxes))",
        )
    return world.skyboxes[scene.background]
