"""Hand-derived forward/backward of the policy for the REINFORCE updates: ~4x faster than autograd.

A training run makes ~17,000 updates on batches of 4 tasks. At that size autograd's per-op
bookkeeping costs several times the arithmetic, so the few gradients are written out here; tests
compare them with autograd for both loss forms.

The first layer (9600 x 400) only ever sees the n seen vectors during training, so its gradient lies
in their span: W = a·W0 + C·Q exactly (Q an orthonormal basis of the seen vectors, C (400, r), a a
scalar that only weight decay moves). SGD with momentum and weight decay on W is SGD on C plus a
scalar recursion for a — identical in exact arithmetic, without reading 15 MB per update.
`PlainFirstLayer` keeps W as is, for the tests that check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from task2sim.controller.policy import NUM_HEADS, Policy


class PlainFirstLayer:
    """x[rows] @ W.T + b, with W the policy's own weight."""

    def __init__(self, policy: Policy, x: torch.Tensor) -> None:
        self.weight, self.bias, self.x = policy.fc1.weight, policy.fc1.bias, x

    def params(self) -> list[torch.Tensor]:
        return [self.weight, self.bias]

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, self.x[rows], self.weight.T)

    def backward(self, rows: torch.Tensor, d_pre: torch.Tensor) -> None:
        self.weight.grad = d_pre.T @ self.x[rows]
        self.bias.grad = d_pre.sum(0)

    def after_step(self, lr: float, momentum: float, weight_decay: float) -> None:
        """Nothing: the optimizer updates W itself."""

    def finish(self) -> None:
        """Nothing: W is already the trained weight."""


class SubspaceFirstLayer:
    """W = a·W0 + C·Q for inputs in span(Q); see the module docstring."""

    def __init__(self, policy: Policy, x: torch.Tensor) -> None:
        self.policy_weight, self.bias = policy.fc1.weight, policy.fc1.bias
        w0 = self.policy_weight.detach().double()
        xd = x.double()
        _, s, vh = torch.linalg.svd(xd, full_matrices=False)
        rank = int((s > s[0] * 1e-10).sum())
        self.q = vh[:rank]  # (r, d), orthonormal rows
        self.z = (xd @ self.q.T).float()  # each input in that basis, (n, r)
        self.u = (xd @ w0.T).float()  # W0 applied to each input, (n, h)
        self.w0 = w0
        self.c = torch.zeros(w0.shape[0], rank)
        self.a, self.beta = 1.0, 0.0  # W0's coefficient and its momentum buffer

    def params(self) -> list[torch.Tensor]:
        return [self.c, self.bias]

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias + self.a * self.u[rows], self.z[rows], self.c.T)

    def backward(self, rows: torch.Tensor, d_pre: torch.Tensor) -> None:
        self.c.grad = d_pre.T @ self.z[rows]
        self.bias.grad = d_pre.sum(0)

    def after_step(self, lr: float, momentum: float, weight_decay: float) -> None:
        """torch SGD on W's W0 part, which gets no gradient: buf = μ·buf + wd·W; W -= lr·buf."""
        self.beta = momentum * self.beta + weight_decay * self.a
        self.a -= lr * self.beta

    def finish(self) -> None:
        """Write the trained W back into the policy's own layer."""
        weight = self.a * self.w0 + self.c.double() @ self.q
        with torch.no_grad():
            self.policy_weight.copy_(weight.float())


FirstLayer = PlainFirstLayer | SubspaceFirstLayer


@dataclass
class Cache:
    """What the backward pass needs from the forward pass."""

    rows: torch.Tensor
    pre1: torch.Tensor
    h1: torch.Tensor
    pre2: torch.Tensor
    h2: torch.Tensor
    probs: torch.Tensor


class PolicyBackprop:
    """Forward and gradients of the policy: fc1 → ReLU → fc2 → ReLU → heads → per-head softmax."""

    def __init__(self, policy: Policy, first: FirstLayer) -> None:
        self.first = first
        self.fc2 = policy.body[1]
        self.heads = policy.heads

    def params(self) -> list[torch.Tensor]:
        layers = [self.fc2.weight, self.fc2.bias, self.heads.weight, self.heads.bias]
        return [*self.first.params(), *layers]

    @torch.no_grad()
    def forward(self, rows: torch.Tensor) -> Cache:
        pre1 = self.first.forward(rows)
        h1 = pre1.clamp_min(0)
        pre2 = torch.addmm(self.fc2.bias, h1, self.fc2.weight.T)
        h2 = pre2.clamp_min(0)
        logits = torch.addmm(self.heads.bias, h2, self.heads.weight.T)
        probs = logits.view(-1, NUM_HEADS, 2).softmax(-1)
        return Cache(rows, pre1, h1, pre2, h2, probs)

    @torch.no_grad()
    def backward(self, cache: Cache, d_probs: torch.Tensor) -> None:
        """Set `.grad` of every parameter from dL/dprobs (B, 8, 2)."""
        p = cache.probs
        d_logits = (p * (d_probs - (d_probs * p).sum(-1, keepdim=True))).view(p.shape[0], -1)
        self.heads.weight.grad = d_logits.T @ cache.h2
        self.heads.bias.grad = d_logits.sum(0)
        d_pre2 = (d_logits @ self.heads.weight) * (cache.pre2 > 0)
        self.fc2.weight.grad = d_pre2.T @ cache.h1
        self.fc2.bias.grad = d_pre2.sum(0)
        d_pre1 = (d_pre2 @ self.fc2.weight) * (cache.pre1 > 0)
        self.first.backward(cache.rows, d_pre1)


def reinforce_grad(
    q: torch.Tensor, actions: torch.Tensor, advantage: torch.Tensor, loss: str
) -> torch.Tensor:
    """dL/dq of the REINFORCE loss, (B, 8, 2); q is the (possibly ε-shifted) distribution sampled.

    per_task: L = (1/B) Σ_i A_i · -Σ_k log q_ik(a_ik).
    official: L = (1/B²) Σ_i Σ_j A_j · -Σ_k log q_ik(a_jk) — the official code indexes
    `probs[:, actions]` on a (B, 2) tensor, which yields this B x B form, so each task's advantage
    also trains every other task's policy in the batch.
    """
    b = q.shape[0]
    chosen = torch.nn.functional.one_hot(actions, 2).to(q.dtype)  # (B, 8, 2)
    if loss == "per_task":
        weight = chosen * (advantage / b)[:, None, None]
    elif loss == "official":
        weight = (chosen * advantage[:, None, None]).sum(0, keepdim=True) / b**2
    else:
        raise ValueError(f"unknown loss form {loss!r}")
    # Unchosen options get no gradient, even where q underflowed to 0 (autograd would give NaN).
    return torch.where(weight != 0, -weight / q, 0.0)


def reinforce_loss(
    q: torch.Tensor, actions: torch.Tensor, advantage: torch.Tensor, loss: str
) -> torch.Tensor:
    """The loss whose gradient `reinforce_grad` gives (for tests and logs)."""
    b = q.shape[0]
    if loss == "per_task":
        nlp = -q.gather(-1, actions[..., None]).squeeze(-1).log().sum(-1)
        return (advantage * nlp).mean()
    picked = q[:, None].expand(b, b, NUM_HEADS, 2)
    index = actions[None, :, :, None].expand(b, b, NUM_HEADS, 1)
    nlp = -picked.gather(-1, index).squeeze(-1).log().sum(-1)  # [i, j]: task i, actions of j
    return (advantage[None, :] * nlp).mean()
