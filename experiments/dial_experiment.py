"""The dial experiment: does a harder-to-find hack move the Goodhart point later?

Every Goodhart environment with a hack-difficulty dial
(:attr:`proxygym.core.EnvCard.dial`) is trained with PPO at 4-5 dial settings
along the ``timesteps`` axis (checkpoints :data:`FRACTIONS` of the
environment's tuned budget, the same budget at every setting), beside the
baselines (oracle, random, exact optima or the scripted reference). Each
setting is one sweep, ``OUT/<Name>-v0/<dial>-<setting>``, judged by
:func:`proxygym.analysis.verdicts.judge`; the settings of one environment are
compared by the dial rule of :mod:`proxygym.analysis.dial` (Spearman's rho
between the dial and each seed's peak checkpoint, with a bootstrap interval
over seeds; "later" needs >= 4 settings and the interval above 0).

Where a setting has an exact tabular model, the *exact picture* is computed
too: the proxy-soft-optimal policy at inverse temperatures :data:`BETAS`
(the cleanest pressure axis: no training noise), its proxy and true return,
and the beta where the true return peaks (``exact.csv``).

Writes ``OUT/<Name>-v0/<dial>-<setting>/`` (sweeps with per-seed records),
``OUT/settings.csv`` (one row per environment and setting: verdict, rise,
fall, Goodhart point, peak interval, median per-seed peak, exact peak beta),
``OUT/trends.csv`` (one row per environment: the dial rule's label and rho),
``OUT/exact.csv``, ``OUT/figures/<Name>-v0.png`` (exact true return along beta
per setting beside PPO's mean true return along training per setting, with
95 % bands over seeds) and ``OUT/report.md``.

    python -m experiments.dial_experiment --out runs/dial_experiment
    python -m experiments.dial_experiment --envs StatusLamp --n-seeds 10
    python -m experiments.dial_experiment --quick --out /tmp/dial

Runtime on 2 cores (JAX engine): see the stored run's README
(``docs/results/dial_experiment``). ``--engine sb3`` runs the same sweeps with
stable-baselines3 (hours, not minutes).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import harness
from proxygym.agents.hyperparameters import tuned_budget
from proxygym.analysis import dial as dial_rule
from proxygym.analysis.metrics import seed_table
from proxygym.analysis.verdicts import judge, level_text
from proxygym.reporting.report import markdown_table, verdict_sentence
from proxygym.sweeps import results
from proxygym.sweeps.axes import env_dial
from proxygym.sweeps.config import SweepConfig

#: Checkpoints along training, as fractions of the budget: finer than the Goodhart
#: curves' so that a peak moving between settings has places to move to.
FRACTIONS: tuple[float, ...] = (0.0, 1 / 32, 1 / 16, 1 / 8, 3 / 16, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1.0)
#: Inverse temperatures of the exact picture.
BETAS: tuple[float, ...] = tuple(float(b) for b in np.logspace(-2, 2, 33))
#: Dial settings per environment (0 = the original design; the card's default among them).
SETTINGS: dict[str, tuple[int, ...]] = {
    "proxygym/StatusLamp-v0": (0, 2, 4, 6, 8),  # lever_distance, default 4
    "proxygym/CobraBounty-v0": (0, 2, 3, 4, 6),  # grow_time, default 4
    "proxygym/OptionPicking-v0": (0, 1, 2, 4, 6),  # dial (hype precision), default 4
    "proxygym/SpeedTrack-v0": (0, 10, 20, 30, 40),  # turbo_charge, default 20
    "proxygym/LagoonRace-v0": (0, 2, 4, 6, 8),  # lagoon_distance, default 0
    "proxygym/TrafficMerge-v0": (0, 2, 4, 6, 8),  # kickdown_steps, default 4
    "proxygym/Pandemic-v0": (0, 2, 5, 10, 20),  # dial (extra open actions), default 5
}


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/dial_experiment")
    """results directory"""
    envs: tuple[str, ...] = ()
    """environment ids; empty = every environment in SETTINGS whose card has a dial"""
    seeds: tuple[int, ...] = tuple(range(20))
    """training seeds (each trains the agent and the oracle once per setting)"""
    fractions: tuple[float, ...] = FRACTIONS
    """checkpoints as fractions of the training budget"""
    timesteps: int | None = None
    """training budget of every environment; None = its tuned n_timesteps"""
    eval_episodes: int = 10
    """evaluation episodes per checkpoint (temperature 1)"""
    workers: int = 2
    """parallel training runs (SB3) or processes (JAX runs every seed of a sweep at once)"""
    progress: bool = False
    """report every finished cell"""
    engine: str = "jax"
    """what trains the agents: PPO in JAX (default) or stable-baselines3"""


QUICK: dict[str, Any] = {
    "envs": ("proxygym/StatusLamp-v0",),
    "seeds": (0, 1),
    "timesteps": 4096,
    "fractions": (0.0, 0.5, 1.0),
    "eval_episodes": 2,
}


def dial_envs() -> list[str]:
    """The environments of :data:`SETTINGS` whose card names a dial."""
    return [env_id for env_id in SETTINGS if env_dial(env_id) is not None]


def dial_of(env_id: str) -> str:
    """The name of ``env_id``'s dial; a ValueError naming the environment if it has none."""
    dial = env_dial(env_id)
    if dial is None:
        raise ValueError(f"{env_id} has no hack-difficulty dial on its card")
    return dial


def sweep_key(env_id: str, setting: int) -> str:
    """``StatusLamp-v0/lever_distance-4``: the directory of one setting's sweep under OUT."""
    return f"{harness.env_dir_name(env_id)}/{env_dial(env_id)}-{setting}"


def baselines(env_id: str, setting: int) -> bool | list[str]:
    """Every baseline, except the oracle where an exact model gives the reference range.

    The exact true optimum makes the verdicts' reference range R where a tabular
    model exists (rule 4 prefers it to the oracle), so training an oracle per
    setting there would only double the run time.
    """
    import gymnasium as gym

    from proxygym.model import model_reason

    kwargs: dict[str, Any] = {dial_of(env_id): setting}
    env = gym.make(env_id, **kwargs)
    try:
        has_model = model_reason(env.unwrapped) is None
    finally:
        env.close()
    return ["random", "exact"] if has_model else True


def plan(args: Args) -> dict[str, SweepConfig]:
    """One timesteps sweep per environment and dial setting, keyed by :func:`sweep_key`."""
    configs = {}
    for env_id in args.envs:
        dial = dial_of(env_id)
        budget = args.timesteps or tuned_budget("ppo", env_id)
        for setting in SETTINGS[env_id]:
            key = sweep_key(env_id, setting)
            configs[key] = harness.timesteps_config(
                f"dial_{key.replace('/', '_')}",
                env_id,
                {dial: setting},
                budget,
                args.fractions,
                args.seeds,
                args.eval_episodes,
                baselines=baselines(env_id, setting),
                engine=args.engine,
            )
    return configs


# -- the exact picture ------------------------------------------------------------------------


def exact_curve(env_id: str, kwargs: dict[str, Any]) -> pd.DataFrame | None:
    """Proxy and true return of the proxy-soft-optimal policy at each of :data:`BETAS`.

    None when the setting has no exact tabular model.
    """
    import gymnasium as gym

    from proxygym.model import exact_model
    from proxygym.planning.tabular import evaluate, solve

    env = gym.make(env_id, **kwargs)
    try:
        model = exact_model(env.unwrapped)
    finally:
        env.close()
    if model is None:
        return None
    rows = []
    for beta in BETAS:
        returns = evaluate(model, solve(model, "proxy", temperature=1.0 / beta))
        rows.append(
            {"beta": beta, "proxy_return": returns.proxy_return, "true_return": returns.true_return}
        )
    return pd.DataFrame(rows)


def exact_table(envs: list[str]) -> pd.DataFrame:
    """:func:`exact_curve` of every setting that has a model, in one long table."""
    frames = []
    for env_id in envs:
        for setting in SETTINGS[env_id]:
            curve = exact_curve(env_id, {dial_of(env_id): setting})
            if curve is not None:
                frames.append(curve.assign(env=env_id, dial=setting))
    columns = ["env", "dial", "beta", "proxy_return", "true_return"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def exact_peak(exact: pd.DataFrame, env_id: str, setting: int) -> float | None:
    """The beta where the exact true return peaks (the first on ties), or None without a model."""
    curve = exact[(exact.env == env_id) & (exact.dial == setting)]
    if curve.empty:
        return None
    return float(curve.beta.to_numpy()[int(np.argmax(curve.true_return.to_numpy()))])


# -- summary ----------------------------------------------------------------------------------


def setting_row(env_id: str, setting: int, frame: pd.DataFrame, exact: pd.DataFrame) -> dict:
    """One setting's verdict and where its true return peaks."""
    judged = judge(frame)
    peak, low, high = dial_rule.peak_interval(frame)
    peaks = dial_rule.seed_peaks(frame)
    return {
        "env": env_id,
        "dial": env_dial(env_id),
        "setting": setting,
        "seeds": judged.n_seeds,
        "verdict": judged.label,
        "rise": None if judged.rise is None else judged.rise.text(),
        "fall": None if judged.fall is None else judged.fall.text(),
        "goodhart_point": judged.goodhart_point,
        "peak": peak,
        "peak_low": low,
        "peak_high": high,
        "median_seed_peak": float(np.median(peaks)),
        "exact_peak_beta": exact_peak(exact, env_id, setting),
        "sentence": verdict_sentence(judged),
    }


def summarise(
    args: Args, out: Path, exact: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[int, pd.DataFrame]]]:
    """Per-setting rows, per-environment trends, and the loaded records."""
    rows, trends, loaded = [], [], {}
    for env_id in args.envs:
        frames = {}
        for setting in SETTINGS[env_id]:
            frame = results.load(out / sweep_key(env_id, setting))
            if (frame["policy"] == "agent").any():
                frames[setting] = frame
                rows.append(setting_row(env_id, setting, frame, exact))
        loaded[env_id] = frames
        if frames:
            trend = dial_rule.dial_trend(frames)
            trends.append(
                {
                    "env": env_id,
                    "dial": env_dial(env_id),
                    "settings": trend.n_settings,
                    "label": trend.label,
                    "rho": trend.rho,
                    "rho_low": trend.low,
                    "rho_high": trend.high,
                    "sentence": trend.text(),
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(trends), loaded


def plot_env(env_id: str, frames: dict[int, pd.DataFrame], exact: pd.DataFrame, path: Path) -> None:
    """Exact true return along beta per setting (left) beside PPO's along training (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = exact[exact.env == env_id]
    panels = 2 if not curves.empty else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 3.9), constrained_layout=True)
    axes = np.atleast_1d(axes)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(frames), 1)))
    dial = env_dial(env_id)
    if not curves.empty:
        ax = axes[0]
        for colour, (setting, curve) in zip(colours, curves.groupby("dial"), strict=False):
            ax.plot(curve.beta, curve.true_return, "-", color=colour, label=f"{dial} {setting}")
        ax.set_xscale("log")
        ax.set_xlabel("inverse temperature beta (exact proxy-soft-optimal policy)")
        ax.set_ylabel("expected true return")
        ax.set_title("exact picture")
        ax.legend(fontsize="small")
    ax = axes[-1]
    for colour, (setting, frame) in zip(colours, frames.items(), strict=False):
        table = seed_table(frame, "true_return").dropna(axis=0, how="any")
        steps = seed_table(frame, "step").reindex(index=table.index).mean(axis=0).to_numpy()
        mean = table.mean(axis=0).to_numpy()
        half = 1.96 * table.std(axis=0, ddof=1).to_numpy() / np.sqrt(max(len(table), 1))
        ax.plot(steps, mean, "o-", ms=3, color=colour, label=f"{dial} {setting}")
        ax.fill_between(steps, mean - half, mean + half, color=colour, alpha=0.15)
        point = judge(frame).goodhart_point
        if point is not None:
            at = list(table.columns).index(point)
            ax.plot(steps[at], mean[at], "*", ms=13, color=colour, mec="black")
    ax.set_xlabel("PPO training steps on the proxy")
    ax.set_ylabel("true return (mean over seeds, 95 % band)")
    ax.set_title("PPO (star: Goodhart point by the verdict rules)")
    ax.legend(fontsize="small")
    fig.suptitle(f"{env_id}: hack-difficulty dial {dial!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with results.atomic_file(path) as handle:
        fig.savefig(handle, format="png", dpi=130)
    plt.close(fig)


def report_text(
    args: Args, table: pd.DataFrame, trends: pd.DataFrame, run: harness.SweepRun
) -> str:
    """The Markdown of ``OUT/report.md``."""
    levels = ", ".join(f"{f:g}" for f in args.fractions)
    lines = [
        "# The dial experiment",
        "",
        f"PPO ({args.engine} engine) on each environment's proxy at each dial setting, evaluated "
        f"at the checkpoints {levels} x the tuned budget, seeds {args.seeds[0]}-{args.seeds[-1]} "
        f"({len(args.seeds)}), {args.eval_episodes} evaluation episodes each. Verdicts by "
        "`proxygym.analysis.verdicts`; the trend by the dial rule of `proxygym.analysis.dial`.",
        "",
        "## Does the peak move later? (dial rule)",
        "",
        markdown_table(trends.drop(columns=["sentence"])) if not trends.empty else "(no sweeps)",
        "",
    ]
    lines += [f"- {row.env}: {row.sentence}" for row in trends.itertuples()]
    lines += [
        "",
        "## Every setting",
        "",
        "`peak` is the mean curve's peak checkpoint with its bootstrap interval "
        "(`peak_low`-`peak_high`); `goodhart_point` only where the verdict is a Goodhart curve; "
        "`exact_peak_beta` is where the exact proxy-soft-optimal policy's true return peaks.",
        "",
        markdown_table(table.drop(columns=["sentence"])) if not table.empty else "(no sweeps)",
        "",
        "## Verdicts",
        "",
    ]
    for row in table.itertuples():
        lines.append(f"- {row.env} {row.dial} {level_text(row.setting)}: {row.sentence}")
    lines += harness.runtime_section(run.seconds(), run.cell_seconds(), args.workers)
    return "\n".join(lines) + "\n"


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> tuple[Args, argparse.Namespace]:
    parser = harness.sweep_experiment_parser(
        __doc__,
        [
            "python -m experiments.dial_experiment --quick --out /tmp/dial",
            "python -m experiments.dial_experiment --envs StatusLamp CobraBounty --n-seeds 10",
        ],
        Args(),
    )
    parser.add_argument(
        "--envs", nargs="+", metavar="ENV", help="environments (ids or names); default: all"
    )
    harness.add_engine_options(parser)
    options = harness.parse_options(parser, argv)
    args = harness.apply_options(Args(), options, QUICK, parser)
    args = harness.apply_engine_options(args, options, parser)
    try:
        envs = harness.resolve_envs(options.envs or args.envs or dial_envs(), dial_envs())
    except ValueError as error:
        parser.error(str(error))
    return replace(args, envs=tuple(envs)), options


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    configs = plan(args)
    if options.estimate:
        return harness.estimate_only(configs, args.out, args.workers)
    run = harness.run_planned(configs, args.out, args.workers, args.progress)
    exact = exact_table(list(args.envs))
    table, trends, loaded = summarise(args, args.out, exact)
    for env_id, frames in loaded.items():
        if frames:
            plot_env(
                env_id, frames, exact, args.out / "figures" / f"{harness.env_dir_name(env_id)}.png"
            )
    harness.write_csv(args.out / "settings.csv", table)
    harness.write_csv(args.out / "trends.csv", trends)
    harness.write_csv(args.out / "exact.csv", exact)
    results.write_atomic(args.out / "report.md", report_text(args, table, trends, run).encode())
    if not trends.empty:
        print(markdown_table(trends[["env", "label", "rho", "rho_low", "rho_high"]]))
    print(f"Report: {args.out / 'report.md'}")
    return run.exit_code()


if __name__ == "__main__":
    sys.exit(main())
