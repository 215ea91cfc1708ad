"""The misspecification surface: the analysis on made-up records (exact values), the heat
map, the plan, the grids and report from finished sweeps (no training), and a --quick smoke
run (slow) that must resume without rerunning."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from experiments.harness import timesteps_config
from experiments.misspecification_surface import (
    QUICK,
    SHARED_ORACLE_ENVS,
    SURFACE_ENVS,
    Args,
    analyse_env,
    knob_of,
    knob_values,
    main,
    plan,
    worst_floors,
)
from proxygym.analysis.surface import (
    EXACT,
    EXACT_FROM_WORST,
    NO_REFERENCE,
    ORACLE,
    grid_matrix,
    normalised,
    normalised_true,
    oracle_scores,
    random_reaches_optimum,
    surface_grid,
    sweep_summary,
)
from proxygym.planning.tabular import model_of
from proxygym.reporting.plots_surface import surface_heatmap
from proxygym.sweeps import results
from proxygym.sweeps.axes import env_dial
from proxygym.wrappers import TrueObjective
from tests.experiments.test_goodhart_curves import write_finished_sweep

LEVELS = (0, 100, 200)
#: Per seed: (proxy, true) at each level. Means: proxy 0, 5, 10; true 0, 10, 4.
AGENT = {0: ((0, 0), (4, 9), (9, 3)), 1: ((0, 0), (6, 11), (11, 5))}


def _sweep(directory: Path, knob: float, exact: bool, oracle_true: float = 12.0) -> pd.DataFrame:
    """A finished sweep: two seeds rising then falling, random at 0, optimum 20 if ``exact``."""
    config = timesteps_config(
        "made_up", "proxygym/SpeedTrack-v0", {"harshness": knob}, 200, (0, 0.5, 1), (0, 1), 1
    )
    write_finished_sweep(
        directory,
        config,
        lambda seed, level: AGENT[seed][LEVELS.index(level)],
        oracle=(1.0, oracle_true),
        random=(0.0, 0.0),
        exact={"true_optimal": (5.0, 20.0), "proxy_optimal": (30.0, 2.0)} if exact else None,
    )
    return results.load(directory)


def test_sweep_summary_has_the_exact_metrics(tmp_path: Path) -> None:
    summary = sweep_summary(_sweep(tmp_path, 3.0, exact=True))
    # Two seeds: the rules call nothing, so no Goodhart point, whatever the mean curve does.
    assert summary["verdict"] == "inconclusive" and summary["goodhart_point"] is None
    # The mean true return falls from its peak 10 to 4; the reference range is 20 - 0.
    assert summary["ndh"] == pytest.approx((10 - 4) / 20)
    # Pairs of levels: (0, 100) and (0, 200) concordant, (100, 200) discordant.
    assert summary["kendall_tau"] == pytest.approx(1 / 3)
    assert (summary["final_proxy"], summary["final_true"]) == (10, 4)
    assert (summary["oracle_true"], summary["random_true"]) == (12, 0)
    assert (summary["true_optimal"], summary["proxy_optimal"]) == (20, 2)
    assert summary["final_true_score"] == pytest.approx(4 / 20)
    assert summary["final_oracle_score"] == pytest.approx(4 / 12)
    assert (summary["seeds"], summary["levels"]) == (2, 3)


def test_normalisation_prefers_the_exact_optimum_then_the_oracle(tmp_path: Path) -> None:
    with_exact = _sweep(tmp_path / "a", 3.0, exact=True)
    scores, reference = normalised_true(with_exact)
    assert reference == EXACT
    assert scores[with_exact["policy"] == "agent"].tolist() == pytest.approx(
        [t / 20 for values in AGENT.values() for _, t in values]
    )
    oracle_only = _sweep(tmp_path / "b", 3.0, exact=False)
    scores, reference = normalised_true(oracle_only)
    assert reference == ORACLE
    assert scores[oracle_only["policy"] == "agent"].tolist() == pytest.approx(
        [t / 12 for values in AGENT.values() for _, t in values]
    )
    # An oracle no better than random gives nothing to normalise by.
    useless = _sweep(tmp_path / "c", 3.0, exact=False, oracle_true=0.0)
    assert oracle_scores(useless).isna().all()
    assert normalised_true(useless)[1] == ORACLE and normalised_true(useless)[0].isna().all()
    no_baselines = useless[useless["policy"] == "agent"]
    assert normalised_true(no_baselines)[1] == NO_REFERENCE
    assert normalised(4.0, 0.0, 20.0) == 0.2
    assert math.isnan(normalised(4.0, 5.0, 5.0)) and math.isnan(normalised(4.0, 0.0, math.nan))


def test_surface_grid_lays_out_knob_by_level(tmp_path: Path) -> None:
    frames = {
        2.0: _sweep(tmp_path / "two", 2.0, exact=False),
        0.0: _sweep(tmp_path / "zero", 0.0, exact=True),
    }
    grid = surface_grid(frames)
    assert list(zip(grid["knob"], grid["level"], strict=True)) == [
        (knob, level) for knob in (0.0, 2.0) for level in LEVELS
    ]
    assert list(grid["reference"]) == [EXACT] * 3 + [ORACLE] * 3
    assert grid["normalised_true"].tolist() == pytest.approx(
        [0, 10 / 20, 4 / 20, 0, 10 / 12, 4 / 12]
    )
    assert grid["normalised_true_std"].iloc[1] == pytest.approx(np.std([9, 11], ddof=1) / 20)
    matrix = grid_matrix(grid)
    assert matrix.shape == (2, 3) and list(matrix.index) == [0.0, 2.0]
    assert list(matrix.columns) == list(LEVELS)
    with pytest.raises(ValueError, match="'speed'"):
        grid_matrix(grid, "speed")


def test_a_floor_replaces_random_where_random_reaches_the_optimum(tmp_path: Path) -> None:
    frame = _sweep(tmp_path, 3.0, exact=True)
    assert not random_reaches_optimum(frame)
    # (true - floor -5) / (optimum 20 - floor -5) per record.
    scores, reference = normalised_true(frame, floor=-5.0)
    assert reference == EXACT_FROM_WORST
    assert scores[frame["policy"] == "agent"].tolist() == pytest.approx(
        [(t + 5) / 25 for values in AGENT.values() for _, t in values]
    )
    # A floor at or above the optimum spans nothing: the usual references apply.
    assert normalised_true(frame, floor=20.0)[1] == EXACT
    grid = surface_grid({3.0: frame}, floors={3.0: -5.0})
    assert grid["normalised_true"].tolist() == pytest.approx([5 / 25, 15 / 25, 9 / 25])
    assert set(grid["reference"]) == {EXACT_FROM_WORST}
    # Random at the optimum: the sweep's exact scores are all NaN, so a floor is needed.
    saturated = frame.copy()
    saturated.loc[saturated["policy"] == "random", "true_return"] = 20.0
    assert random_reaches_optimum(saturated)


def test_cobra_bounty_floors_are_the_exact_worst_hunter() -> None:
    assert worst_floors("proxygym/CobraBounty-v0", "breeding_rate", [0.0, 4.0]) == pytest.approx(
        {0.0: 0.0, 4.0: 0.0}, abs=1e-9
    )
    # No tabular model, no floors.
    assert worst_floors("proxygym/TrafficMerge-v0", "misspecification", [4.0]) is None


def test_heat_map_annotates_every_cell_and_spans_random_to_reference(tmp_path: Path) -> None:
    grid = surface_grid({0.0: _sweep(tmp_path, 0.0, exact=True)})
    fig = surface_heatmap(grid, "harshness", "title")
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.texts] == ["0.00", "0.50", "0.20"]
    low, high = ax.images[0].get_clim()
    assert (low, high) == (0.0, 1.0)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["0", "100", "200"]


def test_every_surface_environment_has_one_knob_that_accepts_zero() -> None:
    for env_id in SURFACE_ENVS:
        knob, default = knob_of(env_id)
        assert default > 0, env_id
        settings: dict[str, Any] = {knob: 0.0}
        gym.make(env_id, **settings).close()
    assert knob_of("proxygym/SpeedTrack-v0") == ("harshness", 6.0)
    assert knob_values("proxygym/SpeedTrack-v0", Args.knob_multiples) == [0, 3, 6, 9, 12]


def test_full_size_plan_is_five_knob_settings_per_environment(tmp_path: Path) -> None:
    configs = plan(Args(out=tmp_path, envs=("proxygym/Pandemic-v0",)))
    assert list(configs) == [f"Pandemic-v0/misspecification={v:g}" for v in (0, 0.5, 1, 1.5, 2)]
    config = configs["Pandemic-v0/misspecification=1.5"]
    assert config.env_kwargs == {"misspecification": 1.5}
    assert config.levels == (0, 12500, 25000, 50000, 100000) and config.seeds == (0, 1, 2)


def test_shared_oracle_only_where_the_knob_changes_only_the_proxy() -> None:
    """The oracle sees the true objective: where the knob leaves dynamics, observations and
    true rewards alone, one oracle serves every setting. Checked exactly on the tabular
    models, and on seeded random rollouts through TrueObjective (observations too)."""
    for env_id in SHARED_ORACLE_ENVS:
        knob, _ = knob_of(env_id)
        values = knob_values(env_id, Args.knob_multiples)
        models = [model_of(gym.make(env_id, **{knob: value})) for value in values]
        for model in models[1:]:
            if model is None:
                assert models[0] is None, env_id
                continue
            assert models[0] is not None and model.states == models[0].states, env_id
            for field in ("initial", "next_states", "probs", "true_rewards", "terminal"):
                np.testing.assert_array_equal(
                    getattr(model, field), getattr(models[0], field), err_msg=env_id
                )
        rollouts = [_true_rollout(env_id, {knob: value}) for value in values]
        assert all(rollout == rollouts[0] for rollout in rollouts[1:]), env_id
    # The knob of every other surface environment does change what the oracle trains on.
    # (Random actions at dial 0, where they find the hack: at the default dial they may not.)
    for env_id in sorted(set(SURFACE_ENVS) - SHARED_ORACLE_ENVS):
        knob, default = knob_of(env_id)
        dial = env_dial(env_id)
        base = {dial: 0} if dial else {}
        assert _true_rollout(env_id, {**base, knob: 0.0}) != _true_rollout(
            env_id, {**base, knob: 2 * default}
        )


def _true_rollout(env_id: str, env_kwargs: dict[str, Any], steps: int = 1500) -> list[Any]:
    """Observations, true rewards and episode ends of seeded random actions (TrueObjective)."""
    env = TrueObjective(gym.make(env_id, **env_kwargs))
    rng = np.random.default_rng(7)
    observation, _ = env.reset(seed=11)
    trajectory: list[Any] = [observation.tobytes()]
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = env.step(
            int(rng.integers(env.action_space.n))
        )
        trajectory.append((observation.tobytes(), reward, terminated, truncated))
        if terminated or truncated:
            observation, _ = env.reset()
            trajectory.append(observation.tobytes())
    return trajectory


def test_full_size_plan_trains_a_shared_oracle_once(tmp_path: Path) -> None:
    # An empty OUT: plan() keeps the baselines of sweep directories already there.
    configs = plan(Args(out=tmp_path, envs=("proxygym/LagoonRace-v0",)))
    kinds = {key: config.baseline_kinds for key, config in configs.items()}
    assert kinds == {
        f"LagoonRace-v0/target_value={v:g}": (
            ("oracle", "random", "exact") if v == 1 else ("random", "exact")
        )
        for v in (0, 0.5, 1, 1.5, 2)
    }
    # Without the default among the settings, the lowest one trains it.
    quick = plan(replace(Args(out=tmp_path), **QUICK))
    assert quick["TrafficMerge-v0/misspecification=0"].baseline_kinds == (
        "oracle",
        "random",
        "exact",
    )
    assert quick["TrafficMerge-v0/misspecification=8"].baseline_kinds == ("random", "exact")
    assert quick["SpeedTrack-v0/harshness=12"].baseline_kinds == ("oracle", "random", "exact")


def test_an_environment_without_a_knob_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--envs", "BoatRace", "--out", "/nonexistent"])
    assert "'BoatRace'" in capsys.readouterr().err


#: Made-up true returns at the quick checkpoints (0, 2048, 4096): at knob 0 (proxy = true)
#: they rise; above 0 they peak at the middle checkpoint while the proxy climbs 100, 150, 200.
MADE_UP_TRUE = {
    ("proxygym/SpeedTrack-v0", False): (60.0, 80.0, 100.0),
    ("proxygym/SpeedTrack-v0", True): (60.0, 80.0, 40.0),
    ("proxygym/TrafficMerge-v0", False): (-8.0, -6.0, -4.0),
    ("proxygym/TrafficMerge-v0", True): (-8.0, -4.0, -6.0),
}


def _made_up_returns(env_id: str, knob: float) -> Callable[[int, int], tuple[float, float]]:
    true = MADE_UP_TRUE[env_id, knob > 0]

    def returns(seed: int, level: int) -> tuple[float, float]:
        i = (0, 2048, 4096).index(level)
        return (100.0 + 50 * i if knob > 0 else true[i]), true[i]

    return returns


#: (oracle, random, exact) per environment: SpeedTrack has exact optima, TrafficMerge not.
MADE_UP_BASELINES: dict[str, dict[str, Any]] = {
    "proxygym/SpeedTrack-v0": {
        "oracle": (0.0, 90.0),
        "random": (0.0, 40.0),
        "exact": {"true_optimal": (150.0, 140.0), "proxy_optimal": (200.0, 60.0)},
    },
    "proxygym/TrafficMerge-v0": {"oracle": (0.0, -2.0), "random": (0.0, -10.0), "exact": None},
}


def test_the_shared_oracle_survives_reruns_with_other_settings_and_failed_agents(
    tmp_path: Path,
) -> None:
    traffic = "proxygym/TrafficMerge-v0"
    first = Args(out=tmp_path, envs=(traffic,), knob_multiples=(0.0, 1.0, 2.0), timesteps=4096)
    first = replace(first, fractions=(0.0, 0.5, 1.0), seeds=(0,))
    for key, config in plan(first).items():
        knob = next(iter(config.env_kwargs.values()))
        write_finished_sweep(
            tmp_path / key, config, _made_up_returns(traffic, knob), **MADE_UP_BASELINES[traffic]
        )
    # Rerun without the default setting, whose sweep trained the oracle: the other two
    # directories keep the baselines they were written with (or they would be refused).
    second = replace(first, knob_multiples=(0.0, 2.0))
    kinds = {key: config.baseline_kinds for key, config in plan(second).items()}
    assert kinds == dict.fromkeys(
        ["TrafficMerge-v0/misspecification=0", "TrafficMerge-v0/misspecification=8"],
        ("random", "exact"),
    )
    # Every agent cell of the default's sweep failed: its oracle still serves the others.
    for cell in (tmp_path / "TrafficMerge-v0/misspecification=4/cells").glob("agent-*"):
        cell.unlink()
    surface = analyse_env(tmp_path, traffic, [0.0, 4.0, 8.0])
    assert surface is not None and surface.reference == ORACLE
    assert sorted(surface.grid["knob"].unique()) == [0.0, 8.0]
    # (true + 10) / (oracle -2 + 10), as in the test below.
    np.testing.assert_allclose(
        grid_matrix(surface.grid).to_numpy(), [[0.25, 0.5, 0.75], [0.25, 0.75, 0.5]]
    )


def test_grids_heat_maps_and_report_from_finished_sweeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "surface"
    for key, config in plan(replace(Args(out=out), **QUICK)).items():
        knob = next(iter(config.env_kwargs.values()))
        returns = _made_up_returns(config.env, knob)
        write_finished_sweep(out / key, config, returns, **MADE_UP_BASELINES[config.env])
    assert main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("0 cells run, 4 already done, 0 failed") == 3
    # TrafficMerge at 8 shares the oracle trained at 0: its sweep has no oracle cell.
    assert printed.count("0 cells run, 3 already done, 0 failed") == 1
    combined = pd.read_csv(out / "surface.csv")
    speed = grid_matrix(combined[combined["env"] == "proxygym/SpeedTrack-v0"])
    assert list(speed.index) == [0.0, 12.0] and list(speed.columns) == [0, 2048, 4096]
    # (true - random 40) / (optimum 140 - random 40), at each knob setting.
    np.testing.assert_allclose(speed.to_numpy(), [[0.2, 0.4, 0.6], [0.2, 0.4, 0.0]])
    traffic = grid_matrix(combined[combined["env"] == "proxygym/TrafficMerge-v0"])
    assert list(traffic.index) == [0.0, 8.0]
    # (true + 10) / (oracle -2 + 10).
    np.testing.assert_allclose(traffic.to_numpy(), [[0.25, 0.5, 0.75], [0.25, 0.75, 0.5]])
    assert set(combined.loc[combined["env"] == "proxygym/TrafficMerge-v0", "reference"]) == {ORACLE}
    for name in ("SpeedTrack-v0", "TrafficMerge-v0"):
        pd.testing.assert_frame_equal(
            pd.read_csv(out / name / "grid.csv"),
            combined[combined["env"] == f"proxygym/{name}"]
            .drop(columns=["env", "knob_name", "knob_multiple"])
            .reset_index(drop=True),
        )
        assert (out / name / "heatmap.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "## SpeedTrack-v0: knob `harshness` (default 6)" in report
    assert "## TrafficMerge-v0: knob `misspecification` (default 4)" in report
    assert f"Normalised by: {EXACT}." in report and f"Normalised by: {ORACLE}." in report
    # The final-checkpoint table: one row per environment, one column per knob multiple.
    assert "| proxygym/SpeedTrack-v0 | 0.6 | 0 |" in report
    # The exact proxy optimum's true return 60, normalised: (60 - 40) / (140 - 40).
    # One seed: no verdict; NDH (80 - 40) / (140 - 40) describes the mean curve all the same.
    # Skalse hackability at harshness 6: the exact optima are a witness.
    assert (
        "| 12 | inconclusive | none | 0.4 | -0.333 | 200 | 40 | 40 | 140 | 90 | 0 "
        "| hackable (witness among 2000 policies) | 0.2 |" in report
    )
    assert "| 0 | inconclusive | none |" in report and "| no witness among 2000 searched" in report


@pytest.mark.slow
def test_quick_run_writes_the_grids_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real --quick run (trains): measured 10 s at a load average of 4 on 2 cores, 50-70 s
    at 7.5-8."""
    out = tmp_path / "surface"
    assert main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    combined = pd.read_csv(out / "surface.csv")
    assert sorted(combined["env"].unique()) == sorted(QUICK["envs"])
    references = {"proxygym/SpeedTrack-v0": EXACT, "proxygym/TrafficMerge-v0": ORACLE}
    for env_id, reference in references.items():
        name = env_id.split("/")[1]
        grid = pd.read_csv(out / name / "grid.csv")
        _, default = knob_of(env_id)
        assert grid_matrix(grid).shape == (2, 3)
        assert sorted(grid["knob"].unique()) == [0.0, 2 * default]
        assert sorted(grid["level"].unique()) == [0, 2048, 4096]
        assert set(grid["reference"]) == {reference}
        # At knob 0 the proxy is the true objective itself in both environments.
        at_zero = grid[grid["knob"] == 0]
        np.testing.assert_allclose(at_zero["proxy_return"], at_zero["true_return"])
        for suffix in ("png", "svg"):
            assert (out / name / f"heatmap.{suffix}").stat().st_size > 0
    speed = combined[combined["env"] == "proxygym/SpeedTrack-v0"]
    assert np.isfinite(speed["normalised_true"]).all()  # exact references at every knob
    # With harshness > 0 crashes cost true return the proxy does not see, so the proxy is never
    # below it. (A 4,096-step agent at the default turbo_charge 20 never charges the turbo, so it
    # need not crash at all: that is the hack-difficulty dial doing its job.)
    harsh = speed[speed["knob"] > 0]
    assert (harsh["proxy_return"] >= harsh["true_return"] - 1e-9).all()
    report = (out / "report.md").read_text()
    for env_id in QUICK["envs"]:
        assert env_id.split("/")[1] in report
    assert EXACT in report and ORACLE in report
    cells = sorted(out.glob("*/*/cells/*.json"))
    # envs x knob settings x (agent, oracle, random, exact), less TrafficMerge's shared oracle.
    assert len(cells) == 2 * 2 * 4 - 1
    stamps = [path.stat().st_mtime_ns for path in cells]
    capsys.readouterr()

    assert main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    assert capsys.readouterr().out.count("0 cells run") == 4
    assert [path.stat().st_mtime_ns for path in cells] == stamps
    pd.testing.assert_frame_equal(pd.read_csv(out / "surface.csv"), combined)


def test_write_up_table_matches_the_stored_full_size_surface() -> None:
    """The write-up's final-checkpoint table is the stored surface.csv's, rounded.

    experiments/misspecification_surface.md is typed by hand from
    docs/results/misspecification_surface/surface.csv; this catches a
    mistyped, stale or missing row (every surface environment must have one).
    """
    root = Path(__file__).resolve().parents[2]
    surface = pd.read_csv(root / "docs/results/misspecification_surface/surface.csv")
    final = surface[surface["level"] == surface.groupby("env")["level"].transform("max")]
    text = (root / "experiments/misspecification_surface.md").read_text()
    section = text.split("Final checkpoint, normalised true return by knob setting", 1)[1]
    rows = [line for line in section.split("\n\n")[1].splitlines() if line.startswith("| ")][1:]
    typed_envs = set()
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        env = f"proxygym/{cells[0].split(' (')[0]}-v0"
        typed_envs.add(env)
        stored = final[final["env"] == env].sort_values("knob_multiple")
        assert stored["knob_multiple"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0], env
        for cell, value in zip(cells[1:], stored["normalised_true"], strict=True):
            if math.isnan(value):
                assert cell == "n/a", (env, cell)
            else:
                # Three significant figures: within 1 % or 0.001.
                assert float(cell) == pytest.approx(value, rel=0.01, abs=1e-3), (env, cell)
    assert typed_envs == set(SURFACE_ENVS)
