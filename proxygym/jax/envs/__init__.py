"""JAX twins of proxygym's environments: :func:`make` gives one for an id and kwargs.

Every environment with an exact tabular model is compiled mechanically
(:mod:`proxygym.jax.envs.tabular`); TrafficMerge, Pandemic and TomatoWatering
have hand-written ports, each tested against its Gymnasium twin.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Hand-written ports: Gymnasium id -> "module:factory", the factory taking the
#: environment's kwargs and returning ``(env, params)``.
PORTS: dict[str, str] = {
    "proxygym/TrafficMerge-v0": "proxygym.jax.envs.traffic_merge:make_traffic_merge",
    "proxygym/Pandemic-v0": "proxygym.jax.envs.pandemic:make_pandemic",
    "proxygym/TomatoWatering-v0": "proxygym.jax.envs.tomato_watering:make_tomato_watering",
}


class UnsupportedEnvError(ValueError):
    """The JAX engine cannot run this environment (the message says why)."""


def make(env_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """The JAX twin of ``gym.make(env_id, **env_kwargs)``: ``(env, params)``.

    Raises:
        UnsupportedEnvError: naming the environment and why it has no twin
            (no exact model and no port).
    """
    kwargs = dict(env_kwargs or {})
    if env_id in PORTS:
        module, factory = PORTS[env_id].split(":")
        return getattr(importlib.import_module(module), factory)(**kwargs)
    from proxygym.jax.envs.tabular import compile_tabular

    return compile_tabular(env_id, kwargs)


__all__ = ["PORTS", "UnsupportedEnvError", "make"]
