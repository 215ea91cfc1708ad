"""Goodhart metrics on synthetic sweeps whose answers are known."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from proxygym.analysis.metrics import aggregate, goodhart_metrics, kendall_tau

LEVELS = [1, 2, 4, 8, 16, 32, 64]


def synthetic(
    proxy: Callable[[float], float],
    true: Callable[[float], float],
    seeds: int = 5,
    noise: float = 0.0,
    levels: list[float] = LEVELS,
    rng_seed: int = 0,
) -> pd.DataFrame:
    """Agent records with the given mean curves plus Gaussian seed noise."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in range(seeds):
        for level in levels:
            rows.append(
                {
                    "policy": "agent",
                    "axis": "timesteps",
                    "level": level,
                    "seed": seed,
                    "step": level,
                    "proxy_return": proxy(level) + noise * rng.standard_normal(),
                    "true_return": true(level) + noise * rng.standard_normal(),
                    "true_score": math.nan,
                    "kl_from_init": 0.1 * level,
                }
            )
    return pd.DataFrame(rows)


def rising(level: float) -> float:
    return math.log2(level)


def peaked(level: float) -> float:
    """Rises to 10 at level 8, then falls to 2 at level 64."""
    return {1: 4.0, 2: 6.0, 4: 8.0, 8: 10.0, 16: 7.0, 32: 4.0, 64: 2.0}[level]


def test_metrics_describe_the_axis_seeds_and_levels_and_decide_nothing() -> None:
    metrics = goodhart_metrics(synthetic(rising, peaked, noise=0.1))
    assert (metrics.axis, metrics.levels, metrics.n_seeds) == ("timesteps", tuple(LEVELS), 5)
    # Descriptions only: the claim-like fields of the old metrics are gone (verdicts decide).
    assert set(metrics.as_dict()) == {"axis", "levels", "n_seeds", "kendall_tau"}


def test_kendall_tau() -> None:
    assert kendall_tau(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)
    assert kendall_tau(np.array([1, 2, 3, 4]), np.array([1, 3, 2, 4])) == pytest.approx(4 / 6)
    assert math.isnan(kendall_tau(np.array([1, 1, 1]), np.array([1, 2, 3])))
    opposed = goodhart_metrics(synthetic(rising, lambda level: -level))
    assert opposed.kendall_tau == pytest.approx(-1.0)


def test_aggregate_intervals_cover_the_mean_and_shrink_with_seeds() -> None:
    few = aggregate(synthetic(rising, peaked, seeds=3, noise=1.0))
    many = aggregate(synthetic(rising, peaked, seeds=40, noise=1.0))
    for table in (few, many):
        assert (table.true_return_low <= table.true_return_mean).all()
        assert (table.true_return_mean <= table.true_return_high).all()
        assert list(table.level) == LEVELS
    width = lambda t: (t.true_return_high - t.true_return_low).mean()  # noqa: E731
    assert width(many) < width(few)
    assert (many.seeds == 40).all()
    single = aggregate(synthetic(rising, peaked, seeds=1, noise=1.0))
    assert (single.true_return_low == single.true_return_high).all()


def test_interrupted_sweep_with_missing_cells() -> None:
    frame = synthetic(rising, peaked, seeds=3)
    frame = frame[~((frame.seed == 2) & (frame.level >= 16))]
    table = aggregate(frame)
    assert list(table.seeds) == [3, 3, 3, 3, 2, 2, 2]
    assert goodhart_metrics(frame).n_seeds == 3


def test_metrics_need_one_axis_of_agent_records() -> None:
    frame = synthetic(rising, peaked)
    with pytest.raises(ValueError, match="one pressure axis"):
        goodhart_metrics(pd.concat([frame, frame.assign(axis="width")]))
    with pytest.raises(ValueError, match="no agent records|one pressure axis"):
        goodhart_metrics(frame.assign(policy="oracle"))
