"""A Gao fit is shown only where the KL varies across levels and the true return rises with it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from proxygym.analysis.overoptimization import SweepFit, fit_sweep


def _records(kl: list[list[float]], true: list[list[float]]) -> pd.DataFrame:
    """Agent records of a timesteps sweep: ``kl[level][seed]``, ``true[level][seed]``."""
    rows = [
        {
            "axis": "timesteps",
            "policy": "agent",
            "level": level * 1000,
            "seed": seed,
            "kl_from_init": kl[level][seed],
            "true_return": true[level][seed],
        }
        for level in range(len(kl))
        for seed in range(len(kl[level]))
    ]
    return pd.DataFrame(rows)


def test_a_rise_then_fall_along_a_growing_kl_is_fitted() -> None:
    rng = np.random.default_rng(0)
    d = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    kl = [list(d_level**2 + rng.normal(0, 0.01, 4).clip(0)) for d_level in d]
    true = [
        list(d_level * (2 - 0.5 * np.log(d_level + 1e-9)) + rng.normal(0, 0.05, 4)) for d_level in d
    ]
    fitted = fit_sweep(_records(kl, true))
    assert isinstance(fitted, SweepFit) and fitted.fit.alpha > 0


def test_a_kl_that_does_not_vary_across_levels_is_not_fitted() -> None:
    rng = np.random.default_rng(1)
    # log 4 at every level, as greedy evaluation produced, with per-seed scatter.
    kl = [list(np.log(4) + rng.normal(0, 0.05, 4)) for _ in range(6)]
    true = [list(rng.normal(level, 1, 4)) for level in range(6)]
    reason = fit_sweep(_records(kl, true))
    assert isinstance(reason, str) and "does not vary across levels" in reason


def test_a_true_return_that_falls_with_kl_is_not_a_gao_curve() -> None:
    d = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    kl = [[x**2, x**2 + 0.01, x**2 + 0.02] for x in d]
    true = [[-3 * x, -3 * x + 0.1, -3 * x - 0.1] for x in d]
    reason = fit_sweep(_records(kl, true))
    assert isinstance(reason, str) and "alpha" in reason and "<= 0" in reason


def test_one_seed_per_level_cannot_show_the_kl_varies() -> None:
    kl = [[x] for x in (0.0, 0.3, 0.9, 1.5)]
    true = [[x] for x in (0.0, 1.0, 1.5, 1.0)]
    reason = fit_sweep(_records(kl, true))
    assert isinstance(reason, str) and "one seed" in reason
