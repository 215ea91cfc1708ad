"""Quantilizers: Taylor's cost bound, the q = 1 and argmax limits, and the sampled form."""

from __future__ import annotations

import numpy as np
import pytest

from proxygym.planning.quantilizer import (
    quantilize,
    quantilizer_distribution,
    quantilizer_expectation,
    top_candidates,
    top_count,
)


def random_instance(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random base probabilities (some zero) and integer scores (many ties)."""
    n = int(rng.integers(1, 12))
    probs = rng.dirichlet(np.full(n, 0.7))
    probs[rng.random(n) < 0.15] = 0.0
    if probs.sum() == 0.0:
        probs[0] = 1.0
    probs /= probs.sum()
    scores = rng.integers(0, 5, size=n).astype(float)
    return probs, scores


def test_cost_bound_holds_on_random_instances() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        probs, scores = random_instance(rng)
        q = float(rng.choice([rng.uniform(1e-3, 1.0), 1.0, 0.5]))
        quantilizer = quantilizer_distribution(probs, scores, q)
        assert quantilizer.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(quantilizer >= 0)
        # Pointwise bound, hence the bound for every non-negative cost.
        assert np.all(quantilizer <= probs / q + 1e-12)
        for _ in range(5):
            cost = rng.exponential(size=probs.size) * (rng.random(probs.size) < 0.7)
            assert quantilizer @ cost <= (probs @ cost) / q + 1e-12


def test_quantilizer_never_scores_below_base() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        probs, scores = random_instance(rng)
        q = float(rng.uniform(1e-3, 1.0))
        assert quantilizer_distribution(probs, scores, q) @ scores >= probs @ scores - 1e-12


def test_q_one_is_the_base_distribution() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        probs, scores = random_instance(rng)
        np.testing.assert_array_equal(quantilizer_distribution(probs, scores, 1.0), probs)


def test_mass_of_the_best_outcome_gives_the_argmax() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(2, 10))
        probs = rng.dirichlet(np.ones(n))
        scores = rng.permutation(n).astype(float)
        best = int(np.argmax(scores))
        quantilizer = quantilizer_distribution(probs, scores, float(probs[best]))
        expected = np.zeros(n)
        expected[best] = 1.0
        np.testing.assert_allclose(quantilizer, expected, atol=1e-12)


def test_hand_computed_example_with_a_tie_at_the_boundary() -> None:
    # Scores 3 > 2 = 2 > 1. q = 0.5 takes all of the 0.2 on the best outcome,
    # then 0.3 of the tied block's 0.6, split 1:2 like its base masses 0.2:0.4.
    probs = np.array([0.2, 0.2, 0.4, 0.2])
    scores = np.array([3.0, 2.0, 2.0, 1.0])
    quantilizer = quantilizer_distribution(probs, scores, 0.5)
    np.testing.assert_allclose(quantilizer, [0.4, 0.2, 0.4, 0.0], atol=1e-15)
    # Reordering tied outcomes does not change what each of them gets.
    swapped = quantilizer_distribution(probs[[0, 2, 1, 3]], scores[[0, 2, 1, 3]], 0.5)
    np.testing.assert_allclose(swapped, quantilizer[[0, 2, 1, 3]], atol=1e-15)


@pytest.mark.parametrize(
    ("probs", "scores", "q"),
    [
        ([0.5, 0.5], [1.0, 2.0], 0.0),
        ([0.5, 0.5], [1.0, 2.0], 1.5),
        ([0.5, 0.6], [1.0, 2.0], 0.5),
        ([1.5, -0.5], [1.0, 2.0], 0.5),
        ([0.5, 0.5], [1.0, 2.0, 3.0], 0.5),
        ([0.5, 0.5], [1.0, np.nan], 0.5),
        ([], [], 0.5),
    ],
)
def test_bad_inputs_are_rejected(probs: list[float], scores: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        quantilizer_distribution(np.array(probs), np.array(scores), q)


def test_top_count_absorbs_float_error() -> None:
    assert top_count(10, 0.3) == 3
    assert top_count(10, 0.31) == 4
    assert top_count(7, 1 / 7) == 1
    assert top_count(5, 1e-9) == 1
    assert top_count(5, 1.0) == 5


def test_ties_go_to_the_lower_index() -> None:
    scores = np.array([1.0, 5.0, 3.0, 5.0, 3.0])
    np.testing.assert_array_equal(top_candidates(scores, 0.6), [1, 3, 2])
    assert quantilize(scores, 0.2, np.random.default_rng(0)) == 1


def test_q_one_over_n_picks_the_max() -> None:
    rng = np.random.default_rng(4)
    for _ in range(100):
        scores = rng.normal(size=int(rng.integers(1, 20)))
        assert quantilize(scores, 1 / scores.size, rng) == int(np.argmax(scores))


def test_expectation_is_the_mean_over_the_top() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    values = np.array([10.0, 20.0, 30.0, 40.0])
    assert quantilizer_expectation(scores, values, 0.5) == pytest.approx(30.0)
    assert quantilizer_expectation(scores, values, 1.0) == pytest.approx(25.0)


def test_sampled_picks_match_the_exact_distribution() -> None:
    """Over a fixed candidate set, picks follow the exact q-quantilizer of the uniform base."""
    rng = np.random.default_rng(5)
    scores = rng.normal(size=10)
    q = 0.4
    exact = quantilizer_distribution(np.full(10, 0.1), scores, q)
    draws = 20_000
    counts = np.bincount([quantilize(scores, q, rng) for _ in range(draws)], minlength=10)
    # Four standard errors of a binomial proportion, per candidate.
    tolerance = 4 * np.sqrt(exact * (1 - exact) / draws) + 1e-12
    assert np.all(np.abs(counts / draws - exact) <= tolerance)
    assert quantilizer_expectation(scores, scores, q) == pytest.approx(exact @ scores)


def test_sampled_quantilizer_approaches_the_exact_one_with_many_candidates() -> None:
    """Quantilizing many base samples draws outcomes like the exact quantilizer."""
    rng = np.random.default_rng(6)
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    scores = np.array([0.0, 1.0, 2.0, 3.0])
    q = 0.2
    exact = quantilizer_distribution(probs, scores, q)  # [0, 0, 0.5, 0.5]
    picks = []
    for _ in range(3000):
        outcomes = rng.choice(4, size=200, p=probs)
        picks.append(outcomes[quantilize(scores[outcomes], q, rng)])
    frequencies = np.bincount(picks, minlength=4) / len(picks)
    np.testing.assert_allclose(frequencies, exact, atol=0.04)
