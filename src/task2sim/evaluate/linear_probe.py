"""Linear probe: frozen backbone in eval mode, a new head trained on its features (SPEC §5).

The backbone never changes, so its features are computed once and the head trains on the cache:
the same result as running the backbone every step, at a fraction of the cost. The paper also
draws random-resized-crop + flip views while probing; `augment: true` does that, recomputing the
features of one fresh view per image every epoch (one backbone pass per epoch).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from task2sim.evaluate.data import Split, check_labels
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.heads import fit_head, head_top1
from task2sim.params import HParams, LinearProbeParams


def fit_linear_head(
    extractor: FeatureExtractor,
    train: Split,
    num_classes: int,
    hp: HParams,
    settings: LinearProbeParams,
    seed: int,
    train_features: np.ndarray | None = None,
) -> nn.Sequential:
    """The probe's trained head (eval mode); `train_features` reuses cached features."""
    check_labels(train.labels, num_classes, "training")
    train_f = train_features if train_features is not None else extractor(train.images)
    epoch_features = None
    if settings.augment:
        epoch_features = lambda gen: extractor.augmented(  # noqa: E731
            train.images, gen, settings.crop_scale
        )
    return fit_head(train_f, train.labels, num_classes, hp, settings, seed, epoch_features)


def linear_probe_top1(
    extractor: FeatureExtractor,
    train: Split,
    test: Split,
    num_classes: int,
    hp: HParams,
    settings: LinearProbeParams,
    seed: int,
    features: tuple[np.ndarray, np.ndarray] | None = None,
    head: nn.Sequential | None = None,
) -> float:
    """Top-1 % on `test` of a head trained on `train`; `features` reuses cached (train, test),
    `head` an already trained probe head."""
    check_labels(test.labels, num_classes, "test")
    train_f, test_f = features if features is not None else (None, None)
    if head is None:
        head = fit_linear_head(extractor, train, num_classes, hp, settings, seed, train_f)
    if test_f is None:
        test_f = extractor(test.images)
    return head_top1(head, test_f, test.labels)
