"""Comparing two methods at matched KL (Gao et al.'s frontier), on planted frontiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proxygym.analysis.overoptimization import compare_frontiers, frontier_values

LEVELS = [0, 1, 2, 3, 4, 5]


def frontier(d: np.ndarray) -> np.ndarray:
    """A rise-then-fall frontier of the true return against d = sqrt(KL)."""
    return 40 * d - 15 * d**2


def run(speed: float, shift: float, seeds: int, rng: np.random.Generator) -> pd.DataFrame:
    """Agent records whose d grows by ``speed`` per level, on ``frontier`` + ``shift`` + noise."""
    rows = []
    for seed in range(seeds):
        pace = speed * rng.uniform(0.8, 1.2)
        for level in LEVELS:
            d = pace * level
            rows.append(
                {
                    "policy": "agent",
                    "seed": seed,
                    "level": level,
                    "kl_from_init": d**2,
                    "true_return": frontier(d) + shift + rng.normal(0, 2),
                }
            )
    return pd.DataFrame(rows)


def test_frontier_values_interpolate_each_seed_in_d() -> None:
    frame = pd.DataFrame(
        {
            "policy": "agent",
            "seed": [0, 0, 0, 1, 1],
            "level": [0, 1, 2, 0, 1],
            "kl_from_init": [0.0, 4.0, 1.0, 0.0, 1.0],  # seed 0 reaches d = 2, then d = 1
            "true_return": [0.0, 20.0, 10.0, 5.0, 7.0],
        }
    )
    # Seed 0 sorted by d: (0, 0), (1, 10), (2, 20): at d = 0.5 and 1 -> 5 and 10.
    # Seed 1: (0, 5), (1, 7): 6 and 7.
    assert frontier_values(frame, np.array([0.5, 1.0])) == pytest.approx([7.5, 6.5])


def test_a_slower_method_on_the_same_frontier_is_the_same_frontier() -> None:
    """A KL penalty that only slows the climb along d: Gao's claim, planted."""
    rng = np.random.default_rng(0)
    fast, slow = run(0.5, 0.0, 12, rng), run(0.25, 0.0, 12, rng)
    result = compare_frontiers(slow, fast, scale=100.0)
    assert result.label == "same frontier", result.reason
    assert result.d_max == pytest.approx(slow.kl_from_init.pow(0.5).groupby(slow.seed).max().min())


def test_a_frontier_moved_by_30_percent_of_the_range_is_a_different_frontier() -> None:
    rng = np.random.default_rng(1)
    fast, better = run(0.5, 0.0, 12, rng), run(0.25, 30.0, 12, rng)
    result = compare_frontiers(better, fast, scale=100.0)
    assert result.label == "different frontier"
    assert result.gap is not None and result.gap.low > 10


def test_end_points_would_mislead_where_matched_kl_does_not() -> None:
    """The slow method ends lower on the true return (it stops early on the rise), yet the
    frontier is the same; comparing end points would call it worse."""
    rng = np.random.default_rng(2)
    fast, slow = run(0.25, 0.0, 12, rng), run(0.1, 0.0, 12, rng)
    last = max(LEVELS)
    ends = (
        slow[slow.level == last].true_return.mean(),
        fast[fast.level == last].true_return.mean(),
    )
    assert ends[0] < ends[1] - 5
    assert compare_frontiers(slow, fast, scale=100.0).label == "same frontier"


def test_too_few_seeds_or_no_range_is_inconclusive() -> None:
    rng = np.random.default_rng(3)
    few = compare_frontiers(run(0.5, 0.0, 5, rng), run(0.5, 0.0, 12, rng), scale=100.0)
    assert few.label == "inconclusive" and "at least 10" in few.reason
    assert compare_frontiers(run(0.5, 0, 12, rng), run(0.5, 0, 12, rng), None).label == (
        "inconclusive"
    )
