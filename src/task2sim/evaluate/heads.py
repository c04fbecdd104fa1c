"""The new classifier head and the SGD schedule shared by linear probing and fine-tuning (SPEC §5).

Head: Dropout(0.2) → BatchNorm1d(D, affine=False) → Linear(D, classes), as Islam et al. 2021.
Optimiser: SGD with momentum, lr x0.1 at each milestone epoch, no warmup, plain cross-entropy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from task2sim.params import DownstreamTraining, HParams


def make_head(dim: int, num_classes: int, dropout: float = 0.2) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.BatchNorm1d(dim, affine=False),
        nn.Linear(dim, num_classes),
    )


def make_optimizer(
    parameters: Iterable[nn.Parameter], hp: HParams, settings: DownstreamTraining
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.MultiStepLR]:
    """SGD (momentum, weight decay) and its step decay; call `scheduler.step()` once per epoch."""
    optimizer = torch.optim.SGD(
        parameters, lr=hp.lr, momentum=settings.momentum, weight_decay=hp.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, settings.milestones, gamma=0.1)
    return optimizer, scheduler


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch's shuffled index batches; a last batch of one is dropped (BatchNorm needs 2)."""
    order = torch.randperm(n, generator=generator)
    out = list(order.split(batch_size))
    return [b for b in out if len(b) > 1]


def steps_per_epoch(n: int, batch_size: int) -> int:
    return n // batch_size + (n % batch_size > 1)


def fit_head(
    features: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    hp: HParams,
    settings: DownstreamTraining,
    seed: int,
    epoch_features: Callable[[torch.Generator], np.ndarray] | None = None,
) -> nn.Sequential:
    """Train a new head on fixed features (or fresh ones per epoch from `epoch_features`)."""
    torch.manual_seed(seed)  # head init and dropout masks
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(features, np.float32))
    y = torch.from_numpy(np.asarray(labels, np.int64))
    head = make_head(x.shape[1], num_classes, settings.dropout)
    optimizer, scheduler = make_optimizer(head.parameters(), hp, settings)
    loss_fn = nn.CrossEntropyLoss()
    head.train()
    for _ in range(settings.epochs):
        if epoch_features is not None:
            x = torch.from_numpy(np.asarray(epoch_features(generator), np.float32))
        for index in batches(len(y), hp.batch_size, generator):
            loss = loss_fn(head(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return head.eval()


def head_top1(head: nn.Module, features: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 % of an eval-mode head on fixed features."""
    head.eval()
    with torch.no_grad():
        logits = head(torch.from_numpy(np.asarray(features, np.float32)))
    predicted = logits.argmax(dim=1).numpy()
    return 100.0 * float((predicted == np.asarray(labels)).mean()) if len(labels) else 0.0
