"""The sweep's statistics: designs, independent halves, the factorial fit, reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_flags
from task2sim.stats.factorial import fit_two_way, term_names, variance_split
from task2sim.sweep.design import design_configs, half_of, is_resolution_v, run_seed
from task2sim.sweep.reliability import (
    pure_error,
    split_half,
    sum_of_squares_split,
    versus_scratch,
    with_halves,
)


@pytest.mark.parametrize(("design", "size"), [("quarter", 64), ("half", 128), ("full", 256)])
def test_every_design_separates_main_effects_and_two_way_interactions(design, size):
    configs = design_configs(design)
    assert len(configs) == len(set(configs)) == size
    assert is_resolution_v(configs)
    assert len(term_names()) == 1 + 8 + 28


def test_seeds_differ_across_configs_and_replicates():
    seeds = {run_seed(0, c, r) for c in range(NUM_CONFIGS) for r in range(4)}
    assert len(seeds) == NUM_CONFIGS * 4
    assert run_seed(0, 5, 1) == run_seed(0, 5, 1) != run_seed(1, 5, 1)


def _runs(design: str, replicates: int, reward, noise: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"config": c, "replicate": r, "top1": reward(c) + rng.normal(0, noise)}
        for c in design_configs(design)
        for r in range(replicates)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("design", "replicates"), [("quarter", 2), ("half", 1), ("full", 1)])
def test_the_two_halves_share_no_run_and_each_fits_the_model(design, replicates):
    runs = with_halves(_runs(design, replicates, lambda c: 0.0, 1.0), design, replicates)
    keys = [set(zip(part.config, part.replicate, strict=True)) for _, part in runs.groupby("half")]
    assert len(keys) == 2 and not keys[0] & keys[1]
    assert len(keys[0]) + len(keys[1]) == len(runs) and len(keys[0]) == len(keys[1])
    for _, part in runs.groupby("half"):
        assert is_resolution_v(tuple(part.config))


def test_a_quarter_with_one_replicate_cannot_be_halved():
    with pytest.raises(ValueError, match="two or more replicates"):
        half_of(3, 0, "quarter", 1)


def _truth(config: int) -> float:
    flags = index_to_flags(config)
    return 60 + 4 * flags["materials"] - 3 * flags["backgr"] + 2 * flags["blur"] * flags["pose_rot"]


def test_a_strong_table_is_reliable_and_its_effects_agree_between_halves():
    runs = _runs("quarter", 2, _truth, noise=1.0)
    half = split_half(runs, "quarter", 2, "two_way")
    assert half.r > 0.85 and half.spearman_brown == pytest.approx(2 * half.r / (1 + half.r))
    assert half.significant >= 4 and half.agreeing == half.significant
    fit = fit_two_way(runs.config, runs.top1)
    effects = dict(zip(PARAM_NAMES, fit.main_effects, strict=True))
    assert effects["materials"] == pytest.approx(4, abs=0.6)
    assert effects["backgr"] == pytest.approx(-3, abs=0.6)
    noise, dof = pure_error(runs)
    assert dof == 64 and noise == pytest.approx(1.0, rel=0.3)


def test_pure_noise_is_not_reliable():
    rs = [split_half(_runs("quarter", 2, lambda c: 50.0, 2.0, s), "quarter", 2, "two_way").r
          for s in range(6)]  # fmt: skip
    assert abs(float(np.mean(rs))) < 0.25


def test_variance_split_by_interaction_order():
    main_only = [_truth(c) - 2 * index_to_flags(c)["blur"] * index_to_flags(c)["pose_rot"]
                 for c in range(NUM_CONFIGS)]  # fmt: skip
    assert variance_split(main_only) == pytest.approx({"main": 1, "two_way": 0, "higher": 0})
    three_way = [float(np.prod([1 if index_to_flags(c)[p] else -1 for p in PARAM_NAMES[:3]]))
                 for c in range(NUM_CONFIGS)]  # fmt: skip
    assert variance_split(three_way)["higher"] == pytest.approx(1)
    mixed = variance_split([_truth(c) for c in range(NUM_CONFIGS)])
    assert sum(mixed.values()) == pytest.approx(1) and 0 < mixed["two_way"] < mixed["main"]


def test_sum_of_squares_split_names_the_seed_noise():
    quiet = sum_of_squares_split(_runs("quarter", 2, _truth, noise=0.1))
    loud = sum_of_squares_split(_runs("quarter", 2, _truth, noise=10.0))
    assert sum(quiet.values()) == pytest.approx(1, abs=1e-9)
    assert quiet["seed_noise"] < 0.01 and quiet["main"] > 0.8
    # within-config noise only: the rest of the noise sits in the other rows, as in any ANOVA
    assert loud["seed_noise"] == max(loud.values()) and loud["seed_noise"] > 0.4


def test_sweep_against_scratch_uses_seed_standard_errors():
    runs = _runs("quarter", 2, lambda c: 70.0, noise=2.0)
    result = versus_scratch(runs, {"mean": 60.0, "sem": 1.0})
    assert result["sweep_se"] == pytest.approx(2.0 / np.sqrt(128), rel=0.3)
    assert result["difference"] == pytest.approx(10, abs=1)
    assert result["z"] == pytest.approx(result["difference"] / result["difference_se"])
