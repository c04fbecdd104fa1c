"""Stage 1-4 features of a backbone over task images, for CKA.

The stages are the last four entries of timm's `feature_info`, the blocks that end at strides
4, 8, 16 and 32: `layer1..layer4` for a ResNet (SPEC §7), and for EfficientNet(-Lite)
`blocks.1`, `blocks.2`, `blocks.4`, `blocks.6` (24, 40, 112, 320 channels; before the 1x1 head
conv), the blocks that end at the same strides. Each output map is globally average-pooled: the
paper does not say how it reduced the maps (SPEC §7), and pooling keeps n x C matrices whatever
the resolution. Images get the shared test transform (`FeatureExtractor`).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from task2sim.evaluate.features import FeatureExtractor, stage_modules

STAGES = ("stage1", "stage2", "stage3", "stage4")
POOLING = "global average pool of each stage's output map"


def stage_features(
    model: nn.Module, images: np.ndarray, image_size: int, batch_size: int = 256
) -> tuple[list[np.ndarray], list[str]]:
    """Pooled outputs of stages 1-4 (four float32 n x C arrays) and the module names used."""
    modules = stage_modules(model)
    outputs = FeatureExtractor(model, image_size, batch_size).stages(images, modules)
    return [outputs[m] for m in modules], modules
