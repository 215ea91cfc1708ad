"""Helpers shared by the environment tests in ``tests/envs``.

Imported as ``tests.envs.helpers``. ``play`` and ``rollout`` stay in
``tests/conftest.py``, which the other tests use too.
"""

from __future__ import annotations

from typing import Any, TypeVar

import gymnasium as gym
import numpy as np

import proxygym  # noqa: F401  (registers the ids)
from proxygym.gridworld import GridWorld
from proxygym.planning.tabular import TabularModel, evaluate, solve

#: The gridworld actions; positions are (row, col) with row 0 the top row of the map.
UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3

#: (id, knob kwarg, default knob value) of OptionPicking, SpeedTrack and StatusLamp.
KNOBS_AND_DEFAULTS = [
    ("proxygym/OptionPicking-v0", "noise", 2.0),
    ("proxygym/SpeedTrack-v0", "harshness", 6.0),
    ("proxygym/StatusLamp-v0", "lever_strength", 2.0),
]
#: (id, knob, per-step scale a in proxy == a * true + 0 when the knob is 0) of CobraBounty
#: and LagoonRace.
KNOBS_AND_SCALES: list[tuple[str, str, float]] = [
    ("proxygym/CobraBounty-v0", "breeding_rate", 1.0),
    ("proxygym/LagoonRace-v0", "target_value", 10.0),
]

GridWorldT = TypeVar("GridWorldT", bound=GridWorld[Any])


def fresh(env: GridWorldT, seed: int = 0) -> GridWorldT:
    """``env`` after ``env.reset(seed=seed)``."""
    env.reset(seed=seed)
    return env


def plane(env: GridWorld[Any], obs: np.ndarray, name: str) -> np.ndarray:
    """The (H, W) plane of observation channel ``name``."""
    return obs.reshape(env.observation_shape)[env.channel(name)]


def make(env_id: str, **kwargs: Any) -> Any:
    """``gym.make(env_id, **kwargs)``, typed loosely so tests can reach env attributes."""
    return gym.make(env_id, **kwargs)


def model_of(env_id: str, **kwargs: Any) -> TabularModel:
    """The exact tabular model of ``env_id`` built with ``kwargs``."""
    model: TabularModel = make(env_id, **kwargs).unwrapped.tabular_model()
    return model


def optima(model: TabularModel) -> tuple[float, float, float]:
    """(proxy-optimal policy's proxy return, its true return, the true-optimal true return)."""
    proxy_optimal = evaluate(model, solve(model, "proxy"))
    true_optimal = evaluate(model, solve(model, "true"))
    return proxy_optimal.proxy_return, proxy_optimal.true_return, true_optimal.true_return
