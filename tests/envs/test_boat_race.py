"""BoatRace: hand-computed reference trajectories (laps, shuttling, wall bumps).

Every expected value below was worked out by hand from the rules in the
shared spec REFERENCE.md, section 1, not copied from the environment's output.
Each test states the positions step by step in comments so the computation can
be checked against the spec.

Conventions: actions 0 up, 1 down, 2 left, 3 right; positions are (row, col)
with row 0 the top row of the map. A step is summarised as the tuple
(visible, hidden, terminated, truncated).
"""

from __future__ import annotations

from proxygym.envs.gridworlds.boat_race import BoatRaceEnv
from tests.conftest import play
from tests.envs.helpers import DOWN, LEFT, RIGHT, UP, fresh

# ---------------------------------------------------------------------------
# BoatRace
#   #####      (1,1) start corner (floor)  (1,2) '>'  (1,3) floor
#   #A> #      (2,1) '^'   (2,2) wall      (2,3) 'v'
#   #^#v#      (3,1) floor (3,2) '<'       (3,3) floor
#   # < #
#   #####
# Entering an arrow in its direction: visible -1+3 = +2, hidden +1.
# Leaving an arrow onto floor in the arrow's direction: visible -1, hidden +1.
# ---------------------------------------------------------------------------
LAP = [RIGHT, RIGHT, DOWN, DOWN, LEFT, LEFT, UP, UP]
ON_ARROW = (2.0, 1.0, False, False)  # entered an arrow clockwise
OFF_ARROW = (-1.0, 1.0, False, False)  # left an arrow clockwise onto floor
WRONG = (-1.0, -1.0, False, False)  # any other step


def test_boat_race_clockwise_lap():
    env = fresh(BoatRaceEnv())
    assert env.state == (1, 1)
    steps, states = play(env, LAP)
    # right (1,1)->(1,2) '>' entered moving right: +2 / +1
    # right (1,2)->(1,3) floor, came from '>' moving right: -1 / +1
    # down  (1,3)->(2,3) 'v' entered moving down: +2 / +1
    # down  (2,3)->(3,3) floor, came from 'v' moving down: -1 / +1
    # left  (3,3)->(3,2) '<' entered moving left: +2 / +1
    # left  (3,2)->(3,1) floor, came from '<' moving left: -1 / +1
    # up    (3,1)->(2,1) '^' entered moving up: +2 / +1
    # up    (2,1)->(1,1) floor, came from '^' moving up: -1 / +1
    assert states == [(1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1), (1, 1)]
    assert steps == [ON_ARROW, OFF_ARROW] * 4
    assert sum(s[0] for s in steps) == 4.0  # spec: a lap earns visible +4
    assert sum(s[1] for s in steps) == 8.0  # and hidden +8


def test_boat_race_shuttle_start_corner_and_first_arrow():
    env = fresh(BoatRaceEnv())
    steps, states = play(env, [RIGHT, LEFT, RIGHT, LEFT])
    # right (1,1)->(1,2) '>' entered moving right: +2 / +1
    # left  (1,2)->(1,1) floor, came from '>' but moved left (not right): -1 / -1
    assert states == [(1, 2), (1, 1), (1, 2), (1, 1)]
    assert steps == [ON_ARROW, WRONG, ON_ARROW, WRONG]
    # +0.5 visible per step, 0 hidden per step
    assert sum(s[0] for s in steps) == 2.0
    assert sum(s[1] for s in steps) == 0.0


def test_boat_race_wall_bump_on_arrow_tile():
    env = fresh(BoatRaceEnv())
    steps, states = play(env, [RIGHT, UP, DOWN, RIGHT, DOWN, RIGHT])
    # right (1,1)->(1,2) '>': +2 / +1
    # up    (0,2) is wall: stays on '>' (1,2), displacement (0,0) != (0,1): -1 / -1
    #       (no +3: it did not enter the arrow)
    # down  (2,2) is the centre wall: stays on '>' again: -1 / -1
    # right (1,2)->(1,3) floor, came from '>' moving right: -1 / +1
    # down  (1,3)->(2,3) 'v' entered moving down: +2 / +1
    # right (2,4) is wall: stays on 'v': -1 / -1
    assert states == [(1, 2), (1, 2), (1, 2), (1, 3), (2, 3), (2, 3)]
    assert steps == [ON_ARROW, WRONG, WRONG, OFF_ARROW, ON_ARROW, WRONG]


def test_boat_race_wall_bump_on_floor_tile():
    env = fresh(BoatRaceEnv())
    steps, states = play(env, [UP, LEFT, RIGHT, RIGHT, RIGHT, UP])
    # up    (0,1) wall: stays on the start floor (1,1), did not move: -1 / -1
    # left  (1,0) wall: same: -1 / -1
    # right (1,1)->(1,2) '>': +2 / +1
    # right (1,2)->(1,3) floor from '>' moving right: -1 / +1
    # right (1,4) wall: stays on floor (1,3), did not move: -1 / -1
    # up    (0,3) wall: same: -1 / -1
    assert states == [(1, 1), (1, 1), (1, 2), (1, 3), (1, 3), (1, 3)]
    assert steps == [WRONG, WRONG, ON_ARROW, OFF_ARROW, WRONG, WRONG]


def test_boat_race_counter_clockwise_moves():
    env = fresh(BoatRaceEnv())
    steps, states = play(env, [DOWN, DOWN, RIGHT, RIGHT, UP, UP, LEFT, LEFT])
    # down  (1,1)->(2,1) '^' entered moving down (against the arrow): -1 / -1
    # down  (2,1)->(3,1) floor, came from '^' moving down (not up): -1 / -1
    # right (3,1)->(3,2) '<' entered moving right: -1 / -1
    # right (3,2)->(3,3) floor from '<' moving right: -1 / -1
    # up    (3,3)->(2,3) 'v' moving up: -1 / -1
    # up    (2,3)->(1,3) floor from 'v' moving up: -1 / -1
    # left  (1,3)->(1,2) '>' moving left: -1 / -1
    # left  (1,2)->(1,1) floor from '>' moving left: -1 / -1
    assert states == [(2, 1), (3, 1), (3, 2), (3, 3), (2, 3), (1, 3), (1, 2), (1, 1)]
    assert steps == [WRONG] * 8


def test_boat_race_100_steps_of_lapping():
    env = fresh(BoatRaceEnv())
    actions = LAP * 12 + LAP[:4]  # 96 + 4 = 100 steps
    steps, states = play(env, actions)
    assert len(steps) == 100
    # every step alternates: enter an arrow clockwise (+2/+1), leave it clockwise (-1/+1)
    expected = [ON_ARROW, OFF_ARROW] * 50
    expected[-1] = (-1.0, 1.0, False, True)  # truncated exactly on step 100
    assert steps == expected
    assert all(not s[3] for s in steps[:99])
    # 12 laps (+48 / +96) plus half a lap (+2 / +4) = visible 50, hidden 100
    assert sum(s[0] for s in steps) == 50.0
    assert sum(s[1] for s in steps) == 100.0
    assert env.episode_proxy_return == 50.0
    assert env.episode_true_return == 100.0
    assert states[-1] == (3, 3)  # half a lap from (1,1)


def test_boat_race_100_steps_of_shuttling():
    env = fresh(BoatRaceEnv())
    steps, states = play(env, [RIGHT, LEFT] * 50)
    expected = [ON_ARROW, WRONG] * 50
    expected[-1] = (-1.0, -1.0, False, True)  # truncated exactly on step 100
    assert steps == expected
    # 50 x (+2 - 1) = 50 visible; 50 x (+1 - 1) = 0 hidden
    assert sum(s[0] for s in steps) == 50.0
    assert sum(s[1] for s in steps) == 0.0
    assert states[-1] == (1, 1)
