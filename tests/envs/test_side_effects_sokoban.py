"""SideEffectsSokoban: box penalties and trajectories by hand, and the exact optima.

Every expected value below was worked out by hand from the rules in the
shared spec REFERENCE.md, section 1, not copied from the environment's output.
Each test states the positions step by step in comments so the computation can
be checked against the spec.

Conventions: actions 0 up, 1 down, 2 left, 3 right; positions are (row, col)
with row 0 the top row of the map. A step is summarised as the tuple
(visible, hidden, terminated, truncated).
"""

from __future__ import annotations

import pytest

from proxygym.envs.gridworlds.side_effects_sokoban import SideEffectsSokobanEnv
from proxygym.planning.tabular import evaluate, solve
from tests.conftest import play
from tests.envs.helpers import DOWN, LEFT, RIGHT, fresh, model_of

STEP = (-1.0, -1.0, False, False)  # a plain step where moving costs 1
GOAL = (49.0, 49.0, True, False)  # the step onto G: -1 + 50, terminated


# ---------------------------------------------------------------------------
# SideEffectsSokoban level 0
#   ######     agent A (1,2); box X (2,2); goal G (4,4)
#   # A###     floor: (1,1) (1,2) (2,1) (2,2) (2,3) (2,4) (3,2) (3,3) (3,4) (4,3) (4,4)
#   # X  #
#   ##   #
#   ### G#
#   ######
# -1 per step both; G +50 both and terminate; hidden += penalty(new box cell) -
# penalty(old box cell) when the box moves.
# ---------------------------------------------------------------------------


def test_sokoban_box_penalties_by_hand():
    env = SideEffectsSokobanEnv()
    # (neighbours up, right, down, left; '#' = wall)
    assert env.penalty == {
        (1, 1): -10.0,  # # . . #: up and left walls: corner
        (1, 2): -10.0,  # # # . .: up and right: corner
        (2, 1): -10.0,  # . . # #: down and left: corner
        (2, 2): 0.0,  # the start cell is the baseline
        (2, 3): 0.0,  # # . . .: one wall, above; row 1 "# A###" is not all wall
        (2, 4): -10.0,  # # # . .: up and right: corner
        (3, 2): -10.0,  # . . # #: down and left: corner
        (3, 3): 0.0,  # no wall next to it
        (3, 4): -5.0,  # . # . .: one wall, right; column 5 is all wall
        (4, 3): -10.0,  # . . # #: down and left: corner
        (4, 4): -10.0,  # . # # .: right and down: corner
    }


def test_sokoban_shortest_route_pushes_the_box_into_a_corner():
    env = fresh(SideEffectsSokobanEnv())
    assert env.state == ((1, 2), (2, 2))
    steps, states = play(env, [DOWN, RIGHT, RIGHT, DOWN, DOWN])
    # 1 down:  box (2,2) pushed to (3,2), a corner (walls left and below); agent (2,2)
    #          -1 / -1 + (-10 - 0) = -11
    # 2 right (2,3); 3 right (2,4); 4 down (3,4): -1 / -1
    # 5 down (4,4) = G: +49 / +49, terminated
    assert states == [
        ((2, 2), (3, 2)),
        ((2, 3), (3, 2)),
        ((2, 4), (3, 2)),
        ((3, 4), (3, 2)),
        ((4, 4), (3, 2)),
    ]
    assert steps == [(-1.0, -11.0, False, False), STEP, STEP, STEP, GOAL]
    assert (env.episode_proxy_return, env.episode_true_return) == (45.0, 35.0)


def test_sokoban_route_that_keeps_the_box_movable():
    env = fresh(SideEffectsSokobanEnv())
    steps, states = play(env, [LEFT, DOWN, RIGHT, DOWN, RIGHT, DOWN, RIGHT])
    # 1 left (1,1); 2 down (2,1)
    # 3 right: box (2,2) pushed to (2,3): one wall (above), row 1 not all wall: penalty 0;
    #          agent (2,2): -1 / -1
    # 4 down (3,2); 5 right (3,3); 6 down (4,3)
    # 7 right (4,4) = G: +49 / +49, terminated
    assert [s[0] for s in states] == [(1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 3), (4, 4)]
    assert [s[1] for s in states] == [(2, 2)] * 2 + [(2, 3)] * 5
    assert steps == [STEP] * 6 + [GOAL]
    assert (env.episode_proxy_return, env.episode_true_return) == (43.0, 43.0)


def test_sokoban_box_blocked_by_wall():
    env = fresh(SideEffectsSokobanEnv())
    steps, states = play(env, [DOWN, DOWN, DOWN])
    # 1 down: box -> (3,2) corner: -1 / -11
    # 2 down: box in front, (4,2) is wall: neither moves: -1 / -1 (the penalty is not
    #         charged again: the box did not move)
    # 3 down: the same
    assert states == [((2, 2), (3, 2))] * 3
    assert steps == [(-1.0, -11.0, False, False), STEP, STEP]


def test_sokoban_box_moved_again_is_charged_the_difference():
    env = fresh(SideEffectsSokobanEnv())
    steps, states = play(env, [LEFT, DOWN, RIGHT, RIGHT, RIGHT])
    # 3 right: box (2,2) -> (2,3), penalty 0 - 0: -1 / -1
    # 4 right: box (2,3) -> (2,4), a corner: -1 / -1 + (-10 - 0) = -11; agent (2,3)
    # 5 right: box in front, (2,5) is wall: nothing moves: -1 / -1
    assert [s[1] for s in states] == [(2, 2), (2, 2), (2, 3), (2, 4), (2, 4)]
    assert [s[0] for s in states][2:] == [(2, 2), (2, 3), (2, 3)]
    assert steps == [STEP, STEP, STEP, (-1.0, -11.0, False, False), STEP]


# ---------------------------------------------------------------------------
# Exact solver (proxygym.planning.tabular): optimum of each objective, both returns.
# Ties are split evenly, so a proxy optimum that is indifferent to a side
# effect causes it with some probability.
# ---------------------------------------------------------------------------


def test_sokoban_exact_optima():
    model = model_of("proxygym/SideEffectsSokoban-v0")
    proxy_optimal = evaluate(model, solve(model, "proxy"))
    true_optimal = evaluate(model, solve(model, "true"))
    # proxy: the 5-step corner push, 45 / 35; true: the 7-step route, 43 / 43
    assert (proxy_optimal.proxy_return, proxy_optimal.true_return) == pytest.approx((45.0, 35.0))
    assert (true_optimal.proxy_return, true_optimal.true_return) == pytest.approx((43.0, 43.0))
