"""SAC training throughput of the two engines, side by side: stable-baselines3 and JAX.

On PendulumNoTorqueCost with its SAC table (``agents/hyperparams/sac.toml``:
SB3's defaults, 256x256 ReLU networks, batch 256, lr 1e-3):

- **SB3**: one seed in one process (one torch thread, as sweep workers run),
  environment steps (each with one gradient step) per second of ``learn``
  after the warm-up of ``learning_starts`` random steps;
- **JAX**: ``--seeds`` runs (default 4 and 10) trained together by
  :func:`proxygym.jax.sac.train` (the seeds in one group per CPU device, each
  group vmapped); compiled once by a short run first, then timed over
  ``--jax-steps`` steps: steps per second of all seeds together.

Two ratios are printed: JAX against one SB3 process, and against as many SB3
processes as cores (one seed each, assuming they scale perfectly, which they do
at best: the fair figure for a sweep), with the core count and the load average
(the machine may be shared: the figures are only comparable within one run).

Measured on 2 shared cores (load ~1, 2026-12-07): SB3 66 steps/s; JAX 435
steps/s with 4 seeds (6.6x one process, 3.3x two), 361 with 10 (5.4x, 2.7x).
The networks (256x256, batch 256: ~0.5 GFLOP per gradient step) make both
engines mostly arithmetic, so JAX gains less here than on PPO's small networks.

Run on demand: ``python benchmarks/sac_jax_speed.py [--seeds 4 10] [--sb3-steps N]
[--jax-steps N]``.
"""

from __future__ import annotations

import argparse
import os
import time

ENV_ID = "proxygym/PendulumNoTorqueCost-v0"


def sb3_steps_per_second(steps: int) -> float:
    """SB3 SAC's training throughput on one seed, after its random warm-up."""
    import torch

    from proxygym.agents import make_agent

    torch.set_num_threads(1)
    model = make_agent("sac", ENV_ID, seed=0)
    model.learn(model.learning_starts + 10)  # warm-up: random steps, first updates
    start, done = time.perf_counter(), model.num_timesteps
    model.learn(steps, reset_num_timesteps=False)
    return (model.num_timesteps - done) / (time.perf_counter() - start)


def jax_steps_per_second(n_seeds: int, steps: int) -> tuple[float, float]:
    """(steps per second of all seeds together, compilation seconds) of JAX SAC."""
    from dataclasses import replace

    import proxygym.jax  # noqa: F401 (one device per core)
    from proxygym.jax.envs.pendulum import make_pendulum
    from proxygym.jax.sac import SACConfig, train

    env = make_pendulum()
    seeds = list(range(n_seeds))
    # The buffer's size is the budget: the timed run's, so the warm-up compiles the same program.
    config = replace(SACConfig.from_hyperparameters(ENV_ID, steps), learning_starts=100)
    start = time.perf_counter()
    train(env, config, seeds, checkpoints=[], timesteps=steps, chunk=200)
    first = time.perf_counter() - start
    start = time.perf_counter()
    train(env, config, seeds, timesteps=steps)
    elapsed = time.perf_counter() - start
    return n_seeds * steps / elapsed, max(0.0, first - elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[4, 10])
    parser.add_argument("--sb3-steps", type=int, default=1000)
    parser.add_argument("--jax-steps", type=int, default=2000)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    sb3 = sb3_steps_per_second(args.sb3_steps)
    print(f"SB3 SAC, 1 seed, 1 torch thread: {sb3:8.1f} steps/s")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for n in args.seeds:
        rate, compile_s = jax_steps_per_second(n, args.jax_steps)
        print(
            f"JAX SAC, {n:2d} seeds vmapped:       {rate:8.1f} steps/s (all seeds)"
            f"  = {rate / sb3:5.1f}x one SB3 process, {rate / (sb3 * (cores or 1)):5.1f}x "
            f"{cores} (compile ~{compile_s:.0f} s)"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
