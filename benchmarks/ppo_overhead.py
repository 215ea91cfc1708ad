"""How much of PPO's training time the environment costs.

For every registered environment: PPO training throughput (env steps/s) with
its tuned hyperparameters, divided by the throughput of the same PPO on a
trivial constant environment with the same observation and action spaces and
episodes as long as the environment's own under random actions and ending the
same way, terminated or truncated (so both pay the same per-episode work of
resets, Monitor, the vector env and PPO's bootstrapping), made through
``gym.make`` so both carry the same wrappers (Gymnasium's checker, order
enforcing, time limit; SB3's Monitor).
A ratio near 1 means the environment's cost is negligible next to the
learner's. Target: >= 0.9. Throughput is measured in CPU time (one process,
one torch thread), which other jobs on the machine do not inflate. Even so,
on our 2-core VM two identical runs differ by up to 20 %, so each repeat runs
the environment and the constant env back to back (alternating which goes
first) and the headline is the median of those paired ratios, with their range.

A second, lower-variance estimate of the same ratio comes from inside the
runs: each run also times the vector env's ``reset`` and ``step_wait`` (the
environments, their wrappers and Monitor; everything PPO does not), so
``1 - (env's stepping time - constant's stepping time) / env's run time`` is
the ratio that the two runs would have if PPO's own work had cost the same in
both. Its assumption, that PPO's work does not depend on the environment, holds
by construction here (same spaces, network, rollout size and episode shape),
and a noisy run inflates both of its terms together, so it varies much less
than the direct ratio.

Run on demand: ``python benchmarks/ppo_overhead.py [--steps N] [--repeats R] [--env ID ...]``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

import proxygym
from proxygym.agents import EPISODE_KEYS, load_hyperparameters, make_env
from proxygym.agents.factory import normalize_rewards, resolve_schedules


class ConstantEnv(gym.Env):
    """Same spaces as the real environment; every step returns the same zeros."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        episode_steps: int = 100,
        terminates: bool = False,
        render_mode: str | None = None,
    ) -> None:
        self.render_mode = render_mode
        self.episode_steps = episode_steps
        self.terminates = terminates
        self.observation_space = observation_space
        self.action_space = action_space
        if observation_space.shape is None:
            raise TypeError(f"the observation space {observation_space} has no fixed shape")
        self._observation = np.zeros(observation_space.shape, observation_space.dtype)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._steps = 0
        return self._observation.copy(), {}

    def step(self, action: Any):
        self._steps += 1
        info = {"proxy_reward": 0.0, "true_reward": 0.0}
        info.update(dict.fromkeys(EPISODE_KEYS, 0.0))
        done = self._steps >= self.episode_steps
        terminated, truncated = done and self.terminates, done and not self.terminates
        return self._observation.copy(), 0.0, terminated, truncated, info


CONSTANT_ID = "proxygym-bench/Constant-v0"
# A class is a valid entry point (gym.make also reads its metadata), but its required
# constructor arguments do not fit the stubs' EnvCreator protocol, ``(**kwargs) -> Env``.
gym.register(CONSTANT_ID, entry_point=ConstantEnv, max_episode_steps=100)  # type: ignore[arg-type]


def episode_shape(env_id: str, n_steps: int = 2_000) -> tuple[int, bool]:
    """Mean episode length of ``env_id`` under random actions, and whether most end terminated.

    Truncated episodes cost PPO an extra value prediction (it bootstraps from
    the final observation), so the constant env must end its episodes the same way.
    """
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    lengths: list[int] = []
    ends_terminated: list[bool] = []
    length = 0
    while sum(lengths) < n_steps:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        length += 1
        if terminated or truncated:
            env.reset()
            lengths.append(length)
            ends_terminated.append(terminated)
            length = 0
    return max(1, round(float(np.mean(lengths)))), float(np.mean(ends_terminated)) > 0.5


class TimedVecEnv(VecEnvWrapper):
    """Adds up the CPU time spent in the wrapped vector env's ``reset`` and ``step_wait``."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self) -> VecEnvObs:
        start = time.process_time()
        observation = self.venv.reset()
        self.seconds += time.process_time() - start
        return observation

    def step_wait(self) -> VecEnvStepReturn:
        start = time.process_time()
        result = self.venv.step_wait()
        self.seconds += time.process_time() - start
        return result


def run_seconds(env: VecEnv, settings: dict[str, Any], steps: int) -> tuple[float, float]:
    """CPU seconds of PPO training ``steps`` on ``env``, and how many of them the env took.

    CPU time (one process, one torch thread) is what the environment and the
    learner cost; unlike wall time it does not grow when other jobs share the cores.
    """
    timed = TimedVecEnv(env)
    # Reward normalisation, where tuned, wraps the timed env: PPO's cost, not the env's.
    trained = normalize_rewards(
        timed, settings.pop("normalize_reward", False), settings.get("gamma", 0.99)
    )
    model = PPO(
        settings.pop("policy", "MlpPolicy"), trained, seed=0, device="cpu", verbose=0, **settings
    )
    timed.seconds = 0.0  # PPO's constructor resets the env; count only training
    start = time.process_time()
    model.learn(steps)
    return time.process_time() - start, timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=16_384, help="PPO steps per run (default: %(default)s)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="pairs of runs (env, constant) per environment (default: %(default)s)",
    )
    parser.add_argument(
        "--env", nargs="+", default=None, metavar="ID", help="ids to measure (default: all)"
    )
    args = parser.parse_args()
    ids = args.env or [record.id for record in proxygym.list_envs()]
    torch.set_num_threads(1)
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, 1 torch thread")
    print(
        "steps/s of CPU time, medians of the repeats; ratio = median over repeats of "
        "env / constant (each repeat runs both, alternating which goes first), and its range;\n"
        "in-run = median of 1 - (env's stepping time - constant's) / env's run time, "
        "and its range; env share = env's stepping time / its run time"
    )
    print(
        f"{'environment':<32} {'env steps/s':>12} {'constant':>12} {'ratio':>7}  {'range':<9}"
        f" {'in-run':>7}  {'range':<9} {'env share':>9}"
    )
    for env_id in ids:
        settings = load_hyperparameters("ppo", env_id)
        n_envs = settings.pop("n_envs")
        settings.pop("n_timesteps")
        settings = resolve_schedules(settings)
        probe = gym.make(env_id)
        episode_steps, terminates = episode_shape(env_id)
        spaces = {
            "observation_space": probe.observation_space,
            "action_space": probe.action_space,
            "episode_steps": episode_steps,
            "terminates": terminates,
        }
        # per repeat: {"env": (run seconds, stepping seconds), "constant": (...)}
        pairs: list[dict[str, tuple[float, float]]] = []
        for repeat in range(args.repeats):
            baseline = make_vec_env(
                CONSTANT_ID,
                n_envs,
                seed=0,
                env_kwargs=spaces,
                monitor_kwargs={"info_keywords": EPISODE_KEYS},
            )
            runs = {"env": make_env(env_id, n_envs, 0), "constant": baseline}
            order = ("env", "constant") if repeat % 2 == 0 else ("constant", "env")
            pairs.append(
                {name: run_seconds(runs[name], dict(settings), args.steps) for name in order}
            )
        real = float(np.median([args.steps / pair["env"][0] for pair in pairs]))
        constant = float(np.median([args.steps / pair["constant"][0] for pair in pairs]))
        ratios = sorted(pair["constant"][0] / pair["env"][0] for pair in pairs)
        in_run = sorted(
            1.0 - (pair["env"][1] - pair["constant"][1]) / pair["env"][0] for pair in pairs
        )
        share = float(np.median([pair["env"][1] / pair["env"][0] for pair in pairs]))
        spread, in_run_spread = (f"{values[0]:.2f}-{values[-1]:.2f}" for values in (ratios, in_run))
        print(
            f"{env_id:<32} {real:>12,.0f} {constant:>12,.0f} {np.median(ratios):>7.3f}  "
            f"{spread:<9} {np.median(in_run):>7.3f}  {in_run_spread:<9} {share:>9.3f}"
        )


if __name__ == "__main__":
    main()
