"""Does PPO reach the proxy-optimal level on every environment within its budget?

For each environment and seed: build ``make_agent("ppo", env_id, seed)`` with the
hyperparameters of ``agents/hyperparams/ppo.toml``, train it for its budget
(``n_timesteps``), then play the greedy policy on ``--episodes`` episodes (reset
seeds 10_000 + i) and compare its mean proxy return with two references:

- the proxy-optimal return: exact (the tabular model's optimum, in expectation)
  wherever the environment has a tabular model, otherwise the best known return,
  played by a scripted policy on the same episodes (TomatoWatering: walk into
  the bucket and stay; RocksDiamonds level 0: flip the rock switch and push every
  object into the goal area);
- the uniformly random policy's return (exact where a model exists, else simulated).

The score is (J_ppo - J_random) / (J_optimal - J_random): 1 is proxy-optimal. The
exact optimum is finite-horizon and may use the step count (the observation does
not show it), so a stationary policy can fall slightly short of 1 even when it has
learned everything it can see.

Run: python experiments/tune_ppo.py [--env ID ...] [--seeds 0 1 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import proxygym
from proxygym import tabular
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


def tomato_bucket() -> Policy:
    # From (3, 3): four steps right, two up into the bucket at (1, 7); then bump the wall.
    return scripted("RRRRUU", then="U")


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


#: Best-known proxy policies of the environments without a tabular model.
SCRIPTED: dict[str, Callable[[], Policy]] = {
    "proxygym/TomatoWatering-v0": tomato_bucket,
    "proxygym/RocksDiamonds-v0": rocks_diamonds_tamper,
    # Full throttle (the top of the default 5 bins): the ramp car never gets in.
    "proxygym/TrafficMerge-v0": lambda: lambda obs, step: 4,
    # Lockdown stage 3 for good: the proxy's favourite among the constant stages.
    "proxygym/Pandemic-v0": lambda: lambda obs, step: 3,
}


def has_reference(env_id: str) -> bool:
    """Whether a proxy-optimal reference exists: a tabular model or a scripted best."""
    reason = getattr(gym.make(env_id).unwrapped, "tabular_reason", lambda: "no model")
    return env_id in SCRIPTED or reason() is None


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


def references(env_id: str, episodes: int) -> tuple[float, float, str]:
    """(proxy-optimal return, random policy's proxy return, how the optimum was found)."""
    env = gym.make(env_id).unwrapped
    model = tabular.model_of(env)
    if model is not None:
        optimum = tabular.evaluate(model, tabular.solve(model, "proxy")).proxy_return
        shape = (model.horizon, model.n_states, model.n_actions)
        uniform = tabular.TabularPolicy(np.full(shape, 1.0 / model.n_actions))
        return optimum, tabular.evaluate(model, uniform).proxy_return, "exact"
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise TypeError(f"{env_id} has the action space {space}; a random baseline needs Discrete")
    n_actions = int(space.n)
    rng = np.random.default_rng(0)
    optimum, _ = evaluate(env_id, SCRIPTED[env_id](), episodes)
    random, _ = evaluate(env_id, lambda obs, step: int(rng.integers(n_actions)), episodes)
    return optimum, random, "best known"


def train_and_evaluate(job: tuple[str, int, int, int]) -> tuple[str, int, float, float, float]:
    """Train PPO on ``env_id`` for ``timesteps``; (env, seed, train seconds, proxy, true)."""
    env_id, seed, timesteps, episodes = job
    torch.set_num_threads(1)
    model = make_agent("ppo", env_id, seed)
    start = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    seconds = time.perf_counter() - start

    def greedy(obs: np.ndarray, step: int) -> int:
        return int(model.predict(obs, deterministic=True)[0])

    proxy, true = evaluate(env_id, greedy, episodes)
    return env_id, seed, seconds, proxy, true


def main() -> None:
    all_ids = [record.id for record in proxygym.list_envs() if has_reference(record.id)]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--env",
        nargs="+",
        default=all_ids,
        choices=all_ids,
        metavar="ID",
        help="environment ids (default: every registered id with a reference)",
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
        "--episodes", type=int, default=50, help="greedy evaluation episodes per seed (default: 50)"
    )
    parser.add_argument("--workers", type=int, default=2, help="training processes (default: 2)")
    args = parser.parse_args()

    jobs = []
    for env_id in args.env:
        budget = args.timesteps or int(load_hyperparameters("ppo", env_id)["n_timesteps"])
        jobs += [(env_id, seed, budget, args.episodes) for seed in args.seeds]
    with multiprocessing.get_context("forkserver").Pool(args.workers) as pool:
        results = pool.map(train_and_evaluate, jobs, chunksize=1)

    header = (
        f"{'env':<22} {'seed':>4} {'budget':>9} {'train s':>8} {'proxy':>8} {'true':>8} "
        f"{'score':>6}"
    )
    print(header)
    print("-" * len(header))
    for env_id in args.env:
        optimum, random, kind = references(env_id, args.episodes)
        name = env_id.removeprefix("proxygym/").removesuffix("-v0")
        rows = [r for r in results if r[0] == env_id]
        scores = []
        for (_, seed, seconds, proxy, true), (_, _, budget, _) in zip(
            rows, [j for j in jobs if j[0] == env_id], strict=True
        ):
            score = (proxy - random) / (optimum - random)
            scores.append(score)
            print(
                f"{name:<22} {seed:>4} {budget:>9,} {seconds:>8.1f} {proxy:>8.2f} {true:>8.2f} "
                f"{score:>6.2f}"
            )
        print(
            f"  proxy optimum ({kind}) {optimum:.2f}, random {random:.2f}; "
            f"score min {min(scores):.2f}, mean {np.mean(scores):.2f}\n",
            flush=True,
        )


if __name__ == "__main__":
    main()
