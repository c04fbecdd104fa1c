"""Training batches from an image set, deterministic in (seed, epoch, rank).

Two implementations of the same augmentation (`TrainRecipe.augment_impl`):
- `tensor`: whole batches augmented by `augment.TensorTrainTransform` in the training process (on
  its device). At 32 px timm's per-image PIL transform costs about as much CPU as a small model's
  training step, so with 2 cores this is what keeps the network busy.
- `timm`: timm's own `create_transform(is_training=True)` on PIL images, per image, in DataLoader
  workers, as timm's train script does; the faithful choice when there are cores to spare.

Each rank reads its share of a per-epoch shuffle (`DistributedSampler`); the last partial batch is
dropped, as timm's train loader does (Mixup needs full, even batches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from task2sim.errors import Task2SimError
from task2sim.params import TrainRecipe
from task2sim.train.augment import IMAGENET_MEAN, IMAGENET_STD, TensorTrainTransform

# Streams of randomness, so that no two uses of one seed collide.
STREAM_DATA = 1
STREAM_LOADER = 2
STREAM_STEP = 3


def derive_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers (seed, stream, rank, epoch, ...)."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def seed_globals(seed: int, cuda: bool = False) -> None:
    """Seed python, numpy and torch global generators (timm's Mixup and drop-path use them).

    `torch.manual_seed` also seeds CUDA and costs ~1 ms on CPU-only machines with a CUDA build,
    so the CPU generator is seeded directly.
    """
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.random.default_generator.manual_seed(seed)
    if cuda:
        torch.cuda.manual_seed(seed)


def _posterize(image: Image.Image, bits_to_keep: int, **_: object) -> Image.Image:
    """timm's posterize op, for Pillow >= 12, which refuses to keep 0 bits: timm's
    PosterizeIncreasing asks for 0 at magnitude 10 (reached by rand-m9-mstd0.5), which older
    Pillow turned black."""
    if bits_to_keep >= 8:
        return image
    if bits_to_keep <= 0:
        return image.point([0] * 256 * len(image.getbands()))
    return ImageOps.posterize(image, bits_to_keep)


def patch_timm_posterize() -> None:
    """Make timm's RandAugment posterize ops work with the installed Pillow (idempotent)."""
    from timm.data import auto_augment

    auto_augment.posterize = _posterize
    for name in ("Posterize", "PosterizeIncreasing", "PosterizeOriginal"):
        auto_augment.NAME_TO_OP[name] = _posterize


def timm_transform(recipe: TrainRecipe) -> Callable:
    """timm's training transform for PIL images, as its train script builds it."""
    from timm.data import create_transform

    patch_timm_posterize()

    return create_transform(
        recipe.image_size,
        is_training=True,
        scale=recipe.crop_scale,
        hflip=recipe.hflip,
        color_jitter=recipe.color_jitter,
        auto_augment=recipe.randaugment,
        interpolation=recipe.interpolation,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )


def tensor_transform(recipe: TrainRecipe) -> TensorTrainTransform:
    return TensorTrainTransform(
        recipe.image_size,
        scale=recipe.crop_scale,
        hflip=recipe.hflip,
        randaugment=recipe.randaugment,
        color_jitter=recipe.color_jitter,
        interpolation=recipe.interpolation,
    )


class ImageArrayDataset(Dataset):
    """uint8 images (N, H, W, 3) + labels through a per-image PIL transform."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(np.ascontiguousarray(self.images[index]))
        return self.transform(image), int(self.labels[index])


class TrainBatches:
    """Per-epoch batches of (normalised float images (B, 3, S, S), int64 labels) on `device`."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        recipe: TrainRecipe,
        *,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | None = None,
    ) -> None:
        self.recipe, self.rank, self.world_size = recipe, rank, world_size
        self.device = device or torch.device("cpu")
        self.images, self.labels = images, labels
        self.sampler = DistributedSampler(
            range(len(labels)), num_replicas=world_size, rank=rank, shuffle=True, seed=recipe.seed
        )
        self.batches_per_epoch = len(self.sampler) // recipe.batch_size
        if self.batches_per_epoch == 0:
            raise Task2SimError(
                f"the set has {len(labels)} images, fewer than one batch of "
                f"{recipe.batch_size} per process ({world_size} processes)",
                "lower batch_size, or train on a larger set",
            )
        if recipe.augment_impl == "tensor":
            self._transform = tensor_transform(recipe)
            self._uint8 = torch.from_numpy(np.ascontiguousarray(images))
            self._labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        else:
            self._dataset = ImageArrayDataset(images, labels, timm_transform(recipe))

    def indices(self, epoch: int) -> list[int]:
        """This rank's shuffled image indices for `epoch`."""
        self.sampler.set_epoch(epoch)
        return list(self.sampler)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        indices = self.indices(epoch)
        if self.recipe.augment_impl == "tensor":
            yield from self._tensor_epoch(indices, epoch)
        else:
            yield from self._loader_epoch(indices, epoch)

    def _tensor_epoch(
        self, indices: list[int], epoch: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        seed = derive_seed(self.recipe.seed, STREAM_DATA, self.rank, epoch)
        generator = torch.Generator().manual_seed(seed)
        order = torch.tensor(indices, dtype=torch.long)
        size = self.recipe.batch_size
        cuda = self.device.type == "cuda"
        for b in range(self.batches_per_epoch):
            rows = order[b * size : (b + 1) * size]
            images = self._uint8[rows].to(self.device, non_blocking=cuda)
            labels = self._labels[rows].to(self.device, non_blocking=cuda)
            yield self._transform(images, generator), labels

    def _loader_epoch(
        self, indices: list[int], epoch: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        seed = derive_seed(self.recipe.seed, STREAM_LOADER, self.rank, epoch)
        workers = self.recipe.num_workers
        if workers == 0:  # the transform draws from the global generators of this process
            seed_globals(seed)
        loader = DataLoader(
            self._dataset,
            batch_size=self.recipe.batch_size,
            sampler=indices,
            drop_last=True,
            num_workers=workers,
            generator=torch.Generator().manual_seed(seed),  # workers' seeds derive from it
            pin_memory=self.device.type == "cuda",
        )
        for images, labels in loader:
            yield images.to(self.device, non_blocking=True), labels.to(self.device)
