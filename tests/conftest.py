"""Shared fixtures: every registered id, plus the knob settings worth covering.

``rollout`` and ``random_action`` are :mod:`proxygym.testing`'s, re-exported
for the tests that import them from here.
"""

# ruff: noqa: E402 (the instruction set is pinned before anything imports torch)
from __future__ import annotations

import os

from tools.pinned_isa import pinned_isa

# Tests that check what one seed learns compare exact floats: torch's, MKL's and
# oneDNN's kernels are pinned to AVX2 (tools/pinned_isa.py says why) before torch is
# imported here or in a subprocess; a value set outside is kept.
os.environ.update(pinned_isa())

import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import proxygym
from proxygym.core import ProxyEnv
from proxygym.registry import env_class
from proxygym.testing import random_action, rollout

__all__ = [
    "ALL_IDS",
    "CONFIGS",
    "config_id",
    "gif_frames",
    "is_proxy_env",
    "play",
    "random_action",
    "rollout",
]

# One JAX compilation cache for the whole session, subprocesses included: each
# compiled program (a PPO run, an environment) is compiled once, not once per
# test or process. A cache the caller configured is left alone.
if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    _JAX_CACHE = tempfile.TemporaryDirectory(prefix="proxygym-jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE.name

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
    ("proxygym/StatusLamp-v0", {"lever_distance": 0}),
    ("proxygym/StatusLamp-v0", {"lever_distance": 1}),
    ("proxygym/TrafficMerge-v0", {"misspecification": 0.0}),
    ("proxygym/TrafficMerge-v0", {"action_bins": 9}),
    ("proxygym/TrafficMerge-v0", {"kickdown_steps": 0}),
    ("proxygym/Pandemic-v0", {"misspecification": 0.0}),
    ("proxygym/Pandemic-v0", {"testing_rate": 1.0}),
    ("proxygym/Glucose-v0", {"misspecification": 0.0}),
    ("proxygym/Glucose-v0", {"cgm_noise": 10.0, "patient": "child#003"}),
    ("proxygym/LearnedProxy-v0", {"members": 2, "aggregate": "lcb", "comparisons": 100}),
]


def config_id(config: tuple[str, dict[str, Any]]) -> str:
    env_id, kwargs = config
    return env_id.split("/")[1] + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.fixture(params=CONFIGS, ids=[config_id(c) for c in CONFIGS])
def config(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param


def is_proxy_env(env_id: str) -> bool:
    """Whether ``env_id`` is a :class:`ProxyEnv` (not a Gymnasium env wrapped by ProxyReward)."""
    entry_point = env_class(env_id)
    return isinstance(entry_point, type) and issubclass(entry_point, ProxyEnv)


def play(env: gym.Env, actions: list[int]) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """Step ``env`` (already reset; raw or made by ``gym.make``) through ``actions``.

    Returns ``(steps, states)``: ``steps[i]`` is (visible, hidden, terminated,
    truncated) of the i-th step and ``states[i]`` is the game state after it.
    Checks the info contract on every step: ``info["proxy_reward"]`` is the
    returned reward and the episode returns are running sums (continuing from
    earlier steps of the same episode).
    """
    game: Any = env.unwrapped
    steps, states = [], []
    proxy_sum, true_sum = game.episode_proxy_return, game.episode_true_return
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        assert info["proxy_reward"] == reward
        proxy_sum += reward
        true_sum += info["true_reward"]
        assert info["episode_proxy_return"] == pytest.approx(proxy_sum)
        assert info["episode_true_return"] == pytest.approx(true_sum)
        steps.append((reward, info["true_reward"], terminated, truncated))
        states.append(game.state)
    return steps, states


def gif_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a GIF, as RGB arrays."""
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
    return frames
