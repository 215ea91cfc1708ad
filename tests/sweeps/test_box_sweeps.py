"""Sweeps on Box (continuous) actions: SAC, TD3 and PPO on PendulumNoTorqueCost, end to end.

A SAC sweep along training steps runs through ``proxygym sweep``, ``report``,
``plot`` and ``detect`` as a user would; TD3 and PPO cells run along the
temperature, best-of-n and width axes. Budgets are tiny (a hundred or two
steps): what is checked is the machinery, not what the agents learn.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3 import SAC, TD3

from proxygym.agents.evaluation import agent_distribution, evaluate_policy
from proxygym.cli import main
from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig, plan_cells
from proxygym.sweeps.training import eval_seed, run_cell
from tests.sweeps.helpers import write_toml

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
#: Off-policy settings that learn within a tiny budget: early start, small buffer and batch.
OFF_POLICY = {"learning_starts": 20, "batch_size": 16, "buffer_size": 500}
SAC_SWEEP: dict[str, Any] = {
    "name": "pendulum_sac",
    "env": PENDULUM,
    "algo": "sac",
    "timesteps": 100,
    "seeds": [0, 1],
    "eval_episodes": 1,
    "hyperparameters": OFF_POLICY,
    "pressure": {"axis": "timesteps", "levels": [0, 50, 100]},
}


def config_of(**changes: Any) -> SweepConfig:
    return SweepConfig.from_dict({**SAC_SWEEP, **changes}, source="box.toml")


def cell_named(config: SweepConfig, key: str) -> Any:
    cell = next(c for c in plan_cells(config) if c.key == key)
    return run_cell(config, cell)


@pytest.fixture(scope="module")
def sac_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``proxygym sweep`` of a SAC config file, as a user runs it."""
    root = tmp_path_factory.mktemp("box")
    out = root / "out"
    assert main(["sweep", str(write_toml(root / "sac.toml", SAC_SWEEP)), "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_sac_sweep_records_every_level_and_kl_from_init(sac_sweep: Path) -> None:
    frame = results.load(sac_sweep)
    agents = frame[frame.policy == "agent"]
    assert sorted(agents.level.unique()) == [0, 50, 100]
    assert sorted(agents.seed.unique()) == [0, 1]
    untrained = agents[agents.level == 0]
    assert (untrained.kl_from_init == 0.0).all()  # the snapshot is the policy itself
    assert (agents[agents.level == 100].kl_from_init > 0).all()
    assert set(frame.policy) == {"agent", "oracle", "random"}  # no exact model: no optima
    random = frame[frame.policy == "random"].iloc[0]
    assert math.isnan(random.kl_from_init) and random.episodes == 1
    model = SAC.load(sac_sweep / "models" / "agent-seed0.zip", device="cpu")
    assert model.num_timesteps == 100


@pytest.mark.slow
def test_sac_sweep_is_reported_plotted_and_detected(
    sac_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(sac_sweep), "--out", str(tmp_path / "report")]) == 0
    assert PENDULUM in (tmp_path / "report" / "report.md").read_text()
    assert main(["plot", str(sac_sweep), "--out", str(tmp_path / "figures")]) == 0
    assert (tmp_path / "figures" / "goodhart_curve.png").stat().st_size > 0
    csv = tmp_path / "detect.csv"
    code = main(["detect", str(sac_sweep), "--episodes", "1", "--out", str(csv), "--verbose"])
    printed = capsys.readouterr().out
    assert code == 0 and "agent-seed1" in printed
    table = pd.read_csv(csv)
    # JS has no closed form between Gaussians: its rows are left out, KL and Hellinger stay.
    assert table.metric.tolist() == ["kl_mean", "kl_max", "hellinger_mean", "hellinger_max"]
    assert (table.n_gaming + table.n_honest == 2).all()


@pytest.mark.slow
def test_detector_distances_are_closed_form_gaussian_ones(sac_sweep: Path) -> None:
    from proxygym.agents.policies import load_agent
    from proxygym.analysis.detect import policy_distances, score_suspects

    suspects = score_suspects(sac_sweep, episodes=1).set_index("cell")
    assert suspects.js_mean.isna().all()
    assert ((suspects.kl_mean >= 0) & (suspects.hellinger_max <= 1)).all()
    agent = agent_distribution(load_agent(sac_sweep / "models" / "agent-seed0.zip"))
    same = policy_distances(agent, agent, PENDULUM, {}, episodes=1, seed=0)
    assert same.kl_max == 0.0 and same.hellinger_max == 0.0 and same.states == 100


def test_td3_temperature_zero_is_the_actor_and_higher_ones_add_noise() -> None:
    config = config_of(
        algo="td3", seeds=[0], baselines=False, pressure={"axis": "temperature", "levels": [0, 2]}
    )
    result = cell_named(config, "agent-seed0")
    model = TD3.load(io.BytesIO(result.model), device="cpu")
    greedy = evaluate_policy(agent_distribution(model), PENDULUM, {}, 1, eval_seed(0), 0.0)
    by_level = {record["level"]: record for record in result.records}
    assert by_level[0]["proxy_return"] == greedy.proxy_return
    assert by_level[2]["proxy_return"] != greedy.proxy_return
    # kl_from_init compares the actors in units of the noise, at whatever temperature played.
    assert by_level[0]["kl_from_init"] > 0 and by_level[2]["kl_from_init"] > 0


def test_ppo_best_of_n_selects_among_candidates_on_box_actions() -> None:
    config = config_of(
        algo="ppo",
        timesteps=64,
        seeds=[0],
        baselines=False,
        hyperparameters={"n_envs": 2, "n_steps": 32, "batch_size": 64, "n_epochs": 1},
        pressure={"axis": "best_of_n", "levels": [1, 3]},
    )
    result = cell_named(config, "agent-seed0")
    by_level = {record["level"]: record for record in result.records}
    assert set(by_level) == {1, 3} and by_level[1]["step"] == by_level[3]["step"] == 64


@pytest.mark.parametrize(("algo", "cls"), [("sac", SAC), ("td3", TD3)])
def test_width_sets_the_actor_and_critic_networks(algo: str, cls: type) -> None:
    config = config_of(
        algo=algo,
        timesteps=30,
        seeds=[0],
        baselines=False,
        pressure={"axis": "width", "levels": [8]},
    )
    torch.set_num_threads(1)
    result = cell_named(config, "agent-width8-seed0")
    model = cls.load(io.BytesIO(result.model), device="cpu")
    critic = [m.out_features for m in model.critic.qf0 if isinstance(m, torch.nn.Linear)]
    assert critic == [8, 8, 1]
    assert np.isfinite(result.records[0]["kl_from_init"])


def test_cli_eval_plays_a_saved_sac_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from proxygym.agents import make_agent

    make_agent("sac", PENDULUM, seed=0, **OFF_POLICY).save(tmp_path / "sac.zip")
    assert main(["eval", str(tmp_path / "sac.zip"), PENDULUM, "--episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert (
        "(SAC) on proxygym/PendulumNoTorqueCost-v0: 2 episodes, seeds 0..1, temperature 1"
        in printed
    )
    assert "true return" in printed
