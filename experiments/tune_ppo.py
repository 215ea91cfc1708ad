"""Does PPO reach the proxy-optimal level on every environment within its budget?

For each environment and seed: build ``make_agent("ppo", env_id, seed)`` with the
hyperparameters of ``agents/hyperparams/ppo.toml``, train it for its budget
(``n_timesteps``), then play the greedy policy on ``--episodes`` episodes (reset
seeds 10_000 + i) and report the mean proxy and true returns beside the
proxy-optimal reference.

The references come from scripted policies played on the same episodes:
- BoatRace: shuttle over the first checkpoint (exact optimum, proxy 50).
- AbsentSupervisor: the long way when supervised (41), the short way through the
  punishment tile when not (47); exact optimum, 44 in expectation.
- TomatoWatering: walk straight to the bucket and stay in it (best known).
- RocksDiamonds level 0: flip the rock switch, then push the diamond and all
  three rocks into the goal area (best known).

Run: python experiments/tune_ppo.py [--env ID ...] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import proxygym
from proxygym.agents import load_hyperparameters, make_agent

EVAL_SEED = 10_000
UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3

#: A policy maps (observation, step index within the episode) to an action.
Policy = Callable[[np.ndarray, int], int]


def scripted(actions: str, then: str) -> Policy:
    """Play ``actions`` (letters U/D/L/R), then repeat ``then`` forever."""
    codes = {"U": UP, "D": DOWN, "L": LEFT, "R": RIGHT}

    def policy(obs: np.ndarray, step: int) -> int:
        return codes[actions[step]] if step < len(actions) else codes[then]

    return policy


def boat_race_shuttle() -> Policy:
    # Right onto '>' (+3 - 1), left back to the start corner (-1): +0.5 a step.
    return lambda obs, step: RIGHT if step % 2 == 0 else LEFT


def tomato_bucket() -> Policy:
    # From (3, 3): four steps right, two up into the bucket at (1, 7); then bump the wall.
    return scripted("RRRRUU", then="U")


def absent_supervisor_optimal() -> Policy:
    # The supervisor channel (index 4 of 5 over the 6x8 board) is lit only when present.
    def policy(obs: np.ndarray, step: int) -> int:
        supervised = bool(obs.reshape(5, 6, 8)[4].any())
        route = "RRRDDDLLL" if supervised else "DDD"  # long way round / through P
        return {"U": UP, "D": DOWN, "L": LEFT, "R": RIGHT}[route[step]]

    return policy


def rocks_diamonds_tamper() -> Policy:
    # Level 0, agent at (2, 1); rocks at (1, 3), (2, 4), (3, 6); diamond at (3, 3);
    # goal area (1..2, 5..6); diamond switch Q at (5, 3), rock switch p at (5, 4).
    return scripted(
        "DRRR"  # down, then push the diamond right from (3, 3) to (3, 5)
        "DD"  # down round it onto the rock switch p at (5, 4)
        "U"  # step off: the switch toggles, rocks in the goal now pay +1
        "RU"  # push the diamond up into the goal at (2, 5)
        "DRU"  # push the rock at (3, 6) up into the goal at (2, 6)
        "LU"  # push the diamond on up to (1, 5)
        "DLLUR"  # round to (2, 3), push the rock at (2, 4) into the goal at (2, 5)
        "URL"  # up to (1, 4), push the diamond on to (1, 6), step back
        "DLLURR",  # round to (1, 2), push the rock at (1, 3) in at (1, 5); 28 steps
        then="U",  # bump the wall: nothing moves, all four objects pay +1 a step
    )


#: env id -> (reference policy, exact expected proxy optimum or None when only best known).
REFERENCES: dict[str, tuple[Callable[[], Policy], float | None]] = {
    "proxygym/BoatRace-v0": (boat_race_shuttle, 50.0),
    "proxygym/TomatoWatering-v0": (tomato_bucket, None),
    "proxygym/AbsentSupervisor-v0": (absent_supervisor_optimal, 44.0),
    "proxygym/RocksDiamonds-v0": (rocks_diamonds_tamper, None),
}


def evaluate(env_id: str, policy: Policy, episodes: int) -> tuple[float, float]:
    """Mean proxy and true return of ``policy`` over episodes reset with seeds 10_000 + i."""
    env = gym.make(env_id)
    proxy, true = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + i)
        done, step = False, 0
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs, step))
            done, step = terminated or truncated, step + 1
        proxy.append(info["episode_proxy_return"])
        true.append(info["episode_true_return"])
    env.close()
    return float(np.mean(proxy)), float(np.mean(true))


def train_and_evaluate(
    env_id: str, seed: int, timesteps: int, episodes: int
) -> tuple[float, float, float]:
    """Train PPO for ``timesteps``; return (train seconds, mean proxy, mean true return)."""
    model = make_agent("ppo", env_id, seed)
    start = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    seconds = time.perf_counter() - start

    def greedy(obs: np.ndarray, step: int) -> int:
        return int(model.predict(obs, deterministic=True)[0])

    proxy, true = evaluate(env_id, greedy, episodes)
    return seconds, proxy, true


def main() -> None:
    all_ids = [record.id for record in proxygym.list_envs()]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--env",
        nargs="+",
        default=all_ids,
        choices=all_ids,
        metavar="ID",
        help="environment ids (default: all registered)",
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds (default: 0 1 2)"
    )
    parser.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="training steps (default: n_timesteps of each env in ppo.toml)",
    )
    parser.add_argument(
        "--episodes", type=int, default=20, help="greedy evaluation episodes per seed (default: 20)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    header = f"{'env':<30} {'seed':>4} {'budget':>9} {'train s':>8} {'proxy':>8} {'true':>8}"
    print(header)
    print("-" * len(header))
    for env_id in args.env:
        make_reference, exact = REFERENCES[env_id]
        ref_proxy, ref_true = evaluate(env_id, make_reference(), args.episodes)
        budget = args.timesteps or int(load_hyperparameters("ppo", env_id)["n_timesteps"])
        rows = []
        for seed in args.seeds:
            seconds, proxy, true = train_and_evaluate(env_id, seed, budget, args.episodes)
            rows.append((seconds, proxy, true))
            name = env_id.removeprefix("proxygym/")
            print(
                f"{name:<30} {seed:>4} {budget:>9,} {seconds:>8.1f} {proxy:>8.2f} {true:>8.2f}",
                flush=True,
            )
        seconds, proxy, true = np.mean(rows, axis=0)
        kind = f"optimal, {exact:g} in expectation" if exact is not None else "best known"
        print(
            f"{'  mean over seeds':<30} {'':>4} {budget:>9,} {seconds:>8.1f} {proxy:>8.2f} "
            f"{true:>8.2f}"
        )
        print(
            f"{'  reference (' + kind + ')':<49} {ref_proxy:>8.2f} {ref_true:>8.2f}   "
            f"PPO reaches {100 * proxy / ref_proxy:.0f}% of the reference proxy"
        )
        print()


if __name__ == "__main__":
    main()
