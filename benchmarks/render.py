"""Rendering throughput: the embedded renderer against a bare moderngl loop, and whole sets.

Reference: a bare loop in the same process that draws the same meshes, textured and Blinn-Phong
shaded, over an equirect background and reads each frame back: the set-up the renderer was chosen
on, without our materials, focus blur, anti-aliasing, scene sampling or set writing, so the ratio
prices those features. Both run with one llvmpipe thread, alternating, best of `--rounds`, so a
busy machine slows both alike. Then whole sets are rendered with `render_set` on every core (what
the acceptance targets count: config 255 >= 400 img/s at 64 px, >= 100 at 224 px), and compared
per core with the bare `render()` loop, which prices the set machinery (scene sampling, spawned
workers, shard writing).

    scripts/run.sh python benchmarks/render.py [--json results/benchmarks/render.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LP_NUM_THREADS", "1")

import moderngl
import numpy as np

from task2sim.params import load_params
from task2sim.render.embedded import (
    FAR,
    FOV_Y_DEGREES,
    NEAR,
    EmbeddedRenderer,
    camera_pose,
    object_rotation,
    perspective,
)
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import default_workers, render_set
from task2sim.render.world import World, build_world
from task2sim.sim.scene import SceneSpec, sample_scene

BARE_VERTEX = """
#version 330
in vec3 in_position; in vec3 in_normal; in vec3 in_color;
uniform mat4 u_mvp; uniform mat3 u_rotation;
out vec3 v_normal; out vec3 v_color; out vec2 v_uv;
void main() {
    v_normal = u_rotation * in_normal; v_color = in_color; v_uv = in_position.xy * 0.5 + 0.5;
    gl_Position = u_mvp * vec4(in_position, 1.0);
}
"""
BARE_FRAGMENT = """
#version 330
in vec3 v_normal; in vec3 v_color; in vec2 v_uv; out vec4 f_color;
uniform vec3 u_light; uniform vec3 u_view; uniform sampler2D u_texture;
void main() {
    vec3 n = normalize(v_normal);
    float d = max(dot(n, u_light), 0.0);
    float s = pow(max(dot(n, normalize(u_light + u_view)), 0.0), 32.0);
    vec3 albedo = v_color * texture(u_texture, v_uv).rgb;
    f_color = vec4(albedo * (0.3 + d) + 0.3 * s, 1.0);
}
"""
BARE_BACKGROUND = """
#version 330
in vec2 v_uv; out vec4 f_color;
uniform sampler2D u_env; uniform mat3 u_rot;
void main() {
    vec3 d = u_rot * normalize(vec3(v_uv * 2.0 - 1.0, -1.5));
    f_color = texture(u_env, vec2(atan(d.x, -d.z) / 6.2831853 + 0.5, acos(d.y) / 3.14159265));
}
"""
FULLSCREEN = """
#version 330
out vec2 v_uv;
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv = p; gl_Position = vec4(p * 2.0 - 1.0, 1.0, 1.0);
}
"""


class BareLoop:
    """The reference: the same meshes, one plain shader, an equirect background, a readback."""

    def __init__(self, world: World, size: int) -> None:
        self.size = size
        ctx = self.ctx = moderngl.create_standalone_context(backend="egl")
        self.prog = ctx.program(vertex_shader=BARE_VERTEX, fragment_shader=BARE_FRAGMENT)
        self.bg_prog = ctx.program(vertex_shader=FULLSCREEN, fragment_shader=BARE_BACKGROUND)
        self.bg = ctx.vertex_array(self.bg_prog, [])
        env = world.backgrounds[0]
        self.env = ctx.texture((env.shape[1], env.shape[0]), 3, np.ascontiguousarray(env).tobytes())
        self.vaos = [
            [
                ctx.vertex_array(
                    self.prog,
                    [
                        (
                            ctx.buffer(np.hstack([o.positions, o.normals, o.colors]).astype("f4")),
                            "3f 3f 3f",
                            "in_position",
                            "in_normal",
                            "in_color",
                        )
                    ],
                    index_buffer=ctx.buffer(o.faces.astype("u4")),
                    index_element_size=4,
                )
                for o in c.objects
            ]
            for c in world.classes
        ]
        texture = np.random.default_rng(0).integers(128, 256, (256, 256, 3), dtype=np.uint8)
        self.texture = ctx.texture((256, 256), 3, texture.tobytes())
        self.prog["u_texture"].value = 1
        self.fbo = ctx.simple_framebuffer((size, size), components=3)
        self.projection = perspective(FOV_Y_DEGREES, NEAR, FAR)
        self.bg_prog["u_rot"].write(np.eye(3, dtype="f4").tobytes())

    def render(self, scene: SceneSpec) -> np.ndarray:
        with self.ctx:
            return self._render(scene)

    def _render(self, scene: SceneSpec) -> np.ndarray:
        self._draw_scene(scene)
        return self._read(self.fbo)

    def _read(self, fbo: moderngl.Framebuffer) -> np.ndarray:
        data = fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.size, self.size, 3)[::-1]

    def _draw_scene(self, scene: SceneSpec) -> None:
        eye, cam = camera_pose(scene.distance)
        view = np.eye(4)
        view[:3, :3] = cam.T
        view[:3, 3] = -cam.T @ eye
        rotation = object_rotation(*scene.rotation)
        model = np.eye(4)
        model[:3, :3] = rotation
        self.fbo.use()
        self.fbo.clear(depth=1.0)
        self.ctx.disable(moderngl.DEPTH_TEST)
        self.env.use(0)
        self.texture.use(1)
        self.bg.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.prog["u_mvp"].write((self.projection @ view @ model).astype("f4").T.tobytes())
        self.prog["u_rotation"].write(rotation.astype("f4").T.tobytes())
        self.prog["u_light"].value = (0.45, 0.8, 0.4)
        self.prog["u_view"].value = tuple(eye / np.linalg.norm(eye))
        self.vaos[scene.class_index][scene.object_index].render(moderngl.TRIANGLES)

    def close(self) -> None:
        self.ctx.release()


def rate(render, scenes: list[SceneSpec]) -> float:
    """Images per second of `render` over `scenes`, after one warm-up frame."""
    render(scenes[0])
    start = time.perf_counter()
    for scene in scenes:
        render(scene)
    return len(scenes) / (time.perf_counter() - start)


def per_process(world: World, seed: int, size: int, config: int, images: int, rounds: int):
    layout = world.layout(images)
    scenes = [sample_scene(config, layout, seed, i) for i in range(images)]
    ours = EmbeddedRenderer(
        [c.objects for c in world.classes], world.backgrounds, world.materials, size
    )
    bare = BareLoop(world, size)
    best_ours = best_bare = 0.0
    try:
        for _ in range(rounds):
            best_bare = max(best_bare, rate(bare.render, scenes))
            best_ours = max(best_ours, rate(ours.render, scenes))
    finally:
        ours.close()
        bare.close()
    return best_ours, best_bare


def whole_set(sim, size: int, config: int, images: int, workers: int) -> float:
    job = RenderJob(
        config=config,
        sim=sim,
        images=images,
        size=size,
        shard_size=math.ceil(images / (2 * workers)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        render_set(job, Path(tmp) / "set", workers=workers, progress=False)
        return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sim = load_params(args.params).sim
    world = build_world(sim)
    triangles = [len(o.faces) for c in world.classes for o in c.objects]
    workers = default_workers()
    print(
        f"world: {len(world.classes)} classes, {len(triangles)} objects, "
        f"{np.mean(triangles):.0f} triangles on average; {workers} cores"
    )
    rows = []
    for size, images, set_images in ((64, 1000, 4000), (224, 200, 1000)):
        for config in (0, 255):
            ours, bare = per_process(world, sim.seed, size, config, images, args.rounds)
            full = whole_set(sim, size, config, set_images, workers)
            rows.append(
                {
                    "size": size,
                    "config": config,
                    "embedded_img_s": round(ours, 1),
                    "bare_loop_img_s": round(bare, 1),
                    "ratio": round(ours / bare, 3),
                    "set_img_s_all_cores": round(full, 1),
                    "workers": workers,
                    # whole-set writing per core vs the bare render() loop: framework overhead
                    "set_efficiency": round(full / (workers * ours), 3),
                }
            )
            r = rows[-1]
            print(
                f"{size:>4} px  c{config:03d}  embedded {r['embedded_img_s']:7.1f} img/s  "
                f"bare loop {r['bare_loop_img_s']:7.1f} img/s  ratio {r['ratio']:.2f}  "
                f"whole set on {workers} workers {r['set_img_s_all_cores']:7.1f} img/s "
                f"(per core {r['set_efficiency']:.2f}x the render loop)"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"triangles_mean": float(np.mean(triangles)), "rows": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
