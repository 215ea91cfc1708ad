"""Do the two engines agree? PPO by stable-baselines3 and by JAX, same settings, 10 seeds each.

For each environment (default: BoatRace, StatusLamp, RocksDiamonds level 1,
TrafficMerge), the same PPO sweep runs on both engines: 10 seeds, the
environment's tuned budget and hyperparameters (``agents/hyperparams/ppo.toml``),
the final policy evaluated on the same seeded episodes at temperature 1. For
the final proxy and true returns, it reports each engine's mean over seeds,
the difference JAX - SB3 and its 95 % interval (Welch's t over the seeds'
means), and whether the interval contains 0 ("agree").

The rule is fixed before any run: the engines agree on an objective of an
environment when the 95 % interval of the difference of their seed means
contains 0. With 10 seeds per engine this detects differences of about one
seed standard deviation; a disagreement is reported, not explained away.

Writes ``OUT/<engine>/<Name>-v0/`` (the sweeps), ``OUT/per_seed.csv`` (each
seed's final returns), ``OUT/summary.csv`` and ``OUT/report.md``, with the git
revision; ``--out`` inside ``docs/results`` is refused from a dirty tree
(:func:`experiments.harness.parse_options`).

    python -m experiments.engine_agreement --out docs/results/engine_agreement
    python -m experiments.engine_agreement --envs BoatRace StatusLamp --n-seeds 10
    python -m experiments.engine_agreement --quick --out /tmp/agreement
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import harness
from proxygym.agents.hyperparameters import tuned_budget
from proxygym.analysis.verdicts import welch_interval
from proxygym.sweeps import results
from proxygym.sweeps.config import ENGINES, SweepConfig
from proxygym.sweeps.runner import git_revision

DEFAULT_ENVS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("proxygym/BoatRace-v0", {}),
    ("proxygym/StatusLamp-v0", {}),
    ("proxygym/RocksDiamonds-v0", {"level": 1}),
    ("proxygym/TrafficMerge-v0", {}),
)


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/engine_agreement")
    envs: tuple[tuple[str, dict[str, Any]], ...] = DEFAULT_ENVS
    seeds: tuple[int, ...] = tuple(range(10))
    timesteps: int | None = None
    """training budget of every environment; None = its tuned n_timesteps"""
    eval_episodes: int = 20
    workers: int = 2
    progress: bool = False


QUICK: dict[str, Any] = {
    "envs": (("proxygym/BoatRace-v0", {}),),
    "seeds": (0, 1),
    "timesteps": 4096,
    "eval_episodes": 2,
}


def plan(args: Args) -> dict[str, SweepConfig]:
    """One sweep per environment and engine, keyed by ``<engine>/<Name>-v0``."""
    configs = {}
    for env_id, kwargs in args.envs:
        budget = args.timesteps or tuned_budget("ppo", env_id)
        for engine in ENGINES:
            configs[f"{engine}/{harness.env_dir_name(env_id)}"] = harness.timesteps_config(
                f"engine_agreement_{engine}_{harness.env_dir_name(env_id)}",
                env_id,
                kwargs,
                budget,
                (1.0,),
                args.seeds,
                args.eval_episodes,
                baselines=False,
                engine=engine,
            )
    return configs


def per_seed(configs: dict[str, SweepConfig], out: Path) -> pd.DataFrame:
    """Each seed's final proxy and true return, per environment and engine."""
    rows = []
    for key, config in configs.items():
        frame = results.load(out / key)
        final = frame[(frame.policy == "agent") & (frame.level == frame.level.max())]
        for row in final.itertuples():
            rows.append(
                {
                    "env": config.env,
                    "env_kwargs": row.env_kwargs,
                    "engine": config.engine,
                    "seed": row.seed,
                    "step": row.step,
                    "proxy_return": row.proxy_return,
                    "true_return": row.true_return,
                }
            )
    return pd.DataFrame(rows)


def summarise(seeds: pd.DataFrame) -> pd.DataFrame:
    """Per environment and objective: both engines' means, the difference and the verdict."""
    rows = []
    for (env, kwargs), group in seeds.groupby(["env", "env_kwargs"], sort=False):
        for objective in ("proxy_return", "true_return"):
            jax_values = group[group.engine == "jax"][objective].to_numpy(float)
            sb3_values = group[group.engine == "sb3"][objective].to_numpy(float)
            interval = welch_interval(jax_values, sb3_values)
            diff, low, high = interval.value, interval.low, interval.high
            rows.append(
                {
                    "env": env,
                    "env_kwargs": kwargs,
                    "objective": objective.removesuffix("_return"),
                    "seeds": f"{len(sb3_values)} + {len(jax_values)}",
                    "sb3_mean": sb3_values.mean(),
                    "sb3_sd": sb3_values.std(ddof=1),
                    "jax_mean": jax_values.mean(),
                    "jax_sd": jax_values.std(ddof=1),
                    "difference": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "agree": bool(low <= 0 <= high),
                }
            )
    return pd.DataFrame(rows)


def revision() -> tuple[str, bool]:
    """The checkout's git revision and whether the tree is clean (as sweeps record it)."""
    found = git_revision() or "unknown"
    return found.removesuffix("-dirty"), found != "unknown" and not found.endswith("-dirty")


def report_text(args: Args, summary: pd.DataFrame, rev: str, clean: bool, seconds: float) -> str:
    table = summary.copy()
    for column in ("sb3_mean", "sb3_sd", "jax_mean", "jax_sd", "difference", "ci_low", "ci_high"):
        table[column] = table[column].map(lambda x: f"{x:.2f}")
    table["agree"] = table["agree"].map({True: "agree", False: "**disagree**"})
    lines = [
        "# Engine agreement: PPO on stable-baselines3 and on JAX",
        "",
        f"Revision `{rev}` ({'clean tree' if clean else 'uncommitted changes'}); "
        f"seeds {', '.join(map(str, args.seeds))} per engine; {args.eval_episodes} evaluation "
        "episodes per seed at temperature 1; tuned budgets and hyperparameters.",
        "",
        "Rule (fixed before the runs): the engines agree on an objective when the 95 % "
        "Welch interval of the difference of seed means (JAX - SB3) contains 0.",
        "",
        "| env | kwargs | objective | seeds (SB3 + JAX) | SB3 mean (sd) | JAX mean (sd) "
        "| JAX - SB3 [95 % CI] | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.env} | `{row.env_kwargs}` | {row.objective} | {row.seeds} "
            f"| {row.sb3_mean} ({row.sb3_sd}) | {row.jax_mean} ({row.jax_sd}) "
            f"| {row.difference} [{row.ci_low}, {row.ci_high}] | {row.agree} |"
        )
    lines += [
        "",
        f"Wall time of this invocation: {seconds / 60:.1f} min on {args.workers} workers.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> tuple[Args, argparse.Namespace]:
    parser = harness.sweep_experiment_parser(
        __doc__,
        [
            "python -m experiments.engine_agreement --out docs/results/engine_agreement",
            "python -m experiments.engine_agreement --quick --out /tmp/agreement",
        ],
        Args(),
    )
    parser.add_argument("--envs", nargs="+", metavar="ENV", help="ids or names (default: four)")
    parser.add_argument("--n-seeds", type=int, metavar="N", help="seeds 0 .. N-1")
    options = harness.parse_options(parser, argv)
    args = harness.apply_options(Args(), options, QUICK, parser)
    if options.n_seeds is not None:
        if options.n_seeds < 2:
            parser.error(
                f"--n-seeds must be >= 2 (an interval needs two seeds), got {options.n_seeds}"
            )
        args = replace(args, seeds=tuple(range(options.n_seeds)))
    if options.envs:
        defaults = dict(DEFAULT_ENVS)
        try:
            ids = harness.resolve_envs(options.envs, [env_id for env_id, _ in DEFAULT_ENVS])
        except ValueError as error:
            parser.error(str(error))
        args = replace(args, envs=tuple((env_id, defaults[env_id]) for env_id in ids))
    return args, options


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    rev, clean = revision()  # harness.parse_options refused docs/results from a dirty tree
    configs = plan(args)
    if options.estimate:
        return harness.estimate_only(configs, args.out, args.workers)
    run = harness.run_planned(configs, args.out, args.workers, args.progress)
    seeds = per_seed(configs, args.out)
    summary = summarise(seeds)
    harness.write_csv(args.out / "per_seed.csv", seeds)
    harness.write_csv(args.out / "summary.csv", summary)
    text = report_text(args, summary, rev, clean, run.seconds())
    results.write_atomic(args.out / "report.md", text.encode())
    print(text)
    return run.exit_code()


if __name__ == "__main__":
    sys.exit(main())
