"""How far the reward table can be trusted, from the replicated runs alone.

- Split-half reliability: the runs split into two halves that share no run (`design.half_of`);
  each half builds the 256-cell table exactly as the pipeline builds it from all runs. The
  correlation r of the two half-tables across the 256 configs estimates the reliability of a
  half; Spearman-Brown, 2r / (1 + r), that of the full table (twice the runs).
- Sign agreement: the main effects with |t| >= 3 in one half (t from that half's own fit), and
  how many of them have the same sign in the other half, counted both ways.
- Pure seed noise: the pooled within-config standard deviation of replicate runs, which is what
  the standard errors of means over runs rest on (no independence assumption across configs is
  needed: every run has its own seed).
- An ANOVA split of the runs' sum of squares into main effects, two-way interactions, the model's
  lack of fit (higher orders aliased in the fraction) and pure seed noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from task2sim.stats.factorial import FACTORS, design_matrix, fit_two_way
from task2sim.sweep.design import half_of
from task2sim.sweep.rewards import build_table

SIGNIFICANT_T = 3.0


@dataclass(frozen=True)
class SplitHalf:
    r: float  # correlation of the two half-tables over the 256 configs
    spearman_brown: float  # reliability of the full table: 2r / (1 + r)
    significant: int  # main effects with |t| >= 3 in one half, counted over both halves
    agreeing: int  # of those, how many have the same sign in the other half


def with_halves(runs: pd.DataFrame, design: str, replicates: int) -> pd.DataFrame:
    halves = [
        half_of(int(c), int(r), design, replicates)
        for c, r in zip(runs["config"], runs["replicate"], strict=True)
    ]
    return runs.assign(half=halves)


def split_half(runs: pd.DataFrame, design: str, replicates: int, how: str) -> SplitHalf:
    """`runs`: one task's runs (config, replicate, top1)."""
    runs = with_halves(runs, design, replicates)
    parts = [runs[runs["half"] == h] for h in (0, 1)]
    tables = [np.array(build_table(part, how)) for part in parts]
    r = float(np.corrcoef(tables[0], tables[1])[0, 1])
    fits = [fit_two_way(p["config"].tolist(), p["top1"].tolist()) for p in parts]
    significant = agreeing = 0
    for this, other in ((fits[0], fits[1]), (fits[1], fits[0])):
        t = this.main_effects / this.main_effect_errors
        for k in np.flatnonzero(np.abs(t) >= SIGNIFICANT_T):
            significant += 1
            agreeing += int(np.sign(other.main_effects[k]) == np.sign(this.main_effects[k]))
    return SplitHalf(
        r=r,
        spearman_brown=2 * r / (1 + r) if r > -1 else float("nan"),
        significant=significant,
        agreeing=agreeing,
    )


def pure_error(runs: pd.DataFrame) -> tuple[float, int]:
    """(pooled within-config std of replicate runs, degrees of freedom); (nan, 0) without
    replicates."""
    groups = runs.groupby("config")["top1"]
    deviations = runs["top1"] - groups.transform("mean")
    dof = len(runs) - groups.ngroups
    if dof <= 0:
        return float("nan"), 0
    return float(math.sqrt(float((deviations**2).sum()) / dof)), dof


def sum_of_squares_split(runs: pd.DataFrame) -> dict[str, float]:
    """Shares of the runs' variation about their mean: main, two_way, lack_of_fit, seed_noise."""
    y = runs["top1"].to_numpy(dtype=float)
    x = design_matrix(runs["config"].tolist())

    def rss(columns: int) -> float:
        beta, *_ = np.linalg.lstsq(x[:, :columns], y, rcond=None)
        residual = y - x[:, :columns] @ beta
        return float(residual @ residual)

    total = rss(1)
    if total == 0:
        return {"main": 0.0, "two_way": 0.0, "lack_of_fit": 0.0, "seed_noise": 0.0}
    after_main, after_two_way = rss(1 + FACTORS), rss(x.shape[1])
    noise_std, dof = pure_error(runs)
    noise = noise_std**2 * dof if dof else 0.0
    return {
        "main": (total - after_main) / total,
        "two_way": (after_main - after_two_way) / total,
        "lack_of_fit": max(after_two_way - noise, 0.0) / total,
        "seed_noise": noise / total,
    }


def versus_scratch(runs: pd.DataFrame, scratch: dict) -> dict[str, float]:
    """The sweep's mean reward against the scratch row, with standard errors from the seeds.

    The configs are a fixed set, so the sweep mean's uncertainty is seed noise only: the pure
    error over the square root of the number of runs (the model's residual std when there are
    no replicates). The scratch mean's comes from its own seeds."""
    noise, dof = pure_error(runs)
    if not dof:
        noise = fit_two_way(runs["config"].tolist(), runs["top1"].tolist()).residual_std
    sweep_mean = float(runs["top1"].mean())
    sweep_se = noise / math.sqrt(len(runs))
    difference = sweep_mean - scratch["mean"]
    se = math.sqrt(sweep_se**2 + scratch["sem"] ** 2)
    return {
        "sweep_mean": sweep_mean,
        "sweep_se": sweep_se,
        "scratch_mean": scratch["mean"],
        "scratch_se": scratch["sem"],
        "difference": difference,
        "difference_se": se,
        "z": difference / se if se > 0 else float("inf"),
    }
