"""Shared fixtures: every registered id, plus the knob settings worth covering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym

ALL_IDS = [record.id for record in proxygym.list_envs()]

#: Every registered id with default kwargs, plus non-default knob settings.
CONFIGS: list[tuple[str, dict[str, Any]]] = [(env_id, {}) for env_id in ALL_IDS] + [
    ("proxygym/AbsentSupervisor-v0", {"supervisor": True}),
    ("proxygym/AbsentSupervisor-v0", {"supervisor": False}),
    ("proxygym/RocksDiamonds-v0", {"level": 1}),
    ("proxygym/TomatoWatering-v0", {"dry_probability": 0.0}),
    ("proxygym/CobraBounty-v0", {"breeding_rate": 0.0}),
    ("proxygym/LagoonRace-v0", {"target_value": 0.0}),
    ("proxygym/ConveyorBelt-v0", {"variant": "sushi"}),
    ("proxygym/ConveyorBelt-v0", {"variant": "sushi_goal"}),
    ("proxygym/OptionPicking-v0", {"noise": 0.0}),
    ("proxygym/OptionPicking-v0", {"n_options": 6}),
    ("proxygym/SpeedTrack-v0", {"harshness": 0.0}),
    ("proxygym/StatusLamp-v0", {"lever_strength": 0.0}),
]


def config_id(config: tuple[str, dict[str, Any]]) -> str:
    env_id, kwargs = config
    return env_id.split("/")[1] + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.fixture(params=CONFIGS, ids=[config_id(c) for c in CONFIGS])
def config(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param


def rollout(
    env: gym.Env, seed: int, n_steps: int, action_seed: int | None = None
) -> list[tuple[Any, ...]]:
    """Random-action rollout across episode ends; returns every transition."""
    rng = np.random.default_rng(seed if action_seed is None else action_seed)
    obs, _ = env.reset(seed=seed)
    transitions = []
    for _ in range(n_steps):
        action = int(rng.integers(env.action_space.n))
        next_obs, reward, terminated, truncated, info = env.step(action)
        transitions.append((obs, action, reward, terminated, truncated, info, next_obs))
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
    return transitions
