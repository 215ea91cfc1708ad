"""PPO training throughput of the two engines, side by side: stable-baselines3 and JAX.

For each environment (default: BoatRace, StatusLamp, TrafficMerge), with its
tuned PPO hyperparameters (``agents/hyperparams/ppo.toml``, the same network):

- **SB3**: one seed in one process (one torch thread, as sweep workers run),
  environment steps per second of ``learn``, after a short warm-up;
- **JAX, 20-seed run**: a whole run of ``--seeds`` seeds (default 20) at the
  tuned budget, as the sweeps train them (:func:`proxygym.jax.ppo.train`:
  the seeds in one group per CPU device, each group vmapped in one compiled
  call), compilation included (the compilation cache off, so nothing is reused);
- **JAX, steady state**: the same run again, compiled: steps per second of
  all seeds together.

Each environment's three figures are measured one after the other in the same
run, and the ratios to SB3 are printed with the core count. Targets: steady
state >= 20x SB3, the whole run >= 5x.

Run on demand: ``python benchmarks/engine_speed.py [--env ID ...] [--seeds N]
[--sb3-steps N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

DEFAULT_ENVS = ("proxygym/BoatRace-v0", "proxygym/StatusLamp-v0", "proxygym/TrafficMerge-v0")


def sb3_steps_per_second(env_id: str, steps: int) -> float:
    """SB3 PPO's training throughput on one seed (after a one-rollout warm-up)."""
    import torch

    from proxygym.agents import make_agent

    torch.set_num_threads(1)
    model = make_agent("ppo", env_id, seed=0)
    model.learn(model.n_steps * model.n_envs)  # warm-up: first rollout, first update
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return (model.num_timesteps - model.n_steps * model.n_envs) / (time.perf_counter() - start)


def jax_figures(env_id: str, seeds: int, budget: int) -> dict[str, float]:
    """JAX PPO: a whole ``seeds``-seed run with its compilation, then the same run compiled."""
    import jax

    from proxygym.agents.hyperparameters import tuned_budget
    from proxygym.jax import envs as jax_envs
    from proxygym.jax.ppo import PPOConfig, Trainer, train

    budget = budget or tuned_budget("ppo", env_id)
    env, params = jax_envs.make(env_id)
    config = PPOConfig.from_hyperparameters(env_id, budget)
    trainer = Trainer(env, params, config)
    steps = config.iterations * config.rollout * seeds

    start = time.perf_counter()
    train(trainer, params, range(seeds), [])  # compiles, then trains
    whole = time.perf_counter() - start
    start = time.perf_counter()
    train(trainer, params, range(seeds), [])  # the compiled programs again
    steady = steps / (time.perf_counter() - start)
    return {
        "steady": steady,
        "whole_run": steps / whole,
        "whole_seconds": whole,
        "devices": len(jax.local_devices()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="+", default=list(DEFAULT_ENVS), help="environment ids")
    parser.add_argument(
        "--seeds", type=int, default=20, help="seeds vmapped (default: %(default)s)"
    )
    parser.add_argument(
        "--sb3-steps", type=int, default=16_384, help="SB3 steps timed (default: %(default)s)"
    )
    parser.add_argument(
        "--budget", type=int, default=0, help="JAX run budget per seed (default: tuned)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="repeats; medians reported (default: %(default)s)"
    )
    args = parser.parse_args()

    import jax

    import proxygym.jax  # noqa: F401  (one CPU device per core, before JAX starts)

    # No compilation cache: every whole run pays its compilation, as on a new machine.
    jax.config.update("jax_enable_compilation_cache", False)
    print(
        f"{os.cpu_count()} cores; jax {jax.__version__} on {len(jax.local_devices())} "
        f"devices; {args.seeds} seeds; "
        f"medians of {args.repeats} repeat(s)"
    )
    header = (
        f"{'environment':<28} {'SB3 steps/s':>12} {'JAX steady':>12} {'ratio':>7}"
        f" {'JAX run incl. compile':>22} {'ratio':>7}"
    )
    print(header)
    for env_id in args.env:
        sb3, steady, whole, seconds = [], [], [], []
        for _ in range(args.repeats):
            sb3.append(sb3_steps_per_second(env_id, args.sb3_steps))
            figures = jax_figures(env_id, args.seeds, args.budget)
            jax.clear_caches()  # the next repeat compiles again
            steady.append(figures["steady"])
            whole.append(figures["whole_run"])
            seconds.append(figures["whole_seconds"])
        s, j, w = statistics.median(sb3), statistics.median(steady), statistics.median(whole)
        run = f"{w:,.0f} ({statistics.median(seconds):.0f} s)"
        print(
            f"{env_id.removeprefix('proxygym/'):<28} {s:>12,.0f} {j:>12,.0f} {j / s:>6.1f}x"
            f" {run:>22} {w / s:>6.1f}x"
        )


if __name__ == "__main__":
    main()
