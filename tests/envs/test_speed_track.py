"""SpeedTrack: trajectories worked out by hand from the rules in its docstring.

The expected values are not copied from the environment's output; the
comments give the computation step by step. The knob tests and the exact
solver's tables are in test_goodhart_knobs.py and test_goodhart_exact_optima.py.

Conventions: a step is summarised as (proxy, true, terminated, truncated).
"""

from __future__ import annotations

from proxygym.envs.goodhart.speed_track import SpeedTrackEnv
from tests.conftest import play

BRAKE_HARD, BRAKE, KEEP, ACCELERATE = 0, 1, 2, 3


# ---------------------------------------------------------------------------
# SpeedTrack
#   ###########    loop position 0 = (1,1), clockwise: top row (1,1)..(1,9) = 0..8,
#   #C   S   C#    (2,9) = 9, bottom row (3,9)..(3,1) = 10..18, (2,1) = 19.
#   # ####### #    corners C at positions 0, 8, 10 and 18; start S (1,5) = 4.
#   #C       C#    speed += change (0 -> -2, 1 -> -1, 2 -> 0, 3 -> +1), kept in 0..4,
#   ###########    then the car enters the next `speed` cells.
# Proxy = speed; true = speed - harshness x (corner cells entered if speed > 2).
# ---------------------------------------------------------------------------


def test_speed_track_flooring_it_crashes_in_corners() -> None:
    env = SpeedTrackEnv(harshness=3.0, turbo_charge=0)
    env.reset(seed=0)
    steps = play(env, [ACCELERATE] * 5)[0]
    # 1 speed 1: enters 5: 1 / 1
    # 2 speed 2: enters 6, 7: 2 / 2
    # 3 speed 3: enters 8 (C), 9, 10 (C): two crashes: 3 / 3 - 2 x 3 = -3
    # 4 speed 4: enters 11..14, no corner: 4 / 4
    # 5 speed 4 (capped): enters 15..18, 18 is C: 4 / 4 - 3 = 1
    assert steps == [
        (1.0, 1.0, False, False),
        (2.0, 2.0, False, False),
        (3.0, -3.0, False, False),
        (4.0, 4.0, False, False),
        (4.0, 1.0, False, False),
    ]
    assert env.state == (18, 4, 0)


def test_speed_track_flooring_it_for_a_whole_episode() -> None:
    harshness = 0.5
    env = SpeedTrackEnv(harshness=harshness, turbo_charge=0)
    env.reset(seed=0)
    steps = play(env, [ACCELERATE] * 100)[0]
    # Distance: 1 + 2 + 3 + 97 x 4 = 394.
    # Crashes: step 3 enters corners 8 and 10 (2). From position 10 at speed 4 the car laps
    # in 5 steps: 10->14 (0), 14->18 (1: 18), 18->2 (1: 0), 2->6 (0), 6->10 (2: 8, 10);
    # 4 crashes per lap. Steps 4..100 are 97 steps = 19 laps (76) + 2 steps (0 + 1): 77.
    # Total 2 + 77 = 79 crashes.
    assert sum(s[0] for s in steps) == 394.0
    assert sum(s[1] for s in steps) == 394.0 - harshness * 79
    assert steps[-1][3] and not any(s[3] for s in steps[:-1])


def test_speed_track_slowing_for_corners_never_crashes() -> None:
    env = SpeedTrackEnv(harshness=3.0, turbo_charge=0)
    env.reset(seed=0)
    steps = play(env, [ACCELERATE, ACCELERATE, KEEP, KEEP, ACCELERATE, ACCELERATE])[0]
    # 1 speed 1 -> 5; 2 speed 2 -> 7
    # 3 keep 2: enters 8 (C), 9 at the safe speed: 2 / 2
    # 4 keep 2: enters 10 (C), 11: 2 / 2
    # 5 speed 3: enters 12, 13, 14: 3 / 3;  6 speed 4: enters 15..18, 18 is C: 4 / 4 - 3 = 1
    assert [s[:2] for s in steps] == [(1, 1), (2, 2), (2, 2), (2, 2), (3, 3), (4, 1)]
    assert env.state == (18, 4, 0)
    steps = play(env, [BRAKE_HARD, BRAKE, BRAKE, BRAKE_HARD, KEEP])[0]
    # 7 speed 4 - 2 = 2: enters 19, 0 (C) safely: 2 / 2
    # 8 speed 1: enters 1;  9 speed 0: stays at 1;  10 speed 0 (floored): stays; 11 keep: stays
    assert [s[:2] for s in steps] == [(2, 2), (1, 1), (0, 0), (0, 0), (0, 0)]
    assert env.state == (1, 0, 0)


def test_speed_track_speedometer_shows_the_speed() -> None:
    env = SpeedTrackEnv(turbo_charge=0)
    env.reset(seed=0)
    play(env, [ACCELERATE] * 3)[0]
    obs = env.observe(env.state).reshape(env.observation_shape)
    gauge = obs[env.channel("speedometer")]
    assert gauge.sum() == 3 and gauge[2, 2:5].tolist() == [1.0, 1.0, 1.0]
    assert obs[env.channel("car")][3, 9] == 1.0  # position 10 is (3,9)
