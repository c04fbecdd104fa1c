"""Which configs the sweep trains, with which seeds, and how its runs split into two halves.

Fractions of the 2^8 factorial are cut by two defining words of five letters (parameters A..H in
`PARAM_NAMES` order): W1 = ABCDG and W2 = ABEFH. Their product CDEFGH has six letters, so
- `quarter` (W1 = W2 = +1, 64 configs) is a 2^(8-2) design of resolution V,
- `half` (W1 = +1, 128 configs) a 2^(8-1) design of resolution V,
- `full` all 256 configs,
and in each one every main effect and two-way interaction is estimable, aliased at worst with
interactions of three or more parameters.

Every run gets its own training seed (initialisation and data order) derived from
(base seed, config, replicate): no seed is shared across configs or replicates, so seed noise is
independent between runs and averages out of every effect instead of being confounded with it.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from task2sim.sim.config import NUM_CONFIGS, index_to_bits
from task2sim.train.data import derive_seed

DESIGNS = ("quarter", "half", "full")
WORD_1 = (0, 1, 2, 3, 6)  # A B C D G
WORD_2 = (0, 1, 4, 5, 7)  # A B E F H
STREAM_SWEEP_RUN = 11
STREAM_SCRATCH = 12


def _word_sign(config: int, word: tuple[int, ...]) -> int:
    bits = index_to_bits(config)
    return 1 if sum(1 - bits[k] for k in word) % 2 == 0 else -1  # product of ±1 levels


@cache
def design_configs(design: str) -> tuple[int, ...]:
    """The configs a design trains, in index order."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design '{design}'; use one of {DESIGNS}")
    configs = range(NUM_CONFIGS)
    if design == "full":
        return tuple(configs)
    half = [c for c in configs if _word_sign(c, WORD_1) == 1]
    if design == "half":
        return tuple(half)
    return tuple(c for c in half if _word_sign(c, WORD_2) == 1)


def run_seed(base_seed: int, config: int, replicate: int) -> int:
    """The training seed of one run: independent across configs and replicates."""
    return derive_seed(base_seed, STREAM_SWEEP_RUN, config, replicate) % 2**31


def scratch_seed(base_seed: int, index: int) -> int:
    """The initialisation seed of scratch backbone `index` (a stream no sweep run uses)."""
    return derive_seed(base_seed, STREAM_SCRATCH, index) % 2**31


def half_of(config: int, replicate: int, design: str, replicates: int) -> int:
    """0 or 1: which independent half a run belongs to (the reliability split).

    With two or more replicates, even and odd replicates: each half holds every config of the
    design. With one, the design splits by the next defining word into two fractions that are
    each of resolution V (full: by W1 into two halves; half: by W2 into two quarters), so each
    half can still fit the main + two-way model on its own.
    """
    if replicates >= 2:
        return replicate % 2
    if design == "full":
        return 0 if _word_sign(config, WORD_1) == 1 else 1
    if design == "half":
        return 0 if _word_sign(config, WORD_2) == 1 else 1
    raise ValueError("design quarter needs two or more replicates to split into halves")


def is_resolution_v(configs: tuple[int, ...]) -> bool:
    """Whether a set of configs separates all 37 main + two-way terms (a check for tests)."""
    from task2sim.stats.factorial import design_matrix

    x = design_matrix(configs)
    return bool(np.linalg.matrix_rank(x) == x.shape[1])
