"""The noise behind the procedural materials, baked once into a small tileable 3D texture.

Evaluating value-noise fbm per fragment cost several hash octaves on llvmpipe; one trilinear fetch
of this volume (in object space, times the material's scale) gives the same kind of pattern.
Channel R holds tileable 3-octave fbm with a lattice of `PERIOD` cells per texture at octave 0;
channel G holds one uniform random value per texel (value noise with a texel-sized lattice, for
fine speckles). Baked with numpy from a fixed seed, so every renderer gets identical bytes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SIZE = 64  # texels per side
PERIOD = 8  # octave-0 lattice cells per texture side: the volume spans 8 noise units
OCTAVES = 3
FBM_MAX = 1.0 - 0.5**OCTAVES  # largest fbm value (weights 1/2, 1/4, ...): R stores fbm / FBM_MAX


def _smooth_upsample(lattice: np.ndarray, size: int) -> np.ndarray:
    """Periodic value noise: `lattice` (c, c, c) interpolated with smoothstep to (size,) * 3."""
    cells = lattice.shape[0]
    x = np.arange(size) * cells / size
    i0 = np.floor(x).astype(np.int64)
    f = x - i0
    f = f * f * (3.0 - 2.0 * f)
    i1 = (i0 + 1) % cells
    out = lattice
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = size
        w = f.reshape(shape)
        out = np.take(out, i0, axis=axis) * (1.0 - w) + np.take(out, i1, axis=axis) * w
    return out


def _fbm(rng: np.random.Generator) -> np.ndarray:
    total = np.zeros((SIZE, SIZE, SIZE))
    for octave in range(OCTAVES):
        cells = PERIOD * 2**octave
        total += 0.5 ** (octave + 1) * _smooth_upsample(rng.uniform(size=(cells,) * 3), SIZE)
    return total


@lru_cache(maxsize=1)
def noise_volume(seed: int = 0) -> np.ndarray:
    """(SIZE, SIZE, SIZE, 4) uint8, indexed [z, y, x] as OpenGL uploads 3D textures."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6E6F6973]))
    volume = np.zeros((SIZE, SIZE, SIZE, 4), dtype=np.uint8)
    volume[..., 0] = np.rint(_fbm(rng) / FBM_MAX * 255)
    volume[..., 1] = rng.integers(0, 256, size=(SIZE,) * 3, dtype=np.uint8)
    volume[..., 3] = 255
    volume.setflags(write=False)
    return volume
