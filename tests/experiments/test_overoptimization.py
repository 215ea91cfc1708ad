"""The reward-model overoptimization experiment: a smoke test at --quick size and the
reproduction target (Gao et al. 2022) at a reduced but faithful size, marked slow."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.overoptimization import (
    Args,
    base_kwargs,
    best_of_n_study,
    bon_records,
    bon_verdicts,
    main,
    n_values,
)
from proxygym.analysis.verdicts import range_at
from proxygym.envs.learned_proxy import collect_trajectories


def test_quick_run_writes_every_table_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "overopt"
    assert main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    fits = pd.read_csv(out / "bon_fits.csv")
    assert list(fits["m"]) == [16, 1000]
    assert np.isfinite(fits[["alpha", "beta", "r_squared", "heldout_r_squared"]]).all().all()
    bon = pd.read_csv(out / "bon.csv")
    # n = 1 is the pool itself: d = 0, and every seed and m starts from the pool mean.
    first = bon[bon["n"] == 1]
    assert (first["d"] == 0).all()
    np.testing.assert_allclose(first["true_return"], first["true_return"].iloc[0], rtol=1e-12)
    bon_methods = pd.read_csv(out / "bon_mitigations.csv").set_index("method")
    assert bon_methods.loc["best-of-n, ensemble mean (unmitigated)", "proxy_given_up"] == 0
    ppo = pd.read_csv(out / "ppo_mitigations.csv").set_index("method")
    assert set(ppo.index) == {"unmitigated", "kl_penalty", "early_stopping", "pessimistic_min"}
    assert ppo.loc["early_stopping", "true_labels"] > 0
    assert ppo.loc["unmitigated", "true_labels"] == 0
    report = (out / "report.md").read_text()
    for section in ("Best-of-n against the learned proxy", "Mitigations, best-of-n", "PPO"):
        assert section in report
    assert (out / "figures" / "bon.png").stat().st_size > 0
    # Two reward-model fits and one PPO seed: the rules decide nothing at this size.
    judged = pd.read_csv(out / "bon_verdicts.csv")
    assert list(judged["m"]) == [16, 1000] and set(judged["verdict"]) == {"inconclusive"}
    assert (judged["n_fits"] == 2).all()
    assert set(ppo["verdict"]) == {"inconclusive"}
    assert set(ppo["matched_kl"].dropna()) == {"inconclusive"}
    assert "Best-of-n verdicts" in report


def test_best_of_n_records_take_the_pool_as_references() -> None:
    class Pool:
        true_returns = np.array([-10.0, 0.0, 40.0])

    bon = pd.DataFrame(
        {
            "m": [30] * 4 + [100] * 2,
            "rm_seed": [0, 0, 1, 1, 0, 0],
            "n": [1, 2, 1, 2, 1, 2],
            "true_return": [10.0, 15.0, 10.0, 12.0, 10.0, 30.0],
            "proxy_score": [0.0, 1.0, 0.0, 2.0, 0.0, 1.0],
        }
    )
    records = bon_records(bon, Pool(), 30)
    agents = records[records.policy == "agent"]
    assert list(zip(agents.seed, agents.level, agents.true_return, strict=True)) == [
        (0, 1, 10.0),
        (0, 2, 15.0),
        (1, 1, 10.0),
        (1, 2, 12.0),
    ]
    references = records[records.policy != "agent"].set_index("policy")
    assert references.loc["random", "true_return"] == 10.0  # the pool mean = best-of-1
    assert references.loc["random", "episodes"] == 3
    assert references.loc["true_optimal", "true_return"] == 40.0  # the pool's best episode
    assert range_at(records) == 30.0


@pytest.mark.slow
def test_more_comparisons_give_a_smaller_beta_and_the_law_extrapolates() -> None:
    """The parts of the reproduction target that hold on every pool we tried.

    Best-of-n against reward models fit to 30 comparisons gains true return
    at first and is fit by a beta at least twice that of models fit to 3,000
    (5.0 against 2.0 here; pools seeded differently gave 5.0/1.5 and 7.1/1.5),
    and for the 3,000-comparison models the law fitted on the smaller half of
    the n values predicts the larger half (R^2 0.97-0.99). Whether the
    30-comparison curve turns down before n = N / 16, and whether the law
    extrapolates through that turn, depends on the pool (see
    experiments/overoptimization.md), so it is reported there, not asserted.
    """
    args = replace(
        Args(), comparisons=(30, 3000), pool=20_000, max_n=1024, rm_seeds=(0, 1, 2, 3, 4)
    )
    pool = collect_trajectories(
        args.base_env, base_kwargs(args), args.pool, seed=10_000_000 + args.seed
    )
    bon, fits = best_of_n_study(args, pool, n_values(args.max_n))
    few, many = fits.set_index("m").loc[30], fits.set_index("m").loc[3000]
    assert many.beta < few.beta / 2
    assert many.heldout_r_squared >= 0.8
    mean = bon.groupby(["m", "n"])["true_return"].mean()
    for m in (30, 3000):
        assert mean[m, 2] > mean[m, 1]


def test_best_of_n_on_a_planted_pool_is_judged_without_error() -> None:
    """Ten fits whose best-of-n rises and levels off: judged, not a Goodhart curve."""

    class Pool:
        true_returns = np.linspace(-500.0, -300.0, 101)

    rng = np.random.default_rng(0)
    rows = [
        {
            "m": 30,
            "rm_seed": seed,
            "n": n,
            "true_return": -400 + 10 * np.log2(n) + rng.normal(),
            "proxy_score": float(np.log2(n)),
        }
        for seed in range(10)
        for n in (1, 2, 4, 8, 16)
    ]
    judged = bon_verdicts(pd.DataFrame(rows), Pool())
    assert list(judged["m"]) == [30] and judged["n_fits"].iloc[0] == 10
    assert judged["verdict"].iloc[0] == "no-divergence"
