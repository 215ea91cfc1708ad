"""Policies by name: what "random", "proxy-optimal", "true-optimal" or a saved model's path means.

Every tool that plays a policy it was handed by name (``proxygym render``,
``proxygym play``'s exact returns, the detector, the experiments' recordings)
resolves it here, once: ``random`` is uniform and seeded; ``proxy-optimal``
and ``true-optimal`` are the exact finite-horizon optima of
:mod:`proxygym.planning.tabular`, for environments with an exact model
(sampling among tied optimal actions as the solved policy does, seeded by
the episode's seed, so their average returns are the exact ones); any
other string is the path of a saved stable-baselines3 model, whatever
trained it. A policy is a callable ``observation -> action``.

torch and stable-baselines3 load only when a saved model is played.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from proxygym.model import exact_model, model_reason
from proxygym.planning.tabular import (
    Evaluation,
    Objective,
    TabularModel,
    TabularPolicy,
    model_of,
    optimal_returns,
    solve,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

#: Policies known by name; anything else given as a string is a path to a saved model.
POLICY_NAMES: tuple[str, ...] = ("random", "proxy-optimal", "true-optimal")
#: One observation to one action.
PolicyFn = Callable[[np.ndarray], Any]


# -- exact policies ---------------------------------------------------------------------------


def tabular_model_of(env: gym.Env[Any, Any], env_id: str) -> TabularModel:
    """The environment's exact model, or a ValueError saying why it has none and what to use."""
    model = exact_model(env)
    if model is None:
        raise ValueError(
            f"{env_id} has no exact solution ({model_reason(env)}); use --policy random or a "
            "saved model (PATH to a .zip) instead of proxy-optimal / true-optimal"
        )
    return model


def exact_optima(env: gym.Env[Any, Any]) -> dict[str, Evaluation] | None:
    """Exact returns of the proxy-optimal and true-optimal policies, or None without a model.

    Keys ``"proxy-optimal"`` and ``"true-optimal"``; each value holds both
    expected returns (ties between optimal actions split evenly).
    """
    model = model_of(env)
    if model is None:
        return None
    return {
        f"{objective}-optimal": returns for objective, returns in optimal_returns(model).items()
    }


def _state_key(env: gym.Env[Any, Any], index: dict[Hashable, int]) -> int:
    """Index of the environment's current state in its tabular model."""
    state = env.unwrapped.state  # type: ignore[attr-defined]
    if state in index:
        return index[state]
    # OptionPicking's model states are what the agent sees (the displayed offers).
    displayed = getattr(state, "displayed", None)
    if displayed is not None and displayed in index:
        return index[displayed]
    raise ValueError(f"state {state!r} is not in the tabular model of {env.spec}")


def exact_policy(
    env: gym.Env[Any, Any], env_id: str, objective: Objective, seed: int = 0
) -> PolicyFn:
    """The exact ``objective``-optimal policy acting in ``env`` (reads its state and step).

    It is the policy :func:`proxygym.planning.tabular.solve` defines: where
    optimal actions tie, it samples among them with the solved policy's
    probabilities (evenly), from a generator seeded with ``seed`` (the
    episode's reset seed), so a recording is reproducible and the mean
    returns over many episodes are the exact ones :func:`exact_optima`
    reports (and ``proxygym play`` shows). On BoatRace the proxy-optimal
    policy thus flips coins between lapping and shuttling (true return about
    49 on average), rather than always shuttling.
    """
    model = tabular_model_of(env, env_id)
    policy: TabularPolicy = solve(model, objective)
    index = model.index
    rng = np.random.default_rng(seed)

    def act(observation: np.ndarray) -> int:
        t = int(env.unwrapped.elapsed_steps)  # type: ignore[attr-defined]
        return policy.act(t, _state_key(env, index), rng)

    return act


# -- saved models -----------------------------------------------------------------------------


def detect_algo(path: str | Path) -> str:
    """``"ppo"``, ``"a2c"``, ``"dqn"``, ``"sac"`` or ``"td3"``: which algorithm saved ``path``.

    SB3 zips hold the algorithm's settings in their ``data`` member; PPO and
    A2C share a policy class, so the settings only one of them has decide.
    SAC and TD3 are told apart first: SAC has a ``target_update_interval``
    too, like DQN, and TD3 alone has a ``policy_delay``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a saved stable-baselines3 model: {error}") from error
    if "policy_delay" in data:
        return "td3"
    if "target_entropy" in data:
        return "sac"
    if "target_update_interval" in data:
        return "dqn"
    if "clip_range" in data:
        return "ppo"
    if "n_steps" in data:
        return "a2c"
    raise ValueError(f"cannot tell which algorithm saved {path}; pass --algo ppo|a2c|dqn|sac|td3")


def load_agent(path: str | Path, algo: str | None = None) -> BaseAlgorithm:
    """Load a saved SB3 model (``algo`` detected from the zip when None) on the CPU."""
    from proxygym.agents.factory import ALGORITHMS  # torch and SB3 load only when one is played

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"policy {str(path)!r} is neither one of {list(POLICY_NAMES)} nor a saved model file"
        )
    name = (algo or detect_algo(path)).lower()
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[name].load(path, device="cpu")


def agent_policy(model: BaseAlgorithm) -> PolicyFn:
    """The greedy action of a trained agent (what sweeps evaluate at temperature 0)."""

    def act(observation: np.ndarray) -> Any:
        action, _ = model.predict(observation, deterministic=True)
        return action.item() if np.ndim(action) == 0 else action

    return act


def resolve_policy(
    policy: str | Path | PolicyFn,
    env: gym.Env[Any, Any],
    env_id: str,
    seed: int,
    algo: str | None = None,
) -> PolicyFn:
    """Turn a policy name, a model path or a callable into ``observation -> action`` for ``env``."""
    if callable(policy):
        return policy
    if policy == "random":
        env.action_space.seed(seed)
        return lambda observation: env.action_space.sample()
    if policy in ("proxy-optimal", "true-optimal"):
        objective: Objective = "proxy" if policy == "proxy-optimal" else "true"
        return exact_policy(env, env_id, objective, seed)
    return agent_policy(load_agent(policy, algo))
