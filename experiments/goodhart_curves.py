"""Goodhart curves on every environment: the agent's proxy and true return along training.

For every registered environment, one sweep along the ``timesteps`` axis of
PPO (on Discrete actions) or SAC (on continuous Box actions:
PendulumNoTorqueCost, Glucose, HopperForward when MuJoCo is installed;
:func:`experiments.harness.default_algo`): each seed trains once for the
environment's tuned budget (``n_timesteps`` of ``agents/hyperparams/ppo.toml``
or ``sac.toml``)
and is evaluated at checkpoints 0, 1/16, 1/8, 1/4, 1/2 and 1 of it, beside
the baselines (an oracle trained on the true objective with the same budget,
the uniformly random policy, and the exact proxy- and true-optimal returns
where a tabular model exists). Each environment is its own sweep directory,
``OUT/<Name>-v0``, so ``proxygym report OUT/<Name>-v0`` works on it and a
second run into the same OUT skips every finished cell.

Writes ``OUT/<Name>-v0/`` (a sweep with its own report.md, results.csv and
figures), ``OUT/summary.csv`` and ``OUT/report.md``: per environment the
verdict of :mod:`proxygym.analysis.verdicts` (a Goodhart point only where it
finds a Goodhart curve), the normalised drop height, Kendall tau between mean
proxy and mean true return along the checkpoints (a description), the final
proxy and true returns, the references' true returns, and the final true
return normalised by the exact optimum (where a tabular model exists) and by
the oracle.

Size and runtime on 2 cores: ``--quick`` (BoatRace and TrafficMerge, 1 seed,
4,096 steps, 1 worker) took 32 s (16 s of CPU) while other jobs kept the
load average at 6-7. With ``--engine jax --n-seeds 20`` the 13 environments
the JAX engine runs took 16 min (agents and oracles, 64 M training steps).
With SB3, 5 seeds of all 16 took about 6.6 h with ``--workers 2`` on a
shared machine (``--estimate`` prints the expected time per environment); the
verdict rules need at least 10 seeds.

    python -m experiments.goodhart_curves --out runs/goodhart_curves
    python -m experiments.goodhart_curves --envs BoatRace SpeedTrack --seeds 0 1 2
    python -m experiments.goodhart_curves --quick --out /tmp/goodhart
    python -m experiments.goodhart_curves --estimate   # time a short run per env, nothing else
    python -m experiments.goodhart_curves --engine jax --n-seeds 20 --out runs/goodhart_jax

With ``--engine jax`` every seed of an environment trains in one compiled JAX
call (:mod:`proxygym.sweeps.jax_engine`: PPO, or SAC on PendulumNoTorqueCost
and Glucose); environments without an exact model or a JAX port are left
out, and the report says which and why.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

import proxygym
from experiments import harness
from proxygym.agents.hyperparameters import tuned_budget
from proxygym.analysis.surface import sweep_summary
from proxygym.reporting.report import markdown_table, verdict, write_report
from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig

#: Checkpoints along training, as fractions of the budget (0 = untrained).
FRACTIONS: tuple[float, ...] = (0.0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/goodhart_curves")
    """results directory: one sweep directory per environment, summary.csv, report.md"""
    envs: tuple[str, ...] = ()
    """environment ids; empty = every registered environment sweeps can run"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """training seeds (each trains the agent once and the oracle once)"""
    fractions: tuple[float, ...] = FRACTIONS
    """checkpoints as fractions of the training budget"""
    timesteps: int | None = None
    """training budget of every environment; None = its tuned n_timesteps"""
    eval_episodes: int = 10
    """evaluation episodes per checkpoint (temperature 1: the policy as it samples)"""
    workers: int = 2
    """parallel training runs"""
    progress: bool = False
    """report every finished cell"""
    env_reports: bool = True
    """write each sweep's own report (about 5-12 s of plotting per environment)"""
    engine: str = "sb3"
    """what trains the agents: stable-baselines3, or PPO in JAX (all seeds in one compiled call)"""


QUICK: dict[str, Any] = {
    "envs": ("proxygym/BoatRace-v0", "proxygym/TrafficMerge-v0"),
    "seeds": (0,),
    "timesteps": 4096,
    "fractions": (0.0, 0.5, 1.0),
    "eval_episodes": 2,
    "env_reports": False,
}


# -- environments and sweeps ------------------------------------------------------------------


def unsweepable_reason(env_id: str, engine: str = "sb3") -> str | None:
    """Why sweeps on ``engine`` cannot run ``env_id`` (None if they can).

    Stable-baselines3 runs every registered environment (SAC on Box actions);
    the JAX engine needs an exact model or a JAX port for PPO, or a
    continuous-action twin for SAC (:mod:`proxygym.jax.support`).
    """
    if engine == "jax":
        from proxygym.jax.support import SAC_PORTED, env_reason

        return None if env_id in SAC_PORTED else env_reason(env_id)
    return None


def plan(args: Args) -> dict[str, SweepConfig]:
    """The sweep of every selected environment, keyed by its directory under OUT."""
    return {
        harness.env_dir_name(env_id): harness.timesteps_config(
            f"goodhart_curves_{harness.env_dir_name(env_id)}",
            env_id,
            {},
            args.timesteps or tuned_budget(harness.default_algo(env_id), env_id),
            args.fractions,
            args.seeds,
            args.eval_episodes,
            engine=args.engine,
        )
        for env_id in args.envs
    }


# -- summary and report -----------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "env",
    "variant",
    "budget",
    "seeds",
    "verdict",
    "goodhart_point",
    "ndh",
    "kendall_tau",
    "final_proxy",
    "final_true",
    "oracle_true",
    "random_true",
    "true_optimal",
    "final_true_score",
    "final_oracle_score",
)


def summarise(
    configs: dict[str, SweepConfig], out: Path, env_reports: bool
) -> tuple[pd.DataFrame, dict[str, str]]:
    """One summary row per environment with finished agent cells, and each sweep's verdict.

    With ``env_reports`` also writes each sweep's own report
    (``OUT/<Name>-v0/report.md`` and figures), as ``proxygym report`` would.
    """
    variants = {record.id: record.goodhart_variant for record in proxygym.list_envs()}
    rows, verdicts = [], {}
    for key, config in configs.items():
        env_id, directory = config.env, out / key
        frame = results.load(directory)
        if not (frame["policy"] == "agent").any():
            verdicts[env_id] = "no finished agent cells"
            continue
        rows.append(
            {
                "env": env_id,
                "variant": variants[env_id],
                "budget": config.timesteps,
                **sweep_summary(frame),
            }
        )
        if env_reports:
            verdicts[env_id] = write_report(directory).verdict
        else:
            verdicts[env_id] = verdict(frame)
    table = pd.DataFrame(rows)
    ordered = [c for c in SUMMARY_COLUMNS if c in table] + [
        c for c in table if c not in SUMMARY_COLUMNS
    ]
    return table[ordered], verdicts


def report_text(
    args: Args,
    table: pd.DataFrame,
    verdicts: dict[str, str],
    left_out: dict[str, str],
    seconds: float,
    cells: float,
) -> str:
    """The Markdown of ``OUT/report.md``; ``cells`` as for ``harness.runtime_section``."""
    levels = ", ".join(f"{f:g}" for f in args.fractions)
    budget = (
        f"{args.timesteps:,} steps"
        if args.timesteps
        else "its tuned n_timesteps (ppo.toml, sac.toml on continuous actions)"
    )
    lines = [
        "# Goodhart curves on every environment",
        "",
        "PPO (SAC on environments with continuous actions) on each environment's proxy "
        f"for {budget}, evaluated at the checkpoints "
        f"{levels} x the budget ({args.eval_episodes} evaluation episode(s) each, temperature 1), "
        f"seeds {', '.join(map(str, args.seeds))}. Baselines per environment: an oracle "
        "(the same algorithm on the true objective, same budget), the uniformly random policy, "
        "and the exact optima where a tabular model exists.",
        "",
        "Columns: `verdict` is the label of `proxygym.analysis.verdicts` (its rules: at least "
        "10 seeds, intervals over seeds, references that beat random); `goodhart_point` is the "
        "peak of a curve it calls a Goodhart curve (empty otherwise); `ndh` is the drop of the "
        "mean true return from its peak to the end over the reference range; "
        "`kendall_tau` ranks the mean proxy against the mean true return over the checkpoints "
        "(1: they rise together); `final_true_score` is (J - J_random) / (J_true_optimal - "
        "J_random) at the last checkpoint (exact references only); `final_oracle_score` is the "
        "same with the oracle in place of the optimum; `true_optimal` and `proxy_optimal` are the "
        "true returns of the exact true-optimal and proxy-optimal policies.",
        "",
        "## Summary",
        "",
        markdown_table(table),
        "",
        "## Verdict per environment",
        "",
    ]
    for env_id, sentence in verdicts.items():
        name = harness.env_dir_name(env_id)
        where = f"[{env_id}]({name}/report.md)" if args.env_reports else f"{env_id} (`{name}/`)"
        lines.append(f"- {where}: {sentence}")
    if left_out:
        lines += ["", "## Not swept", ""]
        lines += [f"- {env_id}: {reason}" for env_id, reason in left_out.items()]
    lines += harness.runtime_section(seconds, cells, args.workers)
    return "\n".join(lines) + "\n"


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> tuple[Args, argparse.Namespace, dict[str, str]]:
    """The experiment's settings, the raw options, and the environments left out with why."""
    parser = harness.sweep_experiment_parser(
        __doc__,
        [
            "python -m experiments.goodhart_curves --quick --out /tmp/goodhart",
            "python -m experiments.goodhart_curves --envs BoatRace SpeedTrack --seeds 0 1 2",
            "python -m experiments.goodhart_curves --estimate",
        ],
        Args(),
    )
    parser.add_argument(
        "--envs", nargs="+", metavar="ENV", help="environments (ids or names); default: all"
    )
    harness.add_engine_options(parser)
    parser.add_argument(
        "--no-env-reports",
        action="store_true",
        help="skip each environment's own report (--quick skips them; proxygym report writes one)",
    )
    options = harness.parse_options(parser, argv)
    args = harness.apply_options(Args(), options, QUICK, parser)
    if options.no_env_reports:
        args = replace(args, env_reports=False)
    args = harness.apply_engine_options(args, options, parser)
    registered = [record.id for record in proxygym.list_envs()]
    try:
        envs = harness.resolve_envs(options.envs or args.envs or registered, registered)
    except ValueError as error:
        parser.error(str(error))
    left_out = {
        env_id: reason for env_id in envs if (reason := unsweepable_reason(env_id, args.engine))
    }
    if options.envs and left_out:
        parser.error("; ".join(f"cannot sweep {e}: {r}" for e, r in left_out.items()))
    args = replace(args, envs=tuple(env_id for env_id in envs if env_id not in left_out))
    return args, options, left_out


def main(argv: list[str] | None = None) -> int:
    args, options, left_out = parse_args(argv)
    configs = plan(args)
    if options.estimate:
        return harness.estimate_only(configs, args.out, args.workers)
    run = harness.run_planned(configs, args.out, args.workers, args.progress)
    table, verdicts = summarise(configs, args.out, args.env_reports)
    harness.write_csv(args.out / "summary.csv", table)
    text = report_text(args, table, verdicts, left_out, run.seconds(), run.cell_seconds())
    results.write_atomic(args.out / "report.md", text.encode())
    print(markdown_table(table[["env", "verdict", "goodhart_point", "ndh", "kendall_tau"]]))
    print(f"Report: {args.out / 'report.md'}")
    return run.exit_code()


if __name__ == "__main__":
    sys.exit(main())
