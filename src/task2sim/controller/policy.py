"""The controller network: a shared trunk and one two-way softmax head per simulation parameter.

Shapes follow the official `controller/model.py`: Linear(d→400)→ReLU→Linear(400→400)→ReLU, then
eight Linear(400→2)→softmax heads. The eight heads are stored as one 400→16 layer: each head keeps
its own two rows (same init distribution, fan-in 400), and one matmul replaces eight, which matters
for the ~17,000 tiny updates of a training run.
"""

from __future__ import annotations

import torch
from torch import nn

from task2sim.sim.config import PARAM_NAMES

NUM_HEADS = len(PARAM_NAMES)


class Policy(nn.Module):
    """π(a|t) = ∏_k π_k(a_k|t); `forward` gives the per-head probabilities, (B, 8, 2)."""

    def __init__(self, in_dim: int, hidden: int = 400) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.fc1 = nn.Linear(in_dim, hidden)
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.Linear(hidden, 2 * NUM_HEADS)  # head k = rows 2k, 2k+1 (PARAM_NAMES order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.probs_from_fc1(self.fc1(x))

    def probs_from_fc1(self, pre: torch.Tensor) -> torch.Tensor:
        """Everything after the first linear layer (training computes that layer its own way)."""
        logits = self.heads(self.body(pre)).view(pre.shape[0], NUM_HEADS, 2)
        return logits.softmax(dim=-1)


BIT_WEIGHTS = torch.tensor([1 << (NUM_HEADS - 1 - k) for k in range(NUM_HEADS)])


def bits_to_indices(bits: torch.Tensor) -> torch.Tensor:
    """(B, 8) tensor of 0/1 in PARAM_NAMES order → (B,) config indices (MSB first)."""
    return (bits.long() * BIT_WEIGHTS).sum(dim=-1)


def indices_to_bits(indices: torch.Tensor) -> torch.Tensor:
    """(B,) config indices → (B, 8) bits in PARAM_NAMES order."""
    return (indices.long()[:, None] // BIT_WEIGHTS) % 2


def greedy(probs: torch.Tensor) -> torch.Tensor:
    """Inference: the argmax of each head (ties go to 'off', as torch.argmax picks index 0)."""
    return probs.argmax(dim=-1)
