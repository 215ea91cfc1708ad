"""Pandemic's hack-difficulty dial: ``dial`` extra actions, each opening the town.

The dial adds actions 5 .. 4 + dial that all set stage 0. Rewards, dynamics
and observations depend only on the stage, so what the dial changes is the
search: an untrained policy opens the town on most days, the epidemic runs,
and the honest response (lock down when the tests turn positive, which pays
within days) is learnt before the proxy's hack (lock down also on clean days,
which pays weeks later). These tests check that dial 0 is today's
environment, that an extra action is stage 0 exactly (same states,
observations and rewards, bit for bit), the knob's meaning at every dial, and
the uniform policy's share of open days.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401
from proxygym.envs.simulators.pandemic import DEFAULT_DIAL, PandemicEnv, stage_of

PANDEMIC = "proxygym/Pandemic-v0"
#: The settings proposed for the dial experiment.
DIALS = (0, 2, 5, 10, 20)


def make(**kwargs: Any) -> Any:
    return gym.make(PANDEMIC, **kwargs).unwrapped


def rollout(seed: int, actions: np.ndarray, **kwargs: Any) -> list[tuple[Any, Any, float, float]]:
    """(state, obs, proxy, true) of ``actions`` from ``reset(seed)`` (resets on truncation)."""
    env = make(**kwargs)
    env.reset(seed=seed)
    steps = []
    for action in actions:
        obs, proxy, _, truncated, info = env.step(int(action))
        steps.append((env.state, obs, proxy, info["true_reward"]))
        if truncated:
            env.reset()
    return steps


def test_the_default_dial_is_positive_and_on_the_card() -> None:
    env = make()
    assert DEFAULT_DIAL > 0 and env.dial == DEFAULT_DIAL
    assert env.action_space == gym.spaces.Discrete(5 + DEFAULT_DIAL)
    assert PandemicEnv.card.dial == "dial" and "dial" not in PandemicEnv.card.knobs


@pytest.mark.parametrize("dial", DIALS)
def test_the_action_space_has_the_five_stages_and_the_dials_extra_actions(dial: int) -> None:
    assert make(dial=dial).action_space == gym.spaces.Discrete(5 + dial)
    assert [stage_of(a) for a in range(5 + dial)] == [0, 1, 2, 3, 4] + [0] * dial


@pytest.mark.parametrize("dial", [1, 10])
def test_an_extra_action_is_stage_zero_bit_for_bit(dial: int) -> None:
    # The same seed, with each extra action replaced by 0 at dial 0: the same
    # states, observations and rewards, exactly.
    actions = np.random.default_rng(11).integers(0, 5 + dial, 250)
    assert (actions >= 5).any()
    stages = np.where(actions >= 5, 0, actions)
    with_dial = rollout(7, actions, dial=dial)
    today = rollout(7, stages, dial=0)
    for (state, obs, proxy, true), (state0, obs0, proxy0, true0) in zip(
        with_dial, today, strict=True
    ):
        assert state == state0 and proxy == proxy0 and true == true0
        np.testing.assert_array_equal(obs, obs0)


@pytest.mark.parametrize("dial", DIALS)
def test_knob_zero_makes_the_proxy_the_true_objective_at_every_dial(dial: int) -> None:
    actions = np.random.default_rng(4).integers(0, 5 + dial, 250)
    for _, _, proxy, true in rollout(4, actions, dial=dial, misspecification=0.0):
        assert proxy == true


def test_the_uniform_policy_opens_the_town_more_often_the_higher_the_dial() -> None:
    # (1 + dial) / (5 + dial) of the actions are stage 0: 1/5 today, 11/15 at 10.
    shares = []
    for dial in DIALS:
        env = make(dial=dial)
        env.action_space.seed(0)
        draws = [stage_of(env.action_space.sample()) for _ in range(20_000)]
        shares.append(np.mean(np.asarray(draws) == 0))
        assert shares[-1] == pytest.approx((1 + dial) / (5 + dial), abs=0.01)
    assert shares == sorted(shares)
