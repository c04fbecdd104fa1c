"""The mesh type the renderer consumes, and the normalisation every source of meshes goes through.

Procedural shapes and user files end up in one canonical form (centred, unit radius, float32,
per-vertex normals and linear colours), so the renderer never has to know where a mesh came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import trimesh

# Faces meeting at more than this angle get separate normals (a crease), below it shading is smooth.
HARD_EDGE_DEG = 40.0


@dataclass(frozen=True)
class ObjectMesh:
    """One object: positions are centred and scaled to unit radius; +Y up, front towards +Z."""

    class_name: str
    name: str
    positions: np.ndarray  # float32 (V, 3)
    normals: np.ndarray  # float32 (V, 3), unit length
    colors: np.ndarray  # float32 (V, 3), linear RGB in [0, 1]: the object's own material
    faces: np.ndarray  # uint32 (F, 3), counter-clockwise seen from outside

    @property
    def triangles(self) -> int:
        return len(self.faces)


@dataclass(frozen=True)
class ObjectClass:
    """A labelled group of objects: one class of the synthetic pre-training set."""

    name: str
    objects: tuple[ObjectMesh, ...]


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Decode sRGB in [0, 1] to linear RGB: mesh files and palettes store display colours."""
    srgb = np.clip(np.asarray(srgb, dtype=np.float64), 0.0, 1.0)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit face normals and face areas (zero-area faces get a zero normal)."""
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    double_area = np.linalg.norm(cross, axis=1)
    safe = np.where(double_area > 0, double_area, 1.0)
    return cross / safe[:, None], 0.5 * double_area


def crease_normals(
    vertices: np.ndarray, faces: np.ndarray, hard_edge_deg: float = HARD_EDGE_DEG
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area-weighted vertex normals, with vertices split where faces meet at a hard edge.

    Each face corner averages the normals of the faces around its vertex that lie within
    `hard_edge_deg` of its own face; corners of one vertex that end up with the same normal share
    a vertex. Returns (source vertex index per new vertex, normals, new faces).
    """
    faces = np.asarray(faces, dtype=np.int64)
    n_face, area = face_normals(vertices, faces)
    weighted = n_face * area[:, None]
    corner_vertex = faces.reshape(-1)
    corner_face = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(corner_vertex, kind="stable")
    degree = np.bincount(corner_vertex, minlength=len(vertices))
    start = np.concatenate([[0], np.cumsum(degree)[:-1]])
    # Every pair (corner, other corner of the same vertex): sum(degree^2) pairs.
    counts = degree[corner_vertex]
    owner = np.repeat(np.arange(len(corner_vertex)), counts)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    partner_face = corner_face[order[start[corner_vertex[owner]] + offset]]
    cos_limit = np.cos(np.radians(hard_edge_deg))
    keep = np.einsum("ij,ij->i", n_face[corner_face[owner]], n_face[partner_face]) >= cos_limit
    summed = np.zeros((len(corner_vertex), 3))
    np.add.at(summed, owner[keep], weighted[partner_face[keep]])
    length = np.linalg.norm(summed, axis=1)
    fallback = n_face[corner_face]
    normals = np.where(
        length[:, None] > 1e-20, summed / np.maximum(length, 1e-30)[:, None], fallback
    )
    # Share one vertex between corners with the same source vertex and the same normal.
    key = np.concatenate([corner_vertex[:, None].astype(np.float64), normals], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    new_faces = inverse.reshape(-1, 3)
    return corner_vertex[first], normals[first], new_faces


def normalize_arrays(
    vertices: np.ndarray,
    faces: np.ndarray,
    colors: np.ndarray,
    class_name: str,
    name: str,
    hard_edge_deg: float = HARD_EDGE_DEG,
) -> ObjectMesh:
    """Centre on the bounding-box centre, scale to unit max radius, compute crease normals."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    colors = np.asarray(colors, dtype=np.float64)
    if colors.shape != vertices.shape:
        raise ValueError(f"colors {colors.shape} must match vertices {vertices.shape}")
    # Weld corners that files (OBJ seams, face colours) split but that share position and
    # colour, so smooth surfaces get smooth normals; then drop zero-area faces.
    welded, inverse = np.unique(np.hstack([vertices, colors]), axis=0, return_inverse=True)
    vertices, colors, faces = welded[:, :3], welded[:, 3:], inverse.reshape(-1)[faces]
    _, area = face_normals(vertices, faces)
    faces = faces[area > 0]
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    vertices, colors, faces = vertices[used], colors[used], remap[faces]
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    centred = vertices - (lo + hi) / 2.0
    radius = float(np.linalg.norm(centred, axis=1).max())
    positions = centred / radius
    source, normals, new_faces = crease_normals(positions, faces, hard_edge_deg)
    return ObjectMesh(
        class_name=class_name,
        name=name,
        positions=np.ascontiguousarray(positions[source], dtype=np.float32),
        normals=np.ascontiguousarray(normals, dtype=np.float32),
        colors=np.ascontiguousarray(np.clip(colors[source], 0.0, 1.0), dtype=np.float32),
        faces=np.ascontiguousarray(new_faces, dtype=np.uint32),
    )


def normalize(
    mesh: trimesh.Trimesh,
    colors: np.ndarray,
    class_name: str,
    name: str,
    hard_edge_deg: float = HARD_EDGE_DEG,
) -> ObjectMesh:
    """Canonical ObjectMesh from a trimesh and per-vertex linear RGB colours (V, 3)."""
    return normalize_arrays(
        np.asarray(mesh.vertices), np.asarray(mesh.faces), colors, class_name, name, hard_edge_deg
    )
