"""Seeded per-class train/test split, as the paper does for datasets without an official one."""

from __future__ import annotations

import numpy as np

from task2sim.errors import Task2SimError


def split_per_class(
    labels: np.ndarray,
    test_fraction: float,
    seed: int,
    groups: np.ndarray | None = None,
    class_names: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted (train, test) indices holding out `test_fraction` of each class.

    With `groups`, whole groups (e.g. one emoji in several renderings) go to one side, so no
    near-duplicate of a test image is trained on. Each class keeps at least one group on each side.
    """
    if not 0.0 < test_fraction < 1.0:
        raise Task2SimError(f"test_fraction must be in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        in_class = np.flatnonzero(labels == label)
        class_groups = np.unique(groups[in_class])
        if len(class_groups) < 2:
            name = class_names[label] if class_names else str(label)
            raise Task2SimError(
                f"class '{name}' has {len(class_groups)} distinct image(s); "
                "a train/test split needs at least 2",
                "add images to that class or remove its folder",
            )
        order = rng.permutation(class_groups)
        n_test = min(max(1, round(len(order) * test_fraction)), len(order) - 1)
        test_groups = order[:n_test]
        is_test = np.isin(groups[in_class], test_groups)
        test.append(in_class[is_test])
        train.append(in_class[~is_test])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
