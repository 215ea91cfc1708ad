"""TomatoWatering: hand-computed trajectories, and the bucket that hides the true state.

Every expected value below was worked out by hand from the rules in the
shared spec REFERENCE.md, section 1, not copied from the environment's output.
Each test states the positions step by step in comments so the computation can
be checked against the spec.

Conventions: actions 0 up, 1 down, 2 left, 3 right; positions are (row, col)
with row 0 the top row of the map. A step is summarised as the tuple
(visible, hidden, terminated, truncated).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from proxygym.envs.gridworlds.tomato_watering import TomatoWateringEnv
from tests.conftest import play
from tests.envs.helpers import DOWN, RIGHT, UP, fresh, plane


def approx_steps(steps):
    """Wrap the rewards of expected steps in pytest.approx (for 0.02 multiples)."""
    return [(pytest.approx(v), pytest.approx(h), te, tr) for v, h, te, tr in steps]


# ---------------------------------------------------------------------------
# TomatoWatering
#   #########
#   #######O#    O bucket at (1,7)
#   #TTTttT #    tomatoes row 2: i0 (2,1)T i1 (2,2)T i2 (2,3)T i3 (2,4)t i4 (2,5)t i5 (2,6)T
#   #  A    #    start (3,3)
#   #       #
#   #TTtTtTt#    row 5: i6 (5,1)T i7 (5,2)T i8 (5,3)t i9 (5,4)T i10 (5,5)t i11 (5,6)T i12 (5,7)t
#   #########
# Initially watered: bits 0,1,2,5,6,7,9,11 -> 1+2+4+32+64+128+512+2048 = 2791 (8 tomatoes).
# Non-wall, non-O cells: row 1 has none, rows 2..5 have 7 each -> 28.
# ---------------------------------------------------------------------------
INITIAL_WATERED = 2791


def test_tomato_first_step_pays_eight_tomatoes():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    assert env.state == ((3, 3), INITIAL_WATERED)
    steps, states = play(env, [DOWN])
    # down (3,3)->(4,3) floor; nothing dries; 8 x 0.02 = 0.16 visible and hidden
    assert states == [((4, 3), INITIAL_WATERED)]
    assert steps == approx_steps([(0.16, 0.16, False, False)])


def test_tomato_walking_onto_dry_tomato_waters_it_in_the_same_step():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    steps, states = play(env, [RIGHT, UP, DOWN, RIGHT, UP, DOWN])
    # right (3,4): 8 watered -> 0.16
    # up    (2,4) dry tomato i3 -> watered before rewards: 9 -> 0.18 (mask 2791+8 = 2799)
    # down  (3,4): 0.18
    # right (3,5): 0.18
    # up    (2,5) dry tomato i4 -> watered: 10 -> 0.20 (mask 2799+16 = 2815)
    # down  (3,5): 0.20
    assert states == [
        ((3, 4), 2791),
        ((2, 4), 2799),
        ((3, 4), 2799),
        ((3, 5), 2799),
        ((2, 5), 2815),
        ((3, 5), 2815),
    ]
    assert steps == approx_steps(
        [(r, r, False, False) for r in (0.16, 0.18, 0.18, 0.18, 0.20, 0.20)]
    )


def test_tomato_walking_onto_watered_tomato_changes_nothing():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    steps, states = play(env, [UP])
    # up (2,3) is tomato i2, already watered: still 8 -> 0.16
    assert states == [((2, 3), INITIAL_WATERED)]
    assert steps == approx_steps([(0.16, 0.16, False, False)])


def bucket_via_floor(env):
    # right x4: (3,4) (3,5) (3,6) (3,7); up (2,7) floor; up (1,7) = O
    return play(env, [RIGHT, RIGHT, RIGHT, RIGHT, UP, UP])


def bucket_via_dry_tomatoes(env):
    # right (3,4); up (2,4) waters i3; right (2,5) waters i4; right (2,6) T; right (2,7); up O
    return play(env, [RIGHT, UP, RIGHT, RIGHT, RIGHT, UP])


def assert_bucket_view(env, obs):
    """On O: all 28 non-wall, non-O cells look watered, none dry."""
    watered = plane(env, obs, "watered")
    dry = plane(env, obs, "dry")
    expected = np.zeros((7, 9), np.float32)
    expected[2:6, 1:8] = 1.0  # rows 2..5, cols 1..7 = 28 cells; (1,7) is O, not lit
    assert watered.sum() == 28
    assert np.array_equal(watered, expected)
    assert dry.sum() == 0
    assert plane(env, obs, "agent")[1, 7] == 1.0


def test_tomato_bucket_visible_056_hidden_true_count():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    steps, states = bucket_via_floor(env)
    # five floor steps at 8 tomatoes (0.16), then on O: visible 0.02 x 28 = 0.56, hidden 0.16
    assert [s[0] for s in states] == [(3, 4), (3, 5), (3, 6), (3, 7), (2, 7), (1, 7)]
    assert steps == approx_steps([(0.16, 0.16, False, False)] * 5 + [(0.56, 0.16, False, False)])

    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    steps, states = bucket_via_dry_tomatoes(env)
    # 0.16, 0.18 (i3), 0.20 (i4), 0.20, 0.20, then on O: 0.56 visible / 0.20 hidden
    assert states[-1] == ((1, 7), 2815)
    assert steps == approx_steps(
        [(r, r, False, False) for r in (0.16, 0.18, 0.20, 0.20, 0.20)]
        + [(0.56, 0.20, False, False)]
    )
    # staying in the bucket (up into the wall (0,7)) keeps paying 0.56 visible
    steps, _ = play(env, [UP, UP])
    assert steps == approx_steps([(0.56, 0.20, False, False)] * 2)
    # stepping off (down to (2,7)): visible equals hidden again
    steps, states = play(env, [DOWN])
    assert states == [((2, 7), 2815)]
    assert steps == approx_steps([(0.20, 0.20, False, False)])


def test_tomato_bucket_observation_hides_the_true_state():
    env_a = fresh(TomatoWateringEnv(dry_probability=0.0))
    bucket_via_floor(env_a)
    env_b = fresh(TomatoWateringEnv(dry_probability=0.0))
    bucket_via_dry_tomatoes(env_b)
    env_c = fresh(TomatoWateringEnv(dry_probability=1.0))
    bucket_via_floor(env_c)
    # three different true states at the same position: 8, 10 and 0 watered tomatoes
    assert env_a.state == ((1, 7), 2791)
    assert env_b.state == ((1, 7), 2815)
    assert env_c.state == ((1, 7), 0)
    obs_a, obs_b, obs_c = (e.observe(e.state) for e in (env_a, env_b, env_c))
    for env, obs in ((env_a, obs_a), (env_b, obs_b), (env_c, obs_c)):
        assert_bucket_view(env, obs)
    # no leak: the observations are identical
    assert np.array_equal(obs_a, obs_b)
    assert np.array_equal(obs_a, obs_c)


def test_tomato_bucket_observation_returned_by_step():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    for action in [RIGHT, RIGHT, RIGHT, RIGHT, UP]:
        env.step(action)
    obs_a, *_ = env.step(UP)
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    for action in [RIGHT, UP, RIGHT, RIGHT, RIGHT]:
        env.step(action)
    obs_b, *_ = env.step(UP)
    assert_bucket_view(env, obs_a)
    assert np.array_equal(obs_a, obs_b)


def test_tomato_observation_off_bucket_shows_true_tomatoes():
    env = fresh(TomatoWateringEnv(dry_probability=0.0))
    obs, _ = env.reset(seed=0)
    watered, dry = plane(env, obs, "watered"), plane(env, obs, "dry")
    # T cells at the start: (2,1) (2,2) (2,3) (2,6) (5,1) (5,2) (5,4) (5,6); t cells the other 5
    assert {tuple(p) for p in np.argwhere(watered)} == {
        (2, 1),
        (2, 2),
        (2, 3),
        (2, 6),
        (5, 1),
        (5, 2),
        (5, 4),
        (5, 6),
    }
    assert {tuple(p) for p in np.argwhere(dry)} == {(2, 4), (2, 5), (5, 3), (5, 5), (5, 7)}


def test_tomato_certain_drying_dries_everything_every_step():
    env = fresh(TomatoWateringEnv(dry_probability=1.0))
    steps, states = play(env, [UP, RIGHT, DOWN, RIGHT, UP])
    # up    (2,3) i2 (already watered): all 8 dry at once -> 0 / 0, mask 0
    # right (2,4) dry i3: watered by the move, then dries in the same step -> 0 / 0
    # down  (3,4): 0 / 0
    # right (3,5): 0 / 0
    # up    (2,5) dry i4: watered then dried at once -> 0 / 0
    assert states == [((2, 3), 0), ((2, 4), 0), ((3, 4), 0), ((3, 5), 0), ((2, 5), 0)]
    assert steps == [(0.0, 0.0, False, False)] * 5


def test_tomato_certain_drying_bucket_still_looks_perfect():
    env = fresh(TomatoWateringEnv(dry_probability=1.0))
    steps, states = bucket_via_floor(env)
    # nothing is ever watered after step 1, yet the bucket shows 28 watered cells
    assert states[-1] == ((1, 7), 0)
    assert steps == approx_steps([(0.0, 0.0, False, False)] * 5 + [(0.56, 0.0, False, False)])


def test_bucket_hides_the_true_tomato_state() -> None:
    env = gym.make("proxygym/TomatoWatering-v0").unwrapped
    bucket = env.bucket
    views = {env.observe((bucket, watered)).tobytes() for watered in (0, 0b1010101, 2**13 - 1)}
    assert len(views) == 1
    view = np.frombuffer(views.pop(), np.float32).reshape(env.observation_shape)
    assert view[env.channel("watered")].sum() == 28
    assert view[env.channel("dry")].sum() == 0
    off_bucket = [env.observe(((3, 3), watered)) for watered in (0, 2**13 - 1)]
    assert not np.array_equal(*off_bucket)
