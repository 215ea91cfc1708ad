"""The run/report harness the experiment scripts share (not a script itself).

- **Command line**: :func:`experiment_parser` (description, examples, ``--out``,
  ``--quick``, ``--workers``) and :func:`parse_options`; the sweep experiments
  (Goodhart curves, misspecification surface) add ``--seeds``, ``--progress`` and
  ``--estimate`` with :func:`sweep_experiment_parser` and :func:`apply_options`.
- **PPO along training**: :func:`timesteps_config` (a ``timesteps`` sweep at the
  tuned budget, :func:`tuned_budget`, checkpoints :func:`checkpoint_levels`), the
  environment names (:func:`resolve_envs`, :func:`env_dir_name`).
- **Running sweeps**: :func:`run_planned` runs (or resumes) a plan of sweeps through
  one pool of workers and keeps what the report needs (:class:`SweepRun`:
  wall time, cells' own time, exit code).
- **Runtime estimate** (``--estimate``): :class:`Throughput`, :func:`estimate`,
  :func:`estimate_only`.
- **Outputs**: :func:`write_csv`, :func:`write_tables`, :func:`write_markdown_report` (a title and
  ``## sections``) and :func:`runtime_section`.

The scripts import it as ``experiments.harness``, so they run as modules from the
repository root: ``python -m experiments.goodhart_curves --quick``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gymnasium as gym
import pandas as pd

from proxygym.agents import make_agent
from proxygym.agents.evaluation import agent_distribution, evaluate_policy, snapshot_policy
from proxygym.reporting.report import markdown_table
from proxygym.sweeps import results
from proxygym.sweeps import runner as sweep
from proxygym.sweeps.config import ENGINES, SweepConfig
from proxygym.sweeps.runner import SweepSummary
from proxygym.threads import one_torch_thread

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# -- command line -----------------------------------------------------------------------------


def experiment_parser(
    doc: str,
    examples: Sequence[str],
    out: Path,
    workers_help: str,
    workers: int | None = None,
) -> argparse.ArgumentParser:
    """The options every experiment has: ``--out`` (default ``out``), ``--quick``, ``--workers``.

    The description is the first paragraph of ``doc``; the epilog lists ``examples``.
    ``workers`` is the default of ``--workers`` (None: the settings' own).
    """
    if len(examples) == 1:
        epilog = f"example: {examples[0]}"
    else:
        epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=out, help=f"default: {out}")
    parser.add_argument("--quick", action="store_true", help="the small size the tests run")
    parser.add_argument("--workers", type=int, default=workers, help=workers_help)
    return parser


#: Where stored results live: only a clean tree may write there (its revision is recorded).
STORED_RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def dirty_results_reason(out: Path, revision: str | None = None) -> str | None:
    """Why ``out`` may not be written now (inside ``docs/results`` from a dirty tree), or None.

    Stored results must be reproducible from the revision their manifests
    name, so uncommitted changes (outside ``docs/results`` itself) forbid it.
    """
    try:
        Path(out).resolve().relative_to(STORED_RESULTS)
    except ValueError:
        return None
    found = sweep.git_revision(STORED_RESULTS.parent.parent) if revision is None else revision
    if found is None:
        return f"refusing to write {out}: no git revision to record (not a git checkout?)"
    if found.endswith("-dirty"):
        return (
            f"refusing to write {out} from a tree with uncommitted changes: stored results "
            "must name a clean revision (commit first, or write outside docs/results)"
        )
    return None


def parse_options(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser``'s options from ``argv``; a usage error unless ``--workers`` is unset or >= 1,
    or when ``--out`` is inside ``docs/results`` and the tree has uncommitted changes."""
    options = parser.parse_args(argv)
    if options.workers is not None and options.workers < 1:
        parser.error(f"--workers must be >= 1, got {options.workers}")
    reason = dirty_results_reason(Path(options.out))
    if reason is not None:
        parser.error(reason)
    return options


#: Settings dataclass of a sweep experiment (fields ``out``, ``seeds``, ``workers``, ``progress``).
Settings = TypeVar("Settings", bound="DataclassInstance")


def sweep_experiment_parser(
    doc: str, examples: Sequence[str], args: Any
) -> argparse.ArgumentParser:
    """:func:`experiment_parser` with ``--seeds``, ``--progress`` and ``--estimate``;
    ``args`` is the full-size settings (for the defaults)."""
    parser = experiment_parser(
        doc,
        examples,
        args.out,
        f"parallel runs (default {args.workers}; --quick: 1, its cells are too small to pay "
        "for starting worker processes)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        help=f"default: {' '.join(map(str, args.seeds))} (quick: 0)",
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
    """``args`` with the options of :func:`sweep_experiment_parser` applied: --quick, then
    --workers, --seeds, --progress."""
    args = replace(args, out=options.out, progress=options.progress)
    if options.quick:
        args = replace(args, workers=1, **quick)
    if options.workers is not None:
        args = replace(args, workers=options.workers)
    if options.seeds:
        if len(set(options.seeds)) != len(options.seeds) or min(options.seeds) < 0:
            parser.error(f"--seeds must be distinct integers >= 0, got {options.seeds}")
        args = replace(args, seeds=tuple(options.seeds))
    return args


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` (sb3 or jax) and ``--n-seeds N`` (seeds 0 .. N-1)."""
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="sb3 (default) or jax: PPO in JAX, every seed of a sweep in one compiled call "
        "(environments with an exact model or a JAX port)",
    )
    parser.add_argument(
        "--n-seeds",
        type=int,
        metavar="N",
        default=None,
        help="seeds 0 .. N-1 (instead of listing them with --seeds)",
    )


def apply_engine_options(
    args: Settings, options: argparse.Namespace, parser: argparse.ArgumentParser
) -> Settings:
    """``args`` with :func:`add_engine_options`' options applied (fields ``engine``, ``seeds``)."""
    if options.n_seeds is not None:
        if getattr(options, "seeds", None):
            parser.error("give --seeds or --n-seeds, not both")
        if options.n_seeds < 1:
            parser.error(f"--n-seeds must be >= 1, got {options.n_seeds}")
        args = replace(args, seeds=tuple(range(options.n_seeds)))
    if options.engine is not None:
        args = replace(args, engine=options.engine)
    return args


# -- environments and PPO along training ------------------------------------------------------


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


def checkpoint_levels(budget: int, fractions: Sequence[float]) -> list[int]:
    """Checkpoints ``round(f x budget)``, sorted and without repeats."""
    bad = [f for f in fractions if not 0 <= f <= 1]
    if bad:
        raise ValueError(f"checkpoint fractions must lie in [0, 1], got {bad}")
    return sorted({round(f * budget) for f in fractions})


#: What experiments train on continuous (Box) actions: SAC, the standard off-policy
#: algorithm for continuous control (Pan et al.'s glucose runs trained SAC too).
CONTINUOUS_ALGO = "sac"


def default_algo(env_id: str) -> str:
    """The algorithm experiments train on ``env_id``: PPO on Discrete actions, SAC on Box."""
    env = gym.make(env_id)
    try:
        return CONTINUOUS_ALGO if isinstance(env.action_space, gym.spaces.Box) else "ppo"
    finally:
        env.close()


def timesteps_config(
    name: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    budget: int,
    fractions: Sequence[float],
    seeds: Sequence[int],
    eval_episodes: int,
    baselines: bool | list[str] = True,
    engine: str = "sb3",
    algo: str | None = None,
) -> SweepConfig:
    """A sweep of ``env_id`` along training, with every baseline unless ``baselines`` says.

    ``algo`` defaults to :func:`default_algo` (PPO, or SAC on Box actions);
    ``engine`` trains it with stable-baselines3 (``"sb3"``) or in JAX (``"jax"``).
    """
    return SweepConfig.from_dict(
        {
            "engine": engine,
            "name": name,
            "env": env_id,
            "env_kwargs": env_kwargs,
            "algo": algo or default_algo(env_id),
            "timesteps": budget,
            "seeds": list(seeds),
            "eval_episodes": eval_episodes,
            "baselines": baselines,
            "pressure": {"axis": "timesteps", "levels": checkpoint_levels(budget, fractions)},
        },
        source=name,
    )


# -- running sweeps ---------------------------------------------------------------------------


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


def cell_seconds(directories: Iterable[Path]) -> float:
    """The finished cells' own wall times, summed over the sweeps in ``directories``.

    This is the compute the whole experiment took, however many sittings it was
    resumed over; a resumed run's own duration leaves out every cell it skipped.
    """
    total = 0.0
    for directory in directories:
        if results.is_sweep(directory):
            frame = results.load(directory)
            if not frame.empty:
                total += float(frame.groupby("cell")["wall_time"].max().sum())
    return total


def exit_code(summaries: Sequence[SweepSummary]) -> int:
    """1 (after saying how to retry) if any cell failed, else 0."""
    failed = sum(len(summary.failed) for summary in summaries)
    if failed:
        print(f"{failed} cells failed; rerun the same command to retry them", file=sys.stderr)
    return 1 if failed else 0


@dataclass
class SweepRun:
    """A finished (or resumed) run of planned sweeps: what the report and exit code need."""

    summaries: list[SweepSummary]
    directories: list[Path]
    started: float = field(default_factory=time.perf_counter)
    """``time.perf_counter()`` when the run started"""

    def seconds(self) -> float:
        """Wall seconds since the run started (this invocation only)."""
        return time.perf_counter() - self.started

    def cell_seconds(self) -> float:
        """Every finished cell's own wall time, summed (:func:`cell_seconds`)."""
        return cell_seconds(self.directories)

    def exit_code(self) -> int:
        """1 (after saying how to retry) if any cell failed, else 0."""
        return exit_code(self.summaries)


def run_planned(
    configs: Mapping[str, SweepConfig], out: Path, workers: int, progress: bool
) -> SweepRun:
    """Run (or resume) every planned sweep, each in ``out / key``, through one pool."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(config, out / key) for key, config in configs.items()]
    summaries = run_sweeps(jobs, workers, progress)
    return SweepRun(summaries, [directory for _, directory in jobs], started)


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
    """training with the tuned hyperparameters (of :func:`default_algo`)"""
    seconds_per_episode: float
    """one evaluation episode at temperature 1, with KL from the initial policy"""


def measure_throughput(
    env_id: str, env_kwargs: dict[str, Any] | None = None, steps: int = 4096, episodes: int = 3
) -> Throughput:
    """Time a short run of :func:`default_algo`: setup, ``steps`` training steps,
    ``episodes`` evaluation episodes."""
    with one_torch_thread():
        started = time.process_time()
        model = make_agent(default_algo(env_id), env_id, seed=0, env_kwargs=env_kwargs)
        built = time.process_time()
        initial = snapshot_policy(model.policy)
        model.learn(total_timesteps=steps)
        trained = time.process_time()
        evaluate_policy(
            agent_distribution(model),
            env_id,
            env_kwargs,
            episodes,
            seed=0,
            temperature=1.0,
            initial_logits=agent_distribution(model, initial),
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
    make_agent(default_algo(env_id), env_id, seed=0).get_env().close()


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
    configs: Mapping[str, SweepConfig],
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
    write_csv(path, table)
    print(markdown_table(table))
    total = table["estimated_seconds"].sum()
    print(
        f"total: {table['training_steps'].sum():,} training steps, about {total / 3600:.1f} h "
        f"with {workers} workers. Table: {path}"
    )


def estimate_only(configs: Mapping[str, SweepConfig], out: Path, workers: int) -> int:
    """The --estimate mode: time each environment, print and write the estimate."""
    out.mkdir(parents=True, exist_ok=True)
    warm_up(next(iter(configs.values())).env)
    table = estimate(configs, workers, measure_throughput)
    report_estimate(table, out / "runtime_estimate.csv", workers)
    return 0


# -- outputs and reports ----------------------------------------------------------------------


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` (without its index) to ``path`` atomically."""
    results.write_atomic(path, frame.to_csv(index=False).encode())
    return path


def write_csv_gz(path: Path, frame: pd.DataFrame, digits: int = 6) -> Path:
    """Write ``frame`` gzip-compressed to ``path`` atomically, floats to ``digits`` significant
    digits: for per-record tables too large to store in the repository as plain CSV. The
    gzip header carries no time stamp, so the same table gives the same bytes."""
    import gzip

    text = frame.to_csv(index=False, float_format=f"%.{digits}g").encode()
    results.write_atomic(path, gzip.compress(text, compresslevel=9, mtime=0))
    return path


def write_tables(directory: Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Write each table as ``directory / f"{name}.csv"`` (:func:`write_csv`)."""
    for name, frame in tables.items():
        write_csv(directory / f"{name}.csv", frame)


def write_markdown_report(path: Path, title: str, sections: Mapping[str, str]) -> Path:
    """Write ``# title`` and one ``## heading`` with its body per section, atomically."""
    text = f"# {title}\n\n" + "\n\n".join(f"## {head}\n\n{body}" for head, body in sections.items())
    results.write_atomic(path, (text + "\n").encode())
    return path


def runtime_section(seconds: float, cells: float, workers: int) -> list[str]:
    """The closing Runtime section of a sweep experiment's report, as lines.

    ``seconds`` is this invocation's wall time, ``cells`` the finished cells'
    own wall times summed (:func:`cell_seconds`).
    """
    return [
        "",
        "## Runtime",
        "",
        f"This run: {seconds:.0f} s (cells finished by earlier runs not included). "
        f"Every finished cell's own wall time, summed: {cells:.0f} s ({cells / 3600:.1f} h), "
        f"about {cells / 3600 / workers:.1f} h with {workers} worker(s).",
    ]
