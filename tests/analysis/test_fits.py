"""Gao et al. overoptimization fits: exact recovery, peaks, extrapolation, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from proxygym.analysis.fits import (
    Form,
    extrapolation_check,
    fit_overoptimization,
    kl_best_of_n,
)

PAIRS = [(1.0, 0.1), (2.0, 0.5), (0.5, 0.02), (3.0, 1.5), (-0.5, 0.3)]
D = np.linspace(0.0, 4.0, 25)  # includes d == 0


def curve(d: np.ndarray, alpha: float, beta: float, form: Form) -> np.ndarray:
    """The noiseless law, with d log d = 0 at d = 0."""
    if form == "bon":
        return d * (alpha - beta * d)
    log_d = np.log(np.where(d > 0, d, 1.0))
    return d * (alpha - beta * log_d)


@pytest.mark.parametrize("form", ["bon", "rl"])
@pytest.mark.parametrize(("alpha", "beta"), PAIRS)
def test_noiseless_fit_recovers_parameters_and_peak(form: Form, alpha: float, beta: float) -> None:
    fit = fit_overoptimization(D, curve(D, alpha, beta, form), form)
    assert fit.alpha == pytest.approx(alpha, rel=0.01)
    assert fit.beta == pytest.approx(beta, rel=0.01)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    assert (fit.form, fit.n_points) == (form, D.size)
    if form == "bon":
        expected_d = alpha / (2 * beta) if alpha > 0 else None
        expected_r = alpha**2 / (4 * beta) if alpha > 0 else None
    else:
        expected_d = math.exp(alpha / beta - 1)
        expected_r = beta * expected_d  # R(d*) = d*(alpha - (alpha - beta)) = beta d*
    if expected_d is None:
        assert fit.d_star is None and fit.peak_value is None and not fit.has_peak
    else:
        assert fit.has_peak
        assert fit.d_star is not None and fit.peak_value is not None
        assert fit.d_star == pytest.approx(expected_d, rel=0.01)
        assert fit.peak_value == pytest.approx(expected_r, rel=0.01)
        assert float(fit.predict(fit.d_star)) == pytest.approx(fit.peak_value)
        # It is a maximum: nearby points are lower.
        assert np.all(fit.predict([fit.d_star * 0.9, fit.d_star * 1.1]) < fit.peak_value)


def test_predict_keeps_shape_and_maps_zero_to_zero() -> None:
    fit = fit_overoptimization(D, curve(D, 2.0, 0.5, "rl"), "rl")
    assert fit.predict(0.0) == 0.0
    assert fit.predict(np.ones((2, 3))).shape == (2, 3)
    np.testing.assert_allclose(fit.predict(D), curve(D, 2.0, 0.5, "rl"), atol=1e-12)
    with pytest.raises(ValueError, match=">= 0"):
        fit.predict(-1.0)


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_no_interior_peak_when_beta_is_negative(form: Form) -> None:
    fit = fit_overoptimization(D, curve(D, 1.0, -0.3, form), form)
    assert fit.beta == pytest.approx(-0.3)
    assert not fit.has_peak and fit.d_star is None and fit.peak_value is None


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_flat_gold_reward_has_zero_beta_no_peak_and_undefined_r_squared(form: Form) -> None:
    fit = fit_overoptimization(D, np.zeros_like(D), form)
    assert (fit.alpha, fit.beta) == (0.0, 0.0)
    assert not fit.has_peak
    assert math.isnan(fit.r_squared)


def test_rl_peak_beyond_float_range_is_reported_as_none() -> None:
    d = np.array([1.0, 2.0, 3.0])
    fit = fit_overoptimization(d, curve(d, 1000.0, 1e-3, "rl"), "rl")
    assert fit.beta > 0 and not fit.has_peak


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_noisy_data_gives_sensible_r_squared(form: Form) -> None:
    rng = np.random.default_rng(0)
    clean = curve(D, 2.0, 0.5, form)
    fit = fit_overoptimization(D, clean + rng.normal(0.0, 0.2, D.size), form)
    assert 0.5 < fit.r_squared < 1.0
    assert fit.alpha == pytest.approx(2.0, rel=0.2)
    assert fit.beta == pytest.approx(0.5, rel=0.3)


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_extrapolation_from_low_d_predicts_high_d_on_noiseless_data(form: Form) -> None:
    rng = np.random.default_rng(1)
    d = rng.permutation(D)  # the check sorts by d itself
    check = extrapolation_check(d, curve(d, 2.0, 0.5, form), form)
    assert check.heldout_r_squared == pytest.approx(1.0, abs=1e-9)
    assert (check.n_train, check.n_heldout) == (12, 13)
    assert check.train_max_d == pytest.approx(D[11])
    assert check.fit.n_points == 12
    assert check.fit.alpha == pytest.approx(2.0, rel=0.01)


def test_extrapolation_misses_when_the_law_is_wrong() -> None:
    # Gold reward that rises then plateaus is not a "bon" curve: the low-d fit turns over.
    d = np.linspace(0.1, 5.0, 20)
    check = extrapolation_check(d, np.tanh(d), "bon", train_fraction=0.4)
    assert check.heldout_r_squared < 0.5


@pytest.mark.parametrize(
    ("d", "r", "form", "message"),
    [
        ([0.1, 0.2, 0.3], [1.0, 2.0], "bon", "differ in length"),
        ([0.1, np.nan], [1.0, 2.0], "bon", "d must be finite"),
        ([0.1, 0.2], [1.0, np.inf], "rl", "r must be finite"),
        ([0.1, -0.2], [1.0, 2.0], "bon", ">= 0"),
        ([0.1], [1.0], "bon", "at least 2 points"),
        ([0.1, 0.2], [1.0, 2.0], "ppo", "form must be one of"),
        ([0.0, 0.5, 0.5], [0.0, 1.0, 1.0], "rl", "2 distinct positive d"),
        ([[0.1, 0.2]], [[1.0, 2.0]], "bon", "1-dimensional"),
    ],
)
def test_bad_inputs_raise_naming_the_problem(
    d: list[float], r: list[float], form: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fit_overoptimization(d, r, form)  # type: ignore[arg-type]  # deliberately bad


@pytest.mark.parametrize(
    ("n_points", "fraction", "message"),
    [
        (5, 0.2, "at least 2"),
        (5, 0.9, "at least 2"),
        (10, 0.0, r"in \(0, 1\)"),
        (10, 1.0, r"in \(0, 1\)"),
    ],
)
def test_extrapolation_split_needs_two_points_each_side(
    n_points: int, fraction: float, message: str
) -> None:
    d = np.linspace(0.1, 2.0, n_points)
    with pytest.raises(ValueError, match=message):
        extrapolation_check(d, curve(d, 1.0, 0.2, "bon"), "bon", train_fraction=fraction)


def test_kl_best_of_n() -> None:
    assert kl_best_of_n(1) == 0.0
    assert kl_best_of_n(2) == pytest.approx(math.log(2) - 0.5)
    assert kl_best_of_n(4) == pytest.approx(math.log(4) - 0.75)
    assert kl_best_of_n(4) == pytest.approx(0.636294361)
    values = [kl_best_of_n(n) for n in (1, 2, 4, 16, 256)]
    assert values == sorted(values)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="integer >= 1"):
            kl_best_of_n(bad)  # type: ignore[arg-type]  # deliberately bad
