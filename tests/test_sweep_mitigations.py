"""Mitigations as sweep options: off reproduces the plain sweep, on changes what it should."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proxygym.sweeps import results
from proxygym.sweeps.runner import run_sweep
from tests.sweep_helpers import comparable, tiny_config

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
