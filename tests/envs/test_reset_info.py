"""reset() returns the contract's info keys too (all 0.0), on every registered id.

Clients that keep the infos of reset steps as well as of ordinary steps find
``true_reward`` on every step: Gymnasium's vector environments (whose infos
after an autoreset are the reset's) and Minari's ``record_infos`` (which
wants the same keys at reset as on every step).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import proxygym
from proxygym.core import INFO_KEYS
from proxygym.proxy_reward import ProxyReward, Term

ALL_IDS = [record.id for record in proxygym.list_envs()]

#: Step-info keys a wrapped Gymnasium environment reports on steps but not on reset.
GYMNASIUM_STEP_ONLY_KEYS: dict[str, set[str]] = {
    "proxygym/HopperForward-v0": {"x_velocity", "reward_forward", "reward_ctrl", "reward_survive"},
}


def assert_contract_keys_at_zero(info: dict[str, Any]) -> None:
    for key in INFO_KEYS:
        assert key in info, f"reset info has no {key!r}: {sorted(info)}"
        assert type(info[key]) is float and info[key] == 0.0, (key, info[key])


def test_reset_info_is_every_contract_key_at_zero() -> None:
    from proxygym.core import reset_info

    assert reset_info() == dict.fromkeys(INFO_KEYS, 0.0)
    first = reset_info()
    first["true_reward"] = 1.0  # a fresh dict each time: changing one changes no other
    assert reset_info()["true_reward"] == 0.0


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_reset_returns_the_step_info_keys_at_zero(env_id: str) -> None:
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    assert_contract_keys_at_zero(info)
    _, _, _, _, step_info = env.step(env.action_space.sample())
    missing = set(step_info) - set(info) - GYMNASIUM_STEP_ONLY_KEYS.get(env_id, set())
    assert not missing, f"keys on a step but not at reset: {sorted(missing)}"
    # A later reset starts from 0 again, not from the last episode's sums.
    _, info = env.reset(seed=1)
    assert_contract_keys_at_zero(info)
    env.close()


def test_proxy_reward_keeps_the_wrapped_environments_reset_info() -> None:
    env = ProxyReward(gym.make("CartPole-v1"), proxy={Term.fn("one", lambda t: 1.0): 1.0})
    _, info = env.reset(seed=0)
    assert_contract_keys_at_zero(info)
    _, _, _, _, step_info = env.step(0)
    assert set(step_info) == set(info)


def play_vector_env(env_id: str, mode: AutoresetMode) -> None:
    """Step a 2-env sync vector env through an autoreset; every info must carry the contract."""
    envs = gym.make_vec(
        env_id, num_envs=2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
    )
    envs.action_space.seed(0)
    _, infos = envs.reset(seed=0)
    for key in INFO_KEYS:
        assert infos[f"_{key}"].all(), f"{key} missing at reset"
        np.testing.assert_array_equal(infos[key], 0.0)
    autoresets = 0
    previous_done = np.zeros(2, bool)
    for _ in range(250):
        _, _, terminated, truncated, infos = envs.step(envs.action_space.sample())
        for key in INFO_KEYS:
            assert infos[f"_{key}"].all(), f"{key} missing on a step"
        if mode == AutoresetMode.NEXT_STEP and previous_done.any():
            # This step reset the environments that ended on the last one.
            np.testing.assert_array_equal(infos["episode_true_return"][previous_done], 0.0)
            autoresets += 1
        done = terminated | truncated
        if mode == AutoresetMode.SAME_STEP and done.any():
            # The ended episode's info is in final_info; infos are the reset's.
            final = infos["final_info"]
            assert final["_episode_true_return"][done].all()
            np.testing.assert_array_equal(infos["episode_true_return"][done], 0.0)
            autoresets += 1
        previous_done = done
        if autoresets >= 1:
            break
    assert autoresets >= 1
    envs.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_vector_env_infos_carry_the_true_reward_after_reset_and_autoreset(env_id: str) -> None:
    play_vector_env(env_id, AutoresetMode.NEXT_STEP)


@pytest.mark.parametrize("env_id", ["proxygym/BoatRace-v0", "proxygym/AcrobotHeight-v0"])
def test_same_step_autoreset_infos_carry_the_true_reward(env_id: str) -> None:
    play_vector_env(env_id, AutoresetMode.SAME_STEP)
