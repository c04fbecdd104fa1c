"""The reward table as a 2^8 factorial: a main + two-way model fitted to sweep runs, and the
split of a table's variance into main effects, two-way interactions and higher orders.

Coding is ±1 (parameter off = -1, on = +1), so in the full factorial every effect column is
orthogonal to every other. A coefficient b_k is half of the classic on-minus-off main effect.
The model is fitted by ordinary least squares to every run (not to cell means), so configs with
more runs weigh more and a half of the runs can be fitted exactly like all of them; its residual
variance estimates seed noise plus whatever the model leaves out (higher-order interactions),
which is the honest error of the model's own predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_bits

FACTORS = len(PARAM_NAMES)


def _signs(configs: Sequence[int]) -> np.ndarray:
    """configs x 8 matrix of ±1 parameter levels."""
    return np.array([index_to_bits(int(c)) for c in configs], dtype=float) * 2 - 1


def term_names() -> list[str]:
    """The model's columns: intercept, 8 main effects, 28 two-way interactions."""
    pairs = [f"{PARAM_NAMES[a]}:{PARAM_NAMES[b]}" for a, b in combinations(range(FACTORS), 2)]
    return ["mean", *PARAM_NAMES, *pairs]


def design_matrix(configs: Sequence[int]) -> np.ndarray:
    """One row per run: [1, x_1..x_8, x_a * x_b for a < b] in ±1 coding."""
    x = _signs(configs)
    pairs = [x[:, a] * x[:, b] for a, b in combinations(range(FACTORS), 2)]
    return np.column_stack([np.ones(len(x)), x, *pairs])


@dataclass(frozen=True)
class TwoWayFit:
    """A least-squares main + two-way fit of one task's runs."""

    coefficients: np.ndarray  # (37,), in `term_names()` order, ±1 coding
    standard_errors: np.ndarray  # (37,), from the residual variance
    residual_std: float  # per run: seed noise plus interactions of order 3+
    dof: int  # residual degrees of freedom

    def predict(self, configs: Sequence[int] = range(NUM_CONFIGS)) -> np.ndarray:
        return design_matrix(configs) @ self.coefficients

    @property
    def main_effects(self) -> np.ndarray:
        """On-minus-off effect of each parameter (2 b_k), in reward points."""
        return 2 * self.coefficients[1 : 1 + FACTORS]

    @property
    def main_effect_errors(self) -> np.ndarray:
        return 2 * self.standard_errors[1 : 1 + FACTORS]


def fit_two_way(configs: Sequence[int], rewards: Sequence[float]) -> TwoWayFit:
    """Fit every run (config, reward); needs a design that separates all 37 terms."""
    x = design_matrix(configs)
    y = np.asarray(rewards, dtype=float)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} configs but {len(y)} rewards")
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        raise ValueError(
            f"these {len(set(configs))} configs cannot separate the {x.shape[1]} terms of a "
            f"main + two-way model (rank {rank}); run more configs"
        )
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coefficients
    dof = len(y) - x.shape[1]
    variance = float(residual @ residual) / dof if dof > 0 else float("nan")
    covariance = variance * np.linalg.inv(x.T @ x)
    return TwoWayFit(
        coefficients=coefficients,
        standard_errors=np.sqrt(np.diag(covariance)),
        residual_std=float(np.sqrt(variance)),
        dof=dof,
    )


def variance_split(table: Sequence[float]) -> dict[str, float]:
    """Shares of a full 256-cell table's variance by interaction order: main, two-way, higher.

    The ±1 effect columns of all orders are orthogonal in the full factorial, so the squared
    Walsh-Hadamard coefficients split the sum of squares about the mean exactly.
    """
    values = np.asarray(table, dtype=float)
    if values.shape != (NUM_CONFIGS,):
        raise ValueError(f"a full table has {NUM_CONFIGS} cells, got {values.shape}")
    x = _signs(range(NUM_CONFIGS))
    order = np.zeros(NUM_CONFIGS, dtype=int)
    columns = np.ones((NUM_CONFIGS, NUM_CONFIGS))
    for subset in range(1, NUM_CONFIGS):
        members = [k for k in range(FACTORS) if subset >> k & 1]
        columns[:, subset] = np.prod(x[:, members], axis=1)
        order[subset] = len(members)
    squares = (columns.T @ values / NUM_CONFIGS) ** 2
    total = squares[1:].sum()
    if total == 0:
        return {"main": 0.0, "two_way": 0.0, "higher": 0.0}
    return {
        "main": float(squares[order == 1].sum() / total),
        "two_way": float(squares[order == 2].sum() / total),
        "higher": float(squares[order >= 3].sum() / total),
    }
