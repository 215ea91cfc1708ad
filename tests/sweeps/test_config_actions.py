"""Algorithm, axis, mitigation and engine are checked against the action space at config load.

Each refusal is one line naming the config file, the key, the environment id
and the algorithm (and the axis or mitigation), before anything trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxygym.agents.hyperparameters import action_space_problem
from proxygym.sweeps.axes import AXES, Width
from proxygym.sweeps.config import ConfigError, load_config
from proxygym.sweeps.mitigations import MITIGATIONS, KLPenaltyMitigation
from tests.sweeps.helpers import TINY, write_toml

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
BOX: dict[str, Any] = {
    "env": PENDULUM,
    "algo": "sac",
    "timesteps": 200,
    "seeds": [0],
    "eval_episodes": 1,
    "pressure": {"axis": "timesteps", "levels": [0, 200]},
}


def refusal(tmp_path: Path, data: dict[str, Any]) -> str:
    path = write_toml(tmp_path / "bad.toml", data)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_dqn_on_box_actions_is_refused_naming_both(tmp_path: Path) -> None:
    message = refusal(tmp_path, {**BOX, "algo": "dqn"})
    assert (
        f"key 'algo' DQN cannot train on {PENDULUM}: it needs Discrete actions, and the "
        "environment's are Box (continuous); use a2c, ppo, sac or td3"
    ) in message


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_sac_and_td3_on_discrete_actions_are_refused_naming_both(tmp_path: Path, algo: str) -> None:
    message = refusal(tmp_path, {**TINY, "algo": algo, "hyperparameters": {}})
    assert (
        f"key 'algo' {algo.upper()} cannot train on proxygym/AbsentSupervisor-v0: it needs Box "
        "actions, and the environment's are Discrete; use a2c, dqn or ppo"
    ) in message


def test_a_discrete_only_axis_on_box_actions_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DiscreteWidth(Width):
        name = "discrete_width"
        action_spaces = ("Discrete",)

    monkeypatch.setitem(AXES, "discrete_width", DiscreteWidth())
    message = refusal(tmp_path, {**BOX, "pressure": {"axis": "discrete_width", "levels": [8]}})
    assert (
        f"key 'pressure.axis' 'discrete_width' needs Discrete actions; {PENDULUM} has Box "
        "actions (SAC): choose another axis"
    ) in message


def test_a_discrete_only_mitigation_on_box_actions_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DiscreteKL(KLPenaltyMitigation):
        action_spaces = ("Discrete",)

    monkeypatch.setitem(MITIGATIONS, "kl_penalty", DiscreteKL())
    message = refusal(tmp_path, {**BOX, "algo": "ppo", "mitigation": {"kl_penalty": 0.1}})
    assert (
        f"key 'mitigation.kl_penalty' needs Discrete actions; {PENDULUM} has Box actions (PPO): "
        "drop it for this environment"
    ) in message


def test_the_jax_engine_on_box_actions_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, {**BOX, "algo": "ppo", "engine": "jax"})
    assert (
        f"key 'engine' the jax engine trains PPO on discrete actions only; {PENDULUM} has Box "
        'actions (PPO): use algo = "sac" or engine = "sb3"'
    ) in message


def test_action_noise_is_written_as_noise_std(tmp_path: Path) -> None:
    message = refusal(tmp_path, {**BOX, "algo": "td3", "hyperparameters": {"action_noise": 0.1}})
    assert "'hyperparameters.action_noise' is an object, not a setting: write noise_std" in message
    message = refusal(tmp_path, {**BOX, "algo": "ppo", "hyperparameters": {"noise_std": 0.1}})
    assert "'hyperparameters.noise_std' is not a hyperparameter of PPO" in message


@pytest.mark.parametrize("algo", ["ppo", "a2c", "sac", "td3"])
def test_every_box_algorithm_loads_with_the_kl_penalty_where_on_policy(
    tmp_path: Path, algo: str
) -> None:
    on_policy = algo in ("ppo", "a2c")
    data = {**BOX, "algo": algo, "mitigation": {"kl_penalty": 0.1} if on_policy else {}}
    config = load_config(write_toml(tmp_path / "ok.toml", data))
    assert config.algo == algo and config.eval_temperature == 1.0
    assert config.mitigation == ({"kl_penalty": 0.1} if on_policy else {})
    if algo == "td3":
        assert config.hyperparameters["noise_std"] == 0.1
        assert config.hyperparameters["policy_kwargs"] == {"net_arch": [400, 300]}


def test_the_problem_names_each_algorithm_that_fits() -> None:
    assert action_space_problem("ppo", "x", "Box") is None
    assert action_space_problem("sac", "x", "Box") is None
    assert action_space_problem("dqn", "x", "Discrete") is None
    assert action_space_problem("sac", "x", "MultiBinary") == (
        "SAC cannot train on x: it needs Box actions, and the environment's are MultiBinary; "
        "no algorithm here trains on them"
    )
