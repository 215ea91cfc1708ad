"""HopperForward: registered only with MuJoCo; the proxy is the forward velocity alone."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401  (registers the ids)


def test_hopper_forward_is_registered_exactly_when_mujoco_is_installed() -> None:
    has_mujoco = importlib.util.find_spec("mujoco") is not None
    assert ("proxygym/HopperForward-v0" in gym.registry) == has_mujoco


def test_hopper_forward_pays_forward_velocity_only() -> None:
    pytest.importorskip("mujoco")
    env = gym.make("proxygym/HopperForward-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = rng.uniform(-1, 1, 3).astype(np.float32)
        _, proxy, terminated, truncated, info = env.step(action)
        assert proxy == info["x_velocity"]
        expected = info["reward_forward"] + info["reward_survive"] + info["reward_ctrl"]
        assert info["true_reward"] == pytest.approx(expected)
        if terminated or truncated:
            break
