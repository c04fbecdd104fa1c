"""The tdw backend: scene specs -> TDW commands (no tdw needed), worlds, and the whole loop through
a loopback stand-in build (needs tdw + pyzmq, installed by the lock)."""

from __future__ import annotations

import importlib.util
import json
import math
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from task2sim.errors import Task2SimError
from task2sim.render import tdw_commands
from task2sim.render.tdw_commands import (
    METRES_PER_UNIT,
    TARGET,
    TdwMaterial,
    TdwModel,
    TdwSkybox,
    TdwWorld,
    camera_position,
    scene_commands,
    setup_commands,
    world_from_json,
)
from task2sim.sim.config import PARAM_NAMES
from task2sim.sim.scene import BASE_LIGHT_COLOR, BASE_LIGHT_INTENSITY, SceneSpec, sample_scene

HAS_TDW = all(importlib.util.find_spec(m) is not None for m in ("tdw", "zmq"))
needs_tdw = pytest.mark.skipif(
    not HAS_TDW, reason="tdw and pyzmq are not installed (pip install -e '.[tdw]')"
)
SKYBOX_FIELDS = {
    "name",
    "url",
    "exposure",
    "initial_skybox_rotation",
    "sun_elevation",
    "sun_initial_angle",
    "sun_intensity",
}
# What switching each parameter on may change: {command type: fields}.
CHANGES: dict[str, dict[str, set[str]]] = {
    "pose_rot": {"rotate_object_to": {"rotation"}},
    # The focus follows the object while blur is off, so it moves with the distance.
    "pose_scale": {"teleport_avatar_to": {"position"}, "set_focus_distance": {"focus_distance"}},
    "lighting_intensity": {"adjust_directional_light_intensity_by": {"intensity"}},
    "lighting_color": {"set_directional_light_color": {"color"}},
    "lighting_dir": {"rotate_directional_light_by": {"angle"}},
    "blur": {"set_focus_distance": {"focus_distance"}, "set_aperture": {"aperture"}},
    # The camera + object rig turns with the view; the skybox changes.
    "backgr": {
        "add_hdri_skybox": SKYBOX_FIELDS,
        "teleport_avatar_to": {"position"},
        "rotate_object_to": {"rotation"},
    },
}
MATERIAL_COMMANDS = {"add_material", "set_visual_material"}


def fake_world(materials: int = 4, substructure: bool = True) -> TdwWorld:
    def model(c: int, o: int) -> TdwModel:
        return TdwModel(
            name=f"m{c}{o}",
            url=f"https://assets.invalid/models/m{c}{o}",
            scale_factor=1.0,
            unit_scale=2.0,
            center=(0.0, 0.25, 0.0),
            category=f"class{c}",
            substructure=(("body", 2), ("lid", 1)) if substructure else (),
        )

    return TdwWorld(
        classes=tuple(tuple(model(c, o) for o in range(2)) for c in range(2)),
        skyboxes=tuple(
            TdwSkybox(f"sky{i}", f"https://assets.invalid/sky{i}", 1.0, 10.0 * i, 130.0, 5.0, 0.8)
            for i in range(3)
        ),
        materials=tuple(
            TdwMaterial(f"mat{i}", f"https://assets.invalid/mat{i}") for i in range(materials)
        ),
        class_names=("a", "b"),
    )


WORLD = fake_world()
LAYOUT = WORLD.layout(48)


def commands(config: int, index: int, world: TdwWorld = WORLD) -> list[dict[str, Any]]:
    return scene_commands(sample_scene(config, world.layout(48), 0, index), world)


def changed_fields(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, set[str]]:
    """{command type: fields whose values differ}; the two lists must have the same shape."""
    assert [c["$type"] for c in a] == [c["$type"] for c in b]
    out: dict[str, set[str]] = {}
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        fields = {k for k in x if x[k] != y[k]}
        if fields:
            out.setdefault(x["$type"], set()).update(fields)
    return out


@pytest.mark.parametrize("name", [n for n in PARAM_NAMES if n != "materials"])
def test_each_parameter_changes_only_its_commands(name: str) -> None:
    config = 1 << (7 - PARAM_NAMES.index(name))
    seen: dict[str, set[str]] = {}
    for index in range(12):
        diff = changed_fields(commands(0, index), commands(config, index))
        for kind, fields in diff.items():
            assert fields <= CHANGES[name].get(kind, set()), (name, kind, fields)
            seen.setdefault(kind, set()).update(fields)
    for kind, fields in CHANGES[name].items():
        assert fields & seen.get(kind, set()), f"{name} never changed {kind}"


def test_materials_add_only_material_commands() -> None:
    for index in range(6):
        off, on = commands(0, index), commands(1, index)
        assert [c for c in on if c["$type"] not in MATERIAL_COMMANDS] == off
        extra = [c for c in on if c["$type"] in MATERIAL_COMMANDS]
        scene = sample_scene(1, LAYOUT, 0, index)
        name = WORLD.materials[scene.material].name
        assert extra[0] == {
            "$type": "add_material",
            "name": name,
            "url": f"https://assets.invalid/{name}",
        }
        slots = [(c["object_name"], c["material_index"]) for c in extra[1:]]
        assert slots == [("body", 0), ("body", 1), ("lid", 0)]
        assert {c["material_name"] for c in extra[1:]} == {name}
        assert on[-1]["$type"] == "send_images"
        assert not any(c["$type"] in MATERIAL_COMMANDS for c in off)


def test_canonical_scene_values() -> None:
    scene = sample_scene(0, LAYOUT, 0, 3)
    by_type = {c["$type"]: c for c in scene_commands(scene, WORLD)}
    assert by_type["rotate_object_to"]["rotation"] == {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}
    assert by_type["set_directional_light_color"]["color"] == dict(
        zip("rgba", (*BASE_LIGHT_COLOR, 1.0), strict=True)
    )
    assert by_type["adjust_directional_light_intensity_by"]["intensity"] == 0.0
    assert by_type["set_aperture"]["aperture"] == 70.0
    assert by_type["add_hdri_skybox"]["name"] == "sky0"
    assert by_type["add_object"]["name"] == "m11" and by_type["add_object"]["id"] == 4
    assert by_type["look_at_position"]["position"] == dict(zip("xyz", TARGET, strict=True))
    angles = [
        c["angle"] for c in scene_commands(scene, WORLD) if c["$type"].startswith("rotate_dir")
    ]
    assert angles == [0.0, 0.0]
    assert by_type["send_images"] == {"$type": "send_images", "frequency": "once", "ids": ["a"]}


def test_camera_distance_follows_scene_and_view_turns_the_rig() -> None:
    for config in (64, 66):  # distance on; distance and background on
        for index in range(8):
            scene = sample_scene(config, LAYOUT, 0, index)
            offset = [p - t for p, t in zip(camera_position(scene), TARGET, strict=True)]
            assert math.dist(offset, (0, 0, 0)) == pytest.approx(scene.distance * METRES_PER_UNIT)
    # With the background on, the object turns with the camera: the camera's position in the
    # object's frame is the same as without it.
    plain, turned = sample_scene(128, LAYOUT, 0, 5), sample_scene(130, LAYOUT, 0, 5)
    assert (turned.view_yaw, turned.view_pitch) != (0.0, 0.0)

    def in_object_frame(scene: SceneSpec) -> tuple[float, float, float]:
        rot = next(c for c in scene_commands(scene, WORLD) if c["$type"] == "rotate_object_to")
        q = rot["rotation"]
        inverse = (-q["x"], -q["y"], -q["z"], q["w"])
        offset = [p - t for p, t in zip(camera_position(scene), TARGET, strict=True)]
        return tdw_commands.rotate(inverse, (offset[0], offset[1], offset[2]))

    assert in_object_frame(turned) == pytest.approx(in_object_frame(plain))


@pytest.mark.parametrize("config", [32, 34, 255])
def test_light_intensity_deltas_add_up_from_each_skybox(config: int) -> None:
    """The build only adjusts intensity by deltas: replayed, they give each image's offset."""
    previous, applied = None, 0.0
    for index in range(24):
        scene = sample_scene(config, LAYOUT, 0, index)
        for command in scene_commands(scene, WORLD, previous):
            if command["$type"] == "add_hdri_skybox":
                applied = 0.0  # a new skybox brings its own sun intensity
            elif command["$type"] == "adjust_directional_light_intensity_by":
                applied += command["intensity"]
        assert applied == pytest.approx(scene.light_intensity - BASE_LIGHT_INTENSITY)
        previous = scene


def test_next_image_replaces_the_object_and_keeps_the_skybox() -> None:
    first, second = (sample_scene(0, LAYOUT, 0, i) for i in (0, 1))
    first_commands = scene_commands(first, WORLD)
    assert first_commands[0]["$type"] == "add_object"
    second_commands = scene_commands(second, WORLD, first)
    assert second_commands[0] == {"$type": "destroy_object", "id": 1}
    assert not any(c["$type"] == "add_hdri_skybox" for c in second_commands)


def test_setup_commands() -> None:
    setup = setup_commands(96, WORLD)
    by_type = {c["$type"]: c for c in setup}
    assert setup[0] == {"$type": "load_scene", "scene_name": "ProcGenScene"}
    assert by_type["create_avatar"] == {
        "$type": "create_avatar",
        "type": "A_Img_Caps_Kinematic",
        "id": "a",
    }
    assert by_type["set_pass_masks"]["pass_masks"] == ["_img"]
    assert by_type["set_screen_size"] == {"$type": "set_screen_size", "width": 96, "height": 96}
    assert by_type["set_render_quality"]["render_quality"] == 5
    assert by_type["set_img_pass_encoding"]["value"] is True  # png: lossless
    assert by_type["send_images"]["frequency"] == "never"
    assert "use_pre_signed_urls" not in by_type
    private = TdwWorld(
        classes=((TdwModel("x", "https://tdw-private.s3.amazonaws.com/models/linux/x"),),),
        skyboxes=WORLD.skyboxes,
        materials=(),
    )
    assert setup_commands(96, private)[0] == {"$type": "use_pre_signed_urls", "value": True}


def test_errors_for_scenes_beyond_the_world() -> None:
    small = TdwWorld(classes=WORLD.classes[:1], skyboxes=WORLD.skyboxes, materials=WORLD.materials)
    with pytest.raises(Task2SimError, match="class 1"):
        scene_commands(sample_scene(0, LAYOUT, 0, 1), small)
    no_materials = fake_world(materials=0)
    with pytest.raises(Task2SimError, match="material"):
        scene_commands(sample_scene(1, no_materials.layout(8), 0, 0), no_materials)
    bare = fake_world(substructure=False)
    with pytest.raises(Task2SimError, match="substructure"):
        scene_commands(sample_scene(1, LAYOUT, 0, 0), bare)
    with pytest.raises(Task2SimError, match="no models"):
        TdwWorld(classes=(WORLD.classes[0], ()), skyboxes=WORLD.skyboxes, materials=())


def test_world_json_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(WORLD.to_json()))
    assert world_from_json(path) == WORLD
    banks = {"skyboxes": WORLD.to_json()["skyboxes"], "materials": []}
    path.write_text(json.dumps({"classes": {"empty": []}, **banks}))
    with pytest.raises(Task2SimError, match="class empty of the TDW world has no models"):
        world_from_json(path)
    path.write_text(json.dumps({"models": []}))
    with pytest.raises(Task2SimError, match="no 'classes'"):
        world_from_json(path)
    path.write_text(json.dumps({"classes": {"a": [{"name": "x"}]}, **banks}))
    with pytest.raises(Task2SimError, match="wrong fields"):
        world_from_json(path)


def test_metadata_needs_tdw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tdw_commands.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(Task2SimError, match=r"pip install -e '\.\[tdw\]'"):
        tdw_commands.default_world()


@needs_tdw
def test_default_world_from_shipped_metadata() -> None:
    world = tdw_commands.default_world(classes=10, objects_per_class=4, system="Linux")
    assert world == tdw_commands.default_world(classes=10, objects_per_class=4, system="Linux")
    assert list(world.class_names) == sorted(world.class_names) and len(world.classes) == 10
    assert all(len(models) == 4 for models in world.classes)
    assert all(m.url.startswith("https://tdw-public") for ms in world.classes for m in ms)
    assert not world.needs_signed_urls
    assert world.skyboxes[0].name == tdw_commands.CANONICAL_SKYBOX
    assert len(world.skyboxes) == 43 and min(s.sun_elevation for s in world.skyboxes) >= 120
    assert len({m.name for m in world.materials}) == 140
    layout = world.layout(40)
    for index in range(40):
        scene_commands(sample_scene(255, layout, 0, index), world)
    with pytest.raises(Task2SimError, match="classes with >= 40 models"):
        tdw_commands.default_world(classes=50, objects_per_class=40)


@needs_tdw
def test_world_json_from_library_names(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(
        json.dumps(
            {
                "classes": {"bowl": ["round_bowl_large_padauk"]},
                "skyboxes": ["fish_hoek_beach_4k"],
                "materials": ["wood_ash"],
            }
        )
    )
    world = world_from_json(path, system="Linux")
    assert world.classes[0][0].url.endswith("/linux/2019.2/round_bowl_large_padauk")
    assert world.classes[0][0].substructure and world.skyboxes[0].sun_intensity > 0
    assert world.materials[0].url.endswith("/wood_ash")
    path.write_text(json.dumps({"classes": {"bowl": ["round_bowl_large_padauk"]}}))
    defaults = world_from_json(path)
    assert (len(defaults.skyboxes), len(defaults.materials)) == (43, 140)
    path.write_text(json.dumps({"classes": {"bowl": ["no_such_model"]}}))
    with pytest.raises(Task2SimError, match="unknown model 'no_such_model'"):
        world_from_json(path)


# ---------------------------------------------------------------- the backend


def test_backend_without_tdw_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from task2sim.render import tdw_backend

    tdw_backend.import_tdw.cache_clear()
    monkeypatch.setitem(__import__("sys").modules, "tdw.controller", None)
    try:
        with pytest.raises(Task2SimError, match=r"pip install -e '\.\[tdw\]'"):
            tdw_backend.TdwBackend(WORLD, 32)
    finally:
        tdw_backend.import_tdw.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_tdw
def test_backend_without_a_build_fails_fast() -> None:
    from task2sim.render.tdw_backend import TdwBackend

    port = free_port()
    backend = TdwBackend(WORLD, 32, port=port, connect_timeout_s=0.2)
    start = time.monotonic()
    with pytest.raises(Task2SimError, match=rf"\./TDW\.x86_64 -port={port}"):
        backend.render(sample_scene(0, LAYOUT, 0, 0))
    assert time.monotonic() - start < 5
    backend.close()


@needs_tdw
def test_backend_port_in_use() -> None:
    from task2sim.render.tdw_backend import TdwBackend

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        backend = TdwBackend(WORLD, 32, port=taken.getsockname()[1], connect_timeout_s=0.2)
        with pytest.raises(Task2SimError, match="cannot listen"):
            backend.render(sample_scene(0, LAYOUT, 0, 0))


@needs_tdw
def test_backend_renders_through_a_standin_build() -> None:
    from task2sim.render.tdw_backend import TdwBackend
    from tdw_standin import StandInBuild, light_pixel

    port = free_port()
    build = StandInBuild(port).start()
    scenes = [sample_scene(16 + 1, LAYOUT, 0, i) for i in range(4)]  # light colour + materials
    try:
        with TdwBackend(WORLD, 24, port=port, connect_timeout_s=5, reply_timeout_s=5) as backend:
            images = [backend.render(scene) for scene in scenes]
            assert backend.build_version == "1.13.0"
    finally:
        build.stop()
    assert build.finished
    for scene, image in zip(scenes, images, strict=True):
        assert image.shape == (24, 24, 3) and image.dtype.name == "uint8"
        expected = light_pixel(dict(zip("rgb", scene.light_color, strict=True)))
        assert (image == expected).all()
    handshake, setup, *frames, last = build.received
    assert [c["$type"] for c in handshake] == ["set_error_handling", "send_version"]
    assert setup == setup_commands(24, WORLD)
    previous = None
    for scene, frame in zip(scenes, frames, strict=True):
        assert frame == scene_commands(scene, WORLD, previous)
        previous = scene
    assert last == [{"$type": "terminate"}]


@needs_tdw
def test_backend_times_out_on_a_hung_build() -> None:
    from task2sim.render.tdw_backend import TdwBackend
    from tdw_standin import StandInBuild

    port = free_port()
    build = StandInBuild(port, answer=False).start()
    try:
        backend = TdwBackend(WORLD, 24, port=port, connect_timeout_s=5, reply_timeout_s=0.3)
        with pytest.raises(Task2SimError, match=r"did not answer within 0\.3 s"):
            backend.render(sample_scene(0, LAYOUT, 0, 0))
        backend.close()
    finally:
        build.stop()


@needs_tdw
def test_render_set_with_the_tdw_backend_writes_shards(tmp_path: Path) -> None:
    """`render.backend: tdw` through the set writer: a world JSON, one build, packed shards."""
    from task2sim.datasets.image_set import load_image_set
    from task2sim.params import SimParams
    from task2sim.render.job import RenderJob
    from task2sim.render.set_writer import render_set
    from tdw_standin import StandInBuild, light_pixel

    world_file = tmp_path / "world.json"
    world_file.write_text(json.dumps(WORLD.to_json()))
    port = free_port()
    build = StandInBuild(port).start()
    job = RenderJob(
        config=16,  # light colour on: the stand-in paints each image in the light's colour
        sim=SimParams(),
        images=6,
        size=16,
        shard_size=4,
        backend="tdw",
        tdw_port=port,
        tdw_world=str(world_file),
    )
    try:
        meta = render_set(job, tmp_path / "set", workers=2, progress=False)
    finally:
        build.stop()
    images, labels = load_image_set(tmp_path / "set").arrays()
    assert meta["shards"] == [4, 2] and images.shape == (6, 16, 16, 3)
    layout = WORLD.layout(6)
    for index, image in enumerate(images):
        scene = sample_scene(16, layout, 0, index)
        assert labels[index] == scene.class_index
        assert (image == light_pixel(dict(zip("rgb", scene.light_color, strict=True)))).all()
