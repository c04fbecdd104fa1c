"""Fine-tuning: the whole backbone plus a head, SGD with step decay (SPEC §5).

Train mode throughout training (drop-path stays as the model was built), random-resized-crop +
flip views; the test pass is the shared feature extractor on the tuned copy. The caller's model
is never modified: a deep copy is tuned.

Two choices go beyond the paper's recipe, both in `evaluate.finetune`:
- `head_init: linear_probe` starts from the linear probe's trained head (LP-FT, Kumar et al.
  2022) instead of a random one, so the first steps do not push the random head's large gradients
  through the pre-trained features;
- `batchnorm: frozen` keeps BatchNorm layers on their pre-trained running statistics (their
  weights still train): the ImageNet reference rows need it at 32 px, where their batch
  statistics are far from the ones they were trained with.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from task2sim.evaluate.data import Split, check_labels, stratified_cap
from task2sim.evaluate.features import FeatureExtractor, pooled
from task2sim.evaluate.heads import (
    batches,
    head_top1,
    make_head,
    make_optimizer,
    steps_per_epoch,
)
from task2sim.evaluate.transforms import train_transform
from task2sim.params import FinetuneParams, HParams


def finetune(
    extractor: FeatureExtractor,
    train: Split,
    num_classes: int,
    hp: HParams,
    settings: FinetuneParams,
    seed: int,
    head: nn.Sequential | None = None,
) -> tuple[nn.Module, nn.Sequential]:
    """A tuned copy of the backbone and its head, both in eval mode (CKA reads the backbone);
    `head` (e.g. the linear probe's) is copied as the starting head, else a new one is made."""
    check_labels(train.labels, num_classes, "training")
    train = train.take(stratified_cap(train.labels, settings.max_train_images, seed))
    dim = extractor.dim
    torch.manual_seed(seed)  # head init, dropout and drop-path draws
    generator = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(extractor.model)
    head = make_head(dim, num_classes, settings.dropout) if head is None else copy.deepcopy(head)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer, scheduler = make_optimizer(params, hp, settings)
    loss_fn = nn.CrossEntropyLoss()
    labels = torch.from_numpy(np.asarray(train.labels, np.int64))
    model.train()
    head.train()
    if settings.batchnorm == "frozen":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    steps = tqdm(
        total=settings.epochs * steps_per_epoch(len(labels), hp.batch_size),
        desc="fine-tune",
        unit="step",
        leave=False,
        disable=not extractor.progress,
    )
    for _ in range(settings.epochs):
        for index in batches(len(labels), hp.batch_size, generator):
            chosen = np.sort(index.numpy())  # memory-mapped arrays read faster in order
            x = train_transform(
                np.asarray(train.images[chosen]),
                extractor.image_size,
                generator,
                settings.crop_scale,
            )
            loss = loss_fn(head(pooled(model, x)), labels[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps.update()
        scheduler.step()
    steps.close()
    return model.eval(), head.eval()


def finetune_top1(
    extractor: FeatureExtractor,
    train: Split,
    test: Split,
    num_classes: int,
    hp: HParams,
    settings: FinetuneParams,
    seed: int,
    head: nn.Sequential | None = None,
) -> float:
    """Top-1 % on `test` after fine-tuning on `train` (final epoch, as the paper reports)."""
    check_labels(test.labels, num_classes, "test")
    model, head = finetune(extractor, train, num_classes, hp, settings, seed, head)
    tuned = FeatureExtractor(model, extractor.image_size, extractor.batch_size, extractor.progress)
    return head_top1(head, tuned(test.images), test.labels)
