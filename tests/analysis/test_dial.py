"""The dial rule (proxygym.analysis.dial): planted peaks that move, stay or scatter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from proxygym.analysis.dial import dial_trend, peak_interval, seed_peaks
from tests.analysis.test_verdicts import LEVELS, sweep


def peaked(peak_index: int, height: float = 100.0) -> list[float]:
    """A true curve rising linearly to ``height`` at ``LEVELS[peak_index]``, then falling to 0."""
    up = np.linspace(0, height, peak_index + 1) if peak_index else [height]
    down = np.linspace(height, 0, len(LEVELS) - peak_index)[1:]
    return [*up, *down]


def frames(
    peaks: Sequence[int], rng: np.random.Generator, noise: float = 10.0
) -> dict[int, pd.DataFrame]:
    return {
        dial: sweep(peaked(index), rng, n_seeds=12, noise=noise) for dial, index in enumerate(peaks)
    }


def test_seed_peaks_are_each_seeds_argmax_first_on_ties() -> None:
    rows = [
        {"policy": "agent", "seed": s, "level": level, "true_return": value, "axis": "timesteps"}
        for s, curve in enumerate([[1, 5, 5, 2], [3, 3, 3, 3], [0, 1, 2, 9]])
        for level, value in zip([0, 10, 20, 30], curve, strict=True)
    ]
    rows.append(
        {"policy": "agent", "seed": 3, "level": 0, "true_return": 99.0, "axis": "timesteps"}
    )
    peaks = seed_peaks(pd.DataFrame(rows))
    assert peaks.to_dict() == {0: 10, 1: 0, 2: 30}  # seed 3 lacks levels: left out


def test_a_peak_planted_later_at_each_setting_moves_later() -> None:
    trend = dial_trend(frames([0, 1, 2, 3, 4], np.random.default_rng(0)))
    assert trend.label == "later" and trend.low > 0.5
    assert list(trend.median_peaks.values()) == LEVELS[:5]


def test_a_peak_planted_earlier_moves_earlier() -> None:
    assert dial_trend(frames([4, 3, 2, 1], np.random.default_rng(1))).label == "earlier"


def test_the_same_peak_at_every_setting_is_not_shown() -> None:
    labels = [
        dial_trend(frames([2, 2, 2, 2], np.random.default_rng(s), noise=30)).label
        for s in range(20)
    ]
    assert labels.count("not shown") >= 18


def test_three_settings_are_too_few_however_clear() -> None:
    trend = dial_trend(frames([0, 2, 4], np.random.default_rng(2)))
    assert trend.low > 0 and trend.label == "not shown"


def test_too_few_seeds_at_a_setting_is_not_shown() -> None:
    rng = np.random.default_rng(3)
    settings = frames([0, 1, 2, 3, 4], rng)
    settings[4] = sweep(peaked(4), rng, n_seeds=5)
    assert dial_trend(settings).label == "not shown"


def test_peak_interval_brackets_a_planted_peak_and_widens_with_noise() -> None:
    rng = np.random.default_rng(4)
    peak, low, high = peak_interval(sweep(peaked(3), rng, n_seeds=20, noise=5))
    assert peak == low == high == LEVELS[3]
    peak, low, high = peak_interval(sweep([0, 50, 52, 51, 50, 0], rng, n_seeds=10, noise=20))
    assert low <= peak <= high and low < high


def test_peak_interval_needs_two_seeds() -> None:
    with pytest.raises(ValueError, match="at least 2 complete seeds"):
        peak_interval(sweep(peaked(2), np.random.default_rng(5), n_seeds=1))


def test_the_rank_correlation_is_scipys_spearman_with_ties() -> None:
    from scipy import stats

    from proxygym.analysis.dial import _spearman

    rng = np.random.default_rng(6)
    dials = np.repeat([0.0, 2, 4, 6], 10)
    peaks = rng.choice([0.0, 1000, 2000, 4000], size=40)
    assert _spearman(dials, peaks) == pytest.approx(stats.spearmanr(dials, peaks).statistic)
