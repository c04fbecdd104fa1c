"""Equirectangular backgrounds (uint8, H x 2H x 3) standing in for TDW's outdoor HDRI skyboxes.

Three sources: procedural outdoor skies (any number, seeded), photographs shipped inside
scikit-image (real image statistics with no download), and a user's folder of HDRIs or photos.
Every map is seamless where longitude wraps, so a camera looking in any direction sees no seam.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from task2sim.datasets.images import to_rgb
from task2sim.errors import Task2SimError

HDR_SUFFIXES = (".hdr", ".exr")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
# Colour photographs inside the scikit-image wheel (no pooch download needed).
BUNDLED_PHOTOS = ("astronaut", "chelsea", "coffee", "hubble_deep_field", "motorcycle", "rocket")

_TAG_SKY = 0x534B59


# --- helpers -------------------------------------------------------------------------------------


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def mirror_panorama(image: np.ndarray, height: int) -> np.ndarray:
    """Centre-crop to a square, resize to H x H and append its mirror: a 2:1 map whose two
    joins (middle and longitude wrap) are both seamless."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(image[top : top + side, left : left + side])
    square = _resize(crop, height, height)
    return np.ascontiguousarray(np.concatenate([square, square[:, ::-1]], axis=1))


def directions(height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel unit view directions (H, 2H, 3), latitude and longitude of pixel centres.

    +Y is up; longitude 0 looks along +Z (the objects' front)."""
    lat = np.pi / 2 - (np.arange(height) + 0.5) / height * np.pi
    lon = (np.arange(2 * height) + 0.5) / (2 * height) * 2 * np.pi - np.pi
    lat, lon = np.meshgrid(lat, lon, indexing="ij")
    d = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=-1)
    return d, lat, lon


def value_noise(
    points: np.ndarray, rng: np.random.Generator, octaves: int, scale: float
) -> np.ndarray:
    """Fractal 3D value noise in [0, 1] at `points` (..., 3): on the sphere it has no seam."""
    table = rng.random(4096)
    perm = rng.permutation(4096)
    shift = rng.uniform(0, 64, 3)
    total, norm, amp = np.zeros(points.shape[:-1]), 0.0, 1.0
    for o in range(octaves):
        p = points * scale * 2.0**o + shift * (o + 1)
        base = np.floor(p).astype(np.int64)
        t = p - base
        t = t * t * (3 - 2 * t)
        acc = np.zeros(points.shape[:-1])
        for corner in range(8):
            c = np.array([(corner >> k) & 1 for k in range(3)])
            ix = base + c
            h = perm[(ix[..., 0] * 73856093 ^ ix[..., 1] * 19349663 ^ ix[..., 2] * 83492791) % 4096]
            w = np.prod(np.where(c == 1, t, 1 - t), axis=-1)
            acc += w * table[h]
        total += amp * acc
        norm += amp
        amp *= 0.5
    return total / norm


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _to_uint8(linear: np.ndarray) -> np.ndarray:
    curve = 1.055 * np.power(np.maximum(linear, 0), 1 / 2.4) - 0.055
    srgb = np.where(linear <= 0.0031308, linear * 12.92, curve)
    return np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)


# --- procedural skies ----------------------------------------------------------------------------

# (sun elevation range in degrees, cloud cover range): the times of day skies are drawn from.
_TIMES = {
    "noon": ((45, 80), (0.0, 0.5)),
    "morning": ((15, 45), (0.0, 0.6)),
    "golden": ((2, 12), (0.1, 0.6)),
    "overcast": ((20, 60), (0.75, 0.95)),
    "dusk": ((-6, 1), (0.0, 0.5)),
}
# Ground albedos (linear RGB): grass, dry grass, sand, snow, rock, water.
_GROUNDS = np.array(
    [
        [0.06, 0.14, 0.03],
        [0.25, 0.2, 0.07],
        [0.45, 0.35, 0.2],
        [0.75, 0.78, 0.82],
        [0.12, 0.11, 0.1],
        [0.03, 0.08, 0.14],
    ]
)


def _sky(rng: np.random.Generator, height: int) -> np.ndarray:
    d, lat, lon = directions(height)
    time = list(_TIMES)[int(rng.integers(len(_TIMES)))]
    (e_lo, e_hi), (c_lo, c_hi) = _TIMES[time]
    elevation = np.radians(rng.uniform(e_lo, e_hi))
    azimuth = rng.uniform(-np.pi, np.pi)
    cover = rng.uniform(c_lo, c_hi)
    ce = np.cos(elevation)
    sun = np.array([ce * np.sin(azimuth), np.sin(elevation), ce * np.cos(azimuth)])
    low = float(np.clip(1.0 - np.degrees(elevation) / 25.0, 0.0, 1.0))  # 1 near the horizon
    night = float(np.clip(-np.degrees(elevation) / 6.0, 0.0, 1.0))
    zenith = (1 - low) * np.array([0.12, 0.28, 0.75]) + low * np.array([0.1, 0.12, 0.35])
    horizon = (1 - low) * np.array([0.6, 0.72, 0.9]) + low * np.array([1.0, 0.5, 0.25])
    sun_color = (1 - low) * np.array([1.0, 0.95, 0.85]) + low * np.array([1.0, 0.55, 0.2])
    brightness = 1.0 - 0.85 * night
    up = np.clip(np.sin(lat), 0.0, 1.0)[..., None]
    sky = horizon + (zenith - horizon) * np.sqrt(up)
    cos_gamma = np.clip(d @ sun, -1.0, 1.0)
    gamma = np.arccos(cos_gamma)[..., None]
    sky = sky + sun_color * (0.6 * np.exp(-gamma / 0.25) + 0.35 * low * np.exp(-gamma / 0.8))
    sky = sky + sun_color * 40.0 * (gamma < np.radians(1.2)) * (1 - night)
    # Clouds: fractal noise on the sphere, flattened towards the horizon like a cloud layer.
    layer = d / np.maximum(d[..., 1:2] + 0.08, 0.08)
    n = value_noise(layer * 0.35, rng, 5, 1.0)
    z = (n - n.mean()) / max(float(n.std()), 1e-9)  # so `cover` means the same for every map
    threshold = 1.8 - 3.6 * cover
    density = _smoothstep(threshold, threshold + 0.9, z) * _smoothstep(0.0, 0.08, np.sin(lat))
    lit = 0.55 + 0.45 * np.clip(cos_gamma, 0, 1)
    grey = 0.35 + 0.4 * (1 - cover)
    cloud = (grey * (1 - low) + 0.3 * low) * np.ones(3) + low * 0.5 * sun_color
    cloud = cloud * lit[..., None]
    sky = sky * (1 - density[..., None]) + cloud * density[..., None]
    # Distant hills: a seamless ridge line (integer longitude frequencies) in hazy colour.
    freqs = np.arange(1, 7)
    amps = rng.uniform(0, 1, len(freqs)) / freqs
    phases = rng.uniform(0, 2 * np.pi, len(freqs))
    waves = np.sin(freqs[:, None, None] * lon + phases[:, None, None])
    ridge = (amps[:, None, None] * waves).sum(0)
    ridge = np.radians(rng.uniform(2.0, 10.0)) * (0.5 + 0.5 * ridge / amps.sum())
    hills = (lat > 0) & (lat < ridge)
    haze = 0.6 * horizon + 0.4 * np.array([0.1, 0.13, 0.12])
    # Ground: a textured albedo lit by the sun, fading into haze at the horizon.
    albedo = _GROUNDS[int(rng.integers(len(_GROUNDS)))] * rng.uniform(0.8, 1.2, 3)
    texture = value_noise(d * 6.0, rng, 4, 1.0)
    light = (max(np.sin(elevation), 0.0) * sun_color + 0.35 * zenith + 0.15) * brightness
    hill_color = 0.55 * haze + 0.45 * np.array([0.05, 0.08, 0.07]) * (light / brightness)
    sky = np.where(hills[..., None], hill_color, sky)
    ground = albedo * light * (0.6 + 0.8 * texture[..., None])
    fade = _smoothstep(0.0, 0.12, -np.sin(lat))[..., None]
    ground = haze * (1 - fade) + ground * fade
    image = np.where((lat <= 0)[..., None], ground, sky * brightness)
    exposure = rng.uniform(0.8, 1.2)
    return _to_uint8(image * exposure / (1.0 + image * exposure) * 1.6)


def procedural_skies(count: int, seed: int, height: int = 256) -> list[np.ndarray]:
    """`count` outdoor sky maps (horizon, ground, sun glow, clouds, varied times of day)."""
    if count < 0 or height < 2:
        raise ValueError("count must be >= 0 and height >= 2")
    return [_sky(np.random.default_rng([seed, i, _TAG_SKY]), height) for i in range(count)]


# --- bundled photographs -------------------------------------------------------------------------


def _bundled(name: str) -> np.ndarray:
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def bundled_photos(height: int = 256) -> list[np.ndarray]:
    """Real colour photographs from scikit-image, mirrored into seamless 2:1 panoramas."""
    photos = [np.asarray(to_rgb(Image.fromarray(_bundled(name)))) for name in BUNDLED_PHOTOS]
    return [mirror_panorama(photo, height) for photo in photos]


# --- user folders --------------------------------------------------------------------------------


def tonemap(hdr: np.ndarray, key: float = 0.18, exposure: float = 1.0) -> np.ndarray:
    """Reinhard global tone mapping of linear RGB radiance to uint8 sRGB.

    The log-average luminance is mapped to `key` (mid grey), so maps of any absolute scale come
    out well exposed."""
    hdr = np.nan_to_num(np.maximum(np.asarray(hdr, dtype=np.float64), 0.0), posinf=0.0)
    lum = hdr @ np.array([0.2126, 0.7152, 0.0722])
    log_avg = float(np.exp(np.mean(np.log(lum + 1e-6))))
    scaled = hdr * (key * exposure / max(log_avg, 1e-6))
    lum_scaled = scaled @ np.array([0.2126, 0.7152, 0.0722])
    mapped = scaled / (1.0 + lum_scaled)[..., None]
    return _to_uint8(mapped)


def read_hdr(path: Path) -> np.ndarray:
    """Linear float32 RGB of a Radiance .hdr or OpenEXR .exr file."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if image is None:
        raise Task2SimError(
            f"cannot read HDR image {path} (corrupt, or not a {path.suffix} file)",
            "re-export it as Radiance .hdr or OpenEXR .exr, or remove it",
        )
    return image[..., ::-1].astype(np.float32)


def _equirect(image: np.ndarray, height: int) -> np.ndarray:
    """Resize a 2:1 map to 2H x H; mirror anything else into a panorama."""
    h, w = image.shape[:2]
    if abs(w / h - 2.0) < 0.02:
        return _resize(image, 2 * height, height)
    return mirror_panorama(image, height)


def folder_backgrounds(root: Path, height: int = 256, exposure: float = 1.0) -> list[np.ndarray]:
    """Every HDRI (.hdr/.exr, tone-mapped) and photo (.jpg/.png) in `root`, sorted by name."""
    root = Path(root)
    supported = ", ".join(HDR_SUFFIXES + PHOTO_SUFFIXES)
    if not root.is_dir():
        raise Task2SimError(
            f"background folder {root} does not exist"
            if not root.exists()
            else f"background folder {root} is not a folder",
            f"create it and put equirectangular HDRIs or photos ({supported}) in it",
        )
    files = sorted(f for f in root.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise Task2SimError(
            f"background folder {root} is empty", f"add HDRIs or photos ({supported})"
        )
    out = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix in HDR_SUFFIXES:
            image = tonemap(read_hdr(f), exposure=exposure)
        elif suffix in PHOTO_SUFFIXES:
            try:
                with Image.open(f) as handle:
                    image = np.asarray(to_rgb(handle))
            except Exception as exc:
                raise Task2SimError(
                    f"cannot read image {f}: {type(exc).__name__}: {exc}",
                    "re-save it as PNG or JPEG, or remove it",
                ) from exc
        else:
            raise Task2SimError(
                f"unsupported background file {f} (extension '{f.suffix}')",
                f"convert it to one of {supported}, or move it out of {root}",
            )
        out.append(_equirect(image, height))
    return out
