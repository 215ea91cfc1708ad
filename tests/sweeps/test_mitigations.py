"""Mitigations as sweep options: off reproduces the plain sweep, on changes what it should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from proxygym.sweeps import results
from proxygym.sweeps.config import ConfigError
from proxygym.sweeps.mitigations import (
    MITIGATIONS,
    Fail,
    Mitigation,
    TrainingRun,
    positive_int,
)
from proxygym.sweeps.runner import run_sweep
from tests.sweeps.helpers import comparable, tiny_config

EARLY_STOPPING = {"check_every": 64, "episodes_per_check": 1, "patience": 1, "max_labels": 10_000}


def agent_records(directory: Path) -> pd.DataFrame:
    frame = comparable(directory)
    return frame[frame["policy"] == "agent"].reset_index(drop=True)


def test_switched_off_mitigations_reproduce_the_plain_sweep(tmp_path: Path) -> None:
    plain = tiny_config(seeds=[0], baselines=False)
    off = tiny_config(seeds=[0], baselines=False, mitigation={"kl_penalty": 0.0})
    assert off.mitigation == {}
    assert off.canonical() == plain.canonical()
    run_sweep(plain, tmp_path / "plain")
    run_sweep(off, tmp_path / "off")
    pd.testing.assert_frame_equal(
        agent_records(tmp_path / "plain"), agent_records(tmp_path / "off")
    )
    assert (agent_records(tmp_path / "plain")["true_labels"] == 0).all()


def test_kl_penalty_changes_training_and_leaves_the_oracle_alone(tmp_path: Path) -> None:
    # The penalty is 0 on the first rollout (the policy is still the initial
    # one) and changes the updates after it: look at the last checkpoint.
    longer = {"timesteps": 512, "pressure": {"axis": "timesteps", "levels": [0, 512]}}
    plain = tiny_config(seeds=[0], **longer)
    penalised = tiny_config(seeds=[0], mitigation={"kl_penalty": 1.0}, **longer)
    run_sweep(plain, tmp_path / "plain")
    run_sweep(penalised, tmp_path / "kl")
    before, after = comparable(tmp_path / "plain"), comparable(tmp_path / "kl")
    trained = (before["policy"] == "agent") & (before["level"] == 512)
    assert before[trained]["kl_from_init"].iloc[0] != after[trained]["kl_from_init"].iloc[0]
    untouched = before["policy"] != "agent"
    pd.testing.assert_frame_equal(before[untouched], after[untouched])
    manifest = results.read_json(tmp_path / "kl" / results.MANIFEST)
    assert manifest["config"]["mitigation"] == {"kl_penalty": 1.0}


def test_early_stopping_counts_its_labels_and_fills_later_checkpoints(tmp_path: Path) -> None:
    # AbsentSupervisor's greedy untrained policy never improves in 64 steps, so
    # patience 1 stops training at the second check (timestep 128).
    config = tiny_config(
        seeds=[0],
        baselines=False,
        eval_temperature=0.0,
        timesteps=1024,
        pressure={"axis": "timesteps", "levels": [0, 512, 1024]},
        mitigation={"early_stopping": EARLY_STOPPING},
    )
    run_sweep(config, tmp_path / "stop")
    frame = agent_records(tmp_path / "stop").sort_values("level")
    assert list(frame["level"]) == [0, 512, 1024]
    stopped = frame[frame["level"] > 0]
    # Both later checkpoints hold the same stopped policy, evaluated at the step it stopped.
    assert stopped["step"].nunique() == 1
    assert int(stopped["step"].iloc[0]) < 512
    assert stopped["true_return"].nunique() == 1
    labels = int(stopped["true_labels"].iloc[0])
    assert labels > 0 and labels % 1 == 0
    assert int(frame[frame["level"] == 0]["true_labels"].iloc[0]) == 0


# ---------------------------------------------------------------------------
# The mitigation registry: a new mitigation is one class, validated and applied
# ---------------------------------------------------------------------------


class StopAfter(BaseCallback):
    """Ends training once it has used ``steps`` timesteps (test only)."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def _on_step(self) -> bool:
        return self.num_timesteps < self.steps


class StopAfterMitigation(Mitigation):
    """``stop_after = <steps>``: a toy mitigation that also claims 7 true labels per run."""

    name = "stop_after"

    def resolve(self, entry: Any, algo: str, fail: Fail) -> Any | None:
        return positive_int(entry, fail, self.key)

    def callback(self, setting: Any, run: TrainingRun) -> BaseCallback:
        return StopAfter(setting)

    def true_labels(self, callback: BaseCallback) -> int:
        return 7


def test_a_registered_mitigation_is_validated_and_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(MITIGATIONS, "stop_after", StopAfterMitigation())
    with pytest.raises(ConfigError, match="'mitigation.stop_after' must be an integer >= 1"):
        tiny_config(mitigation={"stop_after": 0})
    with pytest.raises(ConfigError, match="expected one of .*'stop_after'"):
        tiny_config(mitigation={"stop_later": 1})
    config = tiny_config(seeds=[0], baselines=["oracle"], mitigation={"stop_after": 128})
    assert config.mitigation == {"stop_after": 128}
    run_sweep(config, tmp_path / "stop")
    frame = comparable(tmp_path / "stop")
    agents = frame[frame["policy"] == "agent"].sort_values("level")
    # Stopped after the first rollout (2 envs x 64 steps): the last checkpoint is that policy.
    assert list(zip(agents["level"], agents["step"], strict=True)) == [
        (0, 0),
        (128, 128),
        (256, 128),
    ]
    assert list(agents["true_labels"]) == [7, 7, 7]
    oracle = frame[frame["policy"] == "oracle"]
    assert list(oracle["step"]) == [256] and list(oracle["true_labels"]) == [0]
