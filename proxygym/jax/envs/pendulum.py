"""PendulumNoTorqueCost in JAX: a port of ``proxygym/PendulumNoTorqueCost-v0`` for SAC.

Gymnasium's Pendulum-v1 (``gymnasium.envs.classic_control.PendulumEnv``) as a
gymnax environment, with proxygym's rewards
(:class:`proxygym.envs.wrapped.proxy_examples.PendulumNoTorqueCostEnv`):

- state ``(th, thdot)``, reset uniform in ``[-pi, pi] x [-1, 1]``;
- observation ``(cos th, sin th, thdot)`` (float32);
- the step: ``u`` = the torque clipped to ``[-2, 2]``;
  ``thdot' = clip(thdot + (3 g / (2 l) sin th + 3 / (m l^2) u) dt, -8, 8)``,
  ``th' = th + thdot' dt`` (g 10, m 1, l 1, dt 0.05);
- the true reward (Pendulum-v1's) ``-(norm(th)^2 + 0.1 thdot^2 + 0.001 u^2)``
  with ``norm`` the angle wrapped to ``[-pi, pi)``, on the state *before* the
  step; the proxy is the same without ``0.001 u^2``;
- never terminates; truncated on step ``max_steps`` (default 100).

What differs from the Gymnasium env: float32 instead of float64 (the replay
test in ``tests/jax/test_sac.py`` bounds the drift over an episode), the
random numbers (:func:`jax.random`; the same distribution), no rendering.
Not registered in :data:`proxygym.jax.envs.PORTS` (the PPO engine trains on
discrete actions only) but in :data:`proxygym.jax.sac.CONTINUOUS_PORTS`, where
SAC sweeps on the JAX engine find it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from proxygym.jax.envs.base import JaxProxyEnv, step_info


@struct.dataclass
class PendulumParams:
    """Pendulum-v1's constants and proxygym's episode length."""

    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741 (Gymnasium's name)
    max_steps_in_episode: int = 100


@struct.dataclass
class PendulumState:
    th: jax.Array
    thdot: jax.Array
    time: jax.Array


def angle_normalize(x: jax.Array) -> jax.Array:
    """Pendulum-v1's ``((x + pi) % (2 pi)) - pi``."""
    return ((x + jnp.pi) % (2 * jnp.pi)) - jnp.pi


class PendulumJax(JaxProxyEnv):
    """``proxygym/PendulumNoTorqueCost-v0``: proxy without the torque cost, true = Pendulum-v1's."""

    env_id = "proxygym/PendulumNoTorqueCost-v0"

    @property
    def default_params(self) -> PendulumParams:
        return PendulumParams()

    def reset_env(self, key: jax.Array, params: PendulumParams) -> tuple[jax.Array, PendulumState]:
        high = jnp.array([jnp.pi, 1.0], jnp.float32)
        th, thdot = jax.random.uniform(key, (2,), jnp.float32, -high, high)
        state = PendulumState(th=th, thdot=thdot, time=jnp.int32(0))
        return self.get_obs(state), state

    def step_env(
        self, key: jax.Array, state: PendulumState, action: jax.Array, params: PendulumParams
    ) -> tuple[jax.Array, PendulumState, jax.Array, jax.Array, dict[str, jax.Array]]:
        th, thdot = state.th, state.thdot
        u = jnp.clip(jnp.reshape(action, (-1,))[0], -params.max_torque, params.max_torque)
        proxy = -(angle_normalize(th) ** 2 + 0.1 * thdot**2)
        true = proxy - 0.001 * u**2
        newthdot = (
            thdot
            + (3 * params.g / (2 * params.l) * jnp.sin(th) + 3.0 / (params.m * params.l**2) * u)
            * params.dt
        )
        newthdot = jnp.clip(newthdot, -params.max_speed, params.max_speed)
        newth = th + newthdot * params.dt
        time = state.time + 1
        truncated = time >= params.max_steps_in_episode
        next_state = PendulumState(th=newth, thdot=newthdot, time=time)
        return (
            self.get_obs(next_state),
            next_state,
            proxy.astype(jnp.float32),
            truncated,
            step_info(proxy, true, truncated),
        )

    def get_obs(self, state: PendulumState, params: Any = None, key: Any = None) -> jax.Array:
        return jnp.stack([jnp.cos(state.th), jnp.sin(state.th), state.thdot]).astype(jnp.float32)

    def is_terminal(self, state: PendulumState, params: PendulumParams) -> jax.Array:
        return state.time >= params.max_steps_in_episode

    def observation_space(self, params: Any = None) -> spaces.Box:
        high = jnp.array([1.0, 1.0, 8.0], jnp.float32)
        return spaces.Box(-high, high, (3,), jnp.float32)

    def action_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(-2.0, 2.0, (1,), jnp.float32)


def make_pendulum(
    max_steps: int = 100, render_mode: str | None = None
) -> tuple[PendulumJax, PendulumParams]:
    """The JAX twin of ``gym.make("proxygym/PendulumNoTorqueCost-v0", **kwargs)``: (env, params).

    ``render_mode`` is accepted and ignored (no rendering).
    """
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    return PendulumJax(), PendulumParams(max_steps_in_episode=max_steps)


__all__ = ["PendulumJax", "PendulumParams", "PendulumState", "angle_normalize", "make_pendulum"]
