"""experiments/dial_experiment.py: its plan, its exact picture and a quick run end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.dial_experiment import (
    BETAS,
    SETTINGS,
    Args,
    baselines,
    dial_envs,
    exact_curve,
    main,
    plan,
    sweep_key,
)
from proxygym.analysis.dial import DIAL_LABELS
from proxygym.sweeps.axes import env_dial


def test_every_dialled_environment_is_planned_at_0_and_its_default_among_4_or_more() -> None:
    import gymnasium as gym

    assert set(dial_envs()) == set(SETTINGS)
    for env_id, settings in SETTINGS.items():
        default = getattr(gym.make(env_id).unwrapped, env_dial(env_id))
        assert settings[0] == 0 and default in settings and len(settings) >= 4, env_id
        assert list(settings) == sorted(set(settings)), env_id


def test_the_plan_trains_an_oracle_only_without_an_exact_model(tmp_path: Path) -> None:
    configs = plan(Args(out=tmp_path, envs=("proxygym/StatusLamp-v0", "proxygym/Pandemic-v0")))
    assert list(configs)[:2] == [
        sweep_key("proxygym/StatusLamp-v0", 0),
        "StatusLamp-v0/lever_distance-2",
    ]
    lamp = configs["StatusLamp-v0/lever_distance-4"]
    assert lamp.env_kwargs == {"lever_distance": 4} and lamp.seeds == tuple(range(20))
    assert lamp.engine == "jax" and lamp.axis == "timesteps" and len(lamp.levels) == 10
    assert baselines("proxygym/StatusLamp-v0", 4) == ["random", "exact"]
    assert baselines("proxygym/Pandemic-v0", 5) is True  # no model: the oracle gives R


def test_the_exact_picture_peaks_inside_at_the_default_and_not_at_dial_0() -> None:
    default = exact_curve("proxygym/SpeedTrack-v0", {})
    assert len(default) == len(BETAS)
    peak = int(default.true_return.idxmax())
    assert 0 < peak < len(BETAS) - 1
    original = exact_curve("proxygym/SpeedTrack-v0", {"turbo_charge": 0})
    assert int(original.true_return.idxmax()) < peak
    assert exact_curve("proxygym/Pandemic-v0", {}) is None


@pytest.mark.slow
def test_quick_run_writes_every_table_and_figure(tmp_path: Path) -> None:
    out = tmp_path / "dial"
    assert main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    settings = pd.read_csv(out / "settings.csv")
    assert list(settings.setting) == list(SETTINGS["proxygym/StatusLamp-v0"])
    assert set(settings.verdict) == {"inconclusive"}  # 2 seeds: the rules need 10
    trends = pd.read_csv(out / "trends.csv")
    assert list(trends.label) == ["not shown"] and trends.label.isin(DIAL_LABELS).all()
    exact = pd.read_csv(out / "exact.csv")
    assert len(exact) == len(BETAS) * len(SETTINGS["proxygym/StatusLamp-v0"])
    assert (out / "figures" / "StatusLamp-v0.png").read_bytes().startswith(b"\x89PNG")
    report = (out / "report.md").read_text()
    assert "## Does the peak move later? (dial rule)" in report and "not shown" in report
