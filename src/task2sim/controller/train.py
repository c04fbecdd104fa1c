"""REINFORCE with a greedy baseline and self-imitation: the official controller loop (SPEC §2).

Per batch of seen tasks: sample configs from the ε-smoothed policy, reward them from the cached
table, and push log-probabilities by the advantage over the greedy config; from
`imitation_start_epoch` on, follow each sample with `imitation_steps` updates towards the best
config in the task's replay memory. Rewards are looked up, never computed, so a run takes CPU
seconds (gradients by hand, see `backprop.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from task2sim.controller.backprop import (
    PlainFirstLayer,
    PolicyBackprop,
    SubspaceFirstLayer,
    reinforce_grad,
)
from task2sim.controller.policy import NUM_HEADS, Policy, bits_to_indices, indices_to_bits
from task2sim.params import ControllerTraining


def lr_at(epoch: int, cfg: ControllerTraining) -> float:
    """The lr used during `epoch`, as timm's step scheduler gives it in the official loop.

    The official loop calls `scheduler.step(epoch)` after each epoch, so epoch e runs at the
    schedule's value for e - 1 (epochs 0 and 1 both at the warmup start).
    """
    t = max(epoch - 1, 0)
    if t < cfg.warmup_epochs:
        return cfg.warmup_lr + t * (cfg.lr - cfg.warmup_lr) / cfg.warmup_epochs
    return cfg.lr * cfg.decay_rate ** (t // cfg.decay_epochs)


def explore_eps(epoch: int, cfg: ControllerTraining) -> float:
    """ε of the exploration step: 0.4, 0.2, 0.133, ... every `explore_decay_epochs` epochs."""
    return cfg.explore_eps / math.ceil((epoch + 1) / cfg.explore_decay_epochs)


class ReplayMemory:
    """Per task: the best config tried so far (the first tried wins ties, like the official dict).

    Plain Python: four tasks per update make tensor indexing slower than a loop.
    """

    def __init__(self, n_tasks: int) -> None:
        self.best_index = [-1] * n_tasks
        self.best_reward = [-math.inf] * n_tasks
        self.tried: list[set[int]] = [set() for _ in range(n_tasks)]

    def add(self, tasks: list[int], indices: list[int], rewards: list[float]) -> None:
        for task, index, reward in zip(tasks, indices, rewards, strict=True):
            if reward > self.best_reward[task]:
                self.best_index[task], self.best_reward[task] = index, reward
            self.tried[task].add(index)


@dataclass
class TrainLog:
    """What a run did, for reports: mean sampled reward per epoch, updates, configs tried."""

    epoch_reward: list[float]
    updates: int
    configs_tried: list[int]


def _explore(probs: torch.Tensor, best: torch.Tensor, eps: float) -> torch.Tensor:
    """Move ε of each head's mass from its argmax to the other option (the official noise)."""
    if eps <= 0:
        return probs
    return probs + eps * (1 - 2 * torch.nn.functional.one_hot(best, 2).to(probs.dtype))


def train_policy(
    x: torch.Tensor,
    rewards: torch.Tensor,
    cfg: ControllerTraining,
    seed: int,
    progress: bool = False,
    exact_first_layer: bool = False,
) -> tuple[Policy, TrainLog]:
    """Train on seen tasks: `x` (n, d) normalised Task2Vec vectors, `rewards` (n, 256) in %."""
    if x.ndim != 2 or rewards.shape != (x.shape[0], 2**NUM_HEADS):
        raise ValueError(f"need x (n, d) and rewards (n, 256), got {x.shape}, {rewards.shape}")
    torch.set_num_threads(cfg.threads)
    x, n = x.float(), x.shape[0]
    table = rewards.double().tolist()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = Policy(x.shape[1], cfg.hidden)
    first = (PlainFirstLayer if exact_first_layer else SubspaceFirstLayer)(policy, x)
    net = PolicyBackprop(policy, first)
    optimizer = torch.optim.SGD(
        net.params(),
        lr=cfg.warmup_lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        fused=True,
    )
    gen = torch.Generator().manual_seed(seed)
    memory = ReplayMemory(n)
    log = TrainLog(epoch_reward=[], updates=0, configs_tried=[])
    for epoch in tqdm(range(cfg.epochs), desc="controller", disable=not progress, leave=False):
        lr = lr_at(epoch, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sub_steps = 1 + (cfg.imitation_steps if epoch >= cfg.imitation_start_epoch else 0)
        order = torch.randperm(n, generator=gen)
        sampled_total = 0.0
        for start in range(0, n, cfg.batch_size):
            tasks = order[start : start + cfg.batch_size]
            task_list = tasks.tolist()
            for sub in range(sub_steps):
                cache = net.forward(tasks)
                best = cache.probs.argmax(-1)
                if sub == 0:  # explore: sample from the ε-smoothed policy
                    q = _explore(cache.probs, best, explore_eps(epoch, cfg))
                    flat = torch.multinomial(q.reshape(-1, 2), 1, generator=gen)
                    actions = flat.view(-1, NUM_HEADS)
                else:  # self-imitation: the best config in the task's replay memory
                    q = cache.probs
                    replayed = [memory.best_index[t] for t in task_list]
                    actions = indices_to_bits(torch.tensor(replayed))
                action_idx = bits_to_indices(actions).tolist()
                best_idx = bits_to_indices(best).tolist()
                r = [table[t][i] for t, i in zip(task_list, action_idx, strict=True)]
                r_best = [table[t][i] for t, i in zip(task_list, best_idx, strict=True)]
                memory.add(task_list, action_idx, r)
                memory.add(task_list, best_idx, r_best)
                if sub == 0:
                    sampled_total += sum(r)
                advantage = torch.tensor([a - b for a, b in zip(r, r_best, strict=True)])
                net.backward(cache, reinforce_grad(q, actions, advantage, cfg.loss))
                optimizer.step()
                first.after_step(lr, cfg.momentum, cfg.weight_decay)
                log.updates += 1
        log.epoch_reward.append(sampled_total / n)
    first.finish()
    log.configs_tried = [len(tried) for tried in memory.tried]
    policy.eval()
    return policy, log


@torch.no_grad()
def predict(policy: Policy, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One shot, as the paper: per-head probabilities (n, 8, 2) and the argmax config (n,)."""
    policy.eval()
    probs = policy(x.float())
    return probs, bits_to_indices(probs.argmax(-1))
