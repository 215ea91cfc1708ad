"""Goodhart drop frequency on random MDPs (Karwowski et al. 2023): the counting helpers, the
reward construction, the cases whose answers are known by hand, and a --quick smoke run."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.goodhart_frequency import (
    FAMILIES,
    QUICK,
    Args,
    gridworld,
    main,
    random_mdp,
    reward_pair,
    run_paths,
    study_mdp,
    with_rewards,
)
from proxygym.analysis.frequency import binned_rates, cumulative_frequency, wilson_interval
from proxygym.planning.angle_stopping import (
    angle_between,
    early_stopping_path,
    expected_reward_vector,
)

TEMPERATURES = QUICK["temperatures"]


# -- the counting helpers ----------------------------------------------------------------------


def test_wilson_interval_matches_hand_computed_values() -> None:
    # z = 1.95996: 0 of 10 -> [0, z^2 / (n + z^2)] = [0, 0.2775]; 5 of 10 -> 0.5 -+ 0.2634.
    low, high = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(low, [0.0, 0.2366, 0.7225], atol=1e-4)
    np.testing.assert_allclose(high, [0.2775, 0.7634, 1.0], atol=1e-4)
    empty_low, empty_high = wilson_interval(0, 0)
    assert math.isnan(float(empty_low)) and math.isnan(float(empty_high))
    # Every interval holds its own proportion exactly, 0 of n and n of n included
    # (rounding used to leave the lower end of 0 of 5 a hair above 0).
    for n in range(1, 60):
        k = np.arange(n + 1)
        low, high = wilson_interval(k, np.full(n + 1, n))
        assert np.all(low <= k / n) and np.all(k / n <= high), n
        assert low[0] == 0.0 and high[-1] == 1.0
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=1.5)


def test_binned_rates_counts_each_bin_and_skips_events_that_do_not_apply() -> None:
    values = np.array([0.0, 5.0, 9.9, 10.0, 15.0, 20.0, 25.0])
    drop = np.array([1, 0, 1, 1, 1, 0, 0], dtype=float)
    avoided = np.array([1, math.nan, 0, 1, 1, math.nan, math.nan])
    loss = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0, 2.0])
    table = binned_rates(values, [0, 10, 20], {"drop": drop, "avoided": avoided}, {"loss": loss})
    # 25 lies outside every bin; 20 is in the last (closed) bin.
    assert table["n"].tolist() == [3, 3]
    assert table["drop"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert table["avoided_trials"].tolist() == [2, 2]
    assert table["avoided"].tolist() == pytest.approx([0.5, 1.0])
    assert table["loss_mean"].tolist() == pytest.approx([0.2, (0.4 + 0.6 + 1.0) / 3])
    assert table["loss_sem"].iloc[0] == pytest.approx(0.1 / math.sqrt(3))
    assert (table["drop_low"] <= table["drop"]).all() and (
        table["drop"] <= table["drop_high"]
    ).all()
    with pytest.raises(ValueError, match="strictly increasing"):
        binned_rates(values, [0, 0], {"drop": drop})
    with pytest.raises(ValueError, match="'drop' has shape"):
        binned_rates(values, [0, 10], {"drop": drop[:3]})


def test_cumulative_frequency_by_hand() -> None:
    curve = cumulative_frequency(np.array([1.0, math.nan, 3.0, 1.0]), 5)
    assert curve.tolist() == [0.0, 0.5, 0.5, 0.75, 0.75]
    with pytest.raises(ValueError, match="non-empty"):
        cumulative_frequency(np.array([]), 3)


# -- environments and rewards ------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_drawn_mdps_are_valid_and_the_proxy_is_at_the_drawn_angle(family: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(10):
        model, shape = random_mdp(rng) if family == "random_mdp" else gridworld(rng)
        np.testing.assert_allclose(model.probs.sum(axis=2), 1.0)
        assert model.initial.sum() == pytest.approx(1.0)
        assert ((0 <= model.next_states) & (model.next_states < model.n_states)).all()
        angle = float(rng.uniform(0, math.pi))
        true, proxy = reward_pair(rng, shape, angle)
        assert np.sqrt(np.mean(true**2)) == pytest.approx(1.0)
        assert np.linalg.norm(proxy) == pytest.approx(np.linalg.norm(true))
        model = with_rewards(model, true, proxy)
        measured = angle_between(
            expected_reward_vector(model, "proxy"), expected_reward_vector(model, "true")
        )
        assert measured == pytest.approx(angle, abs=1e-9)
    with pytest.raises(ValueError, match="angle must be in"):
        reward_pair(rng, (3, 2), 4.0)


def test_gridworld_moves_stay_on_the_grid() -> None:
    model, _ = gridworld(np.random.default_rng(3))
    side = math.isqrt(model.n_states)
    # From the top-left corner (cell 0): staying, up and left all stay; down and right move.
    assert model.next_states[0, 0].tolist() == [0, 0, side, 0, 1]
    assert model.initial[0] == 1.0


# -- cases known by hand -----------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_a_proxy_equal_to_the_true_reward_never_drops(family: str) -> None:
    """Along the soft-optimal path of the true reward itself the true return only rises
    (a lower temperature trades entropy for return), so nothing can drop, the rule walks the
    whole path, and the greedy end is the true optimum."""
    for index in range(12):
        row = study_mdp(family, index, 1, TEMPERATURES, angle=0.0)
        assert not row["goodhart_drop"]
        assert row["angle_projected"] == pytest.approx(0.0, abs=1e-4)
        assert row["stop_point"] == len(TEMPERATURES)
        assert row["loss_unstopped"] == pytest.approx(0.0, abs=1e-9)
        assert row["end_normalised"] == pytest.approx(1.0, abs=1e-9)


def test_a_positively_scaled_true_reward_never_drops() -> None:
    rng = np.random.default_rng(5)
    for _ in range(12):
        model, shape = random_mdp(rng)
        true = rng.normal(size=shape)
        path = early_stopping_path(with_rewards(model, true, 2.5 * true), TEMPERATURES)
        assert not path.goodhart_drop
        assert path.stop_index == len(TEMPERATURES)


@pytest.mark.parametrize("family", FAMILIES)
def test_an_opposite_proxy_always_drops_and_the_rule_never_moves(family: str) -> None:
    """proxy = -true: every step that raises the proxy lowers the true return, and the rule's
    threshold (90 - 180 degrees) refuses the first step."""
    for index in range(6):
        row = study_mdp(family, index, 2, TEMPERATURES, angle=math.pi)
        assert row["goodhart_drop"] and row["drop_point"] == 1
        assert row["stopped_at_start"] and row["drop_avoided"]
        assert row["loss_stopped"] == 0.0
        assert row["end_normalised"] < 0


def test_draws_do_not_depend_on_the_number_of_workers() -> None:
    args = Args(random_mdps=3, gridworlds=3, temperatures=TEMPERATURES)
    one = run_paths(args, echo=lambda _: None)
    two = run_paths(replace(args, workers=2), echo=lambda _: None)
    pd.testing.assert_frame_equal(one, two)


# -- the quick run -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("goodhart_frequency") / "quick"
    assert main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    return out


def test_quick_run_rates_are_frequencies_over_every_mdp(quick_run: Path) -> None:
    paths = pd.read_csv(quick_run / "paths.csv.gz")
    assert len(paths) == QUICK["random_mdps"] + QUICK["gridworlds"]
    by_angle = pd.read_csv(quick_run / "by_angle.csv")
    for family, rows in by_angle.groupby("family"):
        expected = len(paths) if family == "all" else (paths["family"] == family).sum()
        assert rows["n"].sum() == expected  # every projected angle lies in [0, 180]
    for event in ("drop", "material_drop", "drop_avoided", "stopped_at_start"):
        rates = by_angle[event].dropna()
        assert ((rates >= 0) & (rates <= 1)).all()
        filled = by_angle.dropna(subset=[event])
        assert (filled[f"{event}_low"] <= filled[event] + 1e-12).all()
        assert (filled[event] <= filled[f"{event}_high"] + 1e-12).all()
    # A material drop is a drop.
    assert (by_angle["material_drop"].fillna(0) <= by_angle["drop"].fillna(0) + 1e-12).all()
    summary = pd.read_csv(quick_run / "summary.csv").set_index("family")
    assert summary.loc["all", "mdps"] == len(paths)
    assert summary.loc["all", "drop"] == pytest.approx(paths["goodhart_drop"].mean())


def test_quick_run_early_stopping_never_ends_below_the_start(quick_run: Path) -> None:
    paths = pd.read_csv(quick_run / "paths.csv.gz")
    scale = np.maximum(1.0, paths["true_start"].abs())
    assert (paths["true_stopped"] >= paths["true_start"] - 1e-9 * scale).all()
    assert (paths["stopped_normalised"] >= -1e-9).all()
    # The rule's guarantee: it stops at or before the first drop of every path that drops.
    assert paths.loc[paths["goodhart_drop"], "drop_avoided"].astype(bool).all()
    assert paths.loc[~paths["goodhart_drop"], "drop_avoided"].isna().all()
    # No point of the path beats the true optimum; losses are measured from the best point.
    assert (paths["best_normalised"] <= 1 + 1e-9).all()
    assert (paths["loss_stopped"] >= -1e-12).all() and (paths["loss_unstopped"] >= -1e-12).all()
    # The proxy rises along the path (it is optimised); drops are in the true return.
    assert (paths["proxy_end"] >= paths["proxy_start"] - 1e-9).all()


def test_quick_run_pressure_curves_rise_to_the_drop_rate(quick_run: Path) -> None:
    paths = pd.read_csv(quick_run / "paths.csv.gz")
    pressure = pd.read_csv(quick_run / "by_pressure.csv")
    assert pressure["point"].max() == len(TEMPERATURES)
    for _, rows in pressure.groupby("angle_group"):
        assert (np.diff(rows["dropped_by_here"]) >= 0).all()
        assert rows["dropped_by_here"].iloc[0] == 0.0  # the uniform start has no predecessor
    all_rows = pressure.groupby("angle_group")[["mdps", "dropped_by_here"]].last()
    dropped = (all_rows["mdps"] * all_rows["dropped_by_here"]).sum()
    assert dropped == pytest.approx(paths["goodhart_drop"].sum())


def test_quick_run_writes_the_figures_and_the_report(quick_run: Path) -> None:
    for name in ("drop_frequency_vs_angle", "loss_vs_angle", "drops_vs_pressure"):
        assert (quick_run / "figures" / f"{name}.png").stat().st_size > 0
    report = (quick_run / "report.md").read_text()
    for section in ("## Setup", "## Headline", "## By projected angle", "## By pressure"):
        assert section in report
