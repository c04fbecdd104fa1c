"""Main effects of the 8 parameters in a reward table: what switching one on does, on average.

The 256 sets are a full 2^8 factorial design, so each parameter's effect on a task can be read as
the mean reward of the 128 sets with it on minus the 128 with it off. Averaging over 128 sets a
side shrinks training noise by sqrt(64): a parameter can matter clearly even where single sets
are too noisy to rank (the spread table), and its sign per task is what Task2Sim learns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_bits, key_to_index


def main_effects(table: dict[str, dict[str, float]]) -> pd.DataFrame:
    """task x parameter: mean reward (%) with the parameter on minus with it off."""
    bits = np.array([index_to_bits(c) for c in range(NUM_CONFIGS)], dtype=bool)
    rows = {}
    for task, by_key in table.items():
        rewards = np.empty(NUM_CONFIGS)
        for key, value in by_key.items():
            rewards[key_to_index(key)] = value
        rows[task] = [
            rewards[bits[:, k]].mean() - rewards[~bits[:, k]].mean()
            for k in range(len(PARAM_NAMES))
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(PARAM_NAMES))


def effect_standard_error(seed_std: float) -> float:
    """Standard error of one main effect when each set's reward has noise `seed_std`."""
    half = NUM_CONFIGS // 2
    return seed_std * math.sqrt(2 / half)
