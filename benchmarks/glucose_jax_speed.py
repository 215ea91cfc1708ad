"""Steps per second of the JAX Glucose port, vmapped, against the Gymnasium env in one run.

Run on demand: ``python benchmarks/glucose_jax_speed.py [--envs 16] [--steps N] [--repeats R]``.
The Gymnasium env (unwrapped, through :func:`env_speed.steps_per_second`:
uniform Box actions, resets included) and the port
(:mod:`proxygym.jax.envs.glucose`: gymnax's ``step``, so auto-resets and
their meal draws included, vmapped over ``--envs`` environments and scanned
over ``--steps`` steps in one jitted call, uniform actions drawn up front)
are timed side by side; the best of ``--repeats`` runs is kept, the
compilation is timed apart, and the ratio to Gymnasium is printed with the
core count and the load average (other jobs share the cores).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from env_speed import steps_per_second  # the same timing loop (benchmarks/ is on sys.path)

from proxygym.envs.simulators.glucose import GlucoseEnv
from proxygym.jax.envs.glucose import make_glucose


def jax_rollout(n_envs: int, n_steps: int) -> Callable[[jax.Array], jax.Array]:
    """A jitted rollout of ``n_envs`` environments for ``n_steps`` steps; returns the rewards."""
    env, params = make_glucose()

    @jax.jit
    def rollout(key: jax.Array) -> jax.Array:
        reset_key, action_key, step_key = jax.random.split(key, 3)
        _, states = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, n_envs), params
        )
        actions = jax.random.uniform(action_key, (n_steps, n_envs, 1), minval=-1.0, maxval=1.0)
        keys = jax.random.split(step_key, (n_steps, n_envs))
        step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

        def body(states: object, inputs: tuple[jax.Array, jax.Array]) -> tuple[object, jax.Array]:
            step_keys, action = inputs
            _, states, reward, _, _ = step(step_keys, states, action, params)
            return states, reward

        return jax.lax.scan(body, states, (keys, actions))[1]

    return rollout


def time_jax(n_envs: int, n_steps: int, repeats: int) -> tuple[float, float]:
    """(best steps/s over all environments, seconds to compile and run once)."""
    rollout = jax_rollout(n_envs, n_steps)
    start = time.perf_counter()
    rewards = rollout(jax.random.key(0)).block_until_ready()
    first = time.perf_counter() - start
    assert bool(jnp.isfinite(rewards).all())
    best = 0.0
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        rollout(jax.random.key(seed)).block_until_ready()
        best = max(best, n_envs * n_steps / (time.perf_counter() - start))
    return best, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 16, 64], help="batch sizes")
    parser.add_argument("--steps", type=int, default=5_000, help="steps per env (%(default)s)")
    parser.add_argument("--gym-steps", type=int, default=10_000, help="Gymnasium steps")
    parser.add_argument("--repeats", type=int, default=3, help="runs; best kept (%(default)s)")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{os.cpu_count()} cores (load {load}), numpy {np.__version__}, gymnasium "
        f"{gym.__version__}, jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    gym_best = max(steps_per_second(GlucoseEnv(), args.gym_steps) for _ in range(args.repeats))
    print(f"{'Glucose-v0 Gymnasium unwrapped':<34} {gym_best:>10,.0f} steps/s  (1.00 x)")
    for n_envs in args.envs:
        best, first = time_jax(n_envs, args.steps, args.repeats)
        print(
            f"{f'JAX port, vmap {n_envs} x scan {args.steps}':<34} {best:>10,.0f} steps/s  "
            f"({best / gym_best:.2f} x; first call incl. compile {first:.1f} s)"
        )


if __name__ == "__main__":
    main()
