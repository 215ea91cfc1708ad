"""The agents' hyperparameter tables, read without importing torch or stable-baselines3.

Hyperparameters live in ``hyperparams/<algo>.toml`` beside this file, one
table per environment id over a ``[default]`` table, in the spirit of
rl-baselines3-zoo. A table mixes the algorithm's own arguments with the
:data:`SETUP_KEYS`, which set up training around it; :func:`split_setup`
separates the two. The SB3 classes behind :data:`ALGORITHM_NAMES` are in
:mod:`proxygym.agents.factory`.
"""

from __future__ import annotations

import copy
import difflib
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The algorithms an agent can be trained with (``factory.ALGORITHMS`` maps them to SB3 classes).
ALGORITHM_NAMES: tuple[str, ...] = ("ppo", "a2c", "dqn", "sac", "td3")
#: The kinds of action space (Gymnasium space class names) each algorithm trains on.
ALGORITHM_ACTION_SPACES: dict[str, tuple[str, ...]] = {
    "ppo": ("Discrete", "Box"),
    "a2c": ("Discrete", "Box"),
    "dqn": ("Discrete",),
    "sac": ("Box",),
    "td3": ("Box",),
}
HYPERPARAMS_DIR = Path(__file__).with_name("hyperparams")
#: A table's training budget in steps. A sweep's own ``timesteps`` replaces it.
BUDGET_KEY = "n_timesteps"
#: Keys of the tables that set up training instead of being arguments of the algorithm:
#: the parallel environments, the budget, and reward normalisation
#: (:func:`proxygym.agents.factory.normalize_rewards`).
SETUP_KEYS: tuple[str, ...] = ("n_envs", BUDGET_KEY, "normalize_reward")
#: The setup key of the off-policy algorithms' exploration noise: ``noise_std = sigma`` becomes
#: SB3's ``action_noise = NormalActionNoise(0, sigma)`` on every action dimension, sigma a
#: fraction of the half-range (SB3 adds it to actions scaled to [-1, 1]); rl-baselines3-zoo's
#: ``noise_type: normal`` with ``noise_std``. SB3's ``action_noise`` itself, an object, cannot
#: be written in TOML.
NOISE_KEY = "noise_std"
#: The algorithms that take :data:`NOISE_KEY` (those with SB3's ``action_noise``).
NOISE_ALGORITHMS: tuple[str, ...] = ("sac", "td3")
#: Arguments of the SB3 constructors that :func:`~proxygym.agents.factory.make_agent`
#: sets itself (the environment and the seed): never hyperparameters.
RESERVED_ARGUMENTS: tuple[str, ...] = ("env", "seed", "_init_setup_model")
#: The keyword arguments of each algorithm's SB3 constructor, less :data:`RESERVED_ARGUMENTS`,
#: kept as data so that checking a table's names needs neither torch nor stable-baselines3
#: (``tests/sweeps/test_config_hyperparameters.py`` compares them with ``inspect.signature``).
ALGORITHM_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "ppo": (
        "policy",
        "learning_rate",
        "n_steps",
        "batch_size",
        "n_epochs",
        "gamma",
        "gae_lambda",
        "clip_range",
        "clip_range_vf",
        "normalize_advantage",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "use_sde",
        "sde_sample_freq",
        "rollout_buffer_class",
        "rollout_buffer_kwargs",
        "target_kl",
        "stats_window_size",
        "tensorboard_log",
        "policy_kwargs",
        "verbose",
        "device",
    ),
    "a2c": (
        "policy",
        "learning_rate",
        "n_steps",
        "gamma",
        "gae_lambda",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "rms_prop_eps",
        "use_rms_prop",
        "use_sde",
        "sde_sample_freq",
        "rollout_buffer_class",
        "rollout_buffer_kwargs",
        "normalize_advantage",
        "stats_window_size",
        "tensorboard_log",
        "policy_kwargs",
        "verbose",
        "device",
    ),
    "dqn": (
        "policy",
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "replay_buffer_class",
        "replay_buffer_kwargs",
        "optimize_memory_usage",
        "n_steps",
        "target_update_interval",
        "exploration_fraction",
        "exploration_initial_eps",
        "exploration_final_eps",
        "max_grad_norm",
        "stats_window_size",
        "tensorboard_log",
        "policy_kwargs",
        "verbose",
        "device",
    ),
    "sac": (
        "policy",
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "action_noise",
        "replay_buffer_class",
        "replay_buffer_kwargs",
        "optimize_memory_usage",
        "n_steps",
        "ent_coef",
        "target_update_interval",
        "target_entropy",
        "use_sde",
        "sde_sample_freq",
        "use_sde_at_warmup",
        "stats_window_size",
        "tensorboard_log",
        "policy_kwargs",
        "verbose",
        "device",
    ),
    "td3": (
        "policy",
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "action_noise",
        "replay_buffer_class",
        "replay_buffer_kwargs",
        "optimize_memory_usage",
        "n_steps",
        "policy_delay",
        "target_policy_noise",
        "target_noise_clip",
        "stats_window_size",
        "tensorboard_log",
        "policy_kwargs",
        "verbose",
        "device",
    ),
}


def check_algo(algo: str) -> str:
    """``algo`` in lower case, or ValueError naming the choices."""
    name = algo.lower()
    if name not in ALGORITHM_NAMES:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {sorted(ALGORITHM_NAMES)}")
    return name


def setup_keys(algo: str) -> tuple[str, ...]:
    """The :data:`SETUP_KEYS` of ``algo``, and :data:`NOISE_KEY` for the off-policy ones."""
    return SETUP_KEYS + ((NOISE_KEY,) if check_algo(algo) in NOISE_ALGORITHMS else ())


def hyperparameter_names(algo: str) -> tuple[str, ...]:
    """Every key a hyperparameter table of ``algo`` may hold: its arguments and the setup keys."""
    return ALGORITHM_ARGUMENTS[check_algo(algo)] + setup_keys(algo)


def action_space_problem(algo: str, env_id: str, space_kind: str) -> str | None:
    """None if ``algo`` trains on ``space_kind`` actions (a space class name), else why not.

    E.g. ``"DQN cannot train on proxygym/PendulumNoTorqueCost-v0: it needs Discrete
    actions, and the environment's are Box (continuous); use a2c, ppo, sac or td3"``.
    """
    name = check_algo(algo)
    if space_kind in ALGORITHM_ACTION_SPACES[name]:
        return None
    fits = sorted(a for a, kinds in ALGORITHM_ACTION_SPACES.items() if space_kind in kinds)
    wanted = " or ".join(ALGORITHM_ACTION_SPACES[name])
    described = f"{space_kind} (continuous)" if space_kind == "Box" else space_kind
    if not fits:
        remedy = "no algorithm here trains on them"
    elif len(fits) == 1:
        remedy = f"use {fits[0]}"
    else:
        remedy = f"use {', '.join(fits[:-1])} or {fits[-1]}"
    return (
        f"{name.upper()} cannot train on {env_id}: it needs {wanted} actions, and the "
        f"environment's are {described}; {remedy}"
    )


def unknown_hyperparameter(algo: str, key: str) -> str | None:
    """None if ``key`` may be set for ``algo``, else a one-line problem suggesting the nearest name.

    E.g. ``"is not a hyperparameter of PPO; did you mean 'learning_rate'?"`` for ``learning_rte``.
    """
    name = check_algo(algo)
    if key in RESERVED_ARGUMENTS:
        return f"is set by proxygym itself, not as a hyperparameter of {name.upper()}"
    if key == "action_noise" and name in NOISE_ALGORITHMS:
        return f"is an object, not a setting: write {NOISE_KEY} = <sigma> (Gaussian noise) instead"
    names = hyperparameter_names(name)
    if key in names:
        return None
    close = difflib.get_close_matches(str(key), names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {sorted(names)}"
    return f"is not a hyperparameter of {name.upper()}; {hint}"


def load_hyperparameters(algo: str, env_id: str) -> dict[str, Any]:
    """The tuned settings of ``algo`` on ``env_id``: ``[default]`` updated by the env's table."""
    path = HYPERPARAMS_DIR / f"{check_algo(algo)}.toml"
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


def split_setup(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings`` split into its setup keys (:data:`SETUP_KEYS`, :data:`NOISE_KEY`) and the
    rest (the algorithm's arguments)."""
    keys = (*SETUP_KEYS, NOISE_KEY)
    setup = {key: value for key, value in settings.items() if key in keys}
    arguments = {key: value for key, value in settings.items() if key not in keys}
    return setup, arguments


def tuned_budget(algo: str, env_id: str) -> int:
    """The training budget (steps) of the tuned table of ``algo`` on ``env_id``."""
    return int(load_hyperparameters(algo, env_id)[BUDGET_KEY])


def without_budget(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` less its budget: what a run whose budget is set elsewhere trains with."""
    return {key: value for key, value in settings.items() if key != BUDGET_KEY}
