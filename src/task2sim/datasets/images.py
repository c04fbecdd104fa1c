"""Decode image files of any common mode into uint8 RGB arrays of one size."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from task2sim.errors import Task2SimError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
ResizeMode = Literal["crop", "pad"]


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def to_rgb(image: Image.Image, background: int = 255) -> Image.Image:
    """Convert any PIL mode to RGB; transparency is composited onto a plain background."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, (background, background, background, 255))
        return Image.alpha_composite(canvas, image).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(array.min()), float(array.max())
        scaled = (array - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def fit_square(
    image: Image.Image, size: int, mode: ResizeMode, background: int = 255
) -> Image.Image:
    """Make a size x size image: `crop` fills it (centre crop), `pad` fits it (plain borders)."""
    if mode == "crop":
        return ImageOps.fit(image, (size, size), method=Image.Resampling.BICUBIC)
    fitted = ImageOps.contain(image, (size, size), method=Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (size, size), (background, background, background))
    canvas.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2))
    return canvas


def load_image(
    path: Path, size: int, mode: ResizeMode = "crop", background: int = 255
) -> np.ndarray:
    """Read one image file as a size x size x 3 uint8 array, or fail naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns on palette transparency; handled in to_rgb
            with Image.open(path) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                rgb = to_rgb(image, background)
    except Image.DecompressionBombError as exc:
        raise Task2SimError(
            f"image {path} is too large to decode safely: {exc}",
            "downscale it below Pillow's limit (e.g. to 8000 x 8000 pixels) or remove it; "
            "the file itself is not corrupt",
        ) from None
    except Exception as exc:  # PIL raises many types for bad files
        raise Task2SimError(
            f"cannot read image {path}: {exc}",
            "replace or delete the file (it is corrupt or not an image)",
        ) from exc
    return np.asarray(fit_square(rgb, size, mode, background), dtype=np.uint8)


def load_images(paths: list[Path], size: int, mode: ResizeMode, desc: str) -> np.ndarray:
    """Decode many files into one N x size x size x 3 array, with a progress bar."""

    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(tqdm(paths, desc=desc, unit="img", leave=False)):
        images[i] = load_image(path, size, mode)
    return images
