"""Goodhart curves on every environment: PPO's proxy and true return along training.

For every registered environment that sweeps can run (Discrete actions), one
PPO sweep along the ``timesteps`` axis: each seed trains once for the
environment's tuned budget (``n_timesteps`` of ``agents/hyperparams/ppo.toml``)
and is evaluated at checkpoints 0, 1/16, 1/8, 1/4, 1/2 and 1 of it, beside
the baselines (an oracle trained on the true objective with the same budget,
the uniformly random policy, and the exact proxy- and true-optimal returns
where a tabular model exists). Each environment is its own sweep directory,
``OUT/<Name>-v0``, so ``proxygym report OUT/<Name>-v0`` works on it and a
second run into the same OUT skips every finished cell.

Writes ``OUT/<Name>-v0/`` (a sweep with its own report.md and figures),
``OUT/summary.csv`` and ``OUT/report.md``: per environment the Goodhart point
(level where the mean true return peaks), drop height, Kendall tau between
mean proxy and mean true return along the checkpoints, the final proxy and
true returns, the oracle's and the random policy's true returns, and the
final true return normalised by the exact optimum (where a tabular model
exists) and by the oracle.

Size and runtime on 2 cores: ``--quick`` (BoatRace and TrafficMerge, 1 seed,
4,096 steps, 1 worker) took 32 s (16 s of CPU) while other jobs kept the
load average at 6-7. The full size (16 environments x 5 seeds x agent and
oracle: 21 M training steps) is estimated at about 3.0 h with ``--workers 2``
on otherwise idle cores, from PPO throughput measured in CPU time at 585-3,620
steps/s per core depending on the environment (``--estimate``; the table is in
experiments/goodhart_curves.md). A busy machine takes several times longer.

    python experiments/goodhart_curves.py --out runs/goodhart_curves
    python experiments/goodhart_curves.py --envs BoatRace SpeedTrack --seeds 0 1 2
    python experiments/goodhart_curves.py --quick --out /tmp/goodhart
    python experiments/goodhart_curves.py --estimate   # time a short run per env, nothing else
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gymnasium as gym
import pandas as pd

import proxygym
from proxygym.agents import load_hyperparameters, make_agent
from proxygym.agents.evaluation import evaluate_policy, policy_logits
from proxygym.analysis.metrics import aggregate, goodhart_metrics
from proxygym.analysis.surface import SUMMARY_BOOTSTRAP, sweep_summary
from proxygym.reporting.report import markdown_table, verdict, write_report
from proxygym.sweeps import results
from proxygym.sweeps import runner as sweep
from proxygym.sweeps.config import SweepConfig
from proxygym.sweeps.runner import SweepSummary
from proxygym.threads import one_torch_thread

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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


QUICK: dict[str, Any] = {
    "envs": ("proxygym/BoatRace-v0", "proxygym/TrafficMerge-v0"),
    "seeds": (0,),
    "timesteps": 4096,
    "fractions": (0.0, 0.5, 1.0),
    "eval_episodes": 2,
    "env_reports": False,
}


# -- environments and sweeps ------------------------------------------------------------------


def unsweepable_reason(env_id: str) -> str | None:
    """Why sweeps cannot run ``env_id`` (None if they can): evaluation needs Discrete actions."""
    env = gym.make(env_id)
    try:
        if isinstance(env.action_space, gym.spaces.Discrete):
            return None
        return f"{env.action_space} actions: evaluation needs Discrete actions"
    finally:
        env.close()


def resolve_envs(names: Sequence[str], choices: Sequence[str]) -> list[str]:
    """Full ids of ``names`` (``proxygym/BoatRace-v0``, ``BoatRace-v0`` or ``BoatRace``).

    Raises ValueError naming the first name that is none of ``choices``.
    """
    by_name = {}
    for env_id in choices:
        short = env_id.split("/", 1)[-1]
        for alias in (env_id, short, short.removesuffix("-v0")):
            by_name[alias.lower()] = env_id
    resolved = []
    for name in names:
        if name.lower() not in by_name:
            raise ValueError(
                f"unknown or unsupported environment {name!r}; choose from: "
                + ", ".join(env_id.split("/", 1)[-1].removesuffix("-v0") for env_id in choices)
            )
        resolved.append(by_name[name.lower()])
    return list(dict.fromkeys(resolved))


def env_dir_name(env_id: str) -> str:
    """Directory name of an environment's sweep: ``proxygym/BoatRace-v0`` -> ``BoatRace-v0``."""
    return env_id.split("/", 1)[-1]


def tuned_budget(env_id: str) -> int:
    """PPO's tuned training budget on ``env_id`` (``n_timesteps`` in ppo.toml)."""
    return int(load_hyperparameters("ppo", env_id)["n_timesteps"])


def checkpoint_levels(budget: int, fractions: Sequence[float]) -> list[int]:
    """Checkpoints ``round(f x budget)``, sorted and without repeats."""
    bad = [f for f in fractions if not 0 <= f <= 1]
    if bad:
        raise ValueError(f"checkpoint fractions must lie in [0, 1], got {bad}")
    return sorted({round(f * budget) for f in fractions})


def timesteps_config(
    name: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    budget: int,
    fractions: Sequence[float],
    seeds: Sequence[int],
    eval_episodes: int,
    baselines: bool | list[str] = True,
) -> SweepConfig:
    """A PPO sweep of ``env_id`` along training, with every baseline unless ``baselines`` says."""
    return SweepConfig.from_dict(
        {
            "name": name,
            "env": env_id,
            "env_kwargs": env_kwargs,
            "algo": "ppo",
            "timesteps": budget,
            "seeds": list(seeds),
            "eval_episodes": eval_episodes,
            "baselines": baselines,
            "pressure": {"axis": "timesteps", "levels": checkpoint_levels(budget, fractions)},
        },
        source=name,
    )


def plan(args: Args) -> dict[str, SweepConfig]:
    """The sweep of every selected environment, keyed by its directory under OUT."""
    return {
        env_dir_name(env_id): timesteps_config(
            f"goodhart_curves_{env_dir_name(env_id)}",
            env_id,
            {},
            args.timesteps or tuned_budget(env_id),
            args.fractions,
            args.seeds,
            args.eval_episodes,
        )
        for env_id in args.envs
    }


def run_sweeps(
    jobs: Sequence[tuple[SweepConfig, Path]], workers: int, progress: bool = False
) -> list[SweepSummary]:
    """Run (or resume) every sweep through one pool of workers, with a line per sweep.

    One pool for all sweeps (:func:`proxygym.sweeps.runner.run_sweeps`): no worker
    idles at the end of a sweep with an odd number of runs left.
    """
    for index, (config, out) in enumerate(jobs, start=1):
        print(
            f"[{index}/{len(jobs)}] {config.env} {config.env_kwargs or ''} "
            f"{config.timesteps:,} steps x {len(config.seeds)} seeds -> {out}",
            flush=True,
        )
    summaries = sweep.run_sweeps(
        jobs, workers=workers, progress=progress, echo=lambda line: print(f"  {line}", flush=True)
    )
    for summary in summaries:
        print(
            f"  {summary.out}: {len(summary.ran)} cells run, {len(summary.skipped)} already "
            f"done, {len(summary.failed)} failed; last cell finished after {summary.seconds:.0f} s",
            flush=True,
        )
    return summaries


# -- runtime estimate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """CPU seconds one process (one torch thread) spends on PPO on one environment.

    Measured in CPU time, not wall time, so that other jobs on the machine do
    not inflate it: an estimate built from it is for otherwise idle cores.
    """

    env: str
    setup_seconds: float
    """building the agent and its vectorised environments"""
    steps_per_second: float
    """PPO training with the tuned hyperparameters"""
    seconds_per_episode: float
    """one evaluation episode at temperature 1, with KL from the initial policy"""


def measure_throughput(
    env_id: str, env_kwargs: dict[str, Any] | None = None, steps: int = 4096, episodes: int = 3
) -> Throughput:
    """Time a short PPO run: setup, ``steps`` training steps, ``episodes`` evaluation episodes."""
    with one_torch_thread():
        started = time.process_time()
        model = make_agent("ppo", env_id, seed=0, env_kwargs=env_kwargs)
        built = time.process_time()
        initial = copy.deepcopy(model.policy)
        model.learn(total_timesteps=steps)
        trained = time.process_time()
        evaluate_policy(
            policy_logits(model.policy),
            env_id,
            env_kwargs,
            episodes,
            seed=0,
            temperature=1.0,
            initial_logits=policy_logits(initial),
        )
        evaluated = time.process_time()
    model.get_env().close()
    return Throughput(
        env_id,
        setup_seconds=built - started,
        steps_per_second=model.num_timesteps / (trained - built),
        seconds_per_episode=(evaluated - trained) / episodes,
    )


def warm_up(env_id: str) -> None:
    """Build one agent, so that the first timed environment does not pay for lazy imports."""
    make_agent("ppo", env_id, seed=0).get_env().close()


def estimate_seconds(config: SweepConfig, throughput: Throughput) -> float:
    """Single-core seconds of every cell of ``config`` (agents, oracles, random policy).

    Each seed trains once for the budget, and once more for the oracle when
    the config runs one; the agent is evaluated at every level, the oracle
    once, the random policy once. Exact references take well under a second
    and are left out.
    """
    kinds = config.baseline_kinds
    per_run = throughput.setup_seconds + config.timesteps / throughput.steps_per_second
    runs_per_seed = 2 if "oracle" in kinds else 1
    evaluations = len(config.seeds) * (len(config.levels) + runs_per_seed - 1) + ("random" in kinds)
    return (
        runs_per_seed * len(config.seeds) * per_run
        + evaluations * config.eval_episodes * throughput.seconds_per_episode
    )


def estimate(
    configs: dict[str, SweepConfig],
    workers: int,
    measure: Callable[[str, dict[str, Any]], Throughput],
) -> pd.DataFrame:
    """Per sweep: measured throughput, total training steps and estimated wall seconds.

    ``configs`` maps each sweep's directory (relative to OUT) to its config;
    ``measure`` is timed once per environment, with the first sweep's kwargs
    (knob settings change the rewards, not the cost of a step). Wall time is
    the single-core total divided by ``workers``, on otherwise idle cores
    (cells pack well: every sweep has at least two seeds' worth of training).
    """
    rows, measured = [], {}
    for key, config in configs.items():
        if config.env not in measured:
            print(f"timing {config.env} {config.env_kwargs or ''}", flush=True)
            measured[config.env] = measure(config.env, config.env_kwargs)
        throughput = measured[config.env]
        rows.append(
            {
                "sweep": key,
                "budget": config.timesteps,
                "seeds": len(config.seeds),
                "steps_per_second": throughput.steps_per_second,
                "setup_seconds": throughput.setup_seconds,
                "seconds_per_episode": throughput.seconds_per_episode,
                "training_steps": 2 * len(config.seeds) * config.timesteps,
                "estimated_seconds": estimate_seconds(config, throughput) / workers,
            }
        )
    return pd.DataFrame(rows)


def report_estimate(table: pd.DataFrame, path: Path, workers: int) -> None:
    """Print the estimate and write it as CSV."""
    results.write_atomic(path, table.to_csv(index=False).encode())
    print(markdown_table(table))
    total = table["estimated_seconds"].sum()
    print(
        f"total: {table['training_steps'].sum():,} training steps, about {total / 3600:.1f} h "
        f"with {workers} workers. Table: {path}"
    )


# -- summary and report -----------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "env",
    "variant",
    "budget",
    "seeds",
    "goodhart_point",
    "drop_height",
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
            oracle = frame.loc[frame["policy"] == "oracle", "true_return"]
            verdicts[env_id] = verdict(
                goodhart_metrics(frame, n_bootstrap=SUMMARY_BOOTSTRAP),
                aggregate(frame, n_bootstrap=SUMMARY_BOOTSTRAP),
                float(oracle.mean()) if len(oracle) else None,
            )
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
    """The Markdown of ``OUT/report.md``; ``cells`` as for ``runtime_section``."""
    levels = ", ".join(f"{f:g}" for f in args.fractions)
    budget = f"{args.timesteps:,} steps" if args.timesteps else "its tuned n_timesteps (ppo.toml)"
    lines = [
        "# Goodhart curves on every environment",
        "",
        f"PPO on each environment's proxy for {budget}, evaluated at the checkpoints "
        f"{levels} x the budget ({args.eval_episodes} evaluation episode(s) each, temperature 1), "
        f"seeds {', '.join(map(str, args.seeds))}. Baselines per environment: an oracle "
        "(PPO on the true objective, same budget), the uniformly random policy, and the exact "
        "optima where a tabular model exists.",
        "",
        "Columns: `goodhart_point` is the checkpoint (training steps) where the mean true return "
        "peaks; `drop_height` is (peak - final) / (peak - lowest) of the mean true return; "
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
        name = env_dir_name(env_id)
        where = f"[{env_id}]({name}/report.md)" if args.env_reports else f"{env_id} (`{name}/`)"
        lines.append(f"- {where}: {sentence}")
    if left_out:
        lines += ["", "## Not swept", ""]
        lines += [f"- {env_id}: {reason}" for env_id, reason in left_out.items()]
    lines += runtime_section(seconds, cells, args.workers)
    return "\n".join(lines) + "\n"


def cell_seconds(directories: Iterable[Path]) -> float:
    """The finished cells' own wall times, summed over the sweeps in ``directories``.

    This is the compute the whole experiment took, however many sittings it was
    resumed over; a resumed run's own duration leaves out every cell it skipped.
    """
    total = 0.0
    for directory in directories:
        if (directory / results.MANIFEST).exists():
            frame = results.load(directory)
            if not frame.empty:
                total += float(frame.groupby("cell")["wall_time"].max().sum())
    return total


def runtime_section(seconds: float, cells: float, workers: int) -> list[str]:
    """The report's closing Runtime section (shared with the misspecification surface).

    ``seconds`` is this invocation's wall time, ``cells`` the finished cells'
    own wall times summed (``cell_seconds``).
    """
    return [
        "",
        "## Runtime",
        "",
        f"This run: {seconds:.0f} s (cells finished by earlier runs not included). "
        f"Every finished cell's own wall time, summed: {cells:.0f} s ({cells / 3600:.1f} h), "
        f"about {cells / 3600 / workers:.1f} h with {workers} worker(s).",
    ]


# -- command line -----------------------------------------------------------------------------

#: Settings dataclass of either experiment (fields ``out``, ``seeds``, ``workers``, ``progress``).
Settings = TypeVar("Settings", bound="DataclassInstance")


def experiment_parser(doc: str, examples: Sequence[str], args: Any) -> argparse.ArgumentParser:
    """The options both experiments share; ``args`` is the full-size settings (for defaults)."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=args.out, help=f"default: {args.out}")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        help=f"default: {' '.join(map(str, args.seeds))} (quick: 0)",
    )
    parser.add_argument("--quick", action="store_true", help="the small size the tests run")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"parallel runs (default {args.workers}; --quick: 1, its cells are too small to pay "
        "for starting worker processes)",
    )
    parser.add_argument("--progress", action="store_true", help="print every finished cell")
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="time a short PPO run per environment and print the estimated runtime; no sweeps",
    )
    return parser


def apply_options(
    args: Settings,
    options: argparse.Namespace,
    quick: dict[str, Any],
    parser: argparse.ArgumentParser,
) -> Settings:
    """``args`` with the shared options applied: --quick, then --workers, --seeds, --progress."""
    args = replace(args, out=options.out, progress=options.progress)
    if options.quick:
        args = replace(args, workers=1, **quick)
    if options.workers is not None:
        if options.workers < 1:
            parser.error(f"--workers must be >= 1, got {options.workers}")
        args = replace(args, workers=options.workers)
    if options.seeds:
        if len(set(options.seeds)) != len(options.seeds) or min(options.seeds) < 0:
            parser.error(f"--seeds must be distinct integers >= 0, got {options.seeds}")
        args = replace(args, seeds=tuple(options.seeds))
    return args


def estimate_only(configs: dict[str, SweepConfig], out: Path, workers: int) -> int:
    """The --estimate mode: time each environment, print and write the estimate."""
    warm_up(next(iter(configs.values())).env)
    table = estimate(configs, workers, measure_throughput)
    report_estimate(table, out / "runtime_estimate.csv", workers)
    return 0


def exit_code(summaries: Sequence[SweepSummary]) -> int:
    """1 (after saying how to retry) if any cell failed, else 0."""
    failed = sum(len(summary.failed) for summary in summaries)
    if failed:
        print(f"{failed} cells failed; rerun the same command to retry them", file=sys.stderr)
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> tuple[Args, argparse.Namespace, dict[str, str]]:
    """The experiment's settings, the raw options, and the environments left out with why."""
    parser = experiment_parser(
        __doc__,
        [
            "python experiments/goodhart_curves.py --quick --out /tmp/goodhart",
            "python experiments/goodhart_curves.py --envs BoatRace SpeedTrack --seeds 0 1 2",
            "python experiments/goodhart_curves.py --estimate",
        ],
        Args(),
    )
    parser.add_argument(
        "--envs", nargs="+", metavar="ENV", help="environments (ids or names); default: all"
    )
    parser.add_argument(
        "--no-env-reports",
        action="store_true",
        help="skip each environment's own report (--quick skips them; proxygym report writes one)",
    )
    options = parser.parse_args(argv)
    args = apply_options(Args(), options, QUICK, parser)
    if options.no_env_reports:
        args = replace(args, env_reports=False)
    registered = [record.id for record in proxygym.list_envs()]
    try:
        envs = resolve_envs(options.envs or args.envs or registered, registered)
    except ValueError as error:
        parser.error(str(error))
    left_out = {env_id: reason for env_id in envs if (reason := unsweepable_reason(env_id))}
    if options.envs and left_out:
        parser.error("; ".join(f"cannot sweep {e}: {r}" for e, r in left_out.items()))
    args = replace(args, envs=tuple(env_id for env_id in envs if env_id not in left_out))
    return args, options, left_out


def main(argv: list[str] | None = None) -> int:
    args, options, left_out = parse_args(argv)
    configs = plan(args)
    args.out.mkdir(parents=True, exist_ok=True)
    if options.estimate:
        return estimate_only(configs, args.out, args.workers)
    started = time.perf_counter()
    jobs = [(config, args.out / key) for key, config in configs.items()]
    summaries = run_sweeps(jobs, args.workers, args.progress)
    table, verdicts = summarise(configs, args.out, args.env_reports)
    results.write_atomic(args.out / "summary.csv", table.to_csv(index=False).encode())
    seconds = time.perf_counter() - started
    cells = cell_seconds(directory for _, directory in jobs)
    text = report_text(args, table, verdicts, left_out, seconds, cells)
    results.write_atomic(args.out / "report.md", text.encode())
    print(markdown_table(table[["env", "goodhart_point", "drop_height", "kendall_tau"]]))
    print(f"Report: {args.out / 'report.md'}")
    return exit_code(summaries)


if __name__ == "__main__":
    sys.exit(main())
