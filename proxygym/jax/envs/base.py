"""The proxy/true contract of a JAX environment, and what every one shares.

A JAX environment here is a gymnax :class:`~gymnax.environments.environment.Environment`
(pure ``reset_env(key, params)`` and ``step_env(key, state, action, params)``,
auto-reset by gymnax's ``step``), so libraries written for gymnax (rejax)
train on it unchanged. It follows the Gymnasium contract of
:mod:`proxygym.core` in functional form:

- ``reward`` is the proxy reward; ``info["proxy_reward"]`` equals it and
  ``info["true_reward"]`` is the hidden true reward of the same step;
- ``done`` ends the episode for either reason; ``info["truncated"]`` says it
  was the time limit (``max_steps_in_episode``, the Gymnasium twin's
  ``max_steps``) rather than the game;
- the observation is float32 and never contains the true reward.

:class:`TrueReward` makes the oracle's environment (the true reward as the
reward), as :class:`proxygym.wrappers.TrueObjective` does for Gymnasium.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from gymnax.environments import environment

#: Keys of every step's ``info``.
INFO_KEYS: tuple[str, ...] = ("proxy_reward", "true_reward", "truncated")


def step_info(proxy: jax.Array, true: jax.Array, truncated: jax.Array) -> dict[str, jax.Array]:
    """The ``info`` of one step: both rewards (float32) and the truncation flag."""
    return {
        "proxy_reward": jnp.asarray(proxy, jnp.float32),
        "true_reward": jnp.asarray(true, jnp.float32),
        "truncated": jnp.asarray(truncated, bool),
    }


class JaxProxyEnv(environment.Environment):  # type: ignore[misc]
    """Base of proxygym's JAX environments (a gymnax ``Environment``).

    Subclasses implement ``reset_env``, ``step_env`` (returning
    ``(obs, state, proxy, done, step_info(...))``), ``default_params``,
    ``observation_space`` and ``action_space``. ``env_id`` names the
    Gymnasium twin the environment is compiled from or ported from.
    """

    env_id: str = ""

    @property
    def name(self) -> str:
        return self.env_id or type(self).__name__


class TrueReward(environment.Environment):  # type: ignore[misc]
    """The oracle's view of ``env``: ``info["true_reward"]`` is the reward.

    Everything else (observations, dynamics, ``info``) is ``env``'s.
    """

    def __init__(self, env: environment.Environment) -> None:
        self.env = env

    @property
    def default_params(self) -> Any:
        return self.env.default_params

    @property
    def name(self) -> str:
        return f"TrueReward({self.env.name})"

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        return self.env.reset_env(key, params)

    def step_env(
        self, key: jax.Array, state: Any, action: Any, params: Any
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, dict[str, jax.Array]]:
        obs, state, _, done, info = self.env.step_env(key, state, action, params)
        return obs, state, info["true_reward"], done, info

    def observation_space(self, params: Any) -> Any:
        return self.env.observation_space(params)

    def action_space(self, params: Any) -> Any:
        return self.env.action_space(params)

    @property
    def num_actions(self) -> int:
        return int(self.env.num_actions)
