"""Action distributions: greedy actions, tempered samples, closed-form KL and Hellinger.

The Gaussian closed forms are checked against torch.distributions, hand values
and numerical integration; the claim that a squashed Gaussian's KL is its
pre-tanh Gaussian's against a Monte Carlo estimate over the squashed actions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution

from proxygym.agents.distributions import (
    Categorical,
    DeterministicActor,
    DiagGaussian,
    PointMass,
    SquashedDiagGaussian,
    UniformBox,
    act,
    gaussian_bhattacharyya,
    gaussian_hellinger,
    gaussian_kl,
    softmax,
)

WIDE = (-1e9, 1e9)  # bounds that never clip


def gaussian(
    mean: list[float], std: list[float], bounds: tuple[float, float] = WIDE
) -> DiagGaussian:
    return DiagGaussian(np.array(mean), np.array(std), *bounds)


# -- Categorical: exactly the softmax policy proxygym always had ------------------------------


def test_categorical_greedy_sample_and_kl_are_the_softmax_policy() -> None:
    logits = np.array([2.0, 0.0, 0.0, -1.0])
    dist = Categorical(logits)
    assert dist.greedy() == 0
    for temperature in (0.3, 1.0, 4.0):
        ours, reference = np.random.default_rng(5), np.random.default_rng(5)
        drawn = [dist.sample(ours, temperature) for _ in range(50)]
        probs = softmax(logits / temperature)
        assert drawn == [int(reference.choice(4, p=probs)) for _ in range(50)]
    # KL(softmax([2,0,0,-1]) || uniform) = sum p log(4 p), by hand.
    p = np.exp(logits) / np.exp(logits).sum()
    assert dist.kl(Categorical(np.zeros(4))) == pytest.approx(float(np.sum(p * np.log(4 * p))))
    assert dist.kl(dist) == 0.0


# -- Gaussians ---------------------------------------------------------------------------------


def test_gaussian_kl_by_hand_and_against_torch() -> None:
    # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2.
    assert gaussian_kl([0.0], [1.0], [1.0], [2.0]) == pytest.approx(math.log(2) + 0.25 - 0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        m1, m2 = rng.normal(size=3), rng.normal(size=3)
        s1, s2 = np.exp(rng.normal(size=3)), np.exp(rng.normal(size=3))
        expected = torch.distributions.kl_divergence(
            Normal(torch.tensor(m1), torch.tensor(s1)), Normal(torch.tensor(m2), torch.tensor(s2))
        )
        assert gaussian(list(m1), list(s1)).kl(gaussian(list(m2), list(s2))) == pytest.approx(
            float(expected.sum()), rel=1e-12
        )


def test_gaussian_hellinger_against_numerical_integration() -> None:
    grid = np.linspace(-30, 30, 600_001)

    def density(mean: float, std: float) -> np.ndarray:
        return np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))

    for (m1, s1), (m2, s2) in [
        ((0.0, 1.0), (1.0, 2.0)),
        ((-2.0, 0.5), (3.0, 0.7)),
        ((0, 1), (0, 1)),
    ]:
        coefficient = float(np.sum(np.sqrt(density(m1, s1) * density(m2, s2)))) * (
            grid[1] - grid[0]
        )
        # The squared distance: sqrt would magnify the grid's rounding near 0.
        assert gaussian_hellinger([m1], [s1], [m2], [s2]) ** 2 == pytest.approx(
            1 - coefficient, abs=1e-9
        )
    # Two dimensions: the Bhattacharyya distances add (the coefficients multiply).
    both = gaussian_bhattacharyya([0.0, -2.0], [1.0, 0.5], [1.0, 3.0], [2.0, 0.7])
    apart = gaussian_bhattacharyya([0.0], [1.0], [1.0], [2.0]) + gaussian_bhattacharyya(
        [-2.0], [0.5], [3.0], [0.7]
    )
    assert both == pytest.approx(apart)
    # Equal spreads: (m1 - m2)^2 / (8 s^2).
    assert gaussian_bhattacharyya([0.0], [0.5], [1.0], [0.5]) == pytest.approx(1 / (8 * 0.25))


def test_a_distribution_is_at_distance_zero_from_itself() -> None:
    for dist in (
        gaussian([0.3, -1.0], [0.2, 2.0]),
        SquashedDiagGaussian(np.array([0.3]), np.array([0.2]), -2.0, 2.0),
        DeterministicActor(np.array([0.5]), np.array([0.2]), -2.0, 2.0),
    ):
        assert dist.kl(dist) == 0.0
        assert dist.hellinger(dist) == 0.0


def test_distributions_of_different_kinds_cannot_be_compared() -> None:
    squashed = SquashedDiagGaussian(np.array([0.0]), np.array([1.0]), -1.0, 1.0)
    with pytest.raises(TypeError, match="cannot compare a gaussian distribution with a squashed"):
        gaussian([0.0], [1.0]).kl(squashed)
    with pytest.raises(TypeError, match="categorical"):
        Categorical(np.zeros(2)).kl(gaussian([0.0], [1.0]))  # type: ignore[arg-type]


def test_gaussians_need_positive_finite_spreads() -> None:
    with pytest.raises(ValueError, match="standard deviations > 0"):
        gaussian([0.0], [0.0])
    with pytest.raises(ValueError, match="standard deviations > 0"):
        gaussian([0.0], [math.inf])


def test_temperature_scales_the_standard_deviation_and_zero_is_the_mean() -> None:
    dist = gaussian([1.0, -3.0], [0.5, 2.0])
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert act(dist, rng, 0.0).tolist() == [1.0, -3.0]
    assert rng.bit_generator.state == state  # greedy draws nothing
    for temperature in (0.5, 1.0, 3.0):
        draws = np.array([dist.sample(rng, temperature) for _ in range(20_000)])
        assert draws.dtype == np.float32
        # Standard errors of the sample mean and standard deviation are ~1 % of the spread.
        np.testing.assert_allclose(draws.mean(axis=0), [1.0, -3.0], atol=0.05 * temperature * 2)
        np.testing.assert_allclose(draws.std(axis=0), temperature * np.array([0.5, 2.0]), rtol=0.03)


def test_samples_are_clipped_to_the_box_like_sb3s_predict() -> None:
    dist = DiagGaussian(np.array([1.9]), np.array([1.0]), -2.0, 2.0)
    rng = np.random.default_rng(1)
    draws = np.array([dist.sample(rng, 1.0) for _ in range(2000)])
    assert draws.min() >= -2.0 and draws.max() == 2.0  # about 46 % land beyond 2: clipped to it
    assert DiagGaussian(np.array([5.0]), np.array([1.0]), -2.0, 2.0).greedy().tolist() == [2.0]


def test_squashed_gaussian_is_tanh_rescaled_to_the_bounds() -> None:
    dist = SquashedDiagGaussian(
        np.array([0.5, -10.0]), np.array([1.0, 1.0]), [-2.0, 0.0], [2.0, 1.0]
    )
    np.testing.assert_allclose(dist.greedy(), [2.0 * math.tanh(0.5), 0.0], atol=1e-6)
    rng = np.random.default_rng(2)
    draws = np.array([dist.sample(rng, 1.0) for _ in range(5000)])
    assert (draws[:, 0] > -2.0).all() and (draws[:, 0] < 2.0).all()
    assert (draws[:, 1] >= 0.0).all() and (draws[:, 1] <= 1.0).all()
    # A lower temperature keeps the pre-tanh draws nearer the mean.
    cold = np.array([dist.sample(rng, 0.1) for _ in range(5000)])
    assert np.abs(np.arctanh(cold[:, 0] / 2.0) - 0.5).mean() < 0.1


def test_squashed_kl_is_the_pre_tanh_kl_as_monte_carlo_over_squashed_actions_says() -> None:
    """tanh and the rescaling are a bijection: the KL of the squashed actions is unchanged."""
    low, high = -2.0, 2.0
    p_mean, p_std, q_mean, q_std = 0.3, 0.6, -0.4, 0.9

    def squashed(mean: float, std: float) -> TransformedDistribution:
        return TransformedDistribution(
            Normal(
                torch.tensor([mean], dtype=torch.float64), torch.tensor([std], dtype=torch.float64)
            ),
            [TanhTransform(), AffineTransform(loc=(low + high) / 2, scale=(high - low) / 2)],
        )

    p, q = squashed(p_mean, p_std), squashed(q_mean, q_std)
    torch.manual_seed(0)
    actions = p.sample((100_000,)).clamp(-2 + 1e-9, 2 - 1e-9)
    log_ratio = (p.log_prob(actions) - q.log_prob(actions)).squeeze(-1)
    estimate, error = float(log_ratio.mean()), float(log_ratio.std()) / math.sqrt(len(log_ratio))
    ours = SquashedDiagGaussian(np.array([p_mean]), np.array([p_std]), low, high).kl(
        SquashedDiagGaussian(np.array([q_mean]), np.array([q_std]), low, high)
    )
    assert ours == pytest.approx(gaussian_kl([p_mean], [p_std], [q_mean], [q_std]))
    assert abs(ours - estimate) < 4 * error


def test_td3_actor_kl_is_the_squared_distance_in_noise_units() -> None:
    sigma = np.array([0.2, 0.4])  # 0.1 of the half-ranges 2 and 4
    first = DeterministicActor(np.array([0.5, 1.0]), sigma, [-2, -4], [2, 4])
    second = DeterministicActor(np.array([0.1, 2.0]), sigma, [-2, -4], [2, 4])
    expected = 0.4**2 / (2 * 0.2**2) + 1.0**2 / (2 * 0.4**2)
    assert first.kl(second) == pytest.approx(expected)
    assert second.kl(first) == pytest.approx(expected)  # symmetric with one sigma
    assert first.greedy().tolist() == [0.5, 1.0]


# -- references --------------------------------------------------------------------------------


def test_uniform_box_samples_uniformly_at_any_temperature() -> None:
    uniform = UniformBox(np.array([-2.0, 0.0]), np.array([2.0, 10.0]))
    rng, reference = np.random.default_rng(3), np.random.default_rng(3)
    assert uniform.sample(rng, 1.0).tolist() == pytest.approx(
        reference.uniform([-2.0, 0.0], [2.0, 10.0]).tolist()
    )
    draws = np.array([uniform.sample(rng, 0.5) for _ in range(20_000)])
    np.testing.assert_allclose(draws.mean(axis=0), [0.0, 5.0], atol=0.1)
    np.testing.assert_allclose(
        draws.std(axis=0), [4 / math.sqrt(12), 10 / math.sqrt(12)], rtol=0.02
    )
    assert uniform.greedy().tolist() == [0.0, 5.0]
    with pytest.raises(ValueError, match="needs a bounded Box"):
        UniformBox(np.array([-np.inf]), np.array([1.0]))


def test_a_point_mass_is_its_action_at_every_temperature() -> None:
    point = PointMass(np.array([0.25]))
    rng = np.random.default_rng(0)
    assert point.greedy().tolist() == point.sample(rng, 2.0).tolist() == [0.25]
    assert point.kl(point) == 0.0
    assert point.kl(PointMass(np.array([0.5]))) == math.inf
