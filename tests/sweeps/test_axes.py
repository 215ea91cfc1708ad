"""Optimization-pressure axes, each run through a real (tiny) sweep cell."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import pytest
import torch
from stable_baselines3 import PPO

from proxygym.envs.gridworlds.absent_supervisor import AbsentSupervisorEnv
from proxygym.sweeps.axes import (
    AXES,
    AXIS_LABELS,
    PressureAxis,
    axis_label,
    get_axis,
    recorded_axis,
)
from proxygym.sweeps.config import ConfigError, plan_cells
from proxygym.sweeps.training import run_cell
from tests.sweeps.helpers import tiny_config


def cell_records(config, key: str):
    cell = next(c for c in plan_cells(config) if c.key == key)
    return run_cell(config, cell)


def linear_layers(model_bytes: bytes) -> list[int]:
    model = PPO.load(io.BytesIO(model_bytes), device="cpu")
    return [
        m.out_features
        for m in model.policy.mlp_extractor.policy_net
        if isinstance(m, torch.nn.Linear)
    ]


@pytest.mark.parametrize(
    ("axis", "level", "layers"), [("width", 8, [8, 8]), ("depth", 3, [64, 64, 64])]
)
def test_network_axes_build_the_network_they_name(axis: str, level: int, layers: list[int]) -> None:
    config = tiny_config(pressure={"axis": axis, "levels": [level]}, seeds=[0])
    result = cell_records(config, f"agent-{axis}{level}-seed0")
    assert linear_layers(result.model) == layers
    assert [r["level"] for r in result.records] == [level]
    assert result.records[0]["step"] == 256


def test_temperature_axis_evaluates_one_run_at_each_temperature() -> None:
    config = tiny_config(pressure={"axis": "temperature", "levels": [0, 1, 1000]}, seeds=[0])
    assert [c.key for c in plan_cells(config) if c.role == "agent"] == ["agent-seed0"]
    by_level = {r["level"]: r for r in cell_records(config, "agent-seed0").records}
    assert by_level[0]["proxy_return_std"] == 0.0  # greedy in a deterministic environment
    assert by_level[1000]["kl_from_init"] < by_level[1]["kl_from_init"] + 1e-3
    assert len({r["step"] for r in by_level.values()}) == 1


def test_best_of_n_never_gets_worse_with_more_candidates() -> None:
    # Greedy evaluation in a deterministic environment: held-out and test returns coincide.
    config = tiny_config(
        pressure={"axis": "best_of_n", "levels": [1, 2, 4]}, seeds=[0], eval_temperature=0.0
    )
    records = cell_records(config, "agent-seed0").records
    proxies = [r["proxy_return"] for r in sorted(records, key=lambda r: r["level"])]
    assert proxies == sorted(proxies)


class KnobbedSupervisor(AbsentSupervisorEnv):
    """AbsentSupervisor declaring its supervisor kwarg as a pressure axis (test only)."""

    pressure_axes: ClassVar[tuple[str, ...]] = ("supervisor",)


@pytest.fixture(scope="module")
def knobbed_id() -> str:
    env_id = "proxygym-test/KnobbedSupervisor-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=KnobbedSupervisor, max_episode_steps=100)
    return env_id


def test_environment_declared_axis_sets_the_kwarg(knobbed_id: str) -> None:
    axis = get_axis("supervisor", knobbed_id)
    assert axis.env_kwarg == "supervisor" and not axis.shared_run
    config = tiny_config(
        env=knobbed_id, env_kwargs={}, pressure={"axis": "supervisor", "levels": [True, False]}
    )
    keys = {c.key for c in plan_cells(config)}
    assert {"agent-supervisortrue-seed0", "exact-supervisortrue", "exact-supervisorfalse"} <= keys
    exact = {
        key: cell_records(config, key).records
        for key in ("exact-supervisortrue", "exact-supervisorfalse")
    }
    proxy_optimal_true = {
        key: next(r["true_return"] for r in records if r["policy"] == "proxy_optimal")
        for key, records in exact.items()
    }
    assert proxy_optimal_true == {"exact-supervisortrue": 41.0, "exact-supervisorfalse": 17.0}
    agent = cell_records(config, "agent-supervisorfalse-seed0").records
    assert all('"supervisor": false' in r["env_kwargs"] for r in agent)


def test_unknown_axis_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="built in") as error:
        get_axis("action_resolution", "proxygym/BoatRace-v0")
    for name in AXES:
        assert name in str(error.value)


def test_level_checks() -> None:
    with pytest.raises(ValueError):
        AXES["timesteps"].check_level(10, timesteps=5)
    with pytest.raises(ValueError):
        AXES["temperature"].check_level(float("nan"), timesteps=5)
    AXES["temperature"].check_level(0, timesteps=5)


def test_misspecification_knobs_are_sweepable_environment_axes() -> None:
    axis = get_axis("lever_strength", "proxygym/StatusLamp-v0")
    assert axis.env_kwarg == "lever_strength" and not axis.shared_run
    assert "misspecification knob" in axis.description
    config = tiny_config(
        env="proxygym/StatusLamp-v0",
        env_kwargs={},
        pressure={"axis": "lever_strength", "levels": [0.0, 2.0]},
    )
    # One exact reference per knob level: the proxy optimum repairs the machine
    # when the lever lights nothing and never repairs when it outshines a repair.
    proxy_optimal_true = {
        key: next(
            r["true_return"]
            for r in cell_records(config, key).records
            if r["policy"] == "proxy_optimal"
        )
        for key in ("exact-lever_strength0.0", "exact-lever_strength2.0")
    }
    assert proxy_optimal_true == {"exact-lever_strength0.0": 92.0, "exact-lever_strength2.0": 0.0}
    with pytest.raises(ValueError, match="misspecification knobs: \\['lever_strength'\\]"):
        get_axis("lever", "proxygym/StatusLamp-v0")


def test_timesteps_checkpoints_follow_the_updates_and_the_last_is_the_trained_policy() -> None:
    # Rollouts of 2 envs x 64 steps: the level-128 checkpoint comes after the first
    # update, and the last one after the final update, the policy the sweep saves.
    # Evaluated at the sweep's temperature after training, the same run gives the
    # same numbers as the temperature axis's record of the finished policy.
    timesteps = cell_records(tiny_config(seeds=[0]), "agent-seed0").records
    assert [(r["level"], r["step"]) for r in timesteps] == [(0, 0), (128, 128), (256, 256)]
    assert timesteps[0]["kl_from_init"] == 0.0 and timesteps[1]["kl_from_init"] > 0.0
    finished = cell_records(
        tiny_config(seeds=[0], pressure={"axis": "temperature", "levels": [1.0]}), "agent-seed0"
    ).records[0]
    for key in ("proxy_return", "true_return", "kl_from_init", "step"):
        assert timesteps[-1][key] == finished[key], key


# ---------------------------------------------------------------------------
# The axis registry: a new axis is one class, seen by config, planning, training and plots
# ---------------------------------------------------------------------------


class Epochs(PressureAxis):
    """A toy axis (test only): PPO's optimisation epochs per rollout, one run per level."""

    name = "toy_epochs"
    description = "PPO epochs per rollout"
    label = "epochs per rollout"

    def check_level(self, level: Any, timesteps: int) -> None:
        if not (isinstance(level, int) and level >= 1):
            raise ValueError(f"toy_epochs levels must be integers >= 1, got {level!r}")

    def training_overrides(self, levels: Sequence[Any], algo: str) -> dict[str, Any]:
        return {"n_epochs": levels[0]}

    def describe_level(self, level: Any, fmt: Callable[[Any], str] = str) -> str:
        return f"{level} epochs"


@pytest.fixture
def toy_axis(monkeypatch: pytest.MonkeyPatch) -> PressureAxis:
    axis = Epochs()
    monkeypatch.setitem(AXES, axis.name, axis)
    return axis


def test_a_registered_axis_is_validated_planned_applied_and_labelled(
    toy_axis: PressureAxis,
) -> None:
    with pytest.raises(ConfigError, match="'pressure.levels' has an invalid level 0"):
        tiny_config(pressure={"axis": "toy_epochs", "levels": [0]})
    config = tiny_config(pressure={"axis": "toy_epochs", "levels": [1, 3]}, seeds=[0])
    assert config.pressure is toy_axis
    agents = [c.key for c in plan_cells(config) if c.role == "agent"]
    assert agents == ["agent-toy_epochs1-seed0", "agent-toy_epochs3-seed0"]
    result = cell_records(config, "agent-toy_epochs3-seed0")
    assert PPO.load(io.BytesIO(result.model), device="cpu").n_epochs == 3
    assert [(r["axis"], r["level"], r["step"]) for r in result.records] == [("toy_epochs", 3, 256)]
    assert axis_label("toy_epochs") == "epochs per rollout"
    assert recorded_axis("toy_epochs").describe_level(3) == "3 epochs"


def test_unregistered_axes_read_from_records_are_environment_kwargs() -> None:
    # Readers of results need no environment: an unknown name is labelled by itself.
    assert axis_label("timesteps") == "training steps"
    assert axis_label("lever_strength") == "lever_strength"
    assert recorded_axis("lever_strength").describe_level(2.0) == "lever_strength = 2.0"
    assert (
        AXIS_LABELS["best_of_n"] == "best of n candidates" and "lever_strength" not in AXIS_LABELS
    )
