"""5-NN as the paper's code does it (SPEC §5): DINO-style weighted vote on cosine similarity.

Features are L2-normalised, so cosine similarity is one matmul per chunk of test rows; the k most
similar training items each add exp(sim / T) to their class; the class with the most wins.
Ties are resolved the way a stable sort would: among equally similar training items the lower
index is the neighbour, and among equal votes the lower class wins. Boundary ties are rare with
real features, so only the rows that have one are re-solved exactly.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from task2sim.errors import Task2SimError


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    x = np.asarray(x)
    return torch.from_numpy(x if x.flags.writeable else x.copy())  # memory-mapped: read-only


def _resolve_ties(sims: torch.Tensor, values: torch.Tensor, index: torch.Tensor, k: int) -> None:
    """Rows whose k-th and (k+1)-th similarities are equal: pick the tied items by lowest index."""
    for row in torch.nonzero(values[:, k] == values[:, k - 1]).flatten().tolist():
        kth = values[row, k - 1]
        above = torch.nonzero(sims[row] > kth).flatten()
        tied = torch.nonzero(sims[row] == kth).flatten()[: k - len(above)]
        chosen = torch.cat([above, tied])
        index[row, :k] = chosen
        values[row, :k] = sims[row, chosen]


def knn_predict(
    train_features: np.ndarray | torch.Tensor,
    train_labels: np.ndarray | torch.Tensor,
    test_features: np.ndarray | torch.Tensor,
    *,
    k: int = 5,
    temperature: float = 0.07,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> np.ndarray:
    """Predicted class (int64) of every test row by the weighted k-NN vote."""
    train = _as_tensor(train_features).float()
    test = _as_tensor(test_features).float()
    labels = _as_tensor(train_labels).long()
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise Task2SimError(
            f"features must be (N, D) with the same D, got {tuple(train.shape)} and "
            f"{tuple(test.shape)}"
        )
    if labels.shape != (len(train),):
        raise Task2SimError(f"{len(labels)} training labels for {len(train)} training features")
    if not 1 <= k <= len(train):
        raise Task2SimError(
            f"k = {k} neighbours but the memory bank holds {len(train)} training images",
            "use a k between 1 and the number of training images",
        )
    if temperature <= 0 or chunk_size < 1:
        raise Task2SimError("the temperature must be > 0 and the chunk size >= 1")
    classes = int(labels.max()) + 1 if num_classes is None else num_classes
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise Task2SimError(f"training labels must lie in 0..{classes - 1}")
    train = F.normalize(train, dim=1)
    test = F.normalize(test, dim=1)
    bank_t = train.t().contiguous()
    take = min(k + 1, len(train))  # one more, to see a tie across the k-th place
    predictions = []
    for start in range(0, len(test), chunk_size):
        sims = test[start : start + chunk_size] @ bank_t
        values, index = sims.topk(take, dim=1)
        if take > k:
            _resolve_ties(sims, values, index, k)
        weights = (values[:, :k] / temperature).exp()
        votes = torch.zeros(len(sims), classes, dtype=weights.dtype)
        votes.scatter_add_(1, labels[index[:, :k]], weights)
        predictions.append(votes.argmax(dim=1))
    if not predictions:
        return np.zeros(0, np.int64)
    return torch.cat(predictions).numpy()


def knn_top1(
    train_features: np.ndarray | torch.Tensor,
    train_labels: np.ndarray | torch.Tensor,
    test_features: np.ndarray | torch.Tensor,
    test_labels: np.ndarray | torch.Tensor,
    *,
    k: int = 5,
    temperature: float = 0.07,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> float:
    """Top-1 accuracy (%) of the weighted k-NN vote."""
    predicted = knn_predict(
        train_features,
        train_labels,
        test_features,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
        chunk_size=chunk_size,
    )
    truth = np.asarray(_as_tensor(test_labels).numpy())
    if len(truth) != len(predicted):
        raise Task2SimError(f"{len(truth)} test labels for {len(predicted)} test features")
    return 100.0 * float((predicted == truth).mean()) if len(truth) else 0.0
