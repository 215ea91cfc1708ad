"""Reward-model overoptimization (Gao, Schulman, Hilton 2022) on a laptop CPU, and what prevents it.

One command, top to bottom:

1. **Labels and reward models.** A uniformly random policy plays the base
   environment (default Pandemic); its episodes are cut into segments, pairs
   of segments are labelled by their *true* returns through a Bradley-Terry
   model, and an ensemble of small MLP reward models is fit to ``m``
   comparisons, for several ``m``. The ensemble's mean is the learned proxy.
2. **Best-of-n** against the learned proxy over a pool of ``N`` random
   episodes, computed exactly for the pool (no sampling noise): the expected
   true return of the episode the proxy ranks best of ``n``, against
   ``d = sqrt(KL(best-of-n || pool))``. Each ``m`` is fit by ``R(d) = d(alpha -
   beta d)`` on all ``n`` and, for the extrapolation test, on the smaller
   half of the ``n`` values only, scored on the larger half.
3. **Mitigations on the same pool and the same ensemble**: pessimistic
   ensembles (minimum over members; mean - lambda x std) and a quantilizer
   (uniform among the top q of the n candidates). Per method: the best true
   return over ``n``, the true return at the largest ``n``, and the proxy
   (ensemble mean) given up there against plain best-of-n.
4. **PPO against the learned proxy** (``proxygym/LearnedProxy-v0``), with
   checkpoints evaluated at temperature 1 so every evaluation records
   ``sqrt(KL)`` from the initial policy, fit by ``R(d) = d(alpha - beta log d)``;
   the same runs with a KL penalty, with early stopping on a counted budget
   of true-objective labels, and with a pessimistic (minimum) ensemble.

Claims follow the rules of :mod:`proxygym.analysis.verdicts`: each ``m``'s
best-of-n curves are judged with the reward-model fits as seeds (10 by
default, the rules' minimum) and the pool's mean and best episode as the
random and exact references (``bon_verdicts.csv``); each PPO method's sweep
is judged on its own records (10 seeds). Mitigations are compared with the
unmitigated run **at matched KL**, by a rule fixed before the runs
(:func:`proxygym.analysis.overoptimization.compare_frontiers`): the seeds'
true returns along the common range of ``d = sqrt(KL)``, Welch's interval of
the gap, "same frontier" when it lies within 10 % of the reference range,
"different frontier" when it excludes 0 and exceeds that, else inconclusive.

Writes ``OUT/bon.csv``, ``OUT/bon_fits.csv``, ``OUT/bon_verdicts.csv``, ``OUT/bon_mitigations.csv``,
``OUT/ppo/<method>/`` (sweep directories), ``OUT/ppo_mitigations.csv``,
``OUT/figures/*.png`` and ``OUT/report.md``. ``--quick`` is the size the test
suite runs.

    python -m experiments.overoptimization --out runs/overoptimization
    python -m experiments.overoptimization --quick --out /tmp/overopt
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import harness
from proxygym.analysis.fits import extrapolation_check, fit_overoptimization
from proxygym.analysis.overoptimization import compare_frontiers, fit_sweep
from proxygym.analysis.verdicts import judge, range_at
from proxygym.envs.learned_proxy import (
    RewardEnsemble,
    collect_trajectories,
)
from proxygym.envs.learned_proxy.env import DEFAULT_BASE_ENV, DEFAULT_BASE_KWARGS, LearnedProxyEnv
from proxygym.planning.best_of_n import (
    best_of_n_curve,
    best_of_n_probabilities,
    quantilized_best_of_n_probabilities,
)
from proxygym.reporting.report import markdown_table
from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig
from proxygym.sweeps.runner import run_sweep


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/overoptimization")
    """results directory"""
    base_env: str = "proxygym/Pandemic-v0"
    """environment whose true objective labels the comparisons"""
    segments: int = 2000
    """segments of random behaviour available for labelling"""
    segment_length: int = 20
    """steps per segment"""
    comparisons: tuple[int, ...] = (16, 30, 100, 300, 1000, 3000)
    """numbers of labelled comparisons m, one reward model ensemble each"""
    members: int = 5
    """reward models per ensemble (bootstrapped)"""
    rm_seeds: tuple[int, ...] = tuple(range(10))
    """independent reward-model fits (data, labels, weights) per m; the first trains PPO"""
    label_temperature: float = 0.1
    """Bradley-Terry temperature, in standard deviations of segment true returns"""
    rm_width: int = 32
    """hidden units of each reward model"""
    pool: int = 40_000
    """random episodes best-of-n selects among (N)"""
    max_n: int = 2048
    """largest n (keep n <= N / 16 so the pool's top is not a handful of episodes)"""
    mitigation_m: int = 30
    """m of the ensemble the mitigations are compared on"""
    lcb_lambda: float = 1.0
    """lambda of the mean - lambda x std ensemble"""
    quantile: float = 0.05
    """q of the quantilizer"""
    ppo_timesteps: int = 100_000
    """PPO training steps against the learned proxy"""
    ppo_levels: tuple[int, ...] = (0, 5_000, 10_000, 20_000, 40_000, 70_000, 100_000)
    """checkpoints evaluated along PPO training"""
    ppo_seeds: tuple[int, ...] = tuple(range(10))
    """PPO training seeds"""
    ppo_m: int = 30
    """m of the reward model PPO is trained against"""
    kl_penalty: float = 1.0
    """coefficient of the KL-penalty mitigation"""
    early_stopping: dict[str, int] = field(
        default_factory=lambda: {"check_every": 10_000, "episodes_per_check": 5, "patience": 2}
    )
    """early stopping on true-objective labels (see proxygym.sweeps.config)"""
    eval_episodes: int = 10
    """evaluation episodes per PPO checkpoint"""
    workers: int = 2
    """parallel PPO runs"""
    seed: int = 0
    """seeds the pool of best-of-n candidates"""


QUICK: dict[str, Any] = {
    "segments": 600,
    "comparisons": (16, 1000),
    "members": 3,
    "rm_seeds": (0, 1),
    "pool": 4000,
    "max_n": 256,
    "mitigation_m": 16,
    "ppo_timesteps": 4096,
    "ppo_levels": (0, 2048, 4096),
    "ppo_seeds": (0,),
    "ppo_m": 16,
    "early_stopping": {"check_every": 1024, "episodes_per_check": 1, "patience": 1},
    "eval_episodes": 2,
}


def n_values(max_n: int) -> list[int]:
    """1, 2, 3, 4, 6, 8, 11, 16, ...: powers of sqrt(2) up to ``max_n``, rounded."""
    values = sorted({round(2 ** (k / 2)) for k in range(int(2 * math.log2(max_n)) + 1)})
    return [n for n in values if n <= max_n]


# -- 1. reward models -------------------------------------------------------------------------


def base_kwargs(args: Args) -> dict[str, Any]:
    """The base environment's kwargs: Pandemic at dial 0 (its original five actions, on which
    the stored run was made), as ``LearnedProxy-v0`` uses it by default."""
    return dict(DEFAULT_BASE_KWARGS) if args.base_env == DEFAULT_BASE_ENV else {}


def reward_model_kwargs(args: Args, m: int, **changes: Any) -> dict[str, Any]:
    """``LearnedProxy-v0`` kwargs of the ensemble fit to ``m`` comparisons: one spec for both
    the best-of-n study and PPO, so the two optimise against the very same models."""
    return {
        "base_env": args.base_env,
        "base_kwargs": base_kwargs(args),
        "segments": args.segments,
        "segment_length": args.segment_length,
        "comparisons": m,
        "members": args.members,
        "rm_width": args.rm_width,
        "label_temperature": args.label_temperature,
        "rm_seed": args.rm_seeds[0],
        **changes,
    }


def fit_ensemble_for(args: Args, m: int, rm_seed: int) -> RewardEnsemble:
    """The ensemble ``LearnedProxy-v0`` fits for ``m`` (same data, labels and seeds; cached)."""
    env = LearnedProxyEnv(**reward_model_kwargs(args, m, rm_seed=rm_seed))
    env.close()
    return env.ensemble


# -- 2. best-of-n -----------------------------------------------------------------------------


def best_of_n_study(args: Args, pool: Any, ns: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best-of-n curves for every m, averaged over reward-model seeds, and their fits.

    Each seed draws its own segments, labels and initial weights, so the mean
    curve is that of a typical reward model fit to m comparisons, not of one
    lucky or unlucky draw. The fits are on the mean curve (all n; and the
    smaller half of the n values, scored on the larger half); ``beta_seed_*``
    are the fits of the single seeds' curves.
    """
    rows, fits = [], []
    for m in args.comparisons:
        curves, seed_betas = [], []
        for rm_seed in args.rm_seeds:
            ensemble = fit_ensemble_for(args, m, rm_seed)
            scores = pool.episode_sums(ensemble.predict(pool.features))
            curve = best_of_n_curve(scores, pool.true_returns, ns, keys=pool.keys)
            curves.append(curve)
            d = np.array([point.d for point in curve])
            gain = np.array([point.true_return - curve[0].true_return for point in curve])
            seed_betas.append(fit_overoptimization(d, gain, form="bon").beta)
            for point in curve:
                rows.append({"m": m, "rm_seed": rm_seed, **asdict(point)})
        d = np.mean([[point.d for point in curve] for curve in curves], axis=0)
        true = np.mean([[point.true_return for point in curve] for curve in curves], axis=0)
        gain = true - true[0]
        fit = fit_overoptimization(d, gain, form="bon")
        check = extrapolation_check(d, gain, form="bon")
        peak = int(np.argmax(gain))
        fits.append(
            {
                "m": m,
                "alpha": fit.alpha,
                "beta": fit.beta,
                "beta_seed_mean": float(np.mean(seed_betas)),
                "beta_seed_std": float(np.std(seed_betas)),
                "r_squared": fit.r_squared,
                "peak_n": ns[peak],
                "peak_d": d[peak],
                "peak_gain": gain[peak],
                "gain_at_max_n": gain[-1],
                "train_beta": check.fit.beta,
                "train_max_d": check.train_max_d,
                "heldout_r_squared": check.heldout_r_squared,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(fits)


def bon_records(bon: pd.DataFrame, pool: Any, m: int) -> pd.DataFrame:
    """Best-of-n for ``m`` as sweep records the verdict rules judge.

    Each reward-model fit is a seed and each n a level (axis ``best_of_n``).
    The references are exact for the pool: the random policy is best-of-1,
    the pool's mean true return (its spread over the pool's episodes is its
    noise; its proxy return the fits' mean score of the pool), and the true
    optimum is the pool's best episode, what unlimited selection on the true
    return itself would pick (no proxy return: each fit scores it
    differently, so it is no gaming reference).
    """
    rows = bon[bon["m"] == m]
    agents = pd.DataFrame(
        {
            "axis": "best_of_n",
            "policy": "agent",
            "seed": rows["rm_seed"].to_numpy(),
            "level": rows["n"].to_numpy(),
            "true_return": rows["true_return"].to_numpy(float),
            "proxy_return": rows["proxy_score"].to_numpy(float),
        }
    )
    true = np.asarray(pool.true_returns, dtype=float)
    common = {"axis": "best_of_n", "level": np.nan, "seed": np.nan, "proxy_return": np.nan}
    best_of_1 = rows[rows["n"] == 1]["proxy_score"]
    references = pd.DataFrame(
        [
            {
                **common,
                "policy": "random",
                # best-of-1 is the pool itself: its proxy is the fits' mean score of the pool
                "proxy_return": float(best_of_1.mean()) if len(best_of_1) else np.nan,
                "true_return": float(true.mean()),
                "true_return_std": float(true.std()),
                "episodes": len(true),
            },
            {**common, "policy": "true_optimal", "true_return": float(true.max())},
        ]
    )
    return pd.concat([agents, references], ignore_index=True)


def bon_verdicts(bon: pd.DataFrame, pool: Any) -> pd.DataFrame:
    """Per m: the verdict of :mod:`proxygym.analysis.verdicts` on its best-of-n curves."""
    rows = []
    for m in sorted(bon["m"].unique()):
        verdict = judge(bon_records(bon, pool, int(m)))
        rows.append(
            {
                "m": int(m),
                "n_fits": verdict.n_seeds,
                "verdict": verdict.label,
                "rise": verdict.rise.text() if verdict.rise else "",
                "fall": verdict.fall.text() if verdict.fall else "",
                "goodhart_point": verdict.goodhart_point,
                "reason": verdict.reason,
            }
        )
    return pd.DataFrame(rows)


def bon_mitigations(args: Args, pool: Any, ns: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best-of-n with each mitigation, on one pool and the same ensembles (m = ``mitigation_m``).

    Every method selects among the same candidates with the same reward
    models; curves are averaged over the reward-model seeds, and the proxy is
    always scored by the ensemble mean (the unmitigated proxy).
    """
    rows = []
    for rm_seed in args.rm_seeds:
        ensemble = fit_ensemble_for(args, args.mitigation_m, rm_seed)
        members = pool.episode_sums(ensemble.predict_members(pool.features))  # (k, N)
        mean = members.mean(axis=0)
        selectors = {
            "best-of-n, one reward model": members[0],
            "best-of-n, ensemble mean (unmitigated)": mean,
            "pessimistic ensemble: min": members.min(axis=0),
            f"pessimistic ensemble: mean - {args.lcb_lambda:g} std": mean
            - args.lcb_lambda * members.std(axis=0),
        }
        for method, scores in selectors.items():
            for n in ns:
                probabilities = best_of_n_probabilities(scores, n)
                rows.append(_mitigation_row(method, n, probabilities, pool, mean))
        method = f"quantilizer: top {args.quantile:g} of n (ensemble mean)"
        for n in ns:
            probabilities = quantilized_best_of_n_probabilities(mean, n, args.quantile)
            rows.append(_mitigation_row(method, n, probabilities, pool, mean))
    curves = pd.DataFrame(rows).groupby(["method", "n"], sort=False, as_index=False).mean()
    return curves, _comparison(curves, "n", "best-of-n, ensemble mean (unmitigated)")


def _mitigation_row(
    method: str, n: int, probabilities: np.ndarray, pool: Any, proxy: np.ndarray
) -> dict[str, Any]:
    return {
        "method": method,
        "n": n,
        "true_return": float(probabilities @ pool.true_returns),
        "proxy_score": float(probabilities @ proxy),
    }


def _comparison(curves: pd.DataFrame, pressure: str, unmitigated: str) -> pd.DataFrame:
    """Per method: best true return, true return at the highest pressure, proxy given up there."""
    top = curves[pressure].max()
    reference = curves[(curves["method"] == unmitigated) & (curves[pressure] == top)]
    reference_proxy = float(reference["proxy_score"].iloc[0])
    rows = []
    for method, group in curves.groupby("method", sort=False):
        last = group[group[pressure] == top]
        rows.append(
            {
                "method": method,
                "best_true_return": float(group["true_return"].max()),
                f"best_at_{pressure}": group.loc[group["true_return"].idxmax(), pressure],
                "true_at_highest_pressure": float(last["true_return"].iloc[0]),
                "proxy_at_highest_pressure": float(last["proxy_score"].iloc[0]),
                "proxy_given_up": reference_proxy - float(last["proxy_score"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)


# -- 4. PPO against the learned proxy ---------------------------------------------------------


def ppo_methods(args: Args) -> dict[str, dict[str, Any]]:
    """Sweep settings of each PPO method: env kwargs and mitigation table."""
    plain = reward_model_kwargs(args, args.ppo_m)
    return {
        "unmitigated": {"env_kwargs": plain, "mitigation": {}},
        "kl_penalty": {"env_kwargs": plain, "mitigation": {"kl_penalty": args.kl_penalty}},
        "early_stopping": {
            "env_kwargs": plain,
            "mitigation": {"early_stopping": dict(args.early_stopping)},
        },
        "pessimistic_min": {
            "env_kwargs": reward_model_kwargs(args, args.ppo_m, aggregate="min"),
            "mitigation": {},
        },
    }


def ppo_config(args: Args, method: str, settings: dict[str, Any]) -> SweepConfig:
    return SweepConfig.from_dict(
        {
            "name": f"overoptimization_ppo_{method}",
            "env": "proxygym/LearnedProxy-v0",
            "env_kwargs": settings["env_kwargs"],
            "algo": "ppo",
            "timesteps": args.ppo_timesteps,
            "seeds": list(args.ppo_seeds),
            "eval_episodes": args.eval_episodes,
            "eval_temperature": 1.0,
            # The oracle once; the random policy (and the scripted reference it brings) for every
            # method, so each sweep can be judged on its own records.
            "baselines": True if method == "unmitigated" else ["random"],
            "mitigation": settings["mitigation"],
            "pressure": {"axis": "timesteps", "levels": list(args.ppo_levels)},
        },
        source=f"overoptimization ({method})",
    )


def ppo_study(args: Args) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Run (or resume) every PPO method; per-checkpoint means, the comparison and the RL fits.

    The comparison carries each method's verdict (:func:`judge` on its own
    records) and, for the mitigations, the matched-KL comparison with the
    unmitigated run (:func:`compare_frontiers`, R from the unmitigated
    sweep's references).
    """
    frames, fits, verdicts, records = [], {}, {}, {}
    for method, settings in ppo_methods(args).items():
        out = args.out / "ppo" / method
        run_sweep(ppo_config(args, method, settings), out, workers=args.workers)
        frame = results.load(out)
        records[method] = frame
        verdicts[method] = judge(frame).label
        fit = fit_sweep(frame)
        fits[method] = (
            fit
            if isinstance(fit, str)
            else f"alpha {fit.fit.alpha:.3g}, beta {fit.fit.beta:.3g}, R^2 {fit.fit.r_squared:.3f}"
            + (f", peak at d = {fit.fit.d_star:.3g}" if fit.fit.d_star is not None else "")
        )
        agents = frame[frame["policy"] == "agent"]
        means = agents.groupby("level", as_index=False).agg(
            true_return=("true_return", "mean"),
            proxy_score=("proxy_return", "mean"),
            kl_from_init=("kl_from_init", "mean"),
            true_labels=("true_labels", "mean"),
        )
        frames.append(means.assign(method=method))
    curves = pd.concat(frames, ignore_index=True).rename(columns={"level": "timesteps"})
    comparison = _comparison(curves, "timesteps", "unmitigated")
    labels = curves.groupby("method", sort=False)["true_labels"].max()
    comparison["true_labels"] = comparison["method"].map(labels).to_numpy()
    # The pessimistic agent's records score it by its own (minimum) proxy, not the mean's.
    own_proxy = comparison["method"] == "pessimistic_min"
    comparison.loc[own_proxy, "proxy_given_up"] = math.nan
    comparison["verdict"] = comparison["method"].map(verdicts).to_numpy()
    unmitigated = records["unmitigated"]
    scale = range_at(unmitigated)
    matched = {
        method: compare_frontiers(frame, unmitigated, scale)
        for method, frame in records.items()
        if method != "unmitigated"
    }
    comparison["matched_kl"] = comparison["method"].map(
        {method: result.label for method, result in matched.items()}
    )
    comparison["matched_kl_gap"] = comparison["method"].map(
        {method: result.gap.text() if result.gap else "" for method, result in matched.items()}
    )
    comparison["matched_kl_reason"] = comparison["method"].map(
        {method: result.reason for method, result in matched.items()}
    )
    return curves, comparison, fits


# -- figures and report -----------------------------------------------------------------------


def plot_bon(bon: pd.DataFrame, fits: pd.DataFrame, path: Path) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    from proxygym.reporting.plots import STYLE, save_figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.5, 2.6), layout="constrained")
        ax = fig.add_subplot()
        colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(fits)))
        for colour, row in zip(colours, fits.itertuples(), strict=True):
            curve = bon[bon["m"] == row.m].groupby("n", as_index=False)[["d", "true_return"]].mean()
            gain = curve["true_return"] - curve["true_return"].iloc[0]
            ax.plot(curve["d"], gain, "o", color=colour, label=f"m = {row.m}")
            grid = np.linspace(0, curve["d"].max(), 100)
            ax.plot(grid, grid * (row.alpha - row.beta * grid), "-", color=colour, lw=0.8)
        ax.set_xlabel("d = sqrt(KL(best-of-n || pool))")
        ax.set_ylabel("true return gain")
        ax.legend(frameon=False)
        save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = harness.experiment_parser(
        __doc__,
        ["python -m experiments.overoptimization --quick --out /tmp/overopt"],
        Args.out,
        "parallel PPO runs",
        workers=Args.workers,
    )
    parser.add_argument("--skip-ppo", action="store_true", help="best-of-n parts only")
    options = harness.parse_options(parser, argv)
    args = Args(out=options.out, workers=options.workers)
    if options.quick:
        args = replace(args, **QUICK)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ns = n_values(args.max_n)

    print(f"pool: {args.pool} random episodes of {args.base_env}", flush=True)
    pool = collect_trajectories(
        args.base_env, base_kwargs(args), args.pool, seed=10_000_000 + args.seed
    )
    bon, fits = best_of_n_study(args, pool, ns)
    harness.write_csv(args.out / "bon.csv", bon)
    harness.write_csv(args.out / "bon_fits.csv", fits)
    bon_judged = bon_verdicts(bon, pool)
    harness.write_csv(args.out / "bon_verdicts.csv", bon_judged)
    plot_bon(bon, fits, args.out / "figures" / "bon")
    print(markdown_table(fits[["m", "alpha", "beta", "r_squared", "peak_d", "heldout_r_squared"]]))

    curves, comparison = bon_mitigations(args, pool, ns)
    harness.write_csv(args.out / "bon_mitigations.csv", comparison)
    print(markdown_table(comparison))
    sections = {
        "Setup": (
            f"Base environment {args.base_env}; {args.segments} random segments of "
            f"{args.segment_length} steps labelled by Bradley-Terry on the true return; ensembles "
            f"of {args.members} MLP reward models (width {args.rm_width}); pool of {args.pool} "
            f"random episodes; n = 1 ... {args.max_n}. KL is exact for the pool."
        ),
        "Best-of-n against the learned proxy": markdown_table(fits)
        + "\n\n![best-of-n](figures/bon.png)",
        "Best-of-n verdicts (proxygym.analysis.verdicts; reward-model fits as seeds)": (
            markdown_table(bon_judged)
        ),
        f"Mitigations, best-of-n (m = {args.mitigation_m})": markdown_table(comparison),
    }
    if not options.skip_ppo:
        ppo_curves, ppo_comparison, ppo_fits = ppo_study(args)
        harness.write_csv(args.out / "ppo_mitigations.csv", ppo_comparison)
        print(markdown_table(ppo_comparison))
        sections[f"PPO against the learned proxy (m = {args.ppo_m})"] = (
            markdown_table(ppo_curves)
            + "\n\nRL fits, R(d) = d(alpha - beta log d):\n\n"
            + "\n".join(f"- {method}: {fit}" for method, fit in ppo_fits.items())
        )
        sections["Mitigations, PPO"] = markdown_table(ppo_comparison)
    sections["Runtime"] = f"{time.perf_counter() - started:.0f} s"
    report = harness.write_markdown_report(
        args.out / "report.md", "Reward-model overoptimization", sections
    )
    print(f"Report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
