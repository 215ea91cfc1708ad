"""Build stable-baselines3 agents for proxygym environments.

The tuned hyperparameters are read by :mod:`proxygym.agents.hyperparameters`
(torch-free). :func:`make_agent` trains on the proxy by default; with
``oracle=True`` the same algorithm sees the true objective instead (through
:class:`proxygym.wrappers.TrueObjective`), which is the reference agent.
"""

from __future__ import annotations

import sys
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

import proxygym  # noqa: F401  (registers the ids)
from proxygym.agents.hyperparameters import (
    ALGORITHM_NAMES,
    NOISE_KEY,
    action_space_problem,
    check_algo,
    load_hyperparameters,
    merge_hyperparameters,
    split_setup,
)
from proxygym.core import EPISODE_KEYS
from proxygym.wrappers import TrueObjective

#: The SB3 class of each of :data:`~proxygym.agents.hyperparameters.ALGORITHM_NAMES`.
ALGORITHMS: dict[str, type[BaseAlgorithm]] = dict(
    zip(ALGORITHM_NAMES, (PPO, A2C, DQN, SAC, TD3), strict=True)
)
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


def action_noise(noise_std: Any, env: VecEnv) -> NormalActionNoise:
    """``noise_std = sigma`` as SB3's ``NormalActionNoise(0, sigma)`` on each action dimension.

    As rl-baselines3-zoo builds it from ``noise_type: normal``: SB3 adds the
    noise to actions scaled to [-1, 1], so sigma is a fraction of the half-range.
    """
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or noise_std <= 0:
        raise ValueError(f"{NOISE_KEY} must be a number > 0, got {noise_std!r}")
    n_actions = int(np.prod(env.action_space.shape or (1,)))
    return NormalActionNoise(np.zeros(n_actions), float(noise_std) * np.ones(n_actions))


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
        algo: ``"ppo"``, ``"a2c"``, ``"dqn"``, ``"sac"`` or ``"td3"``.
        env_id: a registered environment id.
        seed: seeds the algorithm and the environments.
        env_kwargs: constructor kwargs of the environment.
        oracle: train on the true objective instead of the proxy.
        **overrides: replace hyperparameters (``n_envs``, any argument of the
            SB3 constructor, including ``verbose`` (default 0) and ``device``
            (default ``"cpu"``); ``policy_kwargs`` entries are merged).

    The tuned training budget is :func:`~proxygym.agents.hyperparameters.tuned_budget`;
    the caller passes it (or its own) to ``learn``.
    """
    name = check_algo(algo)
    setup, settings = split_setup(
        merge_hyperparameters(load_hyperparameters(name, env_id), overrides)
    )
    n_envs = int(setup.get("n_envs", 1))
    normalize = setup.get("normalize_reward", False)
    policy = settings.pop("policy", "MlpPolicy")
    settings = resolve_schedules(settings)
    env = make_env(env_id, n_envs, seed, env_kwargs, oracle=oracle)
    problem = action_space_problem(name, env_id, type(env.action_space).__name__)
    if problem is not None:
        env.close()
        raise ValueError(problem)
    env = normalize_rewards(env, normalize, settings.get("gamma", 0.99))
    if NOISE_KEY in setup:
        settings["action_noise"] = action_noise(setup[NOISE_KEY], env)
    # Quiet, on the CPU, unless an override says otherwise (``verbose``, ``device``).
    arguments = {"seed": seed, "device": "cpu", "verbose": 0, **settings}
    try:
        model = ALGORITHMS[name](policy, env, **arguments)
    except TypeError as error:
        raise TypeError(f"bad hyperparameter for {name.upper()} on {env_id}: {error}") from error
    if model.tensorboard_log is None:
        model.set_logger(folderless_logger(model.verbose))
    return model


def folderless_logger(verbose: int) -> Logger:
    """SB3's logger without a folder: the console at ``verbose >= 1``, nothing otherwise.

    Without a logger of its own, every ``learn`` call of an SB3 model that has no
    ``tensorboard_log`` configures one in a new, empty ``/tmp/SB3-<time>``
    directory (``stable_baselines3.common.logger.configure``), which is left
    behind: one per cell of a sweep. With ``tensorboard_log`` SB3's own logger
    is kept, since it writes there.
    """
    return Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if verbose else [])
