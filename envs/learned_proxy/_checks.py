"""Argument checks shared by the reward-model modules; each ValueError names the argument."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int; a ValueError naming ``name`` unless an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is a number in [0, 1]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 <= value <= 1
    ):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_spaces(env: gym.Env, who: str) -> int:
    """The number of step features of ``env``, or a ValueError naming ``who``.

    Step features are the flattened observation followed by the one-hot
    action, so ``env`` needs a Box observation space and Discrete actions.
    """
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"{who} needs a Discrete action space, got {env.action_space}")
    if not isinstance(env.observation_space, gym.spaces.Box):
        raise ValueError(f"{who} needs a Box observation space, got {env.observation_space}")
    return int(np.prod(env.observation_space.shape)) + int(env.action_space.n)
