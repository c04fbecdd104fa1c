"""The test transform (shared by every protocol) and the train-time random-resized-crop + flip.

Eval (test): the paper's Resize 256 → CenterCrop 224, scaled to `image_size` (resize to
image_size·256/224, bilinear with antialiasing, centre crop), then ImageNet mean/std.
Train: timm's RandomResizedCrop (area scale 0.08-1 by default, ratio 3/4-4/3, bilinear) +
horizontal flip, done for a whole batch at once with one affine grid per image; crop boxes are
continuous, not rounded to whole pixels as torchvision does.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from task2sim.errors import Task2SimError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 1024


def check_image_size(image_size: int) -> None:
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise Task2SimError(
            f"image_size {image_size} is out of range {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}",
            "set evaluate.image_size (the side the backbone was trained at; the paper: 224)",
        )


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x C (C = 1 or 3) → float N x 3 x H x W in [0, 1]; grey repeated."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise Task2SimError(
            f"images must be uint8 N x H x W x C with C in (1, 3), got {images.dtype} "
            f"{images.shape}"
        )
    if not images.flags.writeable:  # memory-mapped task arrays: torch wants writable memory
        images = images.copy()
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def eval_transform(images: np.ndarray, image_size: int) -> torch.Tensor:
    """The evaluation transform: resize image_size·256/224, centre crop image_size, normalise."""
    check_image_size(image_size)
    x = to_float(images)
    resized = round(image_size * 256 / 224)
    x = F.interpolate(x, size=(resized, resized), mode="bilinear", antialias=True)
    top = (resized - image_size) // 2
    return normalize(x[:, :, top : top + image_size, top : top + image_size])


def _crop_boxes(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """RandomResizedCrop boxes (x0, y0, w, h) in pixels: 10 tries each, else a centre crop."""
    log_ratio, tries = (math.log(3 / 4), math.log(4 / 3)), 10
    u = torch.rand(n, tries, 4, generator=generator, dtype=torch.float64)
    area = height * width * (scale[0] + (scale[1] - scale[0]) * u[..., 0])
    ratio = torch.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * u[..., 1])
    w = torch.sqrt(area * ratio)
    h = torch.sqrt(area / ratio)
    ok = (w <= width) & (h <= height)
    first = ok.to(torch.int8).argmax(1)
    rows = torch.arange(n)
    w, h, ux, uy = w[rows, first], h[rows, first], u[rows, first, 2], u[rows, first, 3]
    # Fallback: the whole image, clamped to the ratio range (as torchvision).
    aspect = width / height
    fw, fh = float(width), float(height)
    if aspect < 3 / 4:
        fh = width / (3 / 4)
    elif aspect > 4 / 3:
        fw = height * (4 / 3)
    missed = ~ok.any(1)
    w = torch.where(missed, torch.full_like(w, fw), w)
    h = torch.where(missed, torch.full_like(h, fh), h)
    ux = torch.where(missed, torch.full_like(ux, 0.5), ux)
    uy = torch.where(missed, torch.full_like(uy, 0.5), uy)
    return ux * (width - w), uy * (height - h), w, h


def train_transform(
    images: np.ndarray,
    image_size: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
) -> torch.Tensor:
    """Random-resized-crop (area share `scale`) to image_size + horizontal flip (p 0.5),
    normalised."""
    check_image_size(image_size)
    x = to_float(images)
    n, _, height, width = x.shape
    x0, y0, w, h = _crop_boxes(n, height, width, generator, scale)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).double()
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = flip * w / width
    theta[:, 0, 2] = 2 * (x0 + w / 2) / width - 1
    theta[:, 1, 1] = h / height
    theta[:, 1, 2] = 2 * (y0 + h / 2) / height - 1
    grid = F.affine_grid(theta.float(), [n, 3, image_size, image_size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return normalize(x)
