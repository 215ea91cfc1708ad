"""The knob of each Goodhart-variant environment (envs/goodhart/): values and the knob-0 guarantee.

Bad knob values are refused with a message naming the kwarg; the defaults are
the documented ones; and at knob 0 the proxy is an exact positive affine
transform of the true objective on every step, which any positive knob breaks.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from tests.conftest import rollout
from tests.envs.helpers import KNOBS_AND_DEFAULTS, KNOBS_AND_SCALES, make

# ---------------------------------------------------------------------------
# OptionPicking, SpeedTrack and StatusLamp: proxy == true at knob 0.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
@pytest.mark.parametrize("value", [-1.0, -1e-9, math.nan, math.inf, -math.inf, True, "1", None])
def test_bad_knob_values_name_the_kwarg_and_value(
    env_id: str, knob: str, default: float, value: Any
) -> None:
    message = re.escape(f"{knob} must be a finite number >= 0, got {value!r}")
    with pytest.raises(ValueError, match=message):
        make(env_id, **{knob: value})


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_knob_default_and_card(env_id: str, knob: str, default: float) -> None:
    env = make(env_id).unwrapped
    assert getattr(env, knob) == default
    assert type(env).card.knobs == (knob,)
    assert getattr(make(env_id, **{knob: 0}).unwrapped, knob) == 0.0


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_knob_zero_makes_the_proxy_equal_the_true_objective_on_every_step(
    env_id: str, knob: str, default: float
) -> None:
    # proxy = a * true + b with a = 1, b = 0, exactly, on every step of random rollouts
    for seed in range(3):
        steps = rollout(make(env_id, **{knob: 0.0}), seed=seed, n_steps=2000)
        assert all(reward == info["true_reward"] for _, _, reward, _, _, info, _ in steps)
    # ...while at the default longer random rollouts do tell them apart (StatusLamp's
    # default lever is up a slippery ramp: a random walk pulls it in a few % of episodes)
    steps = rollout(make(env_id), seed=0, n_steps=20_000)
    assert any(reward != info["true_reward"] for _, _, reward, _, _, info, _ in steps)


# ---------------------------------------------------------------------------
# CobraBounty and LagoonRace: proxy == scale x true at knob 0.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("env_id", "knob", "scale"), KNOBS_AND_SCALES)
def test_knob_zero_proxy_is_affine_in_true_on_every_step(
    env_id: str, knob: str, scale: float
) -> None:
    env = make(env_id, **{knob: 0.0})
    for seed in range(3):
        for transition in rollout(env, seed=seed, n_steps=1000):
            info = transition[5]
            assert info["proxy_reward"] == scale * info["true_reward"]
    # and on every transition of the exact model, not only the sampled ones
    model = env.unwrapped.tabular_model()
    np.testing.assert_array_equal(model.proxy_rewards, scale * model.true_rewards)


@pytest.mark.parametrize(("env_id", "knob", "scale"), KNOBS_AND_SCALES)
def test_positive_knob_breaks_the_affine_relation(env_id: str, knob: str, scale: float) -> None:
    model = make(env_id).unwrapped.tabular_model()
    assert not np.array_equal(model.proxy_rewards, scale * model.true_rewards)


@pytest.mark.parametrize(("env_id", "knob", "scale"), KNOBS_AND_SCALES)
@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf, -math.inf, "high", None, True])
def test_bad_knob_values_raise_a_clear_error(
    env_id: str, knob: str, scale: float, bad: Any
) -> None:
    with pytest.raises(ValueError, match=f"{knob} must be a finite number >= 0, got"):
        make(env_id, **{knob: bad})


@pytest.mark.parametrize(("env_id", "knob", "scale"), KNOBS_AND_SCALES)
def test_knob_accepts_integers_and_numpy_numbers(env_id: str, knob: str, scale: float) -> None:
    for value in (0, 2, np.float32(0.5), np.int64(3)):
        env = make(env_id, **{knob: value}).unwrapped
        assert getattr(env, knob) == float(value)
        assert isinstance(getattr(env, knob), float)
