"""agents/zoo/<algo>.yml: the hyperparameter tables in rl-baselines3-zoo's format, kept in sync.

rl-baselines3-zoo reads one YAML entry per environment id (no ``[default]``
table), so each entry is ``[default]`` updated by the id's own table, in the
zoo's syntax: ``normalize_reward = true`` becomes ``normalize: dict(norm_obs=False,
norm_reward=True)``, a ``policy_kwargs`` table a ``dict(...)`` string,
``noise_std = sigma`` becomes ``noise_type: normal`` with ``noise_std: sigma``, and every
entry gets ``monitor_kwargs`` that make the zoo's ``Monitor`` log both episode
returns. Each file has an entry for every id whose action space its algorithm
trains on (no DQN on Box actions, SAC and TD3 on Box actions only)::

    python -m rl_zoo3.train --gym-packages proxygym --algo ppo \\
        --env proxygym/BoatRace-v0 -conf agents/zoo/ppo.yml

The tests check the files entry by entry against the TOML tables, so the two
cannot drift. After changing a TOML table, regenerate the files from the
repository root with ``python -m tests.agents.test_zoo_files``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import yaml

import proxygym
from proxygym.agents.hyperparameters import (
    ALGORITHM_ACTION_SPACES,
    ALGORITHM_NAMES,
    NOISE_KEY,
    load_hyperparameters,
)
from proxygym.core import EPISODE_KEYS

ZOO_DIR = Path(__file__).resolve().parents[2] / "agents" / "zoo"
#: What the zoo evaluates into ``Monitor(info_keywords=...)``: both episode sums.
MONITOR_KWARGS = f"dict(info_keywords={EPISODE_KEYS!r})"
#: rl-baselines3-zoo's ``normalize`` for proxygym's ``normalize_reward = true`` (rewards only).
NORMALIZE_REWARDS = "dict(norm_obs=False, norm_reward=True)"
#: Registered only when mujoco is installed; its entries are written regardless.
OPTIONAL_IDS = ("proxygym/HopperForward-v0",)
#: The zoo's exploration noise for proxygym's ``noise_std`` (a Gaussian).
NOISE_TYPE = "normal"
#: Ids with a continuous (Box) action space, which DQN cannot train (and SAC and TD3 only can).
CONTINUOUS_IDS = frozenset(
    {"proxygym/PendulumNoTorqueCost-v0", "proxygym/HopperForward-v0", "proxygym/Glucose-v0"}
)


def zoo_ids(algo: str) -> list[str]:
    """The ids ``agents/zoo/<algo>.yml`` has an entry for."""
    ids = [record.id for record in proxygym.list_envs()]
    ids += [env_id for env_id in OPTIONAL_IDS if env_id not in ids]
    kinds = ALGORITHM_ACTION_SPACES[algo]
    return [
        env_id for env_id in ids if ("Box" if env_id in CONTINUOUS_IDS else "Discrete") in kinds
    ]


def python_dict(mapping: dict[str, Any]) -> str:
    """``mapping`` as the ``dict(key=value, ...)`` string the zoo evaluates."""
    return "dict(" + ", ".join(f"{key}={value!r}" for key, value in mapping.items()) + ")"


def zoo_entry(algo: str, env_id: str) -> dict[str, Any]:
    """The zoo's hyperparameters for ``algo`` on ``env_id``, from proxygym's TOML tables."""
    entry: dict[str, Any] = {}
    for key, value in load_hyperparameters(algo, env_id).items():
        if key == "normalize_reward":
            if value:
                entry["normalize"] = NORMALIZE_REWARDS
        elif key == "policy_kwargs":
            entry[key] = python_dict(value)
        elif key == NOISE_KEY:
            entry["noise_type"] = NOISE_TYPE
            entry[key] = value
        else:
            entry[key] = value
    entry["monitor_kwargs"] = MONITOR_KWARGS
    return entry


def zoo_file_text(algo: str) -> str:
    """The whole of ``agents/zoo/<algo>.yml``."""
    header = (
        f"# {algo.upper()} hyperparameters for proxygym in rl-baselines3-zoo's format, generated\n"
        f"# from agents/hyperparams/{algo}.toml by `python -m tests.agents.test_zoo_files`\n"
        "# (tests/agents/test_zoo_files.py checks they agree). monitor_kwargs make the zoo's\n"
        "# Monitor log the episode's proxy and true returns. Use:\n"
        f"#   python -m rl_zoo3.train --gym-packages proxygym --algo {algo} \\\n"
        f"#       --env {zoo_ids(algo)[0]} -conf agents/zoo/{algo}.yml\n"
    )
    entries = {env_id: zoo_entry(algo, env_id) for env_id in zoo_ids(algo)}
    return header + yaml.safe_dump(entries, sort_keys=False, default_flow_style=False)


def load_zoo_file(algo: str) -> dict[str, Any]:
    with (ZOO_DIR / f"{algo}.yml").open() as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def evaluate(text: str) -> Any:
    """A ``dict(...)`` string evaluated as the zoo evaluates it (with nothing but ``dict``)."""
    return eval(text, {"__builtins__": {}, "dict": dict})  # noqa: S307 (our own files)


@pytest.mark.parametrize("algo", ALGORITHM_NAMES)
def test_zoo_file_has_an_entry_per_id(algo: str) -> None:
    assert list(load_zoo_file(algo)) == zoo_ids(algo)


@pytest.mark.parametrize("algo", ALGORITHM_NAMES)
def test_zoo_entries_are_the_toml_tables(algo: str) -> None:
    for env_id, entry in load_zoo_file(algo).items():
        settings = dict(entry)
        monitor_kwargs = evaluate(settings.pop("monitor_kwargs"))
        assert monitor_kwargs == {"info_keywords": EPISODE_KEYS}, env_id
        normalize = settings.pop("normalize", None)
        if normalize is not None:
            assert evaluate(normalize) == {"norm_obs": False, "norm_reward": True}, env_id
            settings["normalize_reward"] = True
        if "policy_kwargs" in settings:
            settings["policy_kwargs"] = evaluate(settings["policy_kwargs"])
        if NOISE_KEY in settings:
            assert settings.pop("noise_type") == NOISE_TYPE, env_id
        expected = load_hyperparameters(algo, env_id)
        if not expected.get("normalize_reward", False):
            expected.pop("normalize_reward", None)
        assert settings == expected, env_id


@pytest.mark.parametrize("algo", ALGORITHM_NAMES)
def test_zoo_file_is_the_generated_text(algo: str) -> None:
    """Byte for byte, so a regenerated file never shows a spurious diff."""
    assert (ZOO_DIR / f"{algo}.yml").read_text() == zoo_file_text(algo)


def test_continuous_ids_are_the_box_action_ones() -> None:
    for env_id in zoo_ids("ppo"):
        if env_id not in gym.registry:
            continue
        with gym.make(env_id) as env:
            is_box = isinstance(env.action_space, gym.spaces.Box)
        assert is_box == (env_id in CONTINUOUS_IDS), env_id


def test_the_zoo_schedule_syntax_is_proxygyms() -> None:
    """``lin_<start>`` means the same in both: a linear decay from start to 0."""
    schedules = {
        value
        for algo in ALGORITHM_NAMES
        for entry in load_zoo_file(algo).values()
        for key, value in entry.items()
        if key in ("learning_rate", "clip_range") and isinstance(value, str)
    }
    assert schedules and all(value.startswith("lin_") for value in schedules)
    assert all(float(value.split("_")[1]) > 0 for value in schedules)


if __name__ == "__main__":
    ZOO_DIR.mkdir(exist_ok=True)
    for name in ALGORITHM_NAMES:
        (ZOO_DIR / f"{name}.yml").write_text(zoo_file_text(name))
        print(f"wrote {ZOO_DIR / f'{name}.yml'}")
