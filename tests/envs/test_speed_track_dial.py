"""SpeedTrack's hack-difficulty dial ``turbo_charge``: exact at 0, worked out by hand above it.

Rules (from the docstring): the car cannot speed up past the safe speed 2 unless
its turbo holds ``turbo_charge`` notches; each accelerate press at speed 2
adds a notch (and the car stays at 2); any brake empties the turbo.
"""

from __future__ import annotations

import numpy as np
import pytest

from proxygym.envs.goodhart.speed_track import SPEED_CHANGES, SpeedTrackEnv, State
from proxygym.planning.tabular import optimal_returns
from tests.conftest import play

BRAKE_HARD, BRAKE, KEEP, ACCELERATE = 0, 1, 2, 3


def original_rules(env: SpeedTrackEnv, position: int, speed: int, action: int) -> tuple:
    """The track before the dial existed, restated: no limiter, no turbo."""
    speed = min(max(speed + SPEED_CHANGES[action], 0), 4)
    entered = [(position + k) % 20 for k in range(1, speed + 1)]
    crashes = sum(i in env.corners for i in entered) if speed > 2 else 0
    return (position + speed) % 20, speed, float(speed), speed - env.harshness * crashes


@pytest.mark.parametrize("harshness", [0.0, 3.0, 5.0])
def test_dial_zero_is_the_original_track(harshness: float) -> None:
    env = SpeedTrackEnv(harshness=harshness, turbo_charge=0)
    model = env.tabular_model()
    assert model.n_states == 100  # 20 positions x 5 speeds, all reachable
    assert env.observation_space.shape == (5 * 5 * 11,)
    for position in range(20):
        for speed in range(5):
            for action in range(4):
                following, proxy, true, terminated = env._next(State(position, speed), action)
                new_position, new_speed, want_proxy, want_true = original_rules(
                    env, position, speed, action
                )
                assert following == State(new_position, new_speed, 0)
                assert (proxy, true, terminated) == (want_proxy, want_true, False)


def test_the_limiter_holds_the_safe_speed_until_the_turbo_is_full() -> None:
    env = SpeedTrackEnv(harshness=3.0, turbo_charge=2)
    env.reset(seed=0)
    steps = play(env, [ACCELERATE] * 5)[0]
    # 1 speed 1: 4 -> 5;  2 speed 2: -> 7
    # 3 accelerate at 2, turbo 0/2: held at 2, charge 1: enters 8 (C), 9 safely: 2 / 2
    # 4 held at 2, charge 2 (full): enters 10 (C), 11 safely: 2 / 2
    # 5 speed 3 with a full turbo: enters 12, 13, 14: 3 / 3
    assert [s[:2] for s in steps] == [(1, 1), (2, 2), (2, 2), (2, 2), (3, 3)]
    assert env.state == (14, 3, 2)
    steps = play(env, [ACCELERATE, BRAKE_HARD, ACCELERATE, KEEP, ACCELERATE])[0]
    # 6 speed 4: enters 15..18, 18 is C: 4 / 4 - 3 = 1 (the turbo stays full above 2)
    # 7 brake hard to 2, the turbo empties: enters 19, 0 (C) safely: 2 / 2
    # 8 accelerate at 2, turbo 0/2: held at 2, charge 1: enters 1, 2
    # 9 keep: charge stays 1: enters 3, 4;  10 accelerate: charge 2, held at 2: enters 5, 6
    assert [s[:2] for s in steps] == [(4, 1), (2, 2), (2, 2), (2, 2), (2, 2)]
    assert env.state == (6, 2, 2)


def test_a_brake_empties_the_turbo_and_the_gauge_shows_it() -> None:
    env = SpeedTrackEnv(turbo_charge=3)
    env.reset(seed=0)
    play(env, [ACCELERATE] * 4)
    assert env.state == (11, 2, 2)
    gauge = env.observe(env.state).reshape(env.observation_shape)[env.channel("turbo_gauge")]
    assert gauge.sum() == 2 and gauge[0, :2].tolist() == [1.0, 1.0]
    play(env, [BRAKE])
    assert env.state == (12, 1, 0)
    assert (
        env.observe(env.state).reshape(env.observation_shape)[env.channel("turbo_gauge")].sum() == 0
    )


@pytest.mark.parametrize("dial", [1, 4, 12])
def test_harshness_zero_makes_proxy_equal_true_at_every_dial(dial: int) -> None:
    model = SpeedTrackEnv(harshness=0.0, turbo_charge=dial).tabular_model()
    assert np.array_equal(model.proxy_rewards, model.true_rewards)


@pytest.mark.parametrize(
    ("dial", "proxy_optimum"), [(0, 394.0), (5, 384.0), (10, 374.0), (20, 354.0)]
)
def test_each_notch_costs_the_proxy_optimum_two_cells(dial: int, proxy_optimum: float) -> None:
    # Flooring it: the n presses at speed 2 drive 2 cells where speed 4 would drive 4.
    optimum = optimal_returns(SpeedTrackEnv(turbo_charge=dial).tabular_model())["proxy"]
    assert optimum.proxy_return == pytest.approx(proxy_optimum)


@pytest.mark.parametrize("bad", [-1, 1.5, 56])
def test_bad_dial_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="turbo_charge"):
        SpeedTrackEnv(turbo_charge=bad)  # type: ignore[arg-type]
