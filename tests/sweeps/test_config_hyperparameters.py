"""A config's [hyperparameters] keys are checked against the algorithm's arguments at load time."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from proxygym.agents import hyperparameters as hp
from proxygym.agents.hyperparameters import (
    ALGORITHM_NAMES,
    HYPERPARAMS_DIR,
    SETUP_KEYS,
    load_hyperparameters,
)
from proxygym.sweeps.config import ConfigError, load_config
from tests.sweeps.helpers import TINY, fresh_interpreter, write_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def with_hyperparameters(algo: str = "ppo", **settings: object) -> dict[str, object]:
    return {**TINY, "algo": algo, "hyperparameters": settings}


@pytest.mark.parametrize(
    ("algo", "key", "suggestion"),
    [
        ("ppo", "learning_rte", "learning_rate"),
        ("ppo", "n_epoch", "n_epochs"),
        ("a2c", "ent_coeff", "ent_coef"),
        ("dqn", "target_update_intervall", "target_update_interval"),
        ("ppo", "n_env", "n_envs"),
        ("ppo", "policy_kwarg", "policy_kwargs"),
    ],
)
def test_a_misspelled_hyperparameter_is_refused_with_the_nearest_name(
    tmp_path: Path, algo: str, key: str, suggestion: str
) -> None:
    path = write_toml(tmp_path / "typo.toml", with_hyperparameters(algo, **{key: 1}))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    assert f"'hyperparameters.{key}'" in message
    assert f"did you mean {suggestion!r}?" in message
    assert algo.upper() in message


def test_an_argument_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    # DQN's buffer_size means nothing to PPO; clip_range nothing to A2C.
    with pytest.raises(
        ConfigError, match="'hyperparameters.buffer_size' is not a hyperparameter of PPO"
    ):
        load_config(write_toml(tmp_path / "a.toml", with_hyperparameters("ppo", buffer_size=10)))
    with pytest.raises(
        ConfigError, match="'hyperparameters.clip_range' is not a hyperparameter of A2C"
    ):
        load_config(write_toml(tmp_path / "b.toml", with_hyperparameters("a2c", clip_range=0.1)))


@pytest.mark.parametrize("key", ["seed", "env", "tensorboard_log"])
def test_arguments_proxygym_sets_itself_are_refused(tmp_path: Path, key: str) -> None:
    path = write_toml(tmp_path / "own.toml", with_hyperparameters("ppo", **{key: 1}))
    with pytest.raises(ConfigError, match=f"'hyperparameters.{key}' is set by"):
        load_config(path)


def test_every_valid_name_is_accepted(tmp_path: Path) -> None:
    config = load_config(
        write_toml(
            tmp_path / "ok.toml",
            with_hyperparameters(
                "ppo", n_envs=2, n_steps=64, batch_size=64, target_kl=0.05, n_timesteps=10
            ),
        )
    )
    assert config.hyperparameters["target_kl"] == 0.05
    assert "n_timesteps" not in config.hyperparameters


@pytest.mark.parametrize("algo", ALGORITHM_NAMES)
def test_the_stored_argument_names_match_the_sb3_signatures(algo: str) -> None:
    """The data the torch-free check reads cannot drift from stable-baselines3."""
    from proxygym.agents.factory import ALGORITHMS

    parameters = inspect.signature(ALGORITHMS[algo]).parameters
    assert set(hp.RESERVED_ARGUMENTS) <= set(parameters)
    assert set(hp.ALGORITHM_ARGUMENTS[algo]) == set(parameters) - set(hp.RESERVED_ARGUMENTS)
    assert len(hp.ALGORITHM_ARGUMENTS[algo]) == len(set(hp.ALGORITHM_ARGUMENTS[algo]))
    names = hp.hyperparameter_names(algo)
    assert set(SETUP_KEYS) <= set(names) and "policy_kwargs" in names
    # Every key of the shipped tables is a valid name.
    for env_id in ("proxygym/NotListed-v0", "proxygym/RocksDiamonds-v0", "proxygym/LagoonRace-v0"):
        assert set(load_hyperparameters(algo, env_id)) <= set(names)


def test_the_shipped_tables_hold_only_valid_names() -> None:
    for algo in ALGORITHM_NAMES:
        tables = tomllib.loads((HYPERPARAMS_DIR / f"{algo}.toml").read_text())
        for env_id, table in tables.items():
            unknown = set(table) - set(hp.hyperparameter_names(algo))
            assert not unknown, f"{algo}.toml [{env_id}]: {sorted(unknown)}"


def test_checking_names_imports_neither_torch_nor_sb3(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "typo.toml", with_hyperparameters("ppo", learning_rte=1e-3))
    code = (
        "from proxygym.sweeps.config import ConfigError, load_config\n"
        "try:\n"
        f"    load_config({str(path)!r})\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
    )
    (error,), heavy = fresh_interpreter(code, ("torch", "stable_baselines3"))
    assert "did you mean 'learning_rate'?" in error
    assert heavy == []
