"""How much of the reward table is config signal, and how much training-seed noise?

A set's reward is one training run: reward(config, seed) = signal(config) + offset(seed) +
noise(config, seed). The sweep trains every config with the same seed, so the seed's offset moves
all 256 rewards alike and never changes their ranking; only the config-specific noise does.
Re-training a few configs with the same few seeds (a two-way layout without replication) separates
the two: the residual after removing config and seed means estimates the config-specific noise,
the spread of the seed means beyond it the common offset. The table's variance is signal plus
config-specific noise, so the signal is their difference. Averaging m shared seeds per set divides
that noise by m; the across-config std reaches `TARGET_RATIO` times what is left when
m >= (TARGET_RATIO^2 - 1) * noise / signal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

TARGET_RATIO = 2.0


@dataclass(frozen=True)
class NoiseSplit:
    """One task's reward variance, split. Standard deviations in reward points."""

    noise_std: float  # config-specific seed noise of one run (what can reorder configs)
    noise_dof: int  # degrees of freedom of that estimate
    seed_offset_std: float | None  # common shift of all configs per seed (None: one config only)
    across_configs_std: float  # sample std over the reward table
    signal_std: float  # config signal: sqrt(max(table variance - noise variance, 0))
    seeds_needed: float  # shared seeds averaged per set for TARGET_RATIO (inf: no signal seen)


def split_variance(
    table_rewards: Sequence[float], runs: Mapping[int, Mapping[int, float]]
) -> NoiseSplit:
    """`table_rewards`: one reward per config, all trained with one seed; `runs`: config ->
    seed -> reward, the same two or more seeds for every re-trained config."""
    seed_sets = {tuple(sorted(by_seed)) for by_seed in runs.values()}
    if not runs or len(seed_sets) != 1 or len(next(iter(seed_sets))) < 2:
        raise ValueError(
            "re-train every config with the same seeds, at least two of them; got "
            f"{ {config: sorted(by_seed) for config, by_seed in runs.items()} }"
        )
    seeds = next(iter(seed_sets))
    grid = np.array([[runs[c][s] for s in seeds] for c in runs], dtype=float)  # configs x seeds
    configs, repeats = grid.shape
    if configs == 1:  # no second config to tell the seed's common offset from noise: lump them
        noise_var, dof, offset_std = float(np.var(grid, ddof=1)), repeats - 1, None
    else:
        seed_means = grid.mean(axis=0)
        residual = grid - grid.mean(axis=1, keepdims=True) - seed_means + grid.mean()
        dof = (configs - 1) * (repeats - 1)
        noise_var = float(np.sum(residual**2)) / dof
        seed_mean_square = configs * float(np.var(seed_means, ddof=1))
        offset_std = math.sqrt(max(seed_mean_square - noise_var, 0.0) / configs)
    table_var = float(np.var(np.asarray(table_rewards, dtype=float), ddof=1))
    signal_var = max(table_var - noise_var, 0.0)
    if noise_var == 0:
        needed = 1.0
    elif signal_var == 0:
        needed = math.inf
    else:
        needed = max(1.0, math.ceil((TARGET_RATIO**2 - 1) * noise_var / signal_var))
    return NoiseSplit(
        noise_std=math.sqrt(noise_var),
        noise_dof=dof,
        seed_offset_std=offset_std,
        across_configs_std=math.sqrt(table_var),
        signal_std=math.sqrt(signal_var),
        seeds_needed=needed,
    )
