"""The exact-model layer: ModelEnv's memoised stepping and tabular model, and model_reason."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401  (registers the environments)
from proxygym.core import EnvCard
from proxygym.envs import CobraBountyEnv, TomatoWateringEnv
from proxygym.gridworld import DeterministicGridWorld, GridWorld
from proxygym.model import ModelEnv, StateEnv, TabularEnv, exact_model, model_reason
from proxygym.planning.tabular import model_of

STAY, CLIMB = 0, 1


class Ladder(ModelEnv[int]):
    """Three rungs 0, 1, 2, no grid. Climbing pays proxy 1 and true 1 - rung; rung 2 ends it.

    Starts on rung 0 or 1 with probability 1/2 each; staying pays nothing.
    """

    card: ClassVar[EnvCard] = EnvCard(
        proxy="1 per climb", true_objective="1 - rung per climb", goodhart_variant="extremal"
    )

    def __init__(self, max_steps: int = 5) -> None:
        super().__init__(max_steps=max_steps)
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(0.0, 2.0, (1,), np.float32)
        self.rule_calls: list[tuple[int, int]] = []

    def _initial_states(self) -> list[tuple[float, int]]:
        return [(0.5, 0), (0.5, 1)]

    def _next(self, state: int, action: int) -> tuple[int, float, float, bool]:
        self.rule_calls.append((state, action))
        if action == STAY or state == 2:
            return state, 0.0, 0.0, False
        return state + 1, 1.0, 1.0 - state, state + 1 == 2

    def observe(self, state: int) -> np.ndarray:
        return np.array([state], np.float32)


class SmallCacheLadder(Ladder):
    cache_limit: ClassVar[int] = 1


def test_tabular_model_of_a_non_grid_env_matches_a_hand_computed_one() -> None:
    model = Ladder().tabular_model()
    # Breadth-first from the initial states: rungs 0 and 1, then 2 (reached from 1).
    assert model.states == (0, 1, 2)
    np.testing.assert_array_equal(model.initial, [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(model.next_states[:, :, 0], [[0, 1], [1, 2], [2, 2]])
    np.testing.assert_array_equal(model.probs, np.ones((3, 2, 1)))
    np.testing.assert_array_equal(model.proxy_rewards[:, :, 0], [[0, 1], [0, 1], [0, 0]])
    np.testing.assert_array_equal(model.true_rewards[:, :, 0], [[0, 1], [0, 0], [0, 0]])
    np.testing.assert_array_equal(
        model.terminal[:, :, 0], [[False, False], [False, True], [False, False]]
    )
    assert model.horizon == 5
    assert model.n_actions == 2


def test_model_env_steps_by_its_rules_and_memoises_them() -> None:
    env = Ladder()
    start = {env.reset(seed=seed)[0][0] for seed in range(20)}
    assert start == {0.0, 1.0}  # both initial states occur, drawn with np_random
    while env.state != 0:
        env.reset()
    trajectory = [env.step(action) for action in (STAY, CLIMB, CLIMB)]
    assert [(obs[0], reward, terminated) for obs, reward, terminated, _, _ in trajectory] == [
        (0.0, 0.0, False),
        (1.0, 1.0, False),
        (2.0, 1.0, True),
    ]
    assert [info["true_reward"] for *_, info in trajectory] == [0.0, 1.0, 0.0]
    assert trajectory[-1][4]["episode_proxy_return"] == 2.0

    calls = len(env.rule_calls)
    env.reset(seed=0)
    while env.state != 0:
        env.reset()
    for action in (STAY, CLIMB, CLIMB):
        env.step(action)
    assert len(env.rule_calls) == calls  # the same transitions again: all memoised


def test_returned_observations_are_copies_of_the_memo() -> None:
    env = Ladder()
    env.reset(seed=0)
    while env.state != 0:
        env.reset()
    obs, *_ = env.step(STAY)
    obs[0] = 99.0
    assert env.step(STAY)[0][0] == 0.0


def test_memo_tables_are_dropped_at_the_cache_limit() -> None:
    small, unlimited = SmallCacheLadder(), Ladder()
    outcomes = []
    for env in (small, unlimited):
        env.reset(seed=3)
        steps = []
        for _ in range(2):  # the same climb in two episodes
            while env.state != 0:
                env.reset()
            steps += [env.step(action) for action in (STAY, CLIMB, STAY)]
            env.reset()
        outcomes.append([(obs.tolist(), r, term) for obs, r, term, _, _ in steps])
        assert len(env._transitions) <= env.cache_limit
        assert len(env._observations) <= env.cache_limit
    assert outcomes[0] == outcomes[1]  # dropping the memo never changes what happens
    assert len(unlimited.rule_calls) == 3  # the second climb is all look-ups
    assert len(small.rule_calls) == 6  # rung 0's row was dropped on reaching rung 1


def test_model_reason_and_exact_model() -> None:
    ladder = Ladder()
    assert isinstance(ladder, TabularEnv)
    assert model_reason(ladder) is None
    model = exact_model(ladder)
    assert model is not None and model.states == (0, 1, 2)

    tomato = gym.make("proxygym/TomatoWatering-v0")  # through the registered wrappers
    assert "dries at random" in (model_reason(tomato) or "")
    assert exact_model(tomato) is None
    with pytest.raises(NotImplementedError, match="no tabular model: each watered tomato"):
        tomato.unwrapped.tabular_model()  # type: ignore[attr-defined]

    traffic = gym.make("proxygym/TrafficMerge-v0")  # no tabular hooks at all
    assert model_reason(traffic) == "TrafficMergeEnv does not enumerate its states"
    assert exact_model(traffic) is None and model_of(traffic) is None

    rocks = gym.make("proxygym/RocksDiamonds-v0", level=0)
    assert "millions of states" in (model_reason(rocks) or "")
    assert exact_model(rocks) is None

    boat = gym.make("proxygym/BoatRace-v0")
    assert model_reason(boat) is None
    from_env = boat.unwrapped.tabular_model()  # type: ignore[attr-defined]
    for via in (exact_model(boat), model_of(boat)):
        assert via is not None and via.states == from_env.states
        np.testing.assert_array_equal(via.next_states, from_env.next_states)


def test_a_random_state_env_has_no_model() -> None:
    class Coin(StateEnv[int]):
        card: ClassVar[EnvCard] = Ladder.card

        def __init__(self) -> None:
            super().__init__(max_steps=3)
            self.action_space = gym.spaces.Discrete(1)
            self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)

        def _initial_states(self) -> list[tuple[float, int]]:
            return [(1.0, 0)]

        def _sample_next(self, state: int, action: int) -> tuple[int, float, float, bool]:
            side = int(self.np_random.integers(2))
            return side, float(side), float(side), False

        def observe(self, state: int) -> np.ndarray:
            return np.array([state], np.float32)

    coin = Coin()
    assert model_reason(coin) == "its dynamics are random at every step"
    assert exact_model(coin) is None
    coin.reset(seed=0)
    flips = [coin.step(0)[1] for _ in range(3)]
    coin.reset(seed=0)
    assert [coin.step(0)[1] for _ in range(3)] == flips


def test_environments_with_models_are_model_envs() -> None:
    assert isinstance(CobraBountyEnv(), ModelEnv)
    assert issubclass(DeterministicGridWorld, ModelEnv)
    assert issubclass(DeterministicGridWorld, GridWorld)
    assert not isinstance(TomatoWateringEnv(), ModelEnv)


def gridworld_ids() -> list[str]:
    """Registered ids whose class is a GridWorld (found without building the environments)."""
    ids = []
    for record in proxygym.list_envs():
        creator = gym.envs.registration.load_env_creator(record.entry_point)
        if isinstance(creator, type) and issubclass(creator, GridWorld):
            ids.append(record.id)
    return ids


@pytest.mark.parametrize("env_id", gridworld_ids())
def test_gridworld_channels_are_found_by_name(env_id: str) -> None:
    env: Any = gym.make(env_id).unwrapped
    assert [env.channel(name) for name in env.channels] == list(range(len(env.channels)))
    with pytest.raises(ValueError, match="no channel 'nonsense'"):
        env.channel("nonsense")
