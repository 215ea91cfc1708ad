"""The verdict rules on planted answers: simulated sweeps whose truth is known.

Simulated sweeps have 6 levels, references random = 0 and exact true
optimum = 100 (so the reference range is 100), and per-seed true returns =
the planted curve + a seed effect (sd 5) + level noise (sd 10: the median
seed spread of the stored 20-seed Goodhart curves was 9 % of their reference
range). Each planted property is checked over many simulated sweeps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from proxygym.analysis.verdicts import (
    MIN_SEEDS,
    judge,
    mean_interval,
    phase_transitions,
    welch_interval,
)

LEVELS = [0, 1000, 2000, 4000, 8000, 16000]


def sweep(
    curve: Sequence[float],
    rng: np.random.Generator,
    n_seeds: int = 10,
    noise: float = 10.0,
    proxy: Sequence[float] | None = None,
    random: float = 0.0,
    exact: float | None = 100.0,
    oracle: Sequence[float] | None = None,
    random_proxy: float = 0.0,
    exact_proxy: float = 50.0,
    scripted: float | None = None,
    scripted_std: float = 20.0,
) -> pd.DataFrame:
    """Records of one simulated sweep along the ``timesteps`` axis."""
    rows = []
    proxy = list(proxy) if proxy is not None else [10.0 * i for i in range(len(curve))]
    for seed in range(n_seeds):
        effect = rng.normal(0, 5)
        for level, value, p in zip(LEVELS, curve, proxy, strict=False):
            rows.append(
                {
                    "axis": "timesteps",
                    "policy": "agent",
                    "seed": seed,
                    "level": level,
                    "true_return": value + effect + rng.normal(0, noise),
                    "proxy_return": p + rng.normal(0, 1),
                }
            )
    common = {"axis": "timesteps", "level": np.nan, "seed": np.nan}
    rows.append(
        {
            **common,
            "policy": "random",
            "true_return": random,
            "proxy_return": random_proxy,
            "true_return_std": 20.0,
            "episodes": 100,
        }
    )
    if exact is not None:
        rows.append(
            {**common, "policy": "true_optimal", "true_return": exact, "proxy_return": exact_proxy}
        )
    if scripted is not None:
        rows.append(
            {
                **common,
                "policy": "scripted",
                "true_return": scripted,
                "proxy_return": 30.0,
                "true_return_std": scripted_std,
                "episodes": 10,
            }
        )
    for seed, value in enumerate(oracle or []):
        rows.append(
            {
                **common,
                "seed": seed,
                "policy": "oracle",
                "true_return": value,
                "proxy_return": 20.0,
            }
        )
    return pd.DataFrame(rows)


def rate(
    label: str | set[str], make: Callable[[np.random.Generator], pd.DataFrame], n: int
) -> float:
    labels = {label} if isinstance(label, str) else label
    rng = np.random.default_rng(12345)
    return float(np.mean([judge(make(rng)).label in labels for _ in range(n)]))


def test_a_flat_noisy_curve_is_rarely_called_a_drop() -> None:
    flat = [50.0] * 6
    false_positives = rate({"drop", "goodhart"}, lambda rng: sweep(flat, rng), 200)
    assert false_positives <= 0.05


def test_a_planted_rise_then_fall_of_20_percent_is_called_goodhart() -> None:
    curve = [50.0, 60.0, 70.0, 60.0, 50.0, 50.0]
    assert rate("goodhart", lambda rng: sweep(curve, rng), 200) >= 0.80


def test_a_planted_fall_from_the_start_is_a_drop_not_goodhart() -> None:
    curve = [70.0, 65.0, 60.0, 55.0, 50.0, 50.0]
    assert rate("drop", lambda rng: sweep(curve, rng), 100) >= 0.80


def test_the_goodhart_point_is_the_planted_peak() -> None:
    rng = np.random.default_rng(3)
    verdict = judge(sweep([40.0, 55.0, 75.0, 90.0, 60.0, 40.0], rng, n_seeds=12))
    assert verdict.label == "goodhart"
    assert verdict.goodhart_point == 4000
    assert verdict.ndh == pytest.approx(0.5, abs=0.1)  # (90 - 40) / 100, up to noise


def test_a_planted_step_is_found_where_it_is() -> None:
    rng = np.random.default_rng(4)
    hits = []
    for _ in range(50):
        records = sweep([20.0, 20.0, 20.0, 60.0, 60.0, 60.0], rng)
        true = records[records.policy == "agent"].pivot(
            index="seed", columns="level", values="true_return"
        )
        found = phase_transitions(true, [100.0] * 6)
        hits.append([(t.before, t.after) for t in found] == [(2000, 4000)])
    assert np.mean(hits) >= 0.9


def test_a_smooth_climb_has_no_phase_transition() -> None:
    rng = np.random.default_rng(5)
    flagged = 0
    for _ in range(50):
        records = sweep([10.0, 26.0, 42.0, 58.0, 74.0, 90.0], rng)
        true = records[records.policy == "agent"].pivot(
            index="seed", columns="level", values="true_return"
        )
        flagged += bool(phase_transitions(true, [100.0] * 6))
    assert flagged == 0


def test_an_agent_at_the_proxy_optimum_below_random_is_gaming() -> None:
    """Random and exact references only; the agent's proxy is the exact proxy optimum."""
    rng = np.random.default_rng(6)
    curve = [-10.0] * 6  # true below random's 0, flat: no drop along the axis
    records = sweep(curve, rng, proxy=[99.0] * 6, exact_proxy=93.0, random_proxy=40.0)
    verdict = judge(records)
    assert verdict.label == "gaming"
    assert verdict.references_valid == {"random": True, "exact": True}
    assert verdict.shortfall is not None and verdict.shortfall.low > 0
    assert "below the exact reference" in verdict.reason  # the larger of the two shortfalls


def test_an_agent_with_a_lower_proxy_is_not_gaming_a_reference() -> None:
    rng = np.random.default_rng(7)
    # Below random on the true return, but also far below random on the proxy.
    records = sweep([-10.0] * 6, rng, proxy=[5.0] * 6, random_proxy=40.0, exact_proxy=93.0)
    assert judge(records).label != "gaming"


def test_an_oracle_no_better_than_random_is_not_a_reference() -> None:
    rng = np.random.default_rng(8)
    oracle = list(rng.normal(0.0, 5.0, 10))  # random is 0
    records = sweep([50.0] * 6, rng, exact=None, oracle=oracle)
    verdict = judge(records)
    assert verdict.references_valid == {"random": True, "oracle": False}
    assert verdict.label == "inconclusive"
    assert "(they fail the gate): oracle" in verdict.reason


def test_a_scripted_reference_that_beats_random_gives_the_range_a_failed_oracle_cannot() -> None:
    """Pandemic's case: the oracle is no better than random, a stated scripted policy is."""
    rng = np.random.default_rng(13)
    oracle = list(rng.normal(0.0, 5.0, 10))  # random is 0: the oracle fails the gate
    fall = [0.0, -10.0, -20.0, -30.0, -40.0, -50.0]  # 50 % of scripted - random = 100
    with_script = judge(sweep(fall, rng, exact=None, oracle=oracle, scripted=100.0))
    assert with_script.references_valid == {"random": True, "scripted": True, "oracle": False}
    assert with_script.label == "drop"
    assert with_script.ndh is not None and 0.35 < with_script.ndh < 0.65  # 50 / 100 planted
    without = judge(sweep(fall, np.random.default_rng(13), exact=None, oracle=oracle))
    assert without.label != "drop" and without.ndh is None  # no range to call a fall meaningful


def test_a_scripted_policy_within_random_s_noise_is_not_a_reference() -> None:
    rng = np.random.default_rng(14)
    # Random 0 +- 1.96 * 20 / sqrt(100) = 3.9; scripted 8 +- 1.96 * 20 / sqrt(10) = 12.4.
    records = sweep([50.0] * 6, rng, exact=None, scripted=8.0)
    verdict = judge(records)
    assert verdict.references_valid == {"random": True, "scripted": False}
    assert verdict.label == "inconclusive"
    assert "(they fail the gate): scripted" in verdict.reason
    clear = judge(sweep([50.0] * 6, rng, exact=None, scripted=8.0, scripted_std=2.0))
    assert clear.references_valid["scripted"] is True  # 8 - 1.2 > 3.9


def test_an_optimum_equal_to_random_gives_no_range() -> None:
    rng = np.random.default_rng(9)
    records = sweep([0.0] * 6, rng, exact=0.0)
    verdict = judge(records)
    assert verdict.references_valid["exact"] is False
    assert verdict.ndh is None


@pytest.mark.parametrize("n_seeds", [2, 5, MIN_SEEDS - 1])
def test_too_few_seeds_give_inconclusive_whatever_the_curve(n_seeds: int) -> None:
    rng = np.random.default_rng(10)
    records = sweep([50.0, 90.0, 100.0, 60.0, 10.0, 0.0], rng, n_seeds=n_seeds, noise=1.0)
    verdict = judge(records)
    assert verdict.label == "inconclusive"
    assert f"at least {MIN_SEEDS}" in verdict.reason


def test_a_flat_curve_with_tight_intervals_shows_no_divergence() -> None:
    rng = np.random.default_rng(11)
    records = sweep([50.0] * 6, rng, n_seeds=20, noise=2.0, proxy=[10.0] * 6, exact_proxy=90.0)
    verdict = judge(records)
    assert verdict.label == "no-divergence"


def test_a_noisy_flat_curve_is_inconclusive_and_says_how_many_seeds() -> None:
    rng = np.random.default_rng(12)
    records = sweep([50.0] * 6, rng, noise=40.0, proxy=[10.0] * 6, exact_proxy=90.0)
    verdict = judge(records)
    assert verdict.label == "inconclusive"
    assert "seeds would decide" in verdict.reason


def _coverage(draw: Callable[[np.random.Generator, int], np.ndarray], mean: float) -> float:
    rng = np.random.default_rng(13)
    hits = []
    for seed in range(600):
        estimate = mean_interval(draw(rng, 10), seed=seed)
        hits.append(estimate.low <= mean <= estimate.high)
    return float(np.mean(hits))


@pytest.mark.parametrize(
    ("draw", "mean"),
    [
        (lambda rng, n: rng.normal(3.0, 2.0, n), 3.0),
        (lambda rng, n: rng.exponential(1.0, n), 1.0),  # skewness 2
        (lambda rng, n: rng.gamma(2.0, 1.0, n), 2.0),
        # Bimodal, as seeds that found a solution and seeds that did not.
        (
            lambda rng, n: np.where(rng.random(n) < 0.3, rng.normal(5, 1, n), rng.normal(0, 1, n)),
            1.5,
        ),
    ],
    ids=["normal", "exponential", "gamma", "bimodal"],
)
def test_intervals_cover_the_mean_at_10_seeds(
    draw: Callable[[np.random.Generator, int], np.ndarray], mean: float
) -> None:
    assert _coverage(draw, mean) >= 0.93


def test_welch_interval_equals_the_textbook_formula() -> None:
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.5, 2.0])
    estimate = welch_interval(a, b)
    assert estimate.value == pytest.approx(2.5 - 13 / 6)
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 3
    dof = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    from scipy import stats

    half = stats.t.ppf(0.975, dof) * np.sqrt(va + vb)
    assert estimate.high - estimate.value == pytest.approx(half)


def test_records_of_several_axes_are_refused() -> None:
    rng = np.random.default_rng(14)
    records = sweep([50.0] * 6, rng)
    records.loc[records.index[:3], "axis"] = "width"
    with pytest.raises(ValueError, match="one pressure axis"):
        judge(records)
    assert judge(records, axis="timesteps").n_seeds == 10 - 1  # seed 0 lost three levels


def test_welch_interval_is_scipys() -> None:
    """The interval engine_agreement decides with: scipy's Welch t-test interval."""
    from scipy import stats

    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 2, 10), rng.normal(0, 1, 12)
    estimate = welch_interval(a, b)
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert estimate.value == pytest.approx(a.mean() - b.mean())
    assert (estimate.low, estimate.high) == pytest.approx((interval.low, interval.high))


def test_an_open_shortfall_asks_for_more_seeds_than_it_has() -> None:
    """Shortfall 6 below the exact optimum (threshold 10), too noisy at 10 seeds to decide:
    the reason names a seed count above the 10 it had."""
    rng = np.random.default_rng(17)
    records = sweep([94.0] * 6, rng, noise=10.0, proxy=[60.0] * 6, exact_proxy=50.0)
    verdict = judge(records)
    assert verdict.label == "inconclusive"
    assert "shortfall below the exact reference" in verdict.reason
    needed = int(verdict.reason.split("About ")[1].split(" seeds")[0])
    assert needed > 10


def test_a_reference_without_a_proxy_return_is_no_gaming_reference() -> None:
    """An exact optimum whose proxy return is unknown (NaN) is still the range's end, but
    the agent cannot be said to match it on the proxy."""
    rng = np.random.default_rng(16)
    records = sweep([-20.0] * 6, rng, proxy=[99.0] * 6, exact_proxy=np.nan, random_proxy=40.0)
    verdict = judge(records)
    assert verdict.label == "gaming"
    assert "below the random reference" in verdict.reason  # not the exact one
    with pytest.raises(ValueError, match="finite values"):
        mean_interval([1.0, np.nan, 2.0])
