"""Exact best-of-n over a pool of trajectories: probabilities, expectations, KL, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from proxygym.envs.learned_proxy import (
    MLPWeights,
    RewardEnsemble,
    Trajectories,
)
from proxygym.planning.best_of_n import (
    best_of_n_curve,
    best_of_n_probabilities,
    best_of_n_sample,
    kl_best_of_n,
    quantilized_best_of_n_probabilities,
    trajectory_scores,
)
from proxygym.planning.quantilizer import top_count

#: A pool with a tie: ranks 1, {2, 3}, 4.
TINY_SCORES = np.array([1.0, 2.0, 2.0, 3.0])
TINY_TRUE = np.array([10.0, 20.0, 40.0, 0.0])


def test_n_equal_1_is_the_pool_mean() -> None:
    rng = np.random.default_rng(0)
    scores, true = rng.normal(size=101), rng.normal(size=101)
    (point,) = best_of_n_curve(scores, true, [1])
    np.testing.assert_allclose(best_of_n_probabilities(scores, 1), 1 / 101, rtol=1e-12)
    assert point.true_return == pytest.approx(true.mean(), rel=1e-12, abs=1e-14)
    assert point.proxy_score == pytest.approx(scores.mean(), rel=1e-12, abs=1e-14)
    assert point.kl_exact == pytest.approx(0.0, abs=1e-12)
    assert point.kl_analytic == 0.0


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000])
def test_probabilities_sum_to_one_and_favour_high_scores(n: int) -> None:
    scores = np.random.default_rng(n).integers(0, 8, size=50).astype(float)  # many ties
    probabilities = best_of_n_probabilities(scores, n)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(probabilities >= 0)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(probabilities[order]) >= -1e-15)  # monotone in score
    for value in np.unique(scores):  # a tied block shares equally
        tied = probabilities[scores == value]
        np.testing.assert_allclose(tied, tied[0], rtol=1e-12)


def test_tiny_pool_by_hand() -> None:
    # n = 2: P(best in block) = (end/4)^2 - (start/4)^2, split within the tied block.
    np.testing.assert_allclose(
        best_of_n_probabilities(TINY_SCORES, 2), [1 / 16, 4 / 16, 4 / 16, 7 / 16], rtol=1e-12
    )
    np.testing.assert_allclose(
        best_of_n_probabilities(TINY_SCORES, 3), [1 / 64, 13 / 64, 13 / 64, 37 / 64], rtol=1e-12
    )
    two, three = best_of_n_curve(TINY_SCORES, TINY_TRUE, [2, 3])
    assert two.true_return == pytest.approx((10 + 4 * 20 + 4 * 40 + 7 * 0) / 16)
    assert two.proxy_score == pytest.approx((1 + 4 * 2 + 4 * 2 + 7 * 3) / 16)
    # KL = sum p log(4 p): the tied items have p = 1/4, contributing 0.
    assert two.kl_exact == pytest.approx(7 / 16 * math.log(7 / 4) - 1 / 16 * math.log(4))
    assert three.true_return == pytest.approx((10 + 13 * 20 + 13 * 40) / 64)
    expected_kl = (
        1 / 64 * math.log(4 / 64) + 2 * 13 / 64 * math.log(52 / 64) + 37 / 64 * math.log(148 / 64)
    )
    assert three.kl_exact == pytest.approx(expected_kl)
    assert two.kl_exact < two.kl_analytic == kl_best_of_n(2)


def test_exact_kl_approaches_the_analytic_value_for_distinct_scores() -> None:
    ns = [2, 4, 16, 64]
    large = np.random.default_rng(0).random(20_000)
    for point in best_of_n_curve(large, large, ns):
        assert point.kl_exact == pytest.approx(point.kl_analytic, abs=1e-5)
        assert point.d == pytest.approx(math.sqrt(point.kl_exact))
        assert point.kl_used == "exact"
    small = np.random.default_rng(0).random(200)
    for point in best_of_n_curve(small, small, ns):
        assert point.kl_exact < point.kl_analytic  # a finite pool: below the bound
        assert point.kl_exact <= math.log(200)


def test_analytic_kl_can_be_chosen_for_d() -> None:
    (point,) = best_of_n_curve(TINY_SCORES, TINY_TRUE, [8], kl="analytic")
    assert point.kl_used == "analytic"
    assert point.d == pytest.approx(math.sqrt(math.log(8) - 7 / 8))
    assert point.kl_exact <= math.log(4)


def test_a_pool_of_equal_scores_gives_no_selection() -> None:
    (point,) = best_of_n_curve(np.zeros(5), np.arange(5.0), [7])
    assert point.kl_exact == 0.0
    assert point.true_return == pytest.approx(2.0)


def test_identical_trajectories_merge_into_one_outcome() -> None:
    scores = np.array([0.5, 1.0, 1.0, 1.0, 2.0, 3.0])
    keys = [b"a", b"b", b"b", b"c", b"d", b"e"]  # items 1 and 2 are one trajectory
    for n in (2, 5, 30):
        (merged,) = best_of_n_curve(scores, scores, [n], keys=keys)
        (items,) = best_of_n_curve(scores, scores, [n])
        # equal shares within a tied block make merging leave the KL unchanged
        assert merged.kl_exact == pytest.approx(items.kl_exact, rel=1e-12)
        assert merged.true_return == items.true_return
    with pytest.raises(ValueError, match="equal keys"):
        best_of_n_curve(scores, scores, [2], keys=[b"a", b"a", b"b", b"c", b"d", b"e"])
    with pytest.raises(ValueError, match="one key per score"):
        best_of_n_curve(scores, scores, [2], keys=keys[:3])


def test_sampled_selection_follows_the_exact_distribution() -> None:
    scores = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 4.0, 2.0])
    n, draws = 3, 40_000
    picks = best_of_n_sample(scores, n, np.random.default_rng(0), size=draws)
    frequencies = np.bincount(picks, minlength=scores.size) / draws
    expected = best_of_n_probabilities(scores, n)
    band = 4 * np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(frequencies - expected) <= band)
    again = best_of_n_sample(scores, n, np.random.default_rng(0), size=draws)
    np.testing.assert_array_equal(picks, again)


@pytest.mark.parametrize(
    ("scores", "true", "ns", "message"),
    [
        ([1.0, float("nan")], [0.0, 0.0], [1], "scores"),
        ([], [], [1], "scores"),
        ([1.0, 2.0], [0.0], [1], "true_returns"),
        ([1.0, 2.0], [0.0, 0.0], [0], "n must"),
        ([1.0, 2.0], [0.0, 0.0], [1.5], "n must"),
    ],
)
def test_bad_inputs_are_named(
    scores: list[float], true: list[float], ns: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        best_of_n_curve(scores, true, ns)


def test_trajectory_scores_aggregate_member_returns() -> None:
    """Member returns are aggregated per trajectory; per-step min would be lower."""
    rng = np.random.default_rng(0)
    members = [MLPWeights((rng.normal(size=(3, 1)),), (np.array([0.0]),)) for _ in range(2)]
    features = rng.normal(size=(7, 3)).astype(np.float32)
    trajectories = Trajectories(
        features, np.array([0, 3, 7]), np.zeros(2), np.zeros(2), (b"x", b"y")
    )
    ensemble = RewardEnsemble(members, aggregate="min")
    per_step = ensemble.predict_members(features)
    returns = np.stack([per_step[:, :3].sum(axis=1), per_step[:, 3:].sum(axis=1)], axis=1)
    np.testing.assert_allclose(trajectory_scores(ensemble, trajectories), returns.min(axis=0))
    per_step_min = trajectories.episode_sums(ensemble.predict(features))
    assert np.all(per_step_min <= trajectory_scores(ensemble, trajectories) + 1e-12)


# -- the quantilizer over n draws --------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_quantilizer_keeping_one_candidate_is_best_of_n(n: int) -> None:
    scores = np.random.default_rng(n).normal(size=50)
    q = 0.5 / n  # top_count(n, q) == 1
    assert top_count(n, q) == 1
    np.testing.assert_allclose(
        quantilized_best_of_n_probabilities(scores, n, q),
        best_of_n_probabilities(scores, n),
        atol=1e-12,
    )


def test_quantilizer_keeping_every_candidate_is_the_pool() -> None:
    scores = np.random.default_rng(1).normal(size=30)
    np.testing.assert_allclose(quantilized_best_of_n_probabilities(scores, 9, 1.0), 1 / 30)


def test_quantilizer_by_hand_on_two_items() -> None:
    # Pool {low, high}, n = 2 draws, keep the top k = 2 and pick one uniformly:
    # both draws are picked equally often, so each item has probability 1/2.
    # Keep the top 1 of 3 draws: high unless all three are low: 1 - 1/8.
    np.testing.assert_allclose(quantilized_best_of_n_probabilities([0.0, 1.0], 2, 1.0), [0.5, 0.5])
    np.testing.assert_allclose(
        quantilized_best_of_n_probabilities([0.0, 1.0], 3, 0.3), [1 / 8, 7 / 8]
    )
    # Keep the top 2 of 3: pick uniformly from the best two draws. P(low picked) =
    # P(2 lows) * 1/2 + P(3 lows) * 1 = 3/8 * 1/2 + 1/8.
    np.testing.assert_allclose(
        quantilized_best_of_n_probabilities([0.0, 1.0], 3, 0.6), [5 / 16, 11 / 16]
    )


def test_quantilizer_matches_simulation_and_respects_its_cost_bound() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.normal(size=25), 1)  # some ties
    n, q = 12, 0.25
    exact = quantilized_best_of_n_probabilities(scores, n, q)
    assert exact.sum() == pytest.approx(1.0)
    k = top_count(n, q)
    draws = rng.integers(25, size=(100_000, n))
    noise = rng.random(draws.shape)  # uniform tie-breaking
    order = np.lexsort((noise, scores[draws]), axis=1)[:, ::-1][:, :k]
    picked = np.take_along_axis(
        draws, order[np.arange(len(draws)), rng.integers(k, size=len(draws))][:, None], axis=1
    )[:, 0]
    simulated = np.bincount(picked, minlength=25) / len(draws)
    assert np.abs(simulated - exact).max() < 0.006
    # The quantilizer's cost bound, in its n-draw form: an item is picked at most
    # as often as it is drawn, divided by k, so never above (n / k) times its pool mass.
    assert (exact <= (n / k) / 25 + 1e-12).all()
