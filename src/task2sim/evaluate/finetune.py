"""Fine-tuning: the whole backbone plus a new head, SGD with step decay (SPEC §5).

Train mode throughout training (BatchNorm statistics update, drop-path stays as the model was
built), random-resized-crop + flip views; the test pass is the shared feature extractor on the
tuned copy. The caller's model is never modified: a deep copy is tuned.
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
) -> tuple[nn.Module, nn.Sequential]:
    """A tuned copy of the backbone and its head, both in eval mode (CKA reads the backbone)."""
    check_labels(train.labels, num_classes, "training")
    train = train.take(stratified_cap(train.labels, settings.max_train_images, seed))
    dim = extractor.dim
    torch.manual_seed(seed)  # head init, dropout and drop-path draws
    generator = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(extractor.model)
    head = make_head(dim, num_classes, settings.dropout)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer, scheduler = make_optimizer(params, hp, settings)
    loss_fn = nn.CrossEntropyLoss()
    labels = torch.from_numpy(np.asarray(train.labels, np.int64))
    model.train()
    head.train()
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
            x = train_transform(np.asarray(train.images[chosen]), extractor.image_size, generator)
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
) -> float:
    """Top-1 % on `test` after fine-tuning on `train` (final epoch, as the paper reports)."""
    check_labels(test.labels, num_classes, "test")
    model, head = finetune(extractor, train, num_classes, hp, settings, seed)
    tuned = FeatureExtractor(model, extractor.image_size, extractor.batch_size, extractor.progress)
    return head_top1(head, tuned(test.images), test.labels)
