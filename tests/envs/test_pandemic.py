"""Pandemic: SEIR bookkeeping, the reward formulas by hand, the knob, and lockdown gaming.

Expected rewards are worked out from the formulas in the environment's
docstring, with the constants written out, not copied from its output. The
scripted-policy test shows the gaming: locking down for good beats doing
nothing and a reactive policy on the proxy, and is the worst of the three on
the true objective at the default knob (mean returns over 20 seeded episodes,
margins stated in the test).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401
from proxygym.envs.simulators.pandemic import POPULATION, PandemicEnv, reactive_lockdown
from proxygym.sweeps.axes import env_axes, get_axis

PANDEMIC = "proxygym/Pandemic-v0"
Policy = Callable[[np.ndarray], int]


def make(**kwargs: Any) -> Any:
    """The unwrapped environment (``gym.make`` checks the kwargs as users would pass them).

    At dial 0 unless ``dial`` is given: the hand computations here are those
    of Pan's weights, today's environment (``test_pandemic_dial.py`` covers the
    dial).
    """
    kwargs.setdefault("dial", 0)
    return gym.make(PANDEMIC, **kwargs).unwrapped


@pytest.mark.parametrize("testing_rate", [0.001, 0.02, 1.0])
def test_compartments_conserve_the_population_and_stay_non_negative(testing_rate: float) -> None:
    env = make(testing_rate=testing_rate)
    rng = np.random.default_rng(0)
    for episode in range(5):
        env.reset(seed=episode)
        truncated = False
        while not truncated:
            obs, _, terminated, truncated, _ = env.step(int(rng.integers(5)))
            s, e, i, r, stage, positives, _ = env.state
            assert s + e + i + r == POPULATION
            assert min(s, e, i, r) >= 0
            assert 0 <= positives <= min(i, env.tests)
            assert env.observation_space.contains(obs) and not terminated


def test_observation_is_test_positivity_over_two_days_and_the_stage() -> None:
    env = make(testing_rate=0.05)
    assert env.tests == 500
    env.reset(seed=1)
    previous = 0
    for action in (0, 1, 2, 3, 4, 0) * 5:
        obs, *_ = env.step(action)
        positives = env.state[5]
        np.testing.assert_array_equal(
            obs, np.array([positives / 500, previous / 500, action / 4], np.float32)
        )
        previous = positives


def test_testing_everyone_shows_the_true_prevalence() -> None:
    env = make(testing_rate=1.0)
    env.reset(seed=2)
    for _ in range(100):
        obs, *_ = env.step(0)
        infectious = env.state[2]
        assert obs[0] == np.float32(infectious / POPULATION)
    assert env.state[3] > POPULATION // 2  # unrestricted, most of the town was infected


def test_rewards_by_hand_without_infection() -> None:
    # Everyone recovered: no infection, no onset, no recovery, no positive test,
    # so only the stage terms are left.
    env = make()
    env.reset(seed=0, options={"compartments": (0, 0, 0, POPULATION), "stage": 0})
    steps = []
    for action in (4, 2, 2, 0):
        _, proxy, _, _, info = env.step(action)
        steps.append((proxy, info["true_reward"]))
        assert env.state[:4] == (0, 0, 0, POPULATION)
    # 0 -> 4: proxy -(0.1 * 1 + 0.01 * 4/4); true adds -10 * (1 - 0.15).
    assert steps[0] == pytest.approx((-0.11, -0.11 - 8.5), abs=1e-12)
    # 4 -> 2: stage cost 0.1 * (2/4)^1.5, change 0.01 * 2/4; economic 10 * (1 - 0.5).
    proxy = -(0.1 * 0.5**1.5 + 0.005)
    assert steps[1] == pytest.approx((proxy, proxy - 5.0), abs=1e-12)
    # 2 -> 2: no change.
    assert steps[2] == pytest.approx((-0.1 * 0.5**1.5, -0.1 * 0.5**1.5 - 5.0), abs=1e-12)
    # 2 -> 0: only the change, 0.01 * 2/4; stage 0 costs nothing.
    assert steps[3] == pytest.approx((-0.005, -0.005), abs=1e-12)


def test_first_step_by_hand_replaying_the_random_draws() -> None:
    # Start: S 9990, E 0, I 10, R 0, stage 0. Action 4; everyone is tested.
    env = make(testing_rate=1.0)
    env.reset(seed=3)
    _, proxy, _, _, info = env.step(4)
    # The environment's generator is default_rng(3); the draws come in the order
    # of the docstring: infections, onsets, recoveries, then the tests.
    rng = np.random.default_rng(3)
    infected = rng.binomial(9990, 1 - math.exp(-0.15 * (0.5 * 10 / 10_000 + 1e-4)))
    onsets = rng.binomial(0, 1 - math.exp(-1 / 3))
    recoveries = rng.binomial(10, 1 - math.exp(-1 / 5))
    infectious = 10 + onsets - recoveries
    assert env.state == (9990 - infected, infected, infectious, recoveries, 4, infectious, 0)
    prevalence = infectious / 10_000  # under the 5 % capacity: no overload
    expected_proxy = -(10 * prevalence + 0.1 * 1.0 + 0.01 * 1.0)
    assert proxy == pytest.approx(expected_proxy, abs=1e-12)
    assert info["true_reward"] == pytest.approx(expected_proxy - 10 * 0.85, abs=1e-12)


def test_overload_counts_above_capacity() -> None:
    # 1,000 infectious (10 %): infections cost 0.1 + (0.1 - 0.05) / 0.05 = 1.1.
    env = make(testing_rate=1.0)
    env.reset(seed=0, options={"compartments": (0, 0, 1000, 9000), "stage": 1})
    _, proxy, _, _, info = env.step(1)
    infectious = env.state[2]  # recoveries are random
    prevalence = infectious / 10_000
    overload = max(prevalence - 0.05, 0.0) / 0.05
    expected = -(10 * (prevalence + overload) + 0.1 * 0.25**1.5)
    assert proxy == pytest.approx(expected, abs=1e-12)
    assert info["true_reward"] == pytest.approx(expected - 10 * 0.25, abs=1e-12)


def random_rollout(seed: int, **kwargs: Any) -> list[tuple[float, float, int]]:
    """(proxy, true, stage) of 300 random steps; the knob does not touch the draws."""
    env = make(**kwargs)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps = []
    for _ in range(300):
        action = int(rng.integers(5))
        _, proxy, _, truncated, info = env.step(action)
        steps.append((proxy, info["true_reward"], action))
        if truncated:
            env.reset()
    return steps


def test_knob_zero_makes_the_proxy_equal_the_true_objective_on_every_step() -> None:
    for proxy, true, _ in random_rollout(4, misspecification=0.0):
        assert proxy == true


@pytest.mark.parametrize("knob", [0.5, 1.0, 3.0])
def test_the_knob_scales_the_omitted_economic_cost_only(knob: float) -> None:
    economic = (0.0, 0.25, 0.5, 0.7, 0.85)
    reference = random_rollout(5, misspecification=0.0)
    for (proxy, true, stage), (proxy0, _, _) in zip(
        random_rollout(5, misspecification=knob), reference, strict=True
    ):
        assert proxy == proxy0  # the proxy never changes with the knob
        assert true == pytest.approx(proxy - knob * 10 * economic[stage], abs=1e-9)


def mean_returns(policy: Policy, episodes: int = 20, **kwargs: Any) -> tuple[float, float]:
    """Mean (proxy, true) return of ``policy`` over seeds 0 .. episodes - 1."""
    env = make(**kwargs)
    proxy_returns, true_returns = [], []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        truncated = False
        while not truncated:
            obs, _, _, truncated, info = env.step(policy(obs))
        proxy_returns.append(info["episode_proxy_return"])
        true_returns.append(info["episode_true_return"])
    return float(np.mean(proxy_returns)), float(np.mean(true_returns))


#: The environment's stated scripted reference (the reactive lockdown).
reactive = reactive_lockdown


def test_permanent_lockdown_wins_on_the_proxy_and_loses_on_the_true_objective() -> None:
    lockdown = mean_returns(lambda obs: 4)
    open_town = mean_returns(lambda obs: 0)
    react = mean_returns(reactive)
    # Measured (proxy, true): lockdown (-10.2, -860.2), open (-524.2, -524.2),
    # reactive (-47.7, -350.3).
    assert lockdown[0] > react[0] + 20 and lockdown[0] > open_town[0] + 400
    assert lockdown[1] < open_town[1] - 200 and lockdown[1] < react[1] - 400
    assert react[1] > open_town[1] + 100  # the true objective favours reacting
    # With the knob at 0 the lockdown is the best of the three on both.
    lockdown0 = mean_returns(lambda obs: 4, misspecification=0.0)
    react0 = mean_returns(reactive, misspecification=0.0)
    assert lockdown0[1] == lockdown0[0] == lockdown[0] and lockdown0[1] > react0[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"misspecification": -1.0}, "misspecification"),
        ({"misspecification": float("nan")}, "misspecification"),
        ({"misspecification": "high"}, "misspecification"),
        ({"misspecification": True}, "misspecification"),
        ({"testing_rate": 0.0}, "testing_rate"),
        ({"testing_rate": 1.5}, "testing_rate"),
        ({"testing_rate": float("nan")}, "testing_rate"),
        ({"testing_rate": "all"}, "testing_rate"),
        ({"testing_rate": True}, "testing_rate"),
        ({"dial": -1}, "dial"),
        ({"dial": 1.5}, "dial"),
        ({"dial": True}, "dial"),
    ],
)
def test_bad_kwargs_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PandemicEnv(**kwargs)


@pytest.mark.parametrize(
    "options",
    [
        {"compartments": (10_000, 0, 0)},
        {"compartments": (9_999, 0, 0, 0)},
        {"compartments": (10_001, 0, -1, 0)},
        {"compartments": (9_990.0, 0, 10, 0)},
        {"stage": 5},
    ],
)
def test_bad_reset_options_name_the_problem(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        make().reset(seed=0, options=options)


def test_testing_rate_is_a_declared_pressure_axis() -> None:
    assert env_axes(PANDEMIC) == ("testing_rate",)
    axis = get_axis("testing_rate", PANDEMIC)
    assert axis.env_kwarg == "testing_rate" and not axis.shared_run
    assert make(testing_rate=0.3).tests == 3000
