"""The gaming detector: distances, AUROC, thresholds, and a sweep directory end to end."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from proxygym.agents import make_agent
from proxygym.agents.evaluation import LogitsFn, evaluate_policy, policy_logits
from proxygym.analysis.detect import (
    METRICS,
    accuracy,
    auroc,
    choose_threshold,
    classify,
    detect_sweep,
    detection_table,
    gaming_cutoff,
    hellinger_distance,
    js_divergence,
    kl_divergence,
    policy_distances,
    score_suspects,
)
from proxygym.cli import main
from proxygym.sweeps import results
from proxygym.sweeps.runner import run_sweep
from tests.sweeps.helpers import TINY, tiny_config

ENV = TINY["env"]
ENV_KWARGS = TINY["env_kwargs"]
LN2 = math.log(2)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Building agents is quicker on one thread, and immune to a busy machine's scheduling."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- distances ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p", [[0.25, 0.25, 0.25, 0.25], [0.7, 0.2, 0.1, 0.0], [0.0, 1.0, 0.0, 0.0], [1 / 3] * 3]
)
def test_identical_distributions_score_exactly_zero(p: list[float]) -> None:
    assert kl_divergence(p, p) == 0.0
    assert js_divergence(p, p) == 0.0
    assert hellinger_distance(p, p) == 0.0


def test_two_action_example_computed_by_hand() -> None:
    p, q = [0.5, 0.5], [0.9, 0.1]
    # KL(p||q) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.5 ln(25/9) = ln(5/3)
    assert kl_divergence(p, q) == pytest.approx(math.log(5 / 3), rel=1e-12)
    # KL(q||p) = 0.9 ln(1.8) + 0.1 ln(0.2): KL is not symmetric
    assert kl_divergence(q, p) == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    # midpoint m = (0.7, 0.3); JS = (KL(p||m) + KL(q||m)) / 2
    #   KL(p||m) = 0.5 ln(0.5/0.7) + 0.5 ln(0.5/0.3) = 0.5 ln(25/21)
    #   KL(q||m) = 0.9 ln(9/7) + 0.1 ln(1/3)
    by_hand = 0.25 * math.log(25 / 21) + 0.45 * math.log(9 / 7) - 0.05 * math.log(3)
    assert js_divergence(p, q) == pytest.approx(by_hand, rel=1e-12)
    assert js_divergence(p, q) == pytest.approx(0.101749, abs=1e-6)
    # H^2 = 1 - sum sqrt(p q) = 1 - sqrt(0.45) - sqrt(0.05) = 1 - 2 / sqrt(5)
    assert hellinger_distance(p, q) == pytest.approx(math.sqrt(1 - 2 / math.sqrt(5)), rel=1e-12)


def test_disjoint_support_hits_the_bounds_and_kl_is_clipped() -> None:
    p, q = [0.0, 1.0], [1.0, 0.0]
    assert kl_divergence(p, q) == pytest.approx(12 * math.log(10))  # ln(1 / 1e-12), not inf
    assert js_divergence(p, q) == pytest.approx(LN2)
    assert hellinger_distance(p, q) == pytest.approx(1.0)


def test_js_symmetric_and_bounded_hellinger_in_unit_interval() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 7))
        p, q = rng.dirichlet(np.full(n, 0.3)), rng.dirichlet(np.full(n, 0.3))
        p[rng.random(n) < 0.2] = 0.0  # exact zeros too
        p = p / p.sum() if p.sum() > 0 else np.eye(n)[0]
        js, h = js_divergence(p, q), hellinger_distance(p, q)
        assert js == pytest.approx(js_divergence(q, p), abs=1e-15)
        assert h == pytest.approx(hellinger_distance(q, p), abs=1e-15)
        assert 0.0 <= js <= LN2
        assert 0.0 <= h <= 1.0
        assert kl_divergence(p, q) >= 0.0


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, 0.5], [0.2, 0.3, 0.5], "same actions"),
        ([0.5, 0.6], [0.5, 0.5], "p is not a probability distribution"),
        ([0.5, 0.5], [1.5, -0.5], "q is not a probability distribution"),
    ],
)
def test_distances_reject_non_distributions(p: list[float], q: list[float], message: str) -> None:
    for distance in (kl_divergence, js_divergence, hellinger_distance):
        with pytest.raises(ValueError, match=message):
            distance(p, q)


# -- AUROC and thresholds -------------------------------------------------------------------


def test_auroc_hand_examples() -> None:
    labels = [False, False, True, True]
    assert auroc([0.1, 0.2, 0.8, 0.9], labels) == 1.0
    assert auroc([0.8, 0.9, 0.1, 0.2], labels) == 0.0
    assert auroc([0.3, 0.3, 0.3, 0.3], labels) == 0.5
    # gaming 0.4, 0.8 against honest 0.1, 0.4, 0.9:
    # 0.4 beats 0.1, ties 0.4, loses to 0.9 -> 1.5; 0.8 beats 0.1 and 0.4 -> 2; 3.5 of 6 pairs
    assert auroc([0.4, 0.8, 0.1, 0.4, 0.9], [True, True, False, False, False]) == 7 / 12


def test_auroc_matches_counting_every_pair() -> None:
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=40).astype(float)  # many ties
    labels = rng.random(40) < 0.4
    gaming, honest = scores[labels], scores[~labels]
    pairs = [(g > h) + 0.5 * (g == h) for g in gaming for h in honest]
    assert auroc(scores, labels) == pytest.approx(float(np.mean(pairs)), abs=1e-15)


def test_auroc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both gaming and honest.*0 gaming and 3 honest"):
        auroc([0.1, 0.2, 0.3], [False, False, False])
    with pytest.raises(ValueError, match="2 gaming and 0 honest"):
        auroc([0.1, 0.2], [True, True])
    with pytest.raises(ValueError, match="one label per score"):
        auroc([0.1, 0.2], [True])


def test_threshold_maximises_balanced_accuracy_then_scores_held_out() -> None:
    # candidates: -inf and midpoints 0.15, 0.25, 0.325, 0.475, 0.75. Balanced accuracy
    # at 0.25 is (3/3 + 2/3) / 2 = 5/6, at 0.475 (2/3 + 3/3) / 2 = 5/6: the lower wins.
    calibration = [0.1, 0.2, 0.35, 0.3, 0.6, 0.9]
    calibration_labels = [False, False, False, True, True, True]
    threshold = choose_threshold(calibration, calibration_labels)
    assert threshold == pytest.approx(0.25)
    held_out, held_out_labels = [0.05, 0.3, 0.2, 0.5], [False, True, True, True]
    assert classify(held_out, threshold).tolist() == [False, True, False, True]
    assert accuracy(held_out, held_out_labels, threshold) == 0.75


def test_threshold_weighs_a_rare_class_as_much_as_a_common_one() -> None:
    # Flagging only 0.5 and 0.6 (threshold 0.45) has balanced accuracy (1 + 4/5) / 2 = 0.9.
    threshold = choose_threshold([0.1, 0.2, 0.3, 0.4, 0.6, 0.5], [False] * 5 + [True])
    assert threshold == pytest.approx(0.45)
    # Reversed scores: nothing beats flagging everyone (0.5), the lowest candidate.
    assert choose_threshold([0.9, 0.1], [False, True]) == -math.inf
    with pytest.raises(ValueError, match="both gaming and honest"):
        choose_threshold([0.1, 0.9], [True, True])


def test_gaming_cutoff_by_hand() -> None:
    assert gaming_cutoff(40.0, -60.0, 0.5) == -10.0  # half of the 100 gained over random
    assert gaming_cutoff(40.0, None, 0.5) == 20.0  # no random: half of |40|
    assert gaming_cutoff(0.2, None, 0.5) == pytest.approx(-0.3)  # floor: half of 1
    assert gaming_cutoff(-50.0, -40.0, 0.5) == -75.0  # oracle worse than random: |J_oracle|
    assert gaming_cutoff(40.0, -60.0, 0.0) == 40.0


# -- policy rollouts ------------------------------------------------------------------------


def constant_logits(probabilities: list[float]) -> LogitsFn:
    """The policy with the same action distribution in every state."""
    logits = np.log(np.asarray(probabilities))
    return lambda observation: logits


def test_same_policy_scores_zero_on_every_metric_along_real_rollouts() -> None:
    model = make_agent("ppo", ENV, 0, env_kwargs=ENV_KWARGS, n_envs=1)
    logits = policy_logits(model.policy)
    result = policy_distances(logits, logits, ENV, ENV_KWARGS, episodes=2, seed=3)
    assert all(getattr(result, metric) == 0.0 for metric in METRICS)
    assert result.episodes == 2 and result.states > 0


@pytest.mark.parametrize("temperature", [0.0, 1.0, 2.5])
def test_distances_on_every_state_and_the_suspects_own_returns(temperature: float) -> None:
    suspect, trusted = [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]
    result = policy_distances(
        constant_logits(suspect), constant_logits(trusted), ENV, ENV_KWARGS, 3, 7, temperature
    )
    # Same distributions in every state, so mean = max = the by-hand value (temperature 1).
    kl = sum(p * math.log(p / 0.25) for p in suspect)
    hellinger = math.sqrt(1 - sum(math.sqrt(p * 0.25) for p in suspect))
    assert result.kl_mean == pytest.approx(kl) and result.kl_max == pytest.approx(kl)
    assert result.hellinger_mean == pytest.approx(hellinger)
    assert result.hellinger_max == pytest.approx(hellinger)
    assert result.js_mean == pytest.approx(result.js_max)
    assert 0 < result.js_mean < LN2
    # The suspect acts as evaluate_policy plays it: same seeds, same returns.
    played = evaluate_policy(constant_logits(suspect), ENV, ENV_KWARGS, 3, 7, temperature)
    assert result.proxy_return == played.proxy_return
    assert result.true_return == played.true_return


def test_policy_distances_validates_its_arguments() -> None:
    logits = constant_logits([0.25] * 4)
    with pytest.raises(ValueError, match="episodes"):
        policy_distances(logits, logits, ENV, ENV_KWARGS, 0, 0)
    with pytest.raises(ValueError, match="temperature"):
        policy_distances(logits, logits, ENV, ENV_KWARGS, 1, 0, temperature=-1.0)


# -- a sweep directory ----------------------------------------------------------------------


def record(
    cell: str, policy: str, seed: int | None, level: Any, true_return: float
) -> dict[str, Any]:
    """One evaluation record with every field a sweep writes."""
    return {
        "env": ENV,
        "env_kwargs": json.dumps(ENV_KWARGS, sort_keys=True),
        "algo": "ppo",
        "axis": "width",
        "level": level,
        "seed": seed,
        "policy": policy,
        "cell": cell,
        "step": 256,
        "proxy_return": 0.0,
        "true_return": true_return,
        "proxy_return_std": 0.0,
        "true_return_std": 0.0,
        "episodes": 2,
        "kl_from_init": 0.0,
        "wall_time": 0.0,
    }


def write_cell(
    out: Path, cell: str, records: list[dict[str, Any]], model: BaseAlgorithm | None = None
) -> None:
    """A finished cell as the sweep stores it: its model (if any), then its records."""
    if model is not None:
        (out / "models").mkdir(parents=True, exist_ok=True)
        model.save(out / "models" / f"{cell}.zip")
    results.write_json_atomic(
        results.cell_path(out, cell), {"cell": cell, "status": "ok", "records": records}
    )


def planted_sweep(out: Path, seeds: list[int]) -> Path:
    """A width sweep whose labels are known: per seed an oracle (true return 40), an honest
    agent that is the oracle itself (35) and a gaming one pushed towards "up" (-50);
    the random policy gets -60, so the cutoff at margin 0.5 is -10. Every oracle is the
    same network (one initialisation), so the honest agents match whichever is trusted."""
    config = tiny_config(seeds=seeds, pressure={"axis": "width", "levels": [4, 16]})
    results.write_json_atomic(out / results.MANIFEST, {"config": config.to_dict(), "cells": []})
    write_cell(out, "random", [record("random", "random", None, None, -60.0)])
    for seed in seeds:
        oracle = make_agent("ppo", ENV, 100, env_kwargs=ENV_KWARGS, n_envs=1)
        write_cell(
            out,
            f"oracle-seed{seed}",
            [record(f"oracle-seed{seed}", "oracle", seed, None, 40.0)],
            oracle,
        )
        honest = f"agent-width4-seed{seed}"
        write_cell(out, honest, [record(honest, "agent", seed, 4, 35.0)], oracle)
        with torch.no_grad():
            oracle.policy.action_net.bias += torch.tensor([3.0, 0.0, 0.0, -3.0])
        gaming = f"agent-width16-seed{seed}"
        write_cell(out, gaming, [record(gaming, "agent", seed, 16, -50.0)], oracle)
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_sweep(tmp_path_factory.mktemp("planted"), [0, 1, 2, 3])


@pytest.fixture(scope="module")
def planted_suspects(planted: Path) -> pd.DataFrame:
    return score_suspects(planted, episodes=2, seed=5)


def test_planted_suspects_are_labelled_matched_and_split(planted_suspects: pd.DataFrame) -> None:
    suspects = planted_suspects.set_index("cell")
    for seed in range(4):
        honest, gaming = (
            suspects.loc[f"agent-width4-seed{seed}"],
            suspects.loc[f"agent-width16-seed{seed}"],
        )
        # Another seed's oracle: the next one up, cyclically.
        assert honest.trusted == gaming.trusted == f"oracle-seed{(seed + 1) % 4}"
        assert honest.cutoff == gaming.cutoff == -10.0
        assert not honest.gaming and gaming.gaming
        assert all(honest[metric] == 0.0 for metric in METRICS)  # the oracle itself
        assert all(gaming[metric] > 0.0 for metric in METRICS)
        expected = "held_out" if seed % 2 else "calibration"
        assert honest.split == gaming.split == expected


def test_planted_sweep_is_detected_perfectly(planted_suspects: pd.DataFrame) -> None:
    table = detection_table(planted_suspects).set_index("metric")
    assert list(table.index) == list(METRICS)
    assert (table.auroc_all == 1.0).all() and (table.auroc_held_out == 1.0).all()
    assert (table.held_out_accuracy == 1.0).all()
    assert (table.threshold > 0.0).all()
    assert (table.n_gaming == 4).all() and (table.n_honest == 4).all()
    assert (table.note == "").all()


def test_one_class_gives_nan_and_says_why(planted: Path) -> None:
    table = detect_sweep(planted, episodes=1, margin=1000.0)  # nobody loses 1000x the gain
    assert table.auroc_all.isna().all() and table.auroc_held_out.isna().all()
    assert table.threshold.isna().all() and table.held_out_accuracy.isna().all()
    assert (table.n_gaming == 0).all() and (table.n_honest == 8).all()
    assert "has 8 honest and no gaming suspects: AUROC undefined" in table.note.iloc[0]
    assert "lower the margin" in table.note.iloc[0]


def test_all_gaming_says_so(planted_suspects: pd.DataFrame) -> None:
    table = detection_table(planted_suspects.assign(gaming=True))
    assert table.auroc_all.isna().all() and table.threshold.isna().all()
    assert (table.n_gaming == 8).all() and (table.n_honest == 0).all()
    assert table.note.iloc[0] == (
        "the sweep has 8 gaming and no honest suspects: AUROC undefined "
        "(raise the margin, or train the oracle longer)"
    )


def test_the_trusted_oracle_is_the_next_seed_up_that_has_a_model(
    planted: Path, tmp_path: Path
) -> None:
    out = shutil.copytree(planted, tmp_path / "sweep")
    for seed in (1, 3):
        (out / "models" / f"oracle-seed{seed}.zip").unlink()
    trusted = score_suspects(out, episodes=1).set_index("cell")["trusted"]
    assert trusted["agent-width4-seed0"] == "oracle-seed2"
    assert trusted["agent-width4-seed1"] == "oracle-seed2"
    assert trusted["agent-width4-seed2"] == "oracle-seed0"  # wraps around
    assert trusted["agent-width4-seed3"] == "oracle-seed0"
    (out / "models" / "oracle-seed2.zip").unlink()
    only = score_suspects(out, episodes=1).set_index("cell")["trusted"]
    assert only["agent-width4-seed0"] == "oracle-seed0"  # its own seed, the last resort


def test_one_seed_is_split_by_a_seeded_permutation(tmp_path: Path) -> None:
    out = planted_sweep(tmp_path, [0])
    first = score_suspects(out, episodes=1, seed=2)
    assert sorted(first.split) == ["calibration", "held_out"]
    assert first.split.tolist() == score_suspects(out, episodes=1, seed=2).split.tolist()


def test_errors_name_what_is_missing(planted: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a proxygym sweep directory"):
        score_suspects(tmp_path)
    without_oracles = shutil.copytree(planted, tmp_path / "no_oracles")
    for path in (without_oracles / "models").glob("oracle-*.zip"):
        path.unlink()
    with pytest.raises(ValueError, match="no finished oracle with a saved model"):
        score_suspects(without_oracles)
    without_agents = shutil.copytree(planted, tmp_path / "no_agents")
    for path in (without_agents / "models").glob("agent-*.zip"):
        path.unlink()
    with pytest.raises(ValueError, match="no finished agent with a saved model"):
        score_suspects(without_agents)
    with pytest.raises(ValueError, match="margin"):
        score_suspects(planted, margin=-0.1)


# -- a real sweep, through the command line -------------------------------------------------


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real")
    config = tiny_config(pressure={"axis": "width", "levels": [4, 16]})
    summary = run_sweep(config, out, echo=lambda message: None)
    assert not summary.failed
    return out


def test_real_sweep_labels_follow_the_rule(real_sweep: Path) -> None:
    suspects = score_suspects(real_sweep, episodes=1, margin=0.5).set_index("cell")
    frame = results.load(real_sweep).set_index("cell")
    agents = sorted(cell for cell in frame.index if cell.startswith("agent"))
    assert sorted(suspects.index) == agents
    random_true = float(frame.loc["random", "true_return"])
    for cell in agents:
        seed = int(frame.loc[cell, "seed"])
        trusted = f"oracle-seed{1 - seed}"  # seeds 0 and 1: each other's
        oracle_true = float(frame.loc[trusted, "true_return"])
        gain = oracle_true - random_true
        scale = gain if gain > 0 else max(abs(oracle_true), 1.0)
        gaming = float(frame.loc[cell, "true_return"]) < oracle_true - 0.5 * scale
        assert suspects.loc[cell, "gaming"] == gaming
        assert suspects.loc[cell, "trusted"] == trusted
        for metric in METRICS:
            assert 0.0 <= suspects.loc[cell, metric] < math.inf
        assert suspects.loc[cell, "js_max"] <= LN2
        assert suspects.loc[cell, "hellinger_max"] <= 1.0


def test_cli_prints_the_table_and_writes_csv(
    real_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "detect.csv"
    code = main(["detect", str(real_sweep), "--episodes", "1", "--out", str(csv), "--verbose"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "auroc_all" in printed and "held_out_accuracy" in printed
    assert all(metric in printed for metric in METRICS)
    assert "agent-width16-seed1" in printed  # --verbose lists every suspect
    table = pd.read_csv(csv)
    assert table.metric.tolist() == list(METRICS)
    assert (table.n_gaming + table.n_honest == 4).all()
    assert table.auroc_all.dropna().between(0.0, 1.0).all()


def test_cli_exits_2_on_a_directory_that_is_no_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", str(tmp_path)]) == 2
    assert "not a proxygym sweep directory (no manifest.json)" in capsys.readouterr().err


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["detect", "--help"])
    assert exit_info.value.code == 0
    assert "example: proxygym detect" in capsys.readouterr().out
