"""Student-t intervals over independent units (tasks), and the verdict an interval supports.

Every comparison in the results is summarised per task first (the mean over seeds), then a
two-sided t-interval is taken over the tasks: the tasks are the population a method is meant to
generalise over, and seeds are averaged within a task. A paired difference subtracts, within
each task, the two methods' scores at the same seed index before averaging over seeds, so
backbones that share an initialisation are compared with each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
INTERVAL_NAME = "95 % Student-t interval over tasks (each task: the mean over seeds)"


@dataclass(frozen=True)
class Interval:
    """Mean of n units and its two-sided t-interval (low = high = mean when n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    def to_json(self, digits: int = 2) -> dict:
        return {k: round(v, digits) if isinstance(v, float) else v for k, v in asdict(self).items()}


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of `values` with its Student-t interval (values are independent units)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"a t-interval needs finite values, got {values!r}")
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, mean, mean, len(x))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Interval(mean, mean - half, mean + half, len(x))


def interval_text(entry: dict, signed: bool = False) -> str:
    """`mean [low, high]` of an interval's JSON (`Interval.to_json`); n < 2 says it has none."""
    sign = "+" if signed else ""
    if entry["n"] < 2:
        return f"{entry['mean']:{sign}.2f} (n = {entry['n']}, no interval)"
    return f"{entry['mean']:{sign}.2f} [{entry['low']:{sign}.2f}, {entry['high']:{sign}.2f}]"


def verdict(difference: Interval) -> str:
    """'better' / 'worse' when the interval of (A - B) excludes 0, else 'not distinguishable'."""
    if difference.n < 2:
        return "not distinguishable"
    if difference.low > 0:
        return "better"
    if difference.high < 0:
        return "worse"
    return "not distinguishable"
