"""On-disk cache of procedural assets: one .npz per (generator version, seed, counts).

Building 237 x 8 meshes takes tens of seconds and a sky map most of a second, and every render
worker needs them, so they are built once. Each file carries its own key and a SHA-256 of its
arrays: a truncated, corrupt or mislabelled file is detected and rebuilt instead of being used.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np

from task2sim.assets.mesh import ObjectClass, ObjectMesh
from task2sim.assets.versions import GENERATOR_VERSION, SKY_VERSION
from task2sim.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

_ARRAYS = ("positions", "normals", "colors", "faces", "vertex_offsets", "face_offsets", "owner")


def procedural_classes(classes: int, objects_per_class: int, seed: int) -> list[ObjectClass]:
    """The generator, imported only when a cache misses (it pulls in trimesh)."""
    from task2sim.assets.shapes import procedural_classes as build

    return build(classes, objects_per_class, seed)


def procedural_skies(count: int, seed: int, height: int) -> list[np.ndarray]:
    """The sky generator, imported only when a cache misses."""
    from task2sim.assets.backgrounds import procedural_skies as build

    return build(count, seed, height)


class CorruptCache(Exception):
    """The cache file cannot be trusted; the message says why."""


def cache_path(cache_dir: Path, classes: int, objects_per_class: int, seed: int) -> Path:
    name = f"procedural-v{GENERATOR_VERSION}-seed{seed}-{classes}x{objects_per_class}.npz"
    return Path(cache_dir) / name


def _key(classes: int, objects_per_class: int, seed: int) -> dict[str, int]:
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "classes": classes,
        "objects_per_class": objects_per_class,
    }


def _digest(arrays: dict[str, np.ndarray], header: str) -> str:
    h = hashlib.sha256(header.encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def pack_arrays(arrays: dict[str, np.ndarray], header: dict) -> bytes:
    """One compressed .npz holding `arrays`, a JSON header (with the cache key) and a digest."""
    text = json.dumps(header, sort_keys=True)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, header=np.array(text), digest=np.array(_digest(arrays, text)), **arrays
    )
    return buffer.getvalue()


def unpack_arrays(path: Path, names: tuple[str, ...], key: dict) -> tuple[dict, dict]:
    """(arrays, header) of a packed file; CorruptCache if unreadable, altered or for another key."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in names}
            text = str(data["header"])
            digest = str(data["digest"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise CorruptCache(f"unreadable ({type(exc).__name__}: {exc})") from exc
    if _digest(arrays, text) != digest:
        raise CorruptCache("checksum mismatch")
    header = json.loads(text)
    if header["key"] != key:
        raise CorruptCache(f"built for {header['key']}, wanted {key}")
    return arrays, header


def encode_classes(object_classes: list[ObjectClass], key: dict[str, int]) -> bytes:
    """Pack classes into one .npz (flat arrays plus offsets), with key, names and a digest."""
    meshes = [m for c in object_classes for m in c.objects]
    vertex_counts = [len(m.positions) for m in meshes]
    face_counts = [len(m.faces) for m in meshes]
    arrays = {
        "positions": np.concatenate([m.positions for m in meshes]).astype(np.float32),
        "normals": np.concatenate([m.normals for m in meshes]).astype(np.float32),
        "colors": np.concatenate([m.colors for m in meshes]).astype(np.float32),
        "faces": np.concatenate([m.faces for m in meshes]).astype(np.uint32),
        "vertex_offsets": np.concatenate([[0], np.cumsum(vertex_counts)]).astype(np.int64),
        "face_offsets": np.concatenate([[0], np.cumsum(face_counts)]).astype(np.int64),
        "owner": np.repeat(
            np.arange(len(object_classes)), [len(c.objects) for c in object_classes]
        ),
    }
    header = {
        "key": key,
        "classes": [c.name for c in object_classes],
        "objects": [m.name for m in meshes],
    }
    return pack_arrays(arrays, header)


def decode_classes(path: Path, key: dict[str, int]) -> list[ObjectClass]:
    """Unpack a cache file; raises CorruptCache if it is unreadable, altered or for another key."""
    arrays, meta = unpack_arrays(path, _ARRAYS, key)
    vo, fo, owner = arrays["vertex_offsets"], arrays["face_offsets"], arrays["owner"]
    grouped: list[list[ObjectMesh]] = [[] for _ in meta["classes"]]
    for i, name in enumerate(meta["objects"]):
        cls = int(owner[i])
        v, f = slice(vo[i], vo[i + 1]), slice(fo[i], fo[i + 1])
        grouped[cls].append(
            ObjectMesh(
                class_name=meta["classes"][cls],
                name=name,
                positions=arrays["positions"][v],
                normals=arrays["normals"][v],
                colors=arrays["colors"][v],
                faces=arrays["faces"][f],
            )
        )
    return [ObjectClass(n, tuple(g)) for n, g in zip(meta["classes"], grouped, strict=True)]


def load_or_build_classes(
    classes: int, objects_per_class: int, seed: int, cache_dir: Path
) -> list[ObjectClass]:
    """Procedural classes from the cache, building (and caching) them when missing or corrupt."""
    path = cache_path(cache_dir, classes, objects_per_class, seed)
    key = _key(classes, objects_per_class, seed)
    if path.exists():
        try:
            return decode_classes(path, key)
        except CorruptCache as exc:
            log.warning("mesh cache %s is corrupt (%s): rebuilding it", path, exc)
    built = procedural_classes(classes, objects_per_class, seed)
    atomic_write_bytes(path, encode_classes(built, key))
    return built


def load_or_build_skies(count: int, seed: int, height: int, cache_dir: Path) -> list[np.ndarray]:
    """Procedural sky maps from the cache, generating (and caching) them when missing or corrupt."""
    key = {"sky_version": SKY_VERSION, "seed": seed, "count": count, "height": height}
    path = Path(cache_dir) / f"skies-v{SKY_VERSION}-seed{seed}-{count}x{height}.npz"
    if path.exists():
        try:
            arrays, _ = unpack_arrays(path, ("skies",), key)
            return list(arrays["skies"])
        except CorruptCache as exc:
            log.warning("sky cache %s is corrupt (%s): rebuilding it", path, exc)
    skies = procedural_skies(count, seed, height)
    if skies:
        atomic_write_bytes(path, pack_arrays({"skies": np.stack(skies)}, {"key": key}))
    return skies
