"""Labelled image arrays and the seeded per-class subsets every protocol draws from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from task2sim.errors import Task2SimError


@dataclass(frozen=True)
class Split:
    """uint8 N x H x W x C images (C = 1 or 3) with their int64 labels: one side of a task."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Split:
        return Split(self.images[index], self.labels[index])


def stratified_cap(labels: np.ndarray, max_images: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most `max_images` items, each class cut in proportion (one at least).

    Sorted, so a capped set keeps the dataset's order and the cap alone decides what is kept.
    """
    labels = np.asarray(labels)
    if max_images is None or len(labels) <= max_images:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = max(1, math.floor(len(members) * max_images / len(labels)))
        keep.append(rng.permutation(members)[:count])
    return np.sort(np.concatenate(keep))


def check_labels(labels: np.ndarray, num_classes: int, what: str) -> None:
    """Refuse labels the heads or the vote could not index."""
    labels = np.asarray(labels)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise Task2SimError(
            f"{what} labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}"
        )
