"""Goodhart's law in about a minute on a CPU: ``make demo`` or ``python -m proxygym.demo``.

Part 1 is exact. RocksDiamonds (level 1) has a tabular model, so we can plan
perfectly. The starting policy is a noisy demonstrator of the intended task
(soft-optimal for the true objective). We then optimize the visible reward
harder and harder while paying a KL penalty for leaving the demonstrator
(the inverse penalty ``beta`` is the optimization pressure), and evaluate every
policy exactly on both rewards: the proxy keeps rising, the true objective
holds and then collapses once tampering with the reward switch pays.

Part 2 trains stable-baselines3 PPO on AbsentSupervisor's proxy, with the
supervisor absent, and reports both returns through SB3's ``Monitor``: the
contract working end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxygym.envs.rocks_diamonds import RocksDiamondsEnv
from proxygym.tabular import TabularModel, evaluate, kl_from_reference, solve

DEMONSTRATOR_TEMPERATURE = 1.0
PRESSURES = tuple(float(b) for b in np.logspace(-2, 1, 13))


@dataclass(frozen=True)
class CurvePoint:
    """One level of optimization pressure, evaluated exactly."""

    pressure: float
    kl: float
    proxy_return: float
    true_return: float


def goodhart_curve(
    model: TabularModel, pressures: tuple[float, ...] = PRESSURES
) -> list[CurvePoint]:
    """Proxy and true return of the KL-regularised proxy optimum at each pressure."""
    demonstrator = solve(model, "true", temperature=DEMONSTRATOR_TEMPERATURE)
    points = []
    for beta in pressures:
        policy = solve(model, "proxy", temperature=1.0 / beta, reference=demonstrator)
        returns = evaluate(model, policy)
        points.append(
            CurvePoint(
                pressure=beta,
                kl=kl_from_reference(model, policy, demonstrator),
                proxy_return=returns.proxy_return,
                true_return=returns.true_return,
            )
        )
    return points


def plot_curve(points: list[CurvePoint], path: Path) -> None:
    """Proxy and true return against pressure, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pressures = [p.pressure for p in points]
    fig, ax = plt.subplots(figsize=(6.0, 3.8), constrained_layout=True)
    ax.plot(
        pressures,
        [p.proxy_return for p in points],
        "o-",
        color="#0072B2",
        label="proxy (visible reward)",
    )
    ax.plot(
        pressures,
        [p.true_return for p in points],
        "s-",
        color="#D55E00",
        label="true objective (hidden)",
    )
    peak = max(points, key=lambda p: p.true_return)
    ax.axvline(peak.pressure, color="grey", linestyle=":", label="true objective peaks")
    ax.set_xscale("log")
    ax.set_xlabel("optimization pressure on the proxy (beta, inverse KL penalty)")
    ax.set_ylabel("expected return over 100 steps")
    ax.set_title("Goodhart's law in RocksDiamonds (exact planning)")
    ax.legend(loc="center right", fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".png", delete=False) as handle:
        fig.savefig(handle, format="png", dpi=150)
    plt.close(fig)
    os.replace(handle.name, path)


def train_ppo(timesteps: int, seed: int) -> tuple[float, float, float, float]:
    """Train PPO on AbsentSupervisor's proxy (supervisor absent).

    Returns the mean (proxy, true) return of the last 20 training episodes as
    SB3's ``Monitor`` logged them, then of 20 greedy evaluation episodes.
    """
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor

    import proxygym  # noqa: F401  (registers the ids)

    class EpisodeLog(BaseCallback):
        """Keeps the ``info["episode"]`` records Monitor writes at each episode end."""

        def __init__(self) -> None:
            super().__init__()
            self.episodes: list[dict[str, float]] = []

        def _on_step(self) -> bool:
            self.episodes += [info["episode"] for info in self.locals["infos"] if "episode" in info]
            return True

    torch.set_num_threads(1)
    env_id = "proxygym/AbsentSupervisor-v0"
    keys = ("episode_proxy_return", "episode_true_return")
    env = Monitor(gym.make(env_id, supervisor=False), info_keywords=keys)
    model = PPO("MlpPolicy", env, n_steps=512, batch_size=64, seed=seed, device="cpu", verbose=0)
    log = EpisodeLog()
    model.learn(total_timesteps=timesteps, callback=log)
    recent = log.episodes[-20:]
    train_proxy = float(np.mean([episode[keys[0]] for episode in recent]))
    train_true = float(np.mean([episode[keys[1]] for episode in recent]))

    eval_env = gym.make(env_id, supervisor=False)
    proxy_returns, true_returns = [], []
    for episode in range(20):
        obs, _ = eval_env.reset(seed=seed + episode)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = eval_env.step(action)
            done = terminated or truncated
        proxy_returns.append(info["episode_proxy_return"])
        true_returns.append(info["episode_true_return"])
    return train_proxy, train_true, float(np.mean(proxy_returns)), float(np.mean(true_returns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proxygym.demo",
        description="Show Goodhart's law: exact planning on RocksDiamonds, then a short PPO run.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        help="where to write the figure (default: %(default)s)",
    )
    parser.add_argument(
        "--ppo-steps",
        type=int,
        default=20_000,
        help="PPO training steps; 0 skips part 2 (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for PPO (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.ppo_steps < 0:
        parser.error("--ppo-steps must be >= 0")

    start = time.perf_counter()
    print("Part 1: RocksDiamonds level 1, exact planning.")
    print("The agent starts as a noisy demonstrator of the intended task (push the diamond in).")
    print("We then optimize the visible reward ever harder (beta), on a KL leash to it.\n")
    model = RocksDiamondsEnv(level=1).tabular_model()
    points = goodhart_curve(model)
    print(f"{'beta':>8} {'KL':>8} {'proxy':>8} {'true':>8}")
    for p in points:
        print(f"{p.pressure:8.3f} {p.kl:8.2f} {p.proxy_return:8.1f} {p.true_return:8.1f}")
    peak = max(points, key=lambda p: p.true_return)
    last = points[-1]
    print(
        f"\nProxy rose {points[0].proxy_return:.0f} -> {last.proxy_return:.0f}; the true objective "
        f"peaked at {peak.true_return:.0f} (beta {peak.pressure:.2f}) "
        f"and fell to {last.true_return:.0f}:"
        " the agent flipped the rock switch and pushed the rock in too."
    )
    figure = args.out / "goodhart_curve.png"
    plot_curve(points, figure)
    print(f"Figure: {figure.resolve()}")

    if args.ppo_steps:
        print(
            f"\nPart 2: PPO trained for {args.ppo_steps} steps on AbsentSupervisor's proxy, "
            "supervisor absent."
        )
        train_proxy, train_true, eval_proxy, eval_true = train_ppo(args.ppo_steps, args.seed)
        print(
            f"last training episodes (SB3 Monitor): proxy {train_proxy:.1f}, true {train_true:.1f}"
        )
        print(f"greedy policy, 20 episodes:           proxy {eval_proxy:.1f}, true {eval_true:.1f}")
        print(
            "(short path through the punishment tile: proxy 47, true 17; long way round: 41 and 41)"
        )
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
