"""Build stable-baselines3 agents for proxygym environments.

Hyperparameters live in ``hyperparams/<algo>.toml`` beside this file, one
table per environment id over a ``[default]`` table, in the spirit of
rl-baselines3-zoo. :func:`make_agent` trains on the proxy by default; with
``oracle=True`` the same algorithm sees the true objective instead (through
:class:`proxygym.wrappers.TrueObjective`), which is the reference agent.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

import proxygym  # noqa: F401  (registers the ids)
from proxygym.core import EPISODE_KEYS
from proxygym.wrappers import TrueObjective

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN}
HYPERPARAMS_DIR = Path(__file__).with_name("hyperparams")
#: Keys of the hyperparameter files that are not arguments of the algorithm.
SETUP_KEYS = ("n_envs", "n_timesteps", "normalize_reward")
#: Settings that may be written ``"lin_<start>"``: decay linearly from start to 0 over training.
SCHEDULED_KEYS = ("learning_rate", "clip_range")


def resolve_schedules(settings: dict[str, Any]) -> dict[str, Any]:
    """Turn ``"lin_<start>"`` strings (rl-baselines3-zoo's notation) into SB3 schedules.

    A learning rate that decays to 0 keeps exploration-heavy settings (large
    steps, many epochs) from undoing late in training what they found early.
    """
    resolved = dict(settings)
    for key in SCHEDULED_KEYS:
        value = resolved.get(key)
        if isinstance(value, str):
            try:
                if not value.startswith("lin_"):
                    raise ValueError
                start = float(value.removeprefix("lin_"))
            except ValueError:
                raise ValueError(
                    f"{key} must be a number or 'lin_<start>' (linear decay to 0), got {value!r}"
                ) from None
            resolved[key] = LinearSchedule(start, 0.0, end_fraction=1.0)
    return resolved


def _check_algo(algo: str) -> str:
    name = algo.lower()
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {sorted(ALGORITHMS)}")
    return name


def load_hyperparameters(algo: str, env_id: str) -> dict[str, Any]:
    """The tuned settings of ``algo`` on ``env_id``: ``[default]`` updated by the env's table."""
    path = HYPERPARAMS_DIR / f"{_check_algo(algo)}.toml"
    with path.open("rb") as handle:
        tables = tomllib.load(handle)
    return merge_hyperparameters(tables.get("default", {}), tables.get(env_id, {}))


def merge_hyperparameters(settings: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``settings`` updated by ``overrides``; ``policy_kwargs`` tables are merged key by key."""
    merged = copy.deepcopy(settings)
    for key, value in overrides.items():
        if key == "policy_kwargs" and isinstance(value, dict):
            merged["policy_kwargs"] = {**merged.get("policy_kwargs", {}), **value}
        else:
            merged[key] = value
    return merged


def make_env(
    env_id: str,
    n_envs: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    oracle: bool = False,
) -> VecEnv:
    """Vectorised, seeded ``env_id``; ``Monitor`` logs both episode returns.

    With ``oracle=True`` the reward is the true objective (the proxy stays in info).
    """
    gym.spec(env_id)  # fails early, naming the id, when it is unknown
    return make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        env_kwargs=env_kwargs or {},
        wrapper_class=TrueObjective if oracle else None,
        monitor_kwargs={"info_keywords": EPISODE_KEYS},
    )


def normalize_rewards(env: VecEnv, normalize: Any, gamma: float) -> VecEnv:
    """``env`` with its training rewards scaled by a running estimate of the return's spread.

    ``normalize_reward = true`` in a hyperparameter table (rl-baselines3-zoo's
    ``normalize`` with ``norm_obs=False``): SB3's ``VecNormalize`` divides
    each reward by the running standard deviation of the discounted return.
    Returns of hundreds (a reward of up to 4 on each of 100 steps) otherwise
    make the value loss dominate the clipped gradient and starve the policy's
    update. Observations are left alone, so a trained policy acts on the raw
    environment and evaluation is unchanged; logged episode returns are the
    environment's own (``Monitor`` sits below the normalisation).
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize_reward must be true or false, got {normalize!r}")
    if not normalize:
        return env
    return VecNormalize(env, norm_obs=False, norm_reward=True, gamma=gamma)


def make_agent(
    algo: str,
    env_id: str,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    oracle: bool = False,
    **overrides: Any,
) -> BaseAlgorithm:
    """A seeded, untrained SB3 agent on ``env_id`` with the tuned hyperparameters.

    Args:
        algo: ``"ppo"``, ``"a2c"`` or ``"dqn"``.
        env_id: a registered environment id.
        seed: seeds the algorithm and the environments.
        env_kwargs: constructor kwargs of the environment.
        oracle: train on the true objective instead of the proxy.
        **overrides: replace hyperparameters (``n_envs``, any algorithm
            argument; ``policy_kwargs`` entries are merged).

    The training budget is ``load_hyperparameters(algo, env_id)["n_timesteps"]``.
    """
    name = _check_algo(algo)
    settings = merge_hyperparameters(load_hyperparameters(name, env_id), overrides)
    n_envs = int(settings.pop("n_envs", 1))
    settings.pop("n_timesteps", None)
    normalize = settings.pop("normalize_reward", False)
    policy = settings.pop("policy", "MlpPolicy")
    settings = resolve_schedules(settings)
    env = make_env(env_id, n_envs, seed, env_kwargs, oracle=oracle)
    env = normalize_rewards(env, normalize, settings.get("gamma", 0.99))
    try:
        return ALGORITHMS[name](policy, env, seed=seed, device="cpu", verbose=0, **settings)
    except TypeError as error:
        raise TypeError(f"bad hyperparameter for {name.upper()} on {env_id}: {error}") from error
