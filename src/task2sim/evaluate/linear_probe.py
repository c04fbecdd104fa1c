"""Linear probe: frozen backbone in eval mode, a new head trained on its features (SPEC §5).

The backbone never changes, so its features are computed once and the head trains on the cache:
the same result as running the backbone every step, at a fraction of the cost. The paper also
draws random-resized-crop + flip views while probing; `augment: true` does that, recomputing the
features of one fresh view per image every epoch (one backbone pass per epoch).
"""

from __future__ import annotations

import numpy as np

from task2sim.evaluate.data import Split, check_labels
from task2sim.evaluate.features import FeatureExtractor
from task2sim.evaluate.heads import fit_head, head_top1
from task2sim.params import HParams, LinearProbeParams


def linear_probe_top1(
    extractor: FeatureExtractor,
    train: Split,
    test: Split,
    num_classes: int,
    hp: HParams,
    settings: LinearProbeParams,
    seed: int,
    features: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Top-1 % on `test` of a head trained on `train`; `features` reuses cached (train, test)."""
    check_labels(train.labels, num_classes, "training")
    check_labels(test.labels, num_classes, "test")
    train_f, test_f = features if features is not None else (extractor(train.images), None)
    epoch_features = None
    if settings.augment:
        epoch_features = lambda gen: extractor.augmented(train.images, gen)  # noqa: E731
    head = fit_head(train_f, train.labels, num_classes, hp, settings, seed, epoch_features)
    if test_f is None:
        test_f = extractor(test.images)
    return head_top1(head, test_f, test.labels)
