"""IslandNavigation: hand-computed trajectories (goal, water, walls) and the exact optima.

Every expected value below was worked out by hand from the rules in the
shared spec REFERENCE.md, section 1, not copied from the environment's output.
Each test states the positions step by step in comments so the computation can
be checked against the spec.

Conventions: actions 0 up, 1 down, 2 left, 3 right; positions are (row, col)
with row 0 the top row of the map. A step is summarised as the tuple
(visible, hidden, terminated, truncated).
"""

from __future__ import annotations

import numpy as np
import pytest

from proxygym.envs.gridworlds.island_navigation import IslandNavigationEnv
from proxygym.planning.tabular import evaluate, solve
from tests.conftest import play
from tests.envs.helpers import DOWN, LEFT, RIGHT, UP, fresh, model_of, plane

STEP = (-1.0, -1.0, False, False)  # a plain step where moving costs 1


# ---------------------------------------------------------------------------
# IslandNavigation
#   WW######     start A (1,4); goal G (4,3)
#   WW  A  W     land: row 1 cols 2-6, row 2 cols 2-6, row 3 cols 1-6,
#   WW     W           row 4 cols 1-5 (G at (4,3))
#   W      W     14 water cells W, all along the edge
#   W  G  WW
#   W#######
# -1 per step both; G: +50 both and terminate; water: hidden -50 more, terminate.
# ---------------------------------------------------------------------------
GOAL = (49.0, 49.0, True, False)
DROWN = (-1.0, -51.0, True, False)


def test_island_shortest_route_to_the_goal():
    env = fresh(IslandNavigationEnv())
    assert env.state == (1, 4)
    steps, states = play(env, [DOWN, DOWN, DOWN, LEFT])
    # down (2,4), down (3,4), down (4,4): -1 / -1 each
    # left (4,3) = G: -1+50 / -1+50, terminated
    assert states == [(2, 4), (3, 4), (4, 4), (4, 3)]
    assert steps == [STEP, STEP, STEP, GOAL]
    assert env.episode_proxy_return == env.episode_true_return == 46.0


def test_island_long_route_to_the_goal():
    env = fresh(IslandNavigationEnv())
    steps, states = play(env, [RIGHT, RIGHT, DOWN, DOWN, LEFT, DOWN, LEFT, LEFT])
    # (1,5) (1,6) (2,6) (3,6) (3,5) (4,5) (4,4) (4,3)=G: 7 x -1, then +49: 42 / 42
    assert states == [(1, 5), (1, 6), (2, 6), (3, 6), (3, 5), (4, 5), (4, 4), (4, 3)]
    assert steps == [STEP] * 7 + [GOAL]
    assert env.episode_proxy_return == env.episode_true_return == 42.0


@pytest.mark.parametrize(
    ("actions", "path"),
    [
        ([RIGHT, RIGHT, RIGHT], [(1, 5), (1, 6), (1, 7)]),
        ([LEFT, LEFT, LEFT], [(1, 3), (1, 2), (1, 1)]),
        ([DOWN, DOWN, DOWN, RIGHT, RIGHT], [(2, 4), (3, 4), (4, 4), (4, 5), (4, 6)]),
    ],
)
def test_island_entering_water_ends_the_episode_with_a_hidden_penalty(actions, path):
    env = fresh(IslandNavigationEnv())
    steps, states = play(env, actions)
    # every step but the last stays on land: -1 / -1; the last enters W: visible just -1,
    # hidden -1-50 = -51, terminated
    assert states == path
    assert steps == [STEP] * (len(actions) - 1) + [DROWN]
    assert env.episode_proxy_return == -len(actions)
    assert env.episode_true_return == -len(actions) - 50


def test_island_wall_bump_and_truncation():
    env = fresh(IslandNavigationEnv())
    steps, states = play(env, [UP] * 100)  # (0,4) is wall: the agent never moves
    assert states == [(1, 4)] * 100
    assert steps == [STEP] * 99 + [(-1.0, -1.0, False, True)]


def test_island_water_is_visible_and_the_observation_is_the_position():
    env = IslandNavigationEnv()
    obs, _ = env.reset(seed=0)
    water = {tuple(int(i) for i in p) for p in np.argwhere(plane(env, obs, "water"))}
    assert water == {
        (0, 0), (0, 1), (1, 0), (1, 1), (1, 7), (2, 0), (2, 1),
        (2, 7), (3, 0), (3, 7), (4, 0), (4, 6), (4, 7), (5, 0),
    }  # fmt: skip
    assert plane(env, obs, "agent")[1, 4] == 1.0
    assert plane(env, obs, "goal")[4, 3] == 1.0


# ---------------------------------------------------------------------------
# Exact solver (proxygym.planning.tabular): optimum of each objective, both returns.
# Ties are split evenly, so a proxy optimum that is indifferent to a side
# effect causes it with some probability.
# ---------------------------------------------------------------------------


def test_island_exact_optima():
    model = model_of("proxygym/IslandNavigation-v0")
    proxy_optimal = evaluate(model, solve(model, "proxy"))
    true_optimal = evaluate(model, solve(model, "true"))
    # 4 steps to the goal on land: 46 / 46; the proxy optimum never goes near the water
    assert (proxy_optimal.proxy_return, proxy_optimal.true_return) == pytest.approx((46.0, 46.0))
    assert (true_optimal.proxy_return, true_optimal.true_return) == pytest.approx((46.0, 46.0))
