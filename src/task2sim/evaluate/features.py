"""The one feature extractor: 5-NN, the linear probe, fine-tuning's test pass and CKA all use it.

Features are what the paper's 5-NN uses: the backbone's own global pool of its last stage
(timm `forward_head(forward_features(x), pre_logits=True)`), on test-transformed images, in eval
mode under `torch.no_grad()`. Stage outputs (for CKA) come from forward hooks on the modules
timm lists in `feature_info`, each globally average-pooled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from task2sim.errors import Task2SimError
from task2sim.evaluate.transforms import check_image_size, eval_transform, train_transform


def pooled(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Globally pooled last-stage features (N, D); keeps autograd, so fine-tuning uses it too."""
    if hasattr(model, "forward_features") and hasattr(model, "forward_head"):
        return model.forward_head(model.forward_features(x), pre_logits=True)
    out = model(x)
    return out.mean(dim=(2, 3)) if out.ndim == 4 else out.flatten(1)


def _global_pool(out: torch.Tensor) -> torch.Tensor:
    if out.ndim == 4:  # N x C x H x W
        return out.mean(dim=(2, 3))
    if out.ndim == 3:  # N x tokens x C
        return out.mean(dim=1)
    return out.flatten(1)


def stage_modules(model: nn.Module) -> list[str]:
    """Names of the modules ending stages 1-4: the last four of timm's `feature_info`
    (for a ResNet: layer1..layer4; SPEC §7)."""
    info = getattr(model, "feature_info", None)
    names = [entry["module"] for entry in info or [] if isinstance(entry, dict)]
    if len(names) < 4:
        raise Task2SimError(
            f"{type(model).__name__} lists no four feature stages (timm `feature_info`)",
            "pass the module names to hook explicitly (modules=[...])",
        )
    return names[-4:]


class FeatureExtractor:
    """A backbone plus the test transform: uint8 images in, float32 (N, D) features out."""

    def __init__(
        self, model: nn.Module, image_size: int, batch_size: int = 256, progress: bool = False
    ) -> None:
        check_image_size(image_size)
        if batch_size < 1:
            raise Task2SimError(f"feature batch size must be >= 1, got {batch_size}")
        self.model = model
        self.image_size = image_size
        self.batch_size = batch_size
        self.progress = progress
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """Feature width, from one forward pass (heads with pre-logit layers change it)."""
        if self._dim is None:
            probe = np.zeros((2, self.image_size, self.image_size, 3), np.uint8)
            self._dim = self(probe).shape[1]
        return self._dim

    def _batches(self, images: np.ndarray, what: str) -> range:
        starts = range(0, len(images), self.batch_size)
        show = self.progress and len(starts) > 1
        return tqdm(starts, desc=what, unit="batch", leave=False) if show else starts

    def _run(self, images: np.ndarray, transform, what: str) -> np.ndarray:
        """Eval-mode, no-grad forward of every batch; the model's mode is restored afterwards."""
        was_training = self.model.training
        self.model.eval()
        chunks = []
        try:
            with torch.no_grad():
                for start in self._batches(images, what):
                    batch = np.asarray(images[start : start + self.batch_size])
                    chunks.append(pooled(self.model, transform(batch)).float())
        finally:
            self.model.train(was_training)
        if not chunks:
            return np.zeros((0, self.dim), np.float32)
        out = torch.cat(chunks).numpy()
        self._dim = out.shape[1]
        return out

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Test-transform features, float32 (N, D)."""
        return self._run(images, lambda b: eval_transform(b, self.image_size), "features")

    def augmented(
        self,
        images: np.ndarray,
        generator: torch.Generator,
        scale: tuple[float, float] = (0.08, 1.0),
    ) -> np.ndarray:
        """Features of one random-resized-crop + flip draw per image (the paper's probing)."""
        return self._run(
            images,
            lambda b: train_transform(b, self.image_size, generator, scale),
            "aug features",
        )

    def stages(
        self, images: np.ndarray, modules: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Globally average-pooled outputs of `modules` (default: stages 1-4), float32 (N, C)."""
        if len(images) == 0:
            raise Task2SimError("no images to take stage features of")
        names = list(modules) if modules is not None else stage_modules(self.model)
        found = dict(self.model.named_modules())
        missing = [n for n in names if n not in found]
        if missing:
            raise Task2SimError(f"{type(self.model).__name__} has no module named {missing}")
        outputs: dict[str, list[torch.Tensor]] = {n: [] for n in names}
        hooks = [
            found[n].register_forward_hook(
                lambda _m, _i, out, n=n: outputs[n].append(_global_pool(out).float())
            )
            for n in names
        ]
        try:
            self._run(images, lambda b: eval_transform(b, self.image_size), "stage features")
        finally:
            for hook in hooks:
                hook.remove()
        return {n: torch.cat(v).numpy() for n, v in outputs.items()}
