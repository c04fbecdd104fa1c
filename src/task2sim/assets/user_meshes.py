"""Object classes from a user's folder of mesh files: ROOT/<class name>/<mesh files>.

Lets the benchmark use real models (ShapeNet-like exports, scans) in place of procedural shapes.
Every file goes through the same normalisation as procedural meshes; its own colours are kept as
the object's default material.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from task2sim.assets.mesh import ObjectClass, ObjectMesh, normalize_arrays, srgb_to_linear
from task2sim.errors import Task2SimError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl")
# Files that travel with meshes (materials, buffers, textures): skipped, not reported.
COMPANION_SUFFIXES = frozenset(
    {".mtl", ".bin", ".png", ".jpg", ".jpeg", ".tga", ".bmp", ".webp", ".ktx2", ".dds"}
)
DEFAULT_MAX_TRIANGLES = 20_000
NEUTRAL_GREY = 0.6  # sRGB grey for meshes without colours


def _linear(rgba_uint8: np.ndarray) -> np.ndarray:
    return srgb_to_linear(np.asarray(rgba_uint8, dtype=np.float64)[..., :3] / 255.0)


def _material_color(visual: object) -> np.ndarray | None:
    material = getattr(visual, "material", None)
    if material is None:
        return None
    factor = getattr(material, "baseColorFactor", None)
    if factor is not None:
        return _linear(np.asarray(factor))
    main = getattr(material, "main_color", None)
    return None if main is None else _linear(np.asarray(main))


def _colored_arrays(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces and per-vertex linear colours: vertex colours, face colours, texture or
    material base colour, else neutral grey."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    if kind == "vertex":
        return vertices, faces, _linear(visual.vertex_colors)
    if kind == "face":
        # Give each face corner its face's colour, then re-share corners that agree on both.
        corner_colors = np.repeat(_linear(visual.face_colors), 3, axis=0)
        key = np.concatenate([vertices[faces.reshape(-1)], corner_colors], axis=1)
        unique, inverse = np.unique(key, axis=0, return_inverse=True)
        return unique[:, :3], inverse.reshape(-1, 3), unique[:, 3:]
    if kind == "texture":
        try:
            colors = visual.to_color().vertex_colors
            return vertices, faces, _linear(colors)
        except Exception:  # a texture trimesh cannot sample: fall back to the base colour
            pass
    base = _material_color(visual)
    if base is None:
        base = srgb_to_linear(np.full(3, NEUTRAL_GREY))
    return vertices, faces, np.tile(base, (len(vertices), 1))


def _read(path: Path) -> list[trimesh.Trimesh]:
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as exc:
        raise Task2SimError(
            f"cannot read mesh file {path}: {type(exc).__name__}: {exc}",
            "re-export it from a 3D tool (Blender: File > Export) or remove it from the folder",
        ) from exc
    if isinstance(loaded, trimesh.Scene):
        return [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
    if isinstance(loaded, trimesh.Trimesh):
        return [loaded]
    return []


def _decimate(
    vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray, budget: int, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simplify to the triangle budget if trimesh's simplifier is installed, else refuse."""
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    try:
        small = mesh.simplify_quadric_decimation(face_count=budget)
    except (ImportError, ModuleNotFoundError) as exc:
        raise Task2SimError(
            f"mesh {path} has {len(faces)} triangles, over the budget of {budget}",
            "decimate it first (e.g. Blender's Decimate modifier), `pip install "
            "fast-simplification` so it is decimated on load, or raise max_triangles",
        ) from exc
    from scipy.spatial import cKDTree

    new_vertices = np.asarray(small.vertices, dtype=np.float64)
    nearest = cKDTree(vertices).query(new_vertices)[1]
    return new_vertices, np.asarray(small.faces, dtype=np.int64), colors[nearest]


def load_mesh_file(
    path: Path, class_name: str, name: str, max_triangles: int = DEFAULT_MAX_TRIANGLES
) -> ObjectMesh:
    """One mesh file (scenes flattened), coloured and normalised like procedural meshes."""
    parts = [_colored_arrays(g) for g in _read(path) if len(g.faces)]
    if not parts:
        raise Task2SimError(
            f"mesh file {path} contains no triangles",
            "export the object as a triangle mesh (not points or lines), or remove the file",
        )
    offsets = np.cumsum([0] + [len(v) for v, _, _ in parts[:-1]])
    vertices = np.concatenate([v for v, _, _ in parts])
    faces = np.concatenate([f + o for (_, f, _), o in zip(parts, offsets, strict=True)])
    colors = np.concatenate([c for _, _, c in parts])
    if not np.isfinite(vertices).all():
        raise Task2SimError(
            f"mesh file {path} has non-finite vertex coordinates", "repair or re-export it"
        )
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    extent = np.ptp(vertices, axis=0).max()
    if extent <= 0 or area.sum() <= 1e-12 * extent**2:
        raise Task2SimError(
            f"mesh file {path} is degenerate: all its triangles have zero area",
            "re-export the real geometry, or remove the file",
        )
    if len(faces) > max_triangles:
        vertices, faces, colors = _decimate(vertices, faces, colors, max_triangles, path)
    return normalize_arrays(vertices, faces, colors, class_name, name)


def load_mesh_folder(root: Path, max_triangles: int = DEFAULT_MAX_TRIANGLES) -> list[ObjectClass]:
    """Classes from ROOT/<class>/<mesh files>, sorted by name, with clear errors for bad input."""
    root = Path(root)
    supported = ", ".join(MESH_SUFFIXES)
    if not root.is_dir():
        raise Task2SimError(
            f"mesh folder {root} does not exist"
            if not root.exists()
            else f"mesh folder {root} is not a folder",
            f"create it with one subfolder per class holding mesh files ({supported})",
        )
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise Task2SimError(
            f"mesh folder {root} has no class subfolders",
            f"put each class's mesh files ({supported}) in {root}/<class name>/",
        )
    out = []
    for folder in class_dirs:
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        meshes = [f for f in files if f.suffix.lower() in MESH_SUFFIXES]
        for f in files:
            if f.suffix.lower() not in MESH_SUFFIXES and f.suffix.lower() not in COMPANION_SUFFIXES:
                raise Task2SimError(
                    f"unsupported mesh file {f} (extension '{f.suffix}')",
                    f"convert it to one of {supported}, or move it out of {root}",
                )
        if not meshes:
            raise Task2SimError(
                f"class folder {folder} holds no mesh files",
                f"add at least one mesh ({supported}) or remove the folder",
            )
        objects = tuple(
            load_mesh_file(f, folder.name, f"{folder.name}_{f.name}", max_triangles) for f in meshes
        )
        out.append(ObjectClass(name=folder.name, objects=objects))
    return out
