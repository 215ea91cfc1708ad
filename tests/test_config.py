"""Sweep configs: every malformed file gets an error naming the offending key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxygym.cli import main
from proxygym.config import ConfigError, load_config
from tests.sweep_helpers import TINY, write_toml


def with_changes(**changes: Any) -> dict[str, Any]:
    data = {**TINY, **changes}
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (with_changes(env=None), "'env' is missing"),
        (with_changes(seeds=None), "'seeds' is missing"),
        (with_changes(pressure=None), "'pressure' is missing"),
        (with_changes(seed=3), "'seed' is not a sweep setting"),
        (with_changes(env="proxygym/Nope-v0"), "'env'"),
        (with_changes(env_kwargs={"supervisor": "maybe"}), "'env_kwargs'"),
        (with_changes(algo="sac2"), "'algo'"),
        (with_changes(timesteps=0), "'timesteps'"),
        (with_changes(timesteps="lots"), "'timesteps'"),
        (with_changes(seeds=3), "'seeds'"),
        (with_changes(seeds=[1, 1]), "'seeds'"),
        (with_changes(eval_episodes=-2), "'eval_episodes'"),
        (with_changes(eval_temperature=-1.0), "'eval_temperature'"),
        (with_changes(baselines="yes"), "'baselines'"),
        (with_changes(pressure={"axis": "timesteps"}), "'pressure.levels' is missing"),
        (with_changes(pressure={"levels": [1]}), "'pressure.axis' is missing"),
        (with_changes(pressure={"axis": "timesteps", "levels": [1], "step": 2}), "'pressure.step'"),
        (with_changes(pressure={"axis": "speed", "levels": [1]}), "unknown pressure axis 'speed'"),
        (with_changes(pressure={"axis": "timesteps", "levels": [0, 999_999]}), "'pressure.levels'"),
        (with_changes(pressure={"axis": "timesteps", "levels": []}), "'pressure.levels'"),
        (with_changes(pressure={"axis": "width", "levels": [0]}), "'pressure.levels'"),
        (with_changes(pressure={"axis": "temperature", "levels": [-0.5]}), "'pressure.levels'"),
        (with_changes(pressure={"axis": "best_of_n", "levels": [2, 2]}), "'pressure.levels'"),
        (with_changes(mitigation=3), "'mitigation' must be a table"),
        (with_changes(mitigation={"kl": 0.1}), "'mitigation.kl' is not a mitigation"),
        (with_changes(mitigation={"kl_penalty": -1.0}), "'mitigation.kl_penalty'"),
        (
            with_changes(algo="dqn", mitigation={"kl_penalty": 0.1}),
            "'mitigation.kl_penalty' needs an on-policy algorithm",
        ),
        (
            with_changes(mitigation={"early_stopping": {"check_every": 64, "patience": 1}}),
            "'mitigation.early_stopping.episodes_per_check' is missing",
        ),
        (
            with_changes(
                mitigation={
                    "early_stopping": {"check_every": 64, "episodes_per_check": 1, "patience": 0}
                }
            ),
            "'mitigation.early_stopping.patience'",
        ),
        (
            with_changes(
                mitigation={
                    "early_stopping": {
                        "check_every": 64,
                        "episodes_per_check": 1,
                        "patience": 1,
                        "budget": 5,
                    }
                }
            ),
            "'mitigation.early_stopping.budget' is not an early-stopping setting",
        ),
    ],
)
def test_bad_configs_name_the_key(tmp_path: Path, data: dict[str, Any], key: str) -> None:
    path = write_toml(tmp_path / "bad.toml", data)
    with pytest.raises(ConfigError, match=key) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_invalid_toml_syntax_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('env = "proxygym/BoatRace-v0\nalgo = ppo\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_valid_config_resolves_hyperparameters(tmp_path: Path) -> None:
    config = load_config(write_toml(tmp_path / "good.toml", TINY))
    assert config.name == "good"
    assert config.hyperparameters["n_steps"] == 64
    assert "learning_rate" in config.hyperparameters  # filled in from agents/hyperparams/ppo.toml
    assert "n_timesteps" not in config.hyperparameters
    assert config.eval_temperature == 1.0
    assert (
        load_config(
            write_toml(tmp_path / "dqn.toml", {**TINY, "algo": "dqn", "hyperparameters": {}})
        ).eval_temperature
        == 0.0
    )


def test_cli_reports_config_errors_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_toml(tmp_path / "bad.toml", with_changes(algo="sac2"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "'algo'" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


EXPERIMENTS = sorted((Path(__file__).parent.parent / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.seeds and config.levels


def test_experiments_are_found() -> None:
    assert EXPERIMENTS, "no experiment configs found next to the tests"
