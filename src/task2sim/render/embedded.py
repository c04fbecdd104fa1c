"""The default backend: moderngl on a headless EGL context (Mesa llvmpipe on CPU machines).

Per image: a background pass (each equirect map becomes a cube map once, at upload), the object lit
by one directional light plus ambient light from the background (materials sample one baked noise
volume), then one post pass: edge-only anti-aliasing (a few taps; supersampling or MSAA would cost
2-4x) and, for blurred images, depth-based focus blur where the circle of confusion is over half a
pixel, read from a disk gather drawn at a fraction of the resolution. Every mesh is uploaded once
into one buffer, so an image costs a handful of uniform writes, three or four draws and a readback.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import moderngl
import numpy as np

from task2sim.assets.material_noise import noise_volume
from task2sim.assets.materials import Material
from task2sim.assets.mesh import srgb_to_linear
from task2sim.errors import Task2SimError
from task2sim.render import shaders
from task2sim.render.cubemap import equirect_to_cubemap
from task2sim.sim.scene import SHARP_APERTURE, SceneSpec

FOV_Y_DEGREES = 40.0
CAMERA_ELEVATION_DEGREES = 20.0
NEAR, FAR = 0.05, 100.0
DEFAULT_LIGHT_DIR = np.array([0.45, 0.8, 0.4]) / np.linalg.norm([0.45, 0.8, 0.4])
AMBIENT_STRENGTH = 0.55
COC_GAIN = 0.4  # blur radius (uv) per unit of aperture^-1 * |1/z - 1/focus|
MAX_COC = 0.08  # largest blur radius, as a fraction of the image
CUBE_FACE_MAX = 256  # cube face texels; enough for 224 px images at a 40 degree field of view
BLUR_TEXELS = 2.5  # the gather pass's resolution: the largest blur radius spans this many texels
BLUR_DOWNSCALE_MAX = 4
NOISE_UNIT, BLURRED_UNIT = 1, 2  # texture units bound once; unit 0 changes per pass
OWN_MATERIAL = Material("own", -1, (1, 1, 1), (1, 1, 1), 1.0, 0.25, 24.0, 0.0)


@dataclass(frozen=True)
class MeshArrays:
    """What the renderer needs of a mesh (the fields of `assets.mesh.ObjectMesh`)."""

    positions: np.ndarray
    normals: np.ndarray
    colors: np.ndarray
    faces: np.ndarray


def rotation_x(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rotation_y(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rotation_z(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def object_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    return rotation_y(yaw) @ rotation_x(pitch) @ rotation_z(roll)


def perspective(fov_y: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(fov_y) / 2)
    return np.array(
        [
            [f, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ]
    )


def _camera_basis() -> tuple[np.ndarray, np.ndarray]:
    """Direction from the object to the camera, and the camera-to-world rotation (fixed)."""
    e = math.radians(CAMERA_ELEVATION_DEGREES)
    back = np.array([0.0, math.sin(e), math.cos(e)])  # the camera looks down its -Z axis
    right = np.cross([0.0, 1.0, 0.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    return back, np.stack([right, up, back], axis=1)


_CAMERA_BACK, _CAMERA_TO_WORLD = _camera_basis()


def camera_pose(distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and camera-to-world rotation: above the front, looking at the origin."""
    return distance * _CAMERA_BACK, _CAMERA_TO_WORLD


def _mat3(m: np.ndarray) -> bytes:
    return np.asarray(m, dtype="f4").T.tobytes()  # GLSL matrices are column-major


def _mat4(m: np.ndarray) -> bytes:
    return np.asarray(m, dtype="f4").T.tobytes()


def load_triton_first() -> None:
    """Import torch's `triton` (if installed) before any GL context exists.

    triton carries its own LLVM; imported after Mesa's llvmpipe has loaded its LLVM, it crashes
    the process (segfault on `import torchvision`). The other order works, and costs ~0.2 s.
    """
    if "triton" not in sys.modules and importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


class EmbeddedRenderer:
    """Renders `SceneSpec`s of one world (meshes, backgrounds, materials) at `size` pixels."""

    def __init__(
        self,
        classes: Sequence[Sequence[MeshArrays]],
        backgrounds: Sequence[np.ndarray],
        materials: Sequence[Material],
        size: int,
    ) -> None:
        if not classes or not backgrounds:
            raise Task2SimError("the renderer needs at least one object class and one background")
        self.size = size
        self.materials = list(materials)
        # palettes are display (sRGB) colours; shading happens in linear RGB
        self._linear_colors = [
            (tuple(srgb_to_linear(m.color_a)), tuple(srgb_to_linear(m.color_b)))
            for m in self.materials
        ]
        load_triton_first()
        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as exc:
            raise Task2SimError(
                f"cannot create a headless OpenGL context (EGL): {exc}",
                "install the Debian packages libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri "
                "(scripts/bootstrap.sh does)",
            ) from None
        ctx = self.ctx
        self._background_prog = ctx.program(
            vertex_shader=shaders.FULLSCREEN_VERTEX, fragment_shader=shaders.BACKGROUND_FRAGMENT
        )
        # Object and post programs are compiled on first use (llvmpipe compiles take ~0.1 s each,
        # and a set without materials or blur needs only one of each).
        self._object_progs: dict[int, moderngl.Program] = {}
        self._object_vaos: dict[int, moderngl.VertexArray] = {}
        self._post_progs: dict[bool, moderngl.Program] = {}
        self._fullscreen_post: dict[bool, moderngl.VertexArray] = {}
        self._gather: moderngl.VertexArray | None = None
        self._fullscreen_bg = ctx.vertex_array(self._background_prog, [])
        self._upload_meshes(classes)
        # a cube face spans 90 degrees: about one texel per output pixel is enough
        self._face_size = max(16, math.ceil(size * 90 / FOV_Y_DEGREES))
        self._upload_backgrounds(backgrounds)

        self._color = ctx.texture((size, size), 4)  # alpha: blur radius
        self._color.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._color.repeat_x = self._color.repeat_y = False
        self._depth = ctx.depth_texture((size, size))
        self._depth.compare_func = ""
        self._depth.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._depth.repeat_x = self._depth.repeat_y = False
        self._scene_fbo = ctx.framebuffer(
            color_attachments=[self._color], depth_attachment=self._depth
        )
        self._out_fbo = ctx.framebuffer(color_attachments=[ctx.renderbuffer((size, size), 3)])
        self._upload_noise()
        self._make_blur_target()
        self._projection = perspective(FOV_Y_DEGREES, NEAR, FAR)
        tan_half = math.tan(math.radians(FOV_Y_DEGREES) / 2)
        self._background_prog["u_tan_half_fov"].value = (tan_half, tan_half)
        self._background_prog["u_max_coc"].value = MAX_COC

    def _object_program(self, pattern: int) -> tuple[moderngl.Program, moderngl.VertexArray]:
        if pattern not in self._object_progs:
            prog = self.ctx.program(
                vertex_shader=shaders.OBJECT_VERTEX,
                fragment_shader=shaders.object_fragment(pattern),
            )
            prog["u_max_coc"].value = MAX_COC
            if "u_noise" in prog:
                prog["u_noise"].value = NOISE_UNIT
            # pattern programs ignore the mesh's own colours: skip those 12 bytes of each vertex
            fmt, *colors = ("3f 3f 3f", "in_color") if pattern < 0 else ("3f 3f 12x",)
            self._object_progs[pattern] = prog
            self._object_vaos[pattern] = self.ctx.vertex_array(
                prog,
                [(self._vbo, fmt, "in_position", "in_normal", *colors)],
                index_buffer=self._ibo,
                index_element_size=4,
            )
        return self._object_progs[pattern], self._object_vaos[pattern]

    def _post_program(self, blur: bool) -> moderngl.VertexArray:
        if blur not in self._post_progs:
            prog = self.ctx.program(
                vertex_shader=shaders.FULLSCREEN_VERTEX, fragment_shader=shaders.post_fragment(blur)
            )
            prog["u_color"].value = 0
            prog["u_texel"].value = (1.0 / self.size, 1.0 / self.size)
            if blur:
                prog["u_max_coc"].value = MAX_COC
                prog["u_blurred"].value = BLURRED_UNIT
                prog["u_blend"].value = self._blur_downscale / self.size
            self._post_progs[blur] = prog
            self._fullscreen_post[blur] = self.ctx.vertex_array(prog, [])
        return self._fullscreen_post[blur]

    def _gather_program(self) -> moderngl.VertexArray:
        if self._gather is None:
            prog = self.ctx.program(
                vertex_shader=shaders.FULLSCREEN_VERTEX, fragment_shader=shaders.gather_fragment()
            )
            prog["u_color"].value = 0
            prog["u_max_coc"].value = MAX_COC
            low = self._blurred.width
            prog["u_low_texel"].value = (1.0 / low, 1.0 / low)
            self._gather = self.ctx.vertex_array(prog, [])
        return self._gather

    def _upload_noise(self) -> None:
        """The materials' noise volume: one trilinear, tiling 3D texture for every pattern."""
        volume = noise_volume()
        side = volume.shape[0]
        self._noise = self.ctx.texture3d((side, side, side), 4, volume.tobytes())
        self._noise.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._noise.use(location=NOISE_UNIT)

    def _make_blur_target(self) -> None:
        """The focus blur's gather target: coarse enough to be cheap, fine enough for the
        largest blur radius to span `BLUR_TEXELS` texels."""
        scale = round(MAX_COC * self.size / BLUR_TEXELS)
        self._blur_downscale = min(BLUR_DOWNSCALE_MAX, max(1, scale))
        low = math.ceil(self.size / self._blur_downscale)
        self._blurred = self.ctx.texture((low, low), 3)
        self._blurred.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._blurred.repeat_x = self._blurred.repeat_y = False
        self._blurred.use(location=BLURRED_UNIT)
        self._blur_fbo = self.ctx.framebuffer(color_attachments=[self._blurred])

    def _upload_meshes(self, classes: Sequence[Sequence[MeshArrays]]) -> None:
        vertex_blocks, index_blocks, self._ranges = [], [], []
        base = offset = 0
        for objects in classes:
            ranges = []
            for mesh in objects:
                verts = np.hstack([mesh.positions, mesh.normals, mesh.colors]).astype("f4")
                vertex_blocks.append(verts)
                index_blocks.append(mesh.faces.astype("u4").reshape(-1) + base)
                count = mesh.faces.size
                ranges.append((offset, count))
                base += len(verts)
                offset += count
            self._ranges.append(ranges)
        self._vbo = self.ctx.buffer(np.concatenate(vertex_blocks).tobytes())
        self._ibo = self.ctx.buffer(np.concatenate(index_blocks).tobytes())

    def _upload_backgrounds(self, backgrounds: Sequence[np.ndarray]) -> None:
        self._env, self._ambient = [], []
        for image in backgrounds:
            image = np.asarray(image, dtype=np.uint8)
            height = image.shape[0]
            face = min(CUBE_FACE_MAX, image.shape[1] // 4, self._face_size)
            faces = equirect_to_cubemap(image, face)
            tex = self.ctx.texture_cube((face, face), 3, faces.tobytes(), alignment=1)
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._env.append(tex)
            half = height // 2
            linear = srgb_to_linear(image / 255.0)
            sky = linear[:half].reshape(-1, 3).mean(axis=0)
            ground = linear[half:].reshape(-1, 3).mean(axis=0)
            self._ambient.append((tuple(AMBIENT_STRENGTH * sky), tuple(AMBIENT_STRENGTH * ground)))

    def render(self, scene: SceneSpec) -> np.ndarray:
        """Draw `scene`; returns uint8 (size, size, 3), top row first."""
        with self.ctx:  # make this context current: a process may hold several
            self._draw(scene)
            data = self._out_fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.size, self.size, 3)[::-1]

    def object_mask(self) -> np.ndarray:
        """Which pixels of the last image show the object (depth written): for tests."""
        with self.ctx:
            depth = np.frombuffer(self._depth.read(alignment=1), dtype="f4")
        return depth.reshape(self.size, self.size)[::-1] < 1.0

    def _draw(self, scene: SceneSpec) -> None:
        mgl = moderngl
        ctx = self.ctx
        try:
            first, count = self._ranges[scene.class_index][scene.object_index]
            env = self._env[scene.background]
            sky, ground = self._ambient[scene.background]
            material = OWN_MATERIAL if scene.material < 0 else self.materials[scene.material]
        except IndexError:
            raise Task2SimError(
                f"scene {scene.index} asks for class {scene.class_index} object "
                f"{scene.object_index}, background {scene.background}, material {scene.material}, "
                "beyond what this renderer was given",
                "build the renderer from the same world (sim params) as the scene sampler",
            ) from None
        eye, cam_to_world = camera_pose(scene.distance)
        view = np.eye(4)
        view[:3, :3] = cam_to_world.T
        view[:3, 3] = -cam_to_world.T @ eye
        rotation = object_rotation(*scene.rotation)
        model = np.eye(4)
        model[:3, :3] = rotation
        env_view = rotation_y(scene.view_yaw) @ rotation_x(scene.view_pitch)

        sharp = scene.aperture >= SHARP_APERTURE
        coc_scale = 0.0 if sharp else COC_GAIN / scene.aperture
        focus = max(scene.focus_distance, NEAR)
        prog, object_vao = self._object_program(material.pattern)
        for p in (self._background_prog, prog):
            p["u_coc_scale"].value = coc_scale
            p["u_focus"].value = focus

        self._scene_fbo.use()
        self._scene_fbo.clear(depth=1.0)
        ctx.disable(mgl.DEPTH_TEST)  # the background writes colour only
        env.use(location=0)
        self._background_prog["u_ray_to_world"].write(_mat3(env_view @ cam_to_world))
        self._fullscreen_bg.render(mgl.TRIANGLES, vertices=3)

        ctx.enable(mgl.DEPTH_TEST)
        prog["u_mvp"].write(_mat4(self._projection @ view @ model))
        prog["u_rotation"].write(_mat3(rotation))
        prog["u_camera"].value = tuple(eye)
        light = rotation_y(scene.light_yaw) @ rotation_x(scene.light_pitch) @ DEFAULT_LIGHT_DIR
        prog["u_light_dir"].value = tuple(light)
        prog["u_light_color"].value = tuple(scene.light_intensity * np.asarray(scene.light_color))
        prog["u_sky"].value = sky
        prog["u_ground"].value = ground
        if material.pattern >= 0:
            color_a, color_b = self._linear_colors[scene.material]
            prog["u_color_a"].value = color_a
            for name, value in (("u_color_b", color_b), ("u_scale", material.scale)):
                if name in prog:  # plain patterns compile these away
                    prog[name].value = value
        prog["u_specular"].value = material.specular
        prog["u_shininess"].value = material.shininess
        prog["u_metallic"].value = material.metallic
        object_vao.render(mgl.TRIANGLES, vertices=count, first=first)

        ctx.disable(mgl.DEPTH_TEST)
        self._color.use(location=0)
        if not sharp:
            self._blur_fbo.use()
            self._gather_program().render(mgl.TRIANGLES, vertices=3)
        self._out_fbo.use()
        self._post_program(not sharp).render(mgl.TRIANGLES, vertices=3)

    def close(self) -> None:
        self.ctx.release()
