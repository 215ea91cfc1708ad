"""Sweeps on the JAX engine: the same cells, records, models and resume as on SB3."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from proxygym.sweeps import results
from proxygym.sweeps.config import ConfigError, SweepConfig, plan_cells
from proxygym.sweeps.runner import run_sweep
from tests.sweeps.helpers import TINY, comparable, fresh_interpreter, tiny_config, write_toml

JAX_TINY = {**TINY, "engine": "jax"}


def quiet(message: str) -> None:
    """Swallow the sweep's progress lines."""


# -- refused at load, before any work ---------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"engine": "torch"}, "'engine' must be one of ['sb3', 'jax']"),
        ({"algo": "dqn", "hyperparameters": {}}, "PPO and SAC only, not 'dqn'"),
        ({"pressure": {"axis": "best_of_n", "levels": [1, 2]}}, "'best_of_n' axis"),
        ({"mitigation": {"kl_penalty": 0.1}}, "no mitigations (kl_penalty)"),
        (
            {"env": "proxygym/AcrobotHeight-v0", "env_kwargs": {}, "hyperparameters": {}},
            "proxygym/AcrobotHeight-v0 has neither",
        ),
        (
            {"env": "proxygym/RocksDiamonds-v0", "env_kwargs": {"level": 0}, "hyperparameters": {}},
            "RocksDiamonds-v0 has neither (level 0",
        ),
        (
            {"env": "proxygym/PendulumNoTorqueCost-v0", "env_kwargs": {}, "hyperparameters": {}},
            "PPO on discrete actions only; proxygym/PendulumNoTorqueCost-v0 has Box actions (PPO): "
            'use algo = "sac" or engine = "sb3"',
        ),
        (
            {"env": "proxygym/Glucose-v0", "env_kwargs": {}, "algo": "td3", "hyperparameters": {}},
            "PPO and SAC only, not 'td3'",
        ),
        (
            {"hyperparameters": {"target_kl": 0.01}},
            "runs PPO with target_kl = None only, not 0.01 as set for proxygym/AbsentSupervisor-v0",
        ),
        (
            {"hyperparameters": {"n_envs": 2, "n_steps": 48, "batch_size": 64}},
            "n_envs * n_steps (2 * 48) must be a multiple of batch_size (64)",
        ),
        (
            {"hyperparameters": {"policy_kwargs": {"activation_fn": "elu"}}},
            "activation_fn must be one of ['relu', 'tanh'], got 'elu'",
        ),
    ],
)
def test_what_the_jax_engine_cannot_run_is_refused_at_load(changes: dict, named: str) -> None:
    with pytest.raises(ConfigError, match="engine") as error:
        SweepConfig.from_dict({**JAX_TINY, **changes}, source="tiny.toml")
    assert named in str(error.value)
    assert "\n" not in str(error.value)


def test_loading_a_jax_sweep_checks_its_settings_without_importing_jax() -> None:
    code = (
        "from proxygym.sweeps.config import SweepConfig\n"
        f"config = SweepConfig.from_dict({JAX_TINY!r}, source='tiny.toml')\n"
        "assert config.engine == 'jax'\n"
        "try:\n"
        f"    SweepConfig.from_dict({ {**JAX_TINY, 'hyperparameters': {'use_sde': True}}!r})\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    (refusal,), imported = fresh_interpreter(code, ("jax", "flax", "optax", "torch"))
    assert "runs PPO with use_sde = False only, not True" in refusal
    assert imported == []


def test_the_engine_is_part_of_a_sweeps_identity_but_old_sweeps_stay_sb3() -> None:
    sb3, jax_config = tiny_config(), tiny_config(engine="jax")
    assert "engine" not in sb3.to_dict()  # directories written before the key still resume
    assert SweepConfig.from_stored(sb3.to_dict()).engine == "sb3"
    assert jax_config.to_dict()["engine"] == "jax"
    assert SweepConfig.from_stored(jax_config.to_dict()) == jax_config
    assert sb3.canonical() != jax_config.canonical()
    assert plan_cells(sb3) == plan_cells(jax_config)


def test_cells_that_differ_only_in_seed_train_together() -> None:
    from proxygym.sweeps.jax_engine import batches

    config = tiny_config(
        engine="jax", seeds=[0, 1, 2], pressure={"axis": "width", "levels": [8, 16]}
    )
    units = batches(plan_cells(config))
    keys = [tuple(c.key for c in u) if isinstance(u, tuple) else u.key for u in units]
    assert keys == [
        ("agent-width8-seed0", "agent-width8-seed1", "agent-width8-seed2"),
        ("agent-width16-seed0", "agent-width16-seed1", "agent-width16-seed2"),
        ("oracle-seed0", "oracle-seed1", "oracle-seed2"),
        "random",
        "exact",
    ]


# -- a sweep ----------------------------------------------------------------------------------
#: Wall seconds of the fixture's whole sweep.
ELAPSED: dict[str, float] = {}


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("jax")
    out = tmp_path_factory.mktemp("jax")
    started = time.perf_counter()
    summary = run_sweep(tiny_config(engine="jax"), out, echo=quiet)
    ELAPSED["sweep"] = time.perf_counter() - started
    assert not summary.failed, [
        results.cell_path(out, key, failed=True).read_text() for key in summary.failed
    ]
    return out


def test_cells_trained_together_share_their_batchs_time(jax_run: Path) -> None:
    """The cells' wall times sum to at most the sweep's: n seeds trained at once count once."""
    frame = results.load(jax_run)
    own = frame.groupby("cell")["wall_time"].max()
    assert (own > 0).all()
    assert own.sum() <= ELAPSED["sweep"]


def test_a_jax_sweep_writes_the_records_of_an_sb3_sweep(jax_run: Path) -> None:
    frame = results.load(jax_run)
    assert list(frame.columns[: len(results.RECORD_FIELDS)]) == list(results.RECORD_FIELDS)
    assert sorted(frame.cell.unique()) == sorted(c.key for c in plan_cells(tiny_config()))
    agents = frame[frame.policy == "agent"]
    assert sorted(agents.level.unique()) == [0, 128, 256]
    # SB3's checkpoint positions: the first rollout boundary (2 x 64 steps) at or after each level
    assert agents.groupby("level").step.unique().map(list).to_dict() == {
        0: [0],
        128: [128],
        256: [256],
    }
    untrained = agents[agents.level == 0]
    assert untrained.kl_from_init.abs().max() < 1e-9
    assert (agents[agents.level == 256].kl_from_init > 0).all()  # training moved the policy
    exact = frame[frame.policy == "true_optimal"].iloc[0]
    assert exact.true_return == 41.0


def test_jax_models_are_sb3_ppo_models(jax_run: Path) -> None:
    from stable_baselines3 import PPO

    for name in ("agent-seed0", "oracle-seed1"):
        model = PPO.load(jax_run / "models" / f"{name}.zip", device="cpu")
        assert model.num_timesteps == 256
        assert model.n_steps == 64 and model.batch_size == 64 and model.n_epochs == 2


def test_a_jax_sweep_is_reproducible_and_resumes_to_the_same_records(
    jax_run: Path, tmp_path: Path
) -> None:
    config_file = write_toml(tmp_path / "tiny.toml", TINY)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "proxygym.cli",
        "sweep",
        str(config_file),
        "--out",
        str(out),
        "--engine",
        "jax",
    ]
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "on the jax engine" in first.stdout
    pd.testing.assert_frame_equal(comparable(out), comparable(jax_run))
    # Lose one seed's agent cell and the other seed's oracle, as a kill would: the rerun
    # trains their batches again and writes exactly the records it had.
    for key in ("agent-seed1", "oracle-seed0"):
        results.cell_path(out, key).unlink()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "already done" in rerun.stdout
    pd.testing.assert_frame_equal(comparable(out), comparable(jax_run))


def test_the_engines_list_of_ported_environments_is_its_ports() -> None:
    pytest.importorskip("jax")
    from proxygym.jax.envs import PORTS
    from proxygym.jax.sac import CONTINUOUS_PORTS
    from proxygym.jax.support import PORTED, SAC_PORTED

    assert set(PORTED) == set(PORTS)
    assert set(SAC_PORTED) == set(CONTINUOUS_PORTS)
    assert not set(PORTED) & set(SAC_PORTED)  # PPO would run a continuous twin: refused instead
