"""Which environments the JAX engine runs, decided without importing JAX.

An environment runs on the JAX engine's PPO when it has a hand-written port
(:data:`proxygym.jax.envs.PORTS`) or an exact tabular model with discrete
actions (compiled by :mod:`proxygym.jax.envs.tabular`), and on its SAC when it
has a continuous-action twin (:data:`proxygym.jax.sac.CONTINUOUS_PORTS`). The check builds the
Gymnasium environment and asks :func:`proxygym.model.model_reason`, which does
not enumerate the states.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from proxygym.model import model_reason

#: Ids with a hand-written JAX port (kept in step with proxygym.jax.envs.PORTS by a test).
PORTED: tuple[str, ...] = (
    "proxygym/TrafficMerge-v0",
    "proxygym/Pandemic-v0",
    "proxygym/TomatoWatering-v0",
)

#: Ids with a continuous-action JAX twin for SAC (kept in step with
#: proxygym.jax.sac.CONTINUOUS_PORTS by a test).
SAC_PORTED: tuple[str, ...] = (
    "proxygym/PendulumNoTorqueCost-v0",
    "proxygym/Glucose-v0",
)


def env_reason(env_id: str, env_kwargs: dict[str, Any] | None = None) -> str | None:
    """Why the JAX engine cannot run ``env_id`` with ``env_kwargs`` (one sentence), or None."""
    if env_id in PORTED:
        return None
    with gym.make(env_id, **(env_kwargs or {})) as env:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            return (
                f"the jax engine runs discrete actions only; {env_id} has {env.action_space}; "
                'use engine = "sb3"'
            )
        reason = model_reason(env)
    if reason is not None:
        return (
            f"the jax engine runs environments with an exact model or a JAX port; {env_id} has "
            f'neither ({reason}); use engine = "sb3"'
        )
    return None
