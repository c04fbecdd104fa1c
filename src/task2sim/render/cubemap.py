"""Equirect map -> cube map faces, once per background: the GPU pass then needs no trigonometry."""

from __future__ import annotations

import numpy as np

# OpenGL cube face order and, per face, the direction of texel (s, t) in [-1, 1]^2 (GL spec 8.13).
_FACES = (
    lambda s, t: (np.ones_like(s), -t, -s),  # +X
    lambda s, t: (-np.ones_like(s), -t, s),  # -X
    lambda s, t: (s, np.ones_like(s), t),  # +Y
    lambda s, t: (s, -np.ones_like(s), -t),  # -Y
    lambda s, t: (s, -t, np.ones_like(s)),  # +Z
    lambda s, t: (-s, -t, -np.ones_like(s)),  # -Z
)


def equirect_uv(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates of unit directions: u around the vertical axis, v = 0 straight up."""
    x, y, z = directions[..., 0], directions[..., 1], directions[..., 2]
    u = np.arctan2(x, -z) / (2 * np.pi) + 0.5
    v = np.arccos(np.clip(y, -1.0, 1.0)) / np.pi
    return u, v


def sample_equirect(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup, wrapping around in u and clamping at the poles."""
    height, width = image.shape[:2]
    x = u * width - 0.5
    y = np.clip(v * height - 0.5, 0, height - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    x0, x1 = x0 % width, (x0 + 1) % width
    y1 = np.minimum(y0 + 1, height - 1)
    img = image.astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def equirect_to_cubemap(image: np.ndarray, face_size: int) -> np.ndarray:
    """Six faces (6, face_size, face_size, 3) uint8 in OpenGL order (+X, -X, +Y, -Y, +Z, -Z)."""
    coords = (np.arange(face_size) + 0.5) / face_size * 2 - 1
    s, t = np.meshgrid(coords, coords)
    faces = []
    for face in _FACES:
        d = np.stack(face(s, t), axis=-1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        faces.append(sample_equirect(image, *equirect_uv(d)))
    return np.clip(np.rint(np.stack(faces)), 0, 255).astype(np.uint8)
