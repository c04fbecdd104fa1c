"""Linear CKA (Kornblith et al., ICML 2019), in float64.

CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) on column-centred features of the same n
images. The matrix form uses the equivalent Gram identity ||Y^T X||_F^2 = <XX^T, YY^T>_F, so
each backbone's centred n x n Gram matrix is built once, whatever its feature width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from task2sim.errors import Task2SimError


def _centred(features: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise Task2SimError(f"{what} must be an n x p matrix with n >= 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise Task2SimError(f"{what} holds NaN or infinite values")
    return x - x.mean(axis=0, keepdims=True)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two feature matrices of the same n images (rows); 0 if either is constant."""
    xc, yc = _centred(x, "X"), _centred(y, "Y")
    if xc.shape[0] != yc.shape[0]:
        raise Task2SimError(f"X and Y describe different images: {xc.shape[0]} vs {yc.shape[0]}")
    cross = np.linalg.norm(yc.T @ xc) ** 2
    norm = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    return float(cross / norm) if norm > 0 else 0.0


def cka_matrix(features: Sequence[np.ndarray]) -> np.ndarray:
    """Symmetric k x k matrix of linear CKA between k feature matrices of the same images."""
    grams = []
    for i, f in enumerate(features):
        xc = _centred(f, f"features {i}")
        grams.append(xc @ xc.T)
    sizes = {g.shape[0] for g in grams}
    if len(sizes) > 1:
        raise Task2SimError(f"feature matrices describe different image counts: {sorted(sizes)}")
    flat = np.stack([g.ravel() for g in grams])
    inner = flat @ flat.T
    norms = np.sqrt(np.diag(inner))
    denom = np.outer(norms, norms)
    out = np.divide(inner, denom, out=np.zeros_like(inner), where=denom > 0)
    return (out + out.T) / 2
