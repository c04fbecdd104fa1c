"""Where the embedded renderer's time goes, pass by pass, against the bare loop of `render.py`.

The same scenes are drawn five ways in one process, alternating, best of `--rounds`: the full
renderer; without its post passes (focus blur gather and composite, anti-aliasing: the scene
framebuffer is read back instead); without those and without the background pass; the bare loop;
and the bare loop drawing into a texture that one pass-through full-screen pass copies to the
read-back target. That last one is the floor of any renderer with a post-processing pass (focus
blur, anti-aliasing) on llvmpipe, so it bounds the ratio such a renderer can reach.

    scripts/run.sh python benchmarks/render_breakdown.py [--sizes 64 224] [--configs 0 255]
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager

os.environ.setdefault("LP_NUM_THREADS", "1")

import moderngl
import numpy as np

from render import FULLSCREEN, BareLoop, rate
from task2sim.params import load_params
from task2sim.render.embedded import EmbeddedRenderer
from task2sim.render.world import build_world
from task2sim.sim.scene import SceneSpec, sample_scene

COPY_FRAGMENT = """
#version 330
in vec2 v_uv; out vec4 f_color; uniform sampler2D u_scene;
void main() { f_color = vec4(texture(u_scene, v_uv).rgb, 1.0); }
"""


class BareLoopWithCopyPass(BareLoop):
    """The bare loop, drawn into a texture, then copied by one full-screen pass and read back."""

    def __init__(self, world, size: int) -> None:
        super().__init__(world, size)
        ctx = self.ctx
        self.scene = ctx.texture((size, size), 4)
        self.scene_fbo = ctx.framebuffer([self.scene], ctx.depth_renderbuffer((size, size)))
        self.out_fbo = ctx.framebuffer([ctx.renderbuffer((size, size), 3)])
        copy = ctx.program(vertex_shader=FULLSCREEN, fragment_shader=COPY_FRAGMENT)
        copy["u_scene"].value = 2
        self.copy = ctx.vertex_array(copy, [])

    def render(self, scene: SceneSpec) -> np.ndarray:
        with self.ctx:
            target, self.fbo = self.fbo, self.scene_fbo
            try:
                self._draw_scene(scene)
            finally:
                self.fbo = target
            self.scene.use(2)
            self.out_fbo.use()
            self.copy.render(moderngl.TRIANGLES, vertices=3)
            return self._read(self.out_fbo)


class _NoDraw:
    def render(self, *args, **kwargs) -> None:
        pass


@contextmanager
def _skipping(renderer: EmbeddedRenderer, background: bool):
    """Draw with the post passes (and optionally the background pass) left out."""
    saved = renderer._post_program, renderer._gather_program, renderer._fullscreen_bg
    renderer._post_program = lambda blur: _NoDraw()
    renderer._gather_program = lambda: _NoDraw()
    if background:
        renderer._fullscreen_bg = _NoDraw()
    try:
        yield
    finally:
        renderer._post_program, renderer._gather_program, renderer._fullscreen_bg = saved


def _scene_only(renderer: EmbeddedRenderer, background: bool):
    def draw(scene: SceneSpec) -> None:
        with renderer.ctx, _skipping(renderer, background):
            renderer._draw(scene)
            renderer._scene_fbo.read(components=3, alignment=1)

    return draw


def breakdown(world, seed: int, size: int, config: int, images: int, rounds: int) -> dict:
    layout = world.layout(images)
    scenes = [sample_scene(config, layout, seed, i) for i in range(images)]
    ours = EmbeddedRenderer(
        [c.objects for c in world.classes], world.backgrounds, world.materials, size
    )
    bare = BareLoop(world, size)
    floor = BareLoopWithCopyPass(world, size)
    ways = {
        "bare loop": bare.render,
        "bare loop + copy pass": floor.render,
        "full": ours.render,
        "no post passes": _scene_only(ours, background=False),
        "object + readback": _scene_only(ours, background=True),
    }
    best = {name: float("inf") for name in ways}
    try:
        for _ in range(rounds):
            for name, draw in ways.items():
                best[name] = min(best[name], 1e3 / rate(draw, scenes))
    finally:
        ours.close()
        bare.close()
        floor.close()
    return {
        **{f"{name} ms": round(ms, 3) for name, ms in best.items()},
        "post passes ms": round(best["full"] - best["no post passes"], 3),
        "background pass ms": round(best["no post passes"] - best["object + readback"], 3),
        "ratio": round(best["bare loop"] / best["full"], 3),
        "floor ratio": round(best["bare loop"] / best["bare loop + copy pass"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--configs", type=int, nargs="+", default=[0, 255])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sim = load_params(args.params).sim
    world = build_world(sim)
    print(f"world: {len(world.classes)} classes; ms per image, best of {args.rounds} rounds")
    for size in args.sizes:
        for config in args.configs:
            images = 600 if size <= 64 else 200
            row = breakdown(world, sim.seed, size, config, images, args.rounds)
            print(f"{size:>4} px  c{config:03d}  " + "  ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
