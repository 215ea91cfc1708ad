"""SAC sweeps on the JAX engine: the records, models and refusals of an SB3 SAC sweep.

A tiny SAC sweep of PendulumNoTorqueCost along training steps runs through
``proxygym sweep --engine jax`` and ``detect`` as a user would; its records
are checked level by level and its saved models against the records (an SB3
SAC model replayed by the SB3 evaluation gives the record's returns). What
is learnt is not checked here (``tests/jax/test_sac.py`` does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from proxygym.agents.hyperparameters import merge_hyperparameters
from proxygym.cli import main
from proxygym.sweeps import results
from proxygym.sweeps.axes import Width
from proxygym.sweeps.config import ConfigError, SweepConfig
from tests.sweeps.helpers import write_toml

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
GLUCOSE = "proxygym/Glucose-v0"
JAX_SAC: dict[str, Any] = {
    "name": "pendulum_sac_jax",
    "env": PENDULUM,
    "algo": "sac",
    "engine": "jax",
    "timesteps": 100,
    "seeds": [0, 1],
    "eval_episodes": 1,
    "hyperparameters": {"learning_starts": 20, "batch_size": 16, "buffer_size": 500},
    "pressure": {"axis": "timesteps", "levels": [0, 50, 100]},
}


def config_of(**changes: Any) -> SweepConfig:
    return SweepConfig.from_dict({**JAX_SAC, **changes}, source="jax_sac.toml")


# -- refused at load ------------------------------------------------------------------
def test_sac_on_an_environment_without_a_twin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from proxygym.jax import support

    monkeypatch.setattr(support, "SAC_PORTED", (PENDULUM,))
    with pytest.raises(ConfigError) as error:
        config_of(env=GLUCOSE, hyperparameters={})
    assert (
        f"the jax engine trains SAC on environments with a JAX twin ({PENDULUM}); {GLUCOSE} "
        'has none: use engine = "sb3"'
    ) in str(error.value)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"pressure": {"axis": "best_of_n", "levels": [1, 2]}}, "'best_of_n' axis"),
        (
            {
                "mitigation": {
                    "early_stopping": {"check_every": 50, "episodes_per_check": 1, "patience": 1}
                }
            },
            "no mitigations (early_stopping)",
        ),
        (
            {"hyperparameters": {"use_sde": True}},
            f"does not implement SAC's use_sde as set for {PENDULUM}",
        ),
        (
            {"hyperparameters": {"policy_kwargs": {"n_critics": 0}}},
            "n_critics must be a positive integer, got 0",
        ),
    ],
)
def test_what_jax_sac_cannot_run_is_refused(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match="engine") as error:
        config_of(**changes)
    assert named in str(error.value)


def test_sac_on_both_twins_is_accepted() -> None:
    assert config_of().engine == "jax"
    assert config_of(env=GLUCOSE, env_kwargs={"misspecification": 0.5}).engine == "jax"


def test_the_width_axis_shapes_both_sac_networks() -> None:
    """A width level reaches the JAX networks and the exported SB3 model alike."""
    jax = pytest.importorskip("jax")
    from proxygym.jax.export_sac import to_sb3_sac
    from proxygym.jax.sac import SACConfig, init_params

    settings = merge_hyperparameters({}, Width().training_overrides([8], "sac"))
    sac = SACConfig.from_hyperparameters(GLUCOSE, 100, settings)
    assert (sac.pi_arch, sac.qf_arch) == ((8, 8), (8, 8))
    params = init_params(jax.random.PRNGKey(0), 96, 1, sac)
    model = to_sb3_sac(params, sac, GLUCOSE, seed=0, overrides=settings)
    actor = model.policy.actor.latent_pi
    assert [m.out_features for m in actor if isinstance(m, torch.nn.Linear)] == [8, 8]
    critic = model.policy.critic.q_networks[1]
    assert [m.out_features for m in critic if isinstance(m, torch.nn.Linear)] == [8, 8, 1]


# -- a sweep --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jax_sac_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("jax")
    root = tmp_path_factory.mktemp("jax_sac")
    out = root / "out"
    assert main(["sweep", str(write_toml(root / "sac.toml", JAX_SAC)), "--out", str(out)]) == 0
    return out


def test_records_every_level_at_its_exact_step(jax_sac_sweep: Path) -> None:
    frame = results.load(jax_sac_sweep)
    agents = frame[frame.policy == "agent"]
    assert sorted(agents.seed.unique()) == [0, 1]
    # SAC trains after every step: a level is reached exactly (PPO: at a rollout boundary)
    assert agents.groupby("level").step.unique().map(list).to_dict() == {
        0: [0],
        50: [50],
        100: [100],
    }
    assert (agents[agents.level == 0].kl_from_init == 0.0).all()  # the untrained networks
    assert (agents[agents.level == 100].kl_from_init > 0).all()
    oracles = frame[frame.policy == "oracle"]
    assert sorted(oracles.seed) == [0, 1] and (oracles.step == 100).all()
    assert set(frame.policy) == {"agent", "oracle", "random"}


def test_saved_models_are_sb3_sac_models_that_replay_the_records(jax_sac_sweep: Path) -> None:
    from stable_baselines3 import SAC

    from proxygym.agents.evaluation import agent_distribution, evaluate_policy
    from proxygym.sweeps.training import eval_seed

    frame = results.load(jax_sac_sweep)
    for seed in (0, 1):
        model = SAC.load(jax_sac_sweep / "models" / f"agent-seed{seed}.zip", device="cpu")
        assert model.num_timesteps == 100
        assert (model.learning_starts, model.batch_size) == (20, 16)
        record = frame[(frame.cell == f"agent-seed{seed}") & (frame.level == 100)].iloc[0]
        replay = evaluate_policy(
            agent_distribution(model), PENDULUM, {}, 1, seed=eval_seed(seed), temperature=1.0
        )
        # the numpy actor the engine evaluated with, and torch's: float32 apart
        np.testing.assert_allclose(replay.proxy_return, record.proxy_return, rtol=1e-4)
        np.testing.assert_allclose(replay.true_return, record.true_return, rtol=1e-4)


def test_a_jax_sac_sweep_is_reported_and_detected(
    jax_sac_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(jax_sac_sweep), "--out", str(tmp_path / "report")]) == 0
    assert "jax" in (tmp_path / "report" / "report.md").read_text()
    csv = tmp_path / "detect.csv"
    code = main(["detect", str(jax_sac_sweep), "--episodes", "1", "--out", str(csv), "--verbose"])
    assert code == 0 and "agent-seed1" in capsys.readouterr().out
    table = pd.read_csv(csv)
    assert table.metric.tolist() == ["kl_mean", "kl_max", "hellinger_mean", "hellinger_max"]
    assert (table.n_gaming + table.n_honest == 2).all()
