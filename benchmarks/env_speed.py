"""Steps per second of every proxygym environment with random actions.

Run on demand: ``python benchmarks/env_speed.py [--steps N] [--repeats R]``.
Each environment is measured unwrapped (the class itself) and through
``gym.make`` (with Gymnasium's checker, order-enforcing and time-limit
wrappers). Actions are drawn up front so only stepping and resetting are
timed. Prints the best of ``--repeats`` runs. Target: BoatRace unwrapped at
least 150,000 steps/s on a 2-core machine (the original ran about 12,000).
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

import proxygym


def steps_per_second(env: gym.Env, n_steps: int, seed: int = 0) -> float:
    rng, space = np.random.default_rng(seed), env.action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = rng.integers(space.n, size=n_steps).tolist()
    elif isinstance(space, gym.spaces.Box):  # bounded (the wrapped continuous-control examples)
        draws = rng.uniform(space.low, space.high, (n_steps, *space.shape))
        actions = list(draws.astype(space.dtype))
    else:
        raise TypeError(f"no random actions for the action space {space}")
    env.reset(seed=seed)
    step, reset = env.step, env.reset
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = step(action)
        if terminated or truncated:
            reset()
    return n_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=200_000, help="steps per run (default: %(default)s)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs per setting; best is kept (default: %(default)s)",
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, numpy {np.__version__}, gymnasium {gym.__version__}")
    print(
        f"{'environment':<34} {'unwrapped':>12} {'gym.make':>12}"
        f"   (steps/s, best of {args.repeats})"
    )
    for record in proxygym.list_envs():
        unwrapped = max(
            steps_per_second(gym.make(record.id).unwrapped, args.steps) for _ in range(args.repeats)
        )
        wrapped = max(
            steps_per_second(gym.make(record.id), args.steps) for _ in range(args.repeats)
        )
        print(f"{record.id:<34} {unwrapped:>12,.0f} {wrapped:>12,.0f}")


if __name__ == "__main__":
    main()
