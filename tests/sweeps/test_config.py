"""Sweep configs: every malformed file gets an error naming the offending key."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from proxygym.cli import main
from proxygym.sweeps import results
from proxygym.sweeps.config import ConfigError, SweepConfig, load_config, plan_cells
from tests.sweeps.helpers import TINY, fresh_interpreter, write_toml


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
        (with_changes(baselines=["random", "oracles"]), "unknown baseline 'oracles'"),
        (with_changes(baselines=["exact", "exact"]), "'baselines' names a baseline twice"),
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


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        (
            "_sweep",
            ["sweep", "x.toml"],
            "proxygym sweep: interrupted; finished cells are saved, run the same command to resume",
        ),
        ("_report", ["report", "runs/x"], "proxygym report: interrupted"),
    ],
)
def test_ctrl_c_says_what_was_interrupted(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    argv: list[str],
    message: str,
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(f"proxygym.cli.{command}", interrupted)
    assert main(argv) == 130
    assert capsys.readouterr().err == message + "\n"


EXPERIMENTS = sorted((Path(__file__).parents[2] / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.seeds and config.levels


def test_experiments_are_found() -> None:
    assert EXPERIMENTS, "no experiment configs found next to the tests"


# ---------------------------------------------------------------------------
# `modules`: a user's own environment, registered by a module the sweep imports
# ---------------------------------------------------------------------------

USER_MODULE = """
import gymnasium as gym

gym.register(
    "mine/Absent-v0",
    entry_point="proxygym.envs.gridworlds.absent_supervisor:AbsentSupervisorEnv",
    max_episode_steps=100,
)
"""


def test_modules_must_import(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "bad.toml", {**TINY, "modules": ["no_such_module_xyz"]})
    with pytest.raises(ConfigError, match="'modules'.*no_such_module_xyz"):
        load_config(path)
    path = write_toml(tmp_path / "bad2.toml", {**TINY, "modules": "mine_envs"})
    with pytest.raises(ConfigError, match="'modules' must be a list"):
        load_config(path)


def test_baselines_list_chooses_the_reference_cells(tmp_path: Path) -> None:
    def keys(baselines: Any) -> list[str]:
        config = load_config(write_toml(tmp_path / "c.toml", {**TINY, "baselines": baselines}))
        return [cell.key for cell in plan_cells(config) if cell.role != "agent"]

    oracles = ["oracle-seed0", "oracle-seed1"]
    assert keys(True) == [*oracles, "random", "exact"]
    assert keys(False) == []
    assert keys(["exact", "random"]) == ["random", "exact"]
    assert keys(["oracle"]) == oracles
    # A list of every kind is `true` and an empty list `false`: same stored config, so a
    # directory written with one resumes with the other.
    for given, same in ((["random", "exact", "oracle"], True), ([], False)):
        stored = load_config(write_toml(tmp_path / "l.toml", {**TINY, "baselines": given}))
        plain = load_config(write_toml(tmp_path / "b.toml", {**TINY, "baselines": same}))
        assert stored.canonical().replace('"l"', '"b"') == plain.canonical()
    # Built directly, a config gets the same canonical form.
    built = replace(
        load_config(write_toml(tmp_path / "d.toml", TINY)), baselines=("exact", "random")
    )
    assert built.baselines == ("random", "exact")
    assert replace(built, baselines=("exact", "oracle", "random")).baselines is True
    with pytest.raises(ConfigError, match="unknown baseline 'nope'"):
        replace(built, baselines=("nope",))
    partial = {**TINY, "baselines": ["exact", "random"]}
    assert load_config(write_toml(tmp_path / "p.toml", partial)).to_dict()["baselines"] == [
        "random",
        "exact",
    ]


def test_no_modules_leaves_the_stored_config_as_before(tmp_path: Path) -> None:
    assert "modules" not in load_config(write_toml(tmp_path / "c.toml", TINY)).to_dict()


def test_a_users_env_sweeps_in_worker_processes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console script in fresh processes, run from the directory holding the
    user's module: the driver, two forkserver workers and the report all find an
    id that only that module registers."""
    (tmp_path / "mine_envs.py").write_text(USER_MODULE)
    data = {**TINY, "env": "mine/Absent-v0", "modules": ["mine_envs"], "baselines": False}
    config = write_toml(tmp_path / "mine.toml", data)
    out = tmp_path / "out"
    script = Path(sys.executable).parent / "proxygym"
    if not script.is_file():
        pytest.skip(f"no proxygym console script beside {sys.executable}")
    sweep = subprocess.run(
        [str(script), "sweep", "mine.toml", "--out", "out", "--workers", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert "2 cells run, 0 already done, 0 failed" in sweep.stdout
    frame = results.load(out)
    assert set(frame["env"]) == {"mine/Absent-v0"}
    assert sorted(frame["level"].unique()) == [0, 128, 256]
    report = subprocess.run(
        [str(script), "report", "out"], capture_output=True, text=True, cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    assert "mine/Absent-v0" in (out / "report.md").read_text()
    monkeypatch.chdir(tmp_path)
    assert load_config(config).to_dict()["modules"] == ["mine_envs"]


def test_loading_and_planning_a_sweep_imports_neither_torch_nor_sb3() -> None:
    code = (
        "from proxygym.sweeps import axes, mitigations, results\n"
        "from proxygym.sweeps.config import load_config, plan_cells\n"
        f"config = load_config({str(EXPERIMENTS[0])!r})\n"
        "assert plan_cells(config)\n"
    )
    assert fresh_interpreter(code, ("torch", "stable_baselines3")) == ([], [])


def test_a_stored_config_reads_back_as_it_ran(tmp_path: Path) -> None:
    mitigation = {
        "kl_penalty": 0.1,
        "early_stopping": {"check_every": 64, "episodes_per_check": 1, "patience": 1},
    }
    config = load_config(
        write_toml(tmp_path / "c.toml", {**TINY, "baselines": ["random"], "mitigation": mitigation})
    )
    assert SweepConfig.from_stored(config.to_dict()) == config
    results.write_json_atomic(
        results.manifest_path(tmp_path / "run"), {"config": config.to_dict(), "cells": ["a"]}
    )
    manifest = results.read_manifest(tmp_path / "run")
    assert manifest.config == config and manifest.cells == ("a",) and manifest.versions == {}
    assert results.load_config(tmp_path / "run").pressure.name == "timesteps"
    with pytest.raises(FileNotFoundError, match="not a proxygym sweep directory"):
        results.load_config(tmp_path)
