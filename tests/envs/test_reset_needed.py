"""Every registered id refuses step() before reset() and after its episode ended.

The README's contract: "stepping before reset() or after the episode ended
raises gymnasium.error.ResetNeeded". Checked through ``gym.make`` (the
registered 100-step limit outside) and on the class constructed directly, for
episodes ended by truncation at the limit and by termination.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym
from proxygym.proxy_reward import ProxyReward, Term
from proxygym.registry import env_class

ALL_IDS = [record.id for record in proxygym.list_envs()]


def play_to_the_end(env: Any, seed: int, limit: int = 1000) -> tuple[bool, bool, int]:
    """Play random actions from a seeded reset to the end: (terminated, truncated, steps)."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for step in range(1, limit + 1):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            return terminated, truncated, step
    raise AssertionError(f"no episode end within {limit} steps")


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_registered_id_refuses_steps_before_reset_and_after_the_end(env_id: str) -> None:
    env = gym.make(env_id)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())
    for seed in (0, 1):
        _, _, steps = play_to_the_end(env, seed)
        assert steps <= 100
        with pytest.raises(gym.error.ResetNeeded):
            env.step(env.action_space.sample())
    env.reset(seed=2)
    env.step(env.action_space.sample())  # a reset makes it steppable again
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_directly_constructed_class_refuses_steps_after_the_end(env_id: str) -> None:
    env = env_class(env_id)()
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())
    _, _, steps = play_to_the_end(env, 0)
    assert steps <= 100  # the class keeps the registered limit itself
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())
    env.close()


@pytest.mark.parametrize(
    "env_id", ["proxygym/AcrobotHeight-v0", "proxygym/PendulumNoTorqueCost-v0"]
)
def test_wrapped_examples_truncate_at_max_steps_themselves(env_id: str) -> None:
    env = env_class(env_id)(max_steps=7)
    env.reset(seed=0)
    action = 1 if env_id.endswith("Height-v0") else np.zeros(1, np.float32)  # no torque
    ends = [env.step(action)[3] for _ in range(7)]
    assert ends == [False] * 6 + [True]
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())


def test_acrobot_height_refuses_a_step_after_reaching_the_line() -> None:
    env = gym.make("proxygym/AcrobotHeight-v0")
    observation, _ = env.reset(seed=1)
    terminated = truncated = False
    while not (terminated or truncated):
        pump = 2 if observation[5] > 0 else 0  # pump energy with the elbow
        observation, _, terminated, truncated, _ = env.step(pump)
    assert terminated  # measured: the pump reaches the line in 65 steps
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def test_proxy_reward_refuses_steps_after_the_wrapped_environment_ends() -> None:
    proxy: dict[str | Term, float] = {Term.fn("one", lambda transition: 1.0): 1.0}
    terminating = ProxyReward(gym.make("CartPole-v1"), proxy=proxy)
    terminated, truncated, _ = play_to_the_end(terminating, 0)
    assert terminated
    with pytest.raises(gym.error.ResetNeeded):
        terminating.step(0)
    truncating = ProxyReward(gym.make("CartPole-v1", max_episode_steps=3), proxy=proxy)
    terminated, truncated, steps = play_to_the_end(truncating, 0)
    assert truncated and not terminated and steps == 3
    with pytest.raises(gym.error.ResetNeeded):
        truncating.step(0)


def test_proxy_reward_truncates_at_max_steps() -> None:
    env = ProxyReward(gym.make("CartPole-v1"), proxy={"reward": 1.0}, max_steps=2)
    env.reset(seed=0)
    assert env.step(0)[2:4] == (False, False)
    _, _, terminated, truncated, info = env.step(0)
    assert (terminated, truncated) == (False, True)
    assert info["episode_proxy_return"] == 2.0
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    assert env.step(0)[2:4] == (False, False)  # the count starts again


@pytest.mark.parametrize("max_steps", [0, -1, 2.5, True, "3"])
def test_proxy_reward_rejects_a_bad_max_steps(max_steps: Any) -> None:
    with pytest.raises(ValueError, match="max_steps"):
        ProxyReward(gym.make("CartPole-v1"), proxy={"reward": 1.0}, max_steps=max_steps)
