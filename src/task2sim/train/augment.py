"""timm's training transform, batched on tensors: the same steps for a whole uint8 batch at once.

At 32 px timm's per-image PIL pipeline (crop, flip, RandAugment, to-tensor, normalise) costs about
as much CPU time per image as a small network's training step, so on a few cores the data, not the
model, sets the pace. This module applies the same steps to a batch:

- random-resized crop + horizontal flip: crop boxes drawn exactly as timm's
  `RandomResizedCropAndInterpolation.get_params` draws them, then one affine `grid_sample`;
- RandAugment: the policy (ops, probabilities, magnitudes, magnitude noise, layers, choice weights)
  comes from timm's own parser (`rand_augment_transform`); each op's argument follows timm's
  level-to-argument rules and each op is re-implemented on tensors after PIL's definition;
- colour jitter (off while RandAugment is on, as in timm), then ImageNet normalisation.

Values stay on the 0..255 grid after every op, like PIL's uint8 images. Known differences from
PIL: the bicubic kernel (a = -0.75 here, -0.5 in PIL) and no antialiasing when a crop is larger
than the output (sets larger than `image_size` are resized once, with antialiasing, first).
Every random draw comes from the generator passed in, so a batch depends only on its seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from task2sim.errors import Task2SimError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_LEVEL_DENOM = 10.0  # timm: magnitude M maps to level M / 10
_EPS = 1e-3  # PIL truncates float results; keep 254.9999 from becoming 254


@dataclass(frozen=True)
class _Op:
    name: str
    prob: float
    magnitude: float
    magnitude_std: float
    magnitude_max: float | None
    hparams: dict


@dataclass(frozen=True)
class RandPolicy:
    """A parsed timm RandAugment policy."""

    ops: tuple[_Op, ...]
    num_layers: int
    weights: tuple[float, ...] | None


def parse_randaugment(config: str, image_size: int, interpolation: str) -> RandPolicy:
    """Parse `config` with timm's own parser, keeping only what the tensor ops need."""
    from timm.data.auto_augment import rand_augment_transform

    hparams = {
        "translate_const": int(image_size * 0.45),
        "img_mean": tuple(min(255, round(255 * m)) for m in IMAGENET_MEAN),
        "interpolation": interpolation,
    }
    try:
        timm_ra = rand_augment_transform(config, hparams)
    except (AssertionError, ValueError) as exc:
        raise Task2SimError(
            f"timm cannot parse the RandAugment string '{config}' ({exc})",
            "use a timm string such as rand-m9-mstd0.5-inc1",
        ) from None
    ops = tuple(
        _Op(op.name, op.prob, op.magnitude, op.magnitude_std, op.magnitude_max, op.hparams)
        for op in timm_ra.ops
    )
    unknown = sorted({op.name for op in ops} - _KNOWN)
    if unknown:
        raise Task2SimError(
            f"RandAugment ops {unknown} have no tensor version",
            "set augment_impl: timm (timm's PIL transform) for this policy",
        )
    weights = None if timm_ra.choice_weights is None else tuple(timm_ra.choice_weights)
    return RandPolicy(ops, timm_ra.num_layers, weights)


# ---- PIL's pixel operations on float tensors holding 0..255 integers, shape (N, 3, H, W) ----


def _blend(degenerate: torch.Tensor, image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's Image.blend as ImageEnhance uses it: truncated to uint8."""
    out = torch.addcmul(degenerate + _EPS, image - degenerate, _per_image(factor))
    return out.clamp_(0, 255).floor_()


def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def _gray(image: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L conversion (ITU-R 601-2 luma, fixed point, rounded), kept 1-channel."""
    weight = image.new_tensor([19595, 38470, 7471]).view(1, 3, 1, 1) / 65536
    return F.conv2d(image, weight, image.new_tensor([0.5])).floor_()  # exact in float32


def color(image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _blend(_gray(image).expand_as(image), image, factor)


def gray_mean(image: torch.Tensor) -> torch.Tensor:
    """PIL's ImageEnhance.Contrast grey level: the rounded mean of the L image."""
    return torch.floor(_gray(image).mean(dim=(1, 2, 3)) + 0.5)


def contrast(
    image: torch.Tensor, factor: torch.Tensor, mean: torch.Tensor | None = None
) -> torch.Tensor:
    mean = gray_mean(image) if mean is None else mean
    return _blend(_per_image(mean).expand_as(image), image, factor)


def brightness(image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _blend(torch.zeros_like(image), image, factor)


def sharpness(image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with PIL's SMOOTH filter (3x3, centre 5, sum 13), whose border keeps the input."""
    kernel = image.new_ones(3, 1, 3, 3)
    kernel[:, :, 1, 1] = 5
    smooth = torch.floor(F.conv2d(image, kernel / 13, groups=3) + 0.5)
    degenerate = image.clone()
    degenerate[:, :, 1:-1, 1:-1] = smooth
    return _blend(degenerate, image, factor)


def _ramp(image: torch.Tensor) -> torch.Tensor:
    """Every uint8 value as a 1 x 256 "image" per input image and channel: a pointwise op
    applied to it is that op's lookup table."""
    values = torch.arange(256, dtype=image.dtype, device=image.device)
    return values.expand(len(image), image.shape[1], 1, 256)


def apply_lut(image: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Map every pixel through its image's and channel's table: lut (N, C, 256)."""
    n, c, h, w = image.shape
    return lut.gather(2, image.reshape(n, c, h * w).long()).reshape(n, c, h, w)


def autocontrast_lut(image: torch.Tensor) -> torch.Tensor:
    """PIL's ImageOps.autocontrast: stretch each channel's [min, max] to [0, 255]."""
    low = image.amin(dim=(2, 3))[..., None]
    high = image.amax(dim=(2, 3))[..., None]
    ramp = _ramp(image)[:, :, 0]
    scale = 255 / (high - low).clamp(min=1)
    stretched = ((ramp - low) * scale + _EPS).floor_().clamp_(0, 255)
    return torch.where(high > low, stretched, ramp)


def equalize_lut(image: torch.Tensor) -> torch.Tensor:
    """PIL's ImageOps.equalize, per channel: a table from the cumulative histogram."""
    n, c, h, w = image.shape
    flat = image.reshape(n * c, h * w).long()
    hist = torch.zeros(n * c, 256, dtype=torch.long, device=image.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat))
    last = 255 - torch.argmax((hist.flip(1) > 0).long(), dim=1)
    step = (h * w - hist.gather(1, last[:, None])) // 255
    before = torch.cumsum(hist, dim=1) - hist
    lut = ((step // 2 + before) // step.clamp(min=1)).clamp_(max=255)
    lut = torch.where(step > 0, lut, torch.arange(256, device=image.device))
    return lut.to(image.dtype).reshape(n, c, 256)


def posterize(image: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    unit = _per_image(torch.pow(2.0, 8 - bits.clamp(max=8)))
    return torch.floor(image / unit) * unit


def solarize(image: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    return torch.where(image < _per_image(threshold), image, 255 - image)


def solarize_add(image: torch.Tensor, add: torch.Tensor, threshold: float = 128) -> torch.Tensor:
    return torch.where(image < threshold, (image + _per_image(add)).clamp(max=255), image)


def affine(
    image: torch.Tensor, theta: torch.Tensor, fill: tuple[int, ...], mode: str
) -> torch.Tensor:
    """PIL's Image.transform(AFFINE): theta maps output to input in [-1, 1] coordinates; pixels
    whose source lies outside the image take `fill`, the others are read with edge clamping."""
    grid = F.affine_grid(theta.to(image), list(image.shape), align_corners=False)
    out = F.grid_sample(image, grid, mode=mode, padding_mode="border", align_corners=False)
    inside = (grid.abs() <= 1).all(dim=-1, keepdim=True).permute(0, 3, 1, 2)
    filler = torch.tensor(fill, dtype=image.dtype, device=image.device).view(1, -1, 1, 1)
    return torch.where(inside, out.round_().clamp_(0, 255), filler)


def _theta(a, b, c, d, e, f) -> torch.Tensor:
    return torch.stack([torch.stack([a, b, c], -1), torch.stack([d, e, f], -1)], -2)


# ---- RandAugment ops: (image, level in 0..1, sign +-1, op) -> image; timm's level-to-arg ----

_OpFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, _Op, str], torch.Tensor]


def _geometric_theta(kind: str) -> Callable:
    """(level, sign, op, size) -> the (N, 2, 3) affine of one geometric op, as timm sets it."""

    def theta(level: torch.Tensor, sign: torch.Tensor, op: _Op, size: int) -> torch.Tensor:
        one, zero = torch.ones_like(level), torch.zeros_like(level)
        if kind == "rotate":  # PIL rotates counter-clockwise by `degrees` about the centre
            angle = -torch.deg2rad(level * 30 * sign)
            cos, sin = torch.cos(angle), torch.sin(angle)
            return _theta(cos, sin, zero, -sin, cos, zero)
        if kind == "shear_x":
            f = level * 0.3 * sign
            return _theta(one, f, f, zero, one, zero)
        if kind == "shear_y":
            f = level * 0.3 * sign
            return _theta(one, zero, zero, f, one, f)
        if kind.endswith("rel"):
            pixels = level * op.hparams.get("translate_pct", 0.45) * sign * size
        else:
            pixels = level * float(op.hparams["translate_const"]) * sign
        shift = 2 * pixels / size
        if kind.startswith("translate_x"):
            return _theta(one, zero, shift, zero, one, zero)
        return _theta(one, zero, zero, zero, one, shift)

    return theta


_GEOMETRIC = {
    "Rotate": _geometric_theta("rotate"),
    "ShearX": _geometric_theta("shear_x"),
    "ShearY": _geometric_theta("shear_y"),
    "TranslateX": _geometric_theta("translate_x"),
    "TranslateY": _geometric_theta("translate_y"),
    "TranslateXRel": _geometric_theta("translate_x_rel"),
    "TranslateYRel": _geometric_theta("translate_y_rel"),
}


def _geometric(name: str) -> _OpFn:
    def apply(image, level, sign, op, mode):
        theta = _GEOMETRIC[name](level.cpu(), sign.cpu(), op, image.shape[-1])
        return affine(image, theta, op.hparams["img_mean"], mode)

    return apply


def _enhance(fn: Callable, increasing: bool) -> _OpFn:
    def apply(image, level, sign, op, mode):
        # increasing: 1.0 is "no change", stronger towards 0.1 or 1.9; else 0.1 .. 1.9 by level
        increased = (1.0 + level * 0.9 * sign).clamp(min=0.1)
        return fn(image, increased if increasing else level * 1.8 + 0.1)

    return apply


def _posterize(offset: int, increasing: bool) -> _OpFn:
    def apply(image, level, sign, op, mode):
        bits = torch.floor(level * 4)
        bits = 4 - bits if increasing else bits + offset
        return torch.where(_per_image(bits) >= 8, image, posterize(image, bits))

    return apply


def _solarize(increasing: bool) -> _OpFn:
    def apply(image, level, sign, op, mode):
        threshold = torch.floor(level * 256).clamp(max=256)
        return solarize(image, 256 - threshold if increasing else threshold)

    return apply


_OPS: dict[str, _OpFn] = {  # ops that act on images
    "Color": _enhance(color, increasing=False),
    "ColorIncreasing": _enhance(color, increasing=True),
    "Sharpness": _enhance(sharpness, increasing=False),
    "SharpnessIncreasing": _enhance(sharpness, increasing=True),
    **{name: _geometric(name) for name in _GEOMETRIC},
}


def _contrast_lut(increasing: bool) -> _OpFn:
    def table(image, level, sign, op, mode):
        mean = gray_mean(image)
        factor = (1.0 + level * 0.9 * sign).clamp(min=0.1) if increasing else level * 1.8 + 0.1
        return contrast(_ramp(image), factor, mean)

    return table


# Pointwise ops, as lookup tables (N, C, 1, 256): one gather applies a whole layer's tables.
_LUTS: dict[str, _OpFn] = {
    "AutoContrast": lambda image, *_: autocontrast_lut(image)[:, :, None],
    "Equalize": lambda image, *_: equalize_lut(image)[:, :, None],
    "Invert": lambda image, *_: 255 - _ramp(image),
    "Posterize": lambda image, *a: _posterize(0, increasing=False)(_ramp(image), *a),
    "PosterizeIncreasing": lambda image, *a: _posterize(0, increasing=True)(_ramp(image), *a),
    "PosterizeOriginal": lambda image, *a: _posterize(4, increasing=False)(_ramp(image), *a),
    "Solarize": lambda image, *a: _solarize(increasing=False)(_ramp(image), *a),
    "SolarizeIncreasing": lambda image, *a: _solarize(increasing=True)(_ramp(image), *a),
    "SolarizeAdd": lambda image, level, *_: solarize_add(
        _ramp(image), torch.floor(level * 110).clamp(max=128)
    ),
    "Contrast": _contrast_lut(increasing=False),
    "ContrastIncreasing": _contrast_lut(increasing=True),
    "Brightness": lambda image, *a: _enhance(brightness, increasing=False)(_ramp(image), *a),
    "BrightnessIncreasing": lambda image, *a: _enhance(brightness, increasing=True)(
        _ramp(image), *a
    ),
}
_KNOWN = set(_OPS) | set(_LUTS)


def apply_op(
    name: str, image: torch.Tensor, magnitude: float, sign: float = 1.0, mode: str = "bicubic"
) -> torch.Tensor:
    """One RandAugment op at a fixed magnitude (0..10) for every image: for tests and checks."""
    from timm.data.auto_augment import _HPARAMS_DEFAULT

    size = image.shape[-1]
    hparams = {**_HPARAMS_DEFAULT, "translate_const": int(size * 0.45)}
    op = _Op(name, 1.0, magnitude, 0.0, None, hparams)
    n = len(image)
    level = torch.full((n,), magnitude / _LEVEL_DENOM)
    args = (level, torch.full((n,), sign), op, mode)
    if name in _LUTS:
        return apply_lut(image, _LUTS[name](image, *args)[:, :, 0])
    return _OPS[name](image, *args)


# ---- the whole transform ----


def _magnitude_params(op: _Op) -> tuple[float, float, float, float]:
    """(probability, magnitude, its noise std, its upper bound) of one timm AugmentOp."""
    return op.prob, float(op.magnitude), op.magnitude_std, op.magnitude_max or _LEVEL_DENOM


def sample_crops(
    n: int,
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator,
) -> torch.Tensor:
    """(top, left, h, w) per image, drawn as timm's RandomResizedCropAndInterpolation does:
    ten tries of area and log-uniform aspect, else a centre crop of the allowed aspect."""
    attempts = 10
    area = height * width
    target = (
        scale[0] + (scale[1] - scale[0]) * torch.rand(n, attempts, generator=generator)
    ) * area
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(n, attempts, generator=generator))
    w = torch.round(torch.sqrt(target * aspect))
    h = torch.round(torch.sqrt(target / aspect))
    ok = (w <= width) & (h <= height)
    first = torch.argmax(ok.long(), dim=1, keepdim=True)
    w, h = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0]
    top = torch.floor(torch.rand(n, generator=generator) * (height - h + 1))
    left = torch.floor(torch.rand(n, generator=generator) * (width - w + 1))
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw, fh = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        fw, fh = round(height * max(ratio)), height
    else:
        fw, fh = width, height
    fallback = torch.tensor([(height - fh) // 2, (width - fw) // 2, fh, fw], dtype=torch.float32)
    crops = torch.stack([top, left, h, w], dim=1)
    return torch.where(ok.any(dim=1, keepdim=True), crops, fallback)


class TensorTrainTransform:
    """Callable: uint8 images (N, H, W, 3) -> normalised float (N, 3, S, S), like timm's
    `create_transform(S, is_training=True, ...)` applied to each image."""

    def __init__(
        self,
        image_size: int,
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        hflip: float = 0.5,
        randaugment: str | None = None,
        color_jitter: float | None = 0.4,
        interpolation: str = "bicubic",
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
    ) -> None:
        self.size = image_size
        self.scale, self.ratio, self.hflip = scale, ratio, hflip
        self.mode = interpolation
        self.policy = (
            parse_randaugment(randaugment, image_size, interpolation) if randaugment else None
        )
        # timm turns colour jitter off when an auto-augment policy is on (unless it is '3a').
        self.jitter = color_jitter if color_jitter and self.policy is None else None
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float()
        if x.shape[-1] > self.size or x.shape[-2] > self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", antialias=True)
            x = x.round_().clamp_(0, 255)
        x = self._crop_flip(x, generator)
        if self.policy is not None:
            x = self._randaugment(x, generator)
        if self.jitter:
            x = self._color_jitter(x, generator)
        return x.sub_(self.mean.to(x.device)).div_(self.std.to(x.device))

    def _crop_flip(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, height, width = x.shape
        top, left, h, w = sample_crops(n, height, width, self.scale, self.ratio, generator).T
        flip = torch.rand(n, generator=generator) < self.hflip
        sx = torch.where(flip, -w / width, w / width)
        zero = torch.zeros(n)
        theta = _theta(
            sx, zero, (2 * left + w) / width - 1, zero, h / height, (2 * top + h) / height - 1
        )
        grid = F.affine_grid(theta.to(x), [n, 3, self.size, self.size], align_corners=False)
        out = F.grid_sample(x, grid, mode=self.mode, padding_mode="border", align_corners=False)
        return out.round_().clamp_(0, 255)

    def _randaugment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Each layer gives each image one op (kept with the op's probability); images are
        grouped by op, and all geometric ops of a layer share one resampling pass."""
        policy = self.policy
        assert policy is not None
        n, layers, count = len(x), policy.num_layers, len(policy.ops)
        if policy.weights is None:  # timm: uniform with replacement, else weighted without
            chosen = torch.randint(count, (n, layers), generator=generator)
        else:
            weights = torch.tensor(policy.weights, dtype=torch.float64).expand(n, -1)
            chosen = torch.multinomial(weights, layers, replacement=False, generator=generator)
        gate = torch.rand(n, layers, generator=generator)
        noise = torch.randn(n, layers, generator=generator)
        uniform = torch.rand(n, layers, generator=generator)
        sign = torch.where(torch.rand(n, layers, generator=generator) > 0.5, -1.0, 1.0)
        prob, mean, std, top = (
            torch.tensor(values, dtype=torch.float32)[chosen]
            for values in zip(*(_magnitude_params(op) for op in policy.ops), strict=True)
        )
        magnitude = torch.where(
            torch.isinf(std), uniform * mean, mean + noise * torch.where(std > 0, std, 0)
        )
        level = torch.minimum(magnitude.clamp(min=0), top) / _LEVEL_DENOM
        applied = gate <= prob
        fill = policy.ops[0].hparams["img_mean"]
        stats = {"AutoContrast", "Equalize", "Contrast", "ContrastIncreasing"}
        for layer in range(layers):
            ops = torch.where(applied[:, layer], chosen[:, layer], -1)
            geo_rows, geo_theta = [], []
            lut = None
            for k in torch.unique(ops).tolist():
                if k < 0:
                    continue
                op = policy.ops[k]
                rows = torch.nonzero(ops == k)[:, 0]
                lv, sg = level[rows, layer], sign[rows, layer]
                if op.name in _GEOMETRIC:
                    geo_rows.append(rows)
                    geo_theta.append(_GEOMETRIC[op.name](lv, sg, op, self.size))
                    continue
                args = (lv.to(x.device), sg.to(x.device), op, self.mode)
                if op.name in _LUTS:  # tables from these rows' pixels only where needed
                    if lut is None:
                        lut = _ramp(x)[:, :, 0].clone()
                    source = x[rows] if op.name in stats else x[: len(rows)]
                    lut[rows] = _LUTS[op.name](source, *args)[:, :, 0]
                else:
                    x[rows] = _OPS[op.name](x[rows], *args)
            if lut is not None:
                x = apply_lut(x, lut)
            if geo_rows:
                rows = torch.cat(geo_rows)
                x[rows] = affine(x[rows], torch.cat(geo_theta), fill, self.mode)
        return x

    def _color_jitter(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """torchvision's ColorJitter on PIL images: brightness, contrast, saturation in a random
        order per image, each factor uniform in [1 - j, 1 + j]."""
        n, j = len(x), float(self.jitter or 0)
        low = max(0.0, 1 - j)
        factors = low + (1 + j - low) * torch.rand(n, 3, generator=generator)
        order = torch.argsort(torch.rand(n, 3, generator=generator), dim=1)
        ops = (brightness, contrast, color)
        for position in range(3):
            for k, op in enumerate(ops):
                rows = torch.nonzero(order[:, position] == k)[:, 0]
                if len(rows):
                    x[rows] = op(x[rows], factors[rows, k].to(x.device))
        return x
