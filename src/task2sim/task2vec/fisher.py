"""The Monte-Carlo Fisher embedding of Task2Vec, as Task2Sim computes it (SPEC §6).

1. The probe stays in train mode throughout (BatchNorm on batch statistics), as the reference
   implementation's constructor leaves it. Penultimate features of the pool are cached in order.
2. Only the new classifier is fitted on the cached features: Adam, class-balanced draws with
   replacement, `fit_epochs` epochs of `fit_samples` draws in batches (drop_last).
3. One pass over a fresh balanced sampler of `fisher_samples` draws: labels are sampled from the
   model's own softmax, the batch-mean cross-entropy is back-propagated through the whole network,
   and each parameter's squared batch gradient is accumulated, then divided by the batch count.
4. The embedding: for every module with such a `weight` (convolutions, BatchNorm scales), except
   the classifier, the mean over each output filter / channel, in `named_modules` order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from task2sim.task2vec.probes import Probe


@dataclass(frozen=True)
class FisherSettings:
    fit_samples: int = 10000
    fit_epochs: int = 10
    fit_lr: float = 4e-4
    fit_weight_decay: float = 1e-4
    fisher_samples: int = 10000
    batch_size: int = 64


@dataclass
class Embedding:
    """The Fisher diagonal summarised per filter, and which layer each block of it comes from."""

    vector: np.ndarray  # float32, one value per output filter / channel
    layers: list[tuple[str, int]]  # (module name, channels) in vector order
    fit_accuracy: float  # of the fitted head on its last epoch's draws (a sanity check)


Batches = Callable[[torch.Tensor], torch.Tensor]  # pool indices -> a preprocessed image batch


def balanced_draws(labels: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` indices drawn with replacement, each class equally likely (WeightedRandomSampler)."""
    counts = torch.bincount(labels)
    weights = 1.0 / counts[labels].double()
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def _batches(indices: torch.Tensor, size: int, drop_last: bool) -> list[torch.Tensor]:
    stop = len(indices) - len(indices) % size if drop_last else len(indices)
    return [indices[i : i + size] for i in range(0, stop, size)]


@torch.no_grad()
def cache_features(probe: Probe, images: Batches, n: int, batch_size: int) -> torch.Tensor:
    """Penultimate features of the whole pool, sequential batches, train mode (step 1)."""
    probe.model.train()
    chunks = _batches(torch.arange(n), batch_size, drop_last=False)
    if len(chunks) > 1 and len(chunks[-1]) == 1:  # train-mode BatchNorm needs 2+ images
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return torch.cat(
        [probe.features(images(b)) for b in tqdm(chunks, desc="features", leave=False)]
    )


def fit_classifier(
    probe: Probe,
    features: torch.Tensor,
    labels: torch.Tensor,
    settings: FisherSettings,
    generator: torch.Generator,
) -> float:
    """Fit only the new head on cached features (step 2); returns its last-epoch accuracy."""
    head = probe.classifier
    optimizer = torch.optim.Adam(
        head.parameters(), lr=settings.fit_lr, weight_decay=settings.fit_weight_decay
    )
    correct = seen = 0
    for _ in tqdm(range(settings.fit_epochs), desc="classifier", leave=False):
        draws = balanced_draws(labels, settings.fit_samples, generator)
        correct = seen = 0
        for batch in _batches(draws, settings.batch_size, drop_last=True):
            logits = head(features[batch])
            loss = F.cross_entropy(logits, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == labels[batch]).sum())
            seen += len(batch)
    return correct / max(seen, 1)


def montecarlo_fisher(
    probe: Probe,
    images: Batches,
    labels: torch.Tensor,
    settings: FisherSettings,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Mean squared batch gradient of every parameter, labels from the model (step 3)."""
    model = probe.model
    model.train()
    params = dict(model.named_parameters())
    acc = {name: torch.zeros_like(p) for name, p in params.items()}
    draws = balanced_draws(labels, settings.fisher_samples, generator)
    batches = _batches(draws, settings.batch_size, drop_last=True)
    if not batches:
        raise ValueError(
            f"fisher_samples {settings.fisher_samples} < batch_size {settings.batch_size}"
        )
    for batch in tqdm(batches, desc="fisher", leave=False):
        logits = model(images(batch))
        with torch.no_grad():
            target = torch.multinomial(logits.softmax(-1), 1, generator=generator).view(-1)
        loss = F.cross_entropy(logits, target)
        model.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            for name, p in params.items():
                if p.grad is not None:
                    acc[name] += p.grad**2
    return {name: a / len(batches) for name, a in acc.items()}


def _embedded_weights(probe: Probe, keys: Iterable[str]) -> Iterator[tuple[str, torch.Tensor]]:
    """(module name, weight) of every module whose weight the embedding summarises."""
    classifier = probe.classifier
    keys = set(keys)
    for name, module in probe.model.named_modules():
        weight = getattr(module, "weight", None)
        if (
            module is not classifier
            and isinstance(weight, torch.Tensor)
            and (f"{name}.weight" in keys)
        ):
            yield name, weight


def embedding_dims(probe: Probe) -> int:
    """The length of the probe's embeddings, known without embedding anything."""
    keys = dict(probe.model.named_parameters())
    return sum(int(weight.shape[0]) for _, weight in _embedded_weights(probe, keys))


def extract_embedding(probe: Probe, fisher: dict[str, torch.Tensor]) -> tuple[np.ndarray, list]:
    """Per output filter / channel mean of each weight's Fisher, classifier excluded (step 4)."""
    parts, layers = [], []
    for name, weight in _embedded_weights(probe, fisher):
        values = fisher[f"{name}.weight"].reshape(weight.shape[0], -1).mean(dim=1)
        parts.append(values)
        layers.append((name, int(weight.shape[0])))
    return torch.cat(parts).numpy().astype(np.float32), layers


def embed(
    probe: Probe,
    images: Batches,
    labels: torch.Tensor,
    settings: FisherSettings,
    generator: torch.Generator,
) -> Embedding:
    """Steps 1-4 on a pool of `len(labels)` images served by `images`."""
    features = cache_features(probe, images, len(labels), settings.batch_size)
    accuracy = fit_classifier(probe, features, labels, settings, generator)
    fisher = montecarlo_fisher(probe, images, labels, settings, generator)
    vector, layers = extract_embedding(probe, fisher)
    return Embedding(vector, layers, accuracy)
