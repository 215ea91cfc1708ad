"""The JAX PendulumNoTorqueCost follows the Gymnasium one step for step (float32 vs float64)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import proxygym.envs  # noqa: E402, F401 (registers the ids)
from proxygym.jax.envs.pendulum import PendulumState, make_pendulum  # noqa: E402

ENV_ID = "proxygym/PendulumNoTorqueCost-v0"
#: float32 against Gymnasium's float64: the observed drift over 100 steps is ~4e-6.
TOLERANCE = 1e-4


@pytest.mark.parametrize("seed", [0, 3])
def test_replay_matches_gymnasium(seed: int) -> None:
    """Same start, same actions (some beyond the torque limit): same obs, rewards and truncation."""
    gym_env = gym.make(ENV_ID)
    obs, _ = gym_env.reset(seed=seed)
    env, params = make_pendulum()
    th, thdot = gym_env.unwrapped.state
    state = PendulumState(th=jnp.float32(th), thdot=jnp.float32(thdot), time=jnp.int32(0))
    np.testing.assert_allclose(env.get_obs(state), obs, atol=1e-6)
    actions = np.random.default_rng(seed).uniform(-3.0, 3.0, (100, 1)).astype(np.float32)
    step = jax.jit(env.step_env)
    key = jax.random.PRNGKey(0)
    for t, action in enumerate(actions):
        obs, proxy, terminated, truncated, info = gym_env.step(action)
        jax_obs, state, jax_proxy, done, jax_info = step(key, state, action, params)
        np.testing.assert_allclose(jax_obs, obs, atol=TOLERANCE)
        assert float(jax_proxy) == pytest.approx(proxy, abs=TOLERANCE)
        assert float(jax_info["true_reward"]) == pytest.approx(info["true_reward"], abs=TOLERANCE)
        assert bool(done) == (terminated or truncated) == (t == 99)
        assert bool(jax_info["truncated"]) == truncated
    assert not terminated


def test_torque_cost_is_the_only_difference() -> None:
    """proxy - true = 0.001 u^2 with u clipped to [-2, 2] (a planted value: 0.004 at u = 5)."""
    env, params = make_pendulum()
    state = PendulumState(th=jnp.float32(1.0), thdot=jnp.float32(0.5), time=jnp.int32(0))
    _, _, proxy, _, info = env.step_env(jax.random.PRNGKey(0), state, jnp.array([5.0]), params)
    assert float(proxy) == pytest.approx(-(1.0 + 0.1 * 0.25), abs=1e-6)
    assert float(proxy - info["true_reward"]) == pytest.approx(0.004, abs=1e-6)


def test_reset_distribution_and_bad_kwargs() -> None:
    env, params = make_pendulum(max_steps=7)
    keys = jax.random.split(jax.random.PRNGKey(1), 2000)
    _, states = jax.vmap(env.reset_env, in_axes=(0, None))(keys, params)
    assert float(jnp.abs(states.th).max()) <= np.pi and float(jnp.abs(states.thdot).max()) <= 1.0
    assert float(jnp.abs(states.th).max()) > 3.0 and float(jnp.abs(states.thdot).max()) > 0.99
    assert params.max_steps_in_episode == 7
    with pytest.raises(ValueError, match="max_steps"):
        make_pendulum(max_steps=0)
