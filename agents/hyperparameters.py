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
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The algorithms an agent can be trained with (``factory.ALGORITHMS`` maps them to SB3 classes).
ALGORITHM_NAMES: tuple[str, ...] = ("ppo", "a2c", "dqn")
HYPERPARAMS_DIR = Path(__file__).with_name("hyperparams")
#: A table's training budget in steps. A sweep's own ``timesteps`` replaces it.
BUDGET_KEY = "n_timesteps"
#: Keys of the tables that set up training instead of being arguments of the algorithm:
#: the parallel environments, the budget, and reward normalisation
#: (:func:`proxygym.agents.factory.normalize_rewards`).
SETUP_KEYS: tuple[str, ...] = ("n_envs", BUDGET_KEY, "normalize_reward")


def check_algo(algo: str) -> str:
    """``algo`` in lower case, or ValueError naming the choices."""
    name = algo.lower()
    if name not in ALGORITHM_NAMES:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {sorted(ALGORITHM_NAMES)}")
    return name


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
    """``settings`` split into its :data:`SETUP_KEYS` and the rest (the algorithm's arguments)."""
    setup = {key: value for key, value in settings.items() if key in SETUP_KEYS}
    arguments = {key: value for key, value in settings.items() if key not in SETUP_KEYS}
    return setup, arguments


def tuned_budget(algo: str, env_id: str) -> int:
    """The training budget (steps) of the tuned table of ``algo`` on ``env_id``."""
    return int(load_hyperparameters(algo, env_id)[BUDGET_KEY])


def without_budget(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` less its budget: what a run whose budget is set elsewhere trains with."""
    return {key: value for key, value in settings.items() if key != BUDGET_KEY}
