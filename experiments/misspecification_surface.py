"""The misspecification surface: true return over (how wrong the proxy is, how hard it is pushed).

For each environment of the Goodhart suite and the two simulators (each has
one misspecification knob, a float where 0 makes the proxy a positive affine
transform of the true objective), a grid of knob settings (0, 0.5, 1, 1.5
and 2 x the default) by training checkpoints (0, 1/8, 1/4, 1/2 and 1 x PPO's
tuned budget): one PPO sweep along the ``timesteps`` axis per (environment,
knob setting), with ``env_kwargs = {knob: value}`` and every baseline. Where
the knob changes only the proxy (CobraBounty, LagoonRace, TrafficMerge), the
oracle is the same policy at every setting, so only the default setting's
sweep trains it and the others share it (:data:`SHARED_ORACLE_ENVS`).

Each cell of the grid is the mean over seeds of the agent's true return,
normalised at its own knob setting: 0 is the uniformly random policy, 1 the
exact true optimum where the environment has a tabular model (the five
Goodhart-suite environments), else the oracle, PPO trained on the true
objective with the same budget (TrafficMerge, Pandemic). Where the random
policy already reaches the exact optimum (CobraBounty: random hunting catches
every wild cobra), random is no floor, and 0 is the exact worst policy's true
return instead (never hunting: 0 cobras).

Writes ``OUT/<Name>-v0/<knob>=<value>/`` (one sweep each; ``proxygym report``
works on it and reruns skip finished cells), ``OUT/<Name>-v0/grid.csv`` and
``OUT/<Name>-v0/heatmap.png`` / ``.svg``, ``OUT/surface.csv`` (every grid
cell of every environment) and ``OUT/report.md``.

Size and runtime on 2 cores: ``--quick`` (SpeedTrack and TrafficMerge, knob 0
and 2 x default, 1 seed, 4,096 steps, 1 worker) took 47 s (23 s of CPU) while
other jobs kept the load average near 6. The full size (7 environments x 5
knob settings x 3 seeds; agents and oracles, the three shared oracles
trained once: 18.3 M training steps) is estimated at about 2.2 h with
``--workers 2`` on otherwise idle cores
(``--estimate``; per environment in experiments/misspecification_surface.md).

    python -m experiments.misspecification_surface --out runs/misspecification_surface
    python -m experiments.misspecification_surface --envs SpeedTrack StatusLamp --seeds 0 1 2
    python -m experiments.misspecification_surface --quick --out /tmp/surface
    python -m experiments.misspecification_surface --estimate   # time short runs; no sweeps
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd

import proxygym
from experiments import harness
from proxygym.agents.hyperparameters import tuned_budget
from proxygym.analysis.surface import (
    EXACT,
    EXACT_FROM_WORST,
    ORACLE,
    grid_matrix,
    normalised,
    random_reaches_optimum,
    surface_grid,
    sweep_summary,
)
from proxygym.planning import tabular
from proxygym.planning.hackability import hackability
from proxygym.registry import env_class
from proxygym.reporting.plots_surface import save_surface_heatmap
from proxygym.reporting.report import markdown_table
from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig

#: The Goodhart suite and the simulators: one knob each, 0 = proxy affine in the true objective.
SURFACE_ENVS: tuple[str, ...] = (
    "proxygym/OptionPicking-v0",
    "proxygym/SpeedTrack-v0",
    "proxygym/StatusLamp-v0",
    "proxygym/CobraBounty-v0",
    "proxygym/LagoonRace-v0",
    "proxygym/TrafficMerge-v0",
    "proxygym/Pandemic-v0",
)
#: Environments whose knob changes only the proxy: dynamics, observations and true
#: reward are the same at every knob setting (tests/experiments/test_misspecification_surface.py
#: checks it), so the oracle, trained on the true objective, is the same policy at
#: every setting. It is trained once, in the sweep at the default setting (or the
#: lowest setting swept, if the default is not), and shared by the other settings,
#: whose sweeps run only the random policy and the exact optima.
SHARED_ORACLE_ENVS: frozenset[str] = frozenset(
    {"proxygym/CobraBounty-v0", "proxygym/LagoonRace-v0", "proxygym/TrafficMerge-v0"}
)
#: What 0 and 1 of each normalisation reference are, for figure titles.
REFERENCE_SHORT = {
    EXACT: "0 = random, 1 = exact optimum",
    ORACLE: "0 = random, 1 = oracle",
    EXACT_FROM_WORST: "0 = worst policy, 1 = exact optimum",
}


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/misspecification_surface")
    """results directory"""
    envs: tuple[str, ...] = SURFACE_ENVS
    """environment ids (each must be one of SURFACE_ENVS)"""
    knob_multiples: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    """knob settings as multiples of the environment's default (0 must be among them)"""
    seeds: tuple[int, ...] = (0, 1, 2)
    """training seeds"""
    fractions: tuple[float, ...] = (0.0, 1 / 8, 1 / 4, 1 / 2, 1.0)
    """checkpoints as fractions of the training budget"""
    timesteps: int | None = None
    """training budget of every environment; None = its tuned n_timesteps"""
    eval_episodes: int = 10
    """evaluation episodes per checkpoint"""
    workers: int = 2
    """parallel training runs"""
    progress: bool = False
    """report every finished cell"""
    engine: str = "sb3"
    """training engine: "sb3" or "jax" (every seed of a sweep in one compiled call)"""


QUICK: dict[str, Any] = {
    "envs": ("proxygym/SpeedTrack-v0", "proxygym/TrafficMerge-v0"),
    "knob_multiples": (0.0, 2.0),
    "seeds": (0,),
    "timesteps": 4096,
    "fractions": (0.0, 0.5, 1.0),
    "eval_episodes": 1,
}


def knob_of(env_id: str) -> tuple[str, float]:
    """The misspecification knob of ``env_id`` and its default value."""
    knobs = next(record.knobs for record in proxygym.list_envs() if record.id == env_id)
    if len(knobs) != 1:
        raise ValueError(f"{env_id} has knobs {knobs}; the surface needs exactly one")
    default = inspect.signature(env_class(env_id)).parameters[knobs[0]].default
    return knobs[0], float(default)


def knob_values(env_id: str, multiples: tuple[float, ...]) -> list[float]:
    """The knob settings of ``env_id``: each multiple of its default, rounded, sorted."""
    _, default = knob_of(env_id)
    return sorted({round(multiple * default, 6) for multiple in multiples})


def sweep_key(env_id: str, knob: str, value: float) -> str:
    """Directory of one (environment, knob setting) sweep under OUT."""
    return f"{harness.env_dir_name(env_id)}/{knob}={value:g}"


def oracle_value(env_id: str, values: list[float]) -> float | None:
    """The knob setting whose sweep trains the oracle shared by every setting.

    None when the oracle is not shared (:data:`SHARED_ORACLE_ENVS`): each
    sweep then trains its own.
    """
    if env_id not in SHARED_ORACLE_ENVS:
        return None
    _, default = knob_of(env_id)
    return default if default in values else min(values)


def stored_baselines(directory: Path) -> bool | list[str] | None:
    """The ``baselines`` of the sweep already in ``directory`` (None: no readable sweep there).

    A rerun keeps them, so that a directory written by a run with other knob
    settings (where another setting trained the shared oracle) still resumes.
    """
    try:
        stored = (results.stored_config(directory) or {})["baselines"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return stored if isinstance(stored, (bool, list)) else None


def plan(args: Args) -> dict[str, SweepConfig]:
    """Every (environment, knob setting) sweep, keyed by its directory under OUT."""
    configs = {}
    for env_id in args.envs:
        knob, _ = knob_of(env_id)
        values = knob_values(env_id, args.knob_multiples)
        shared = oracle_value(env_id, values)
        for value in values:
            key = sweep_key(env_id, knob, value)
            planned: bool | list[str] = (
                True if shared is None or value == shared else ["random", "exact"]
            )
            stored = stored_baselines(args.out / key)
            configs[key] = harness.timesteps_config(
                f"misspecification_surface_{key.replace('/', '_')}",
                env_id,
                {knob: value},
                args.timesteps or tuned_budget("ppo", env_id),
                args.fractions,
                args.seeds,
                args.eval_episodes,
                planned if stored is None else stored,
                engine=args.engine,
            )
    return configs


def shared_oracle(out: Path, env_id: str, values: list[float]) -> pd.DataFrame:
    """The oracle records that stand for every knob setting of ``env_id`` (maybe none).

    From the default setting's sweep if it has any, whether or not the default
    is among ``values`` (an earlier run may have trained it there), else from
    the setting :func:`oracle_value` picks; empty if neither has a finished oracle.
    """
    knob, default = knob_of(env_id)
    for value in (default, oracle_value(env_id, values)):
        if value is None:
            continue
        directory = out / sweep_key(env_id, knob, value)
        if not results.is_sweep(directory):
            continue
        frame = results.load(directory)
        oracle = frame[frame["policy"] == "oracle"]
        if not oracle.empty:
            return oracle
    return pd.DataFrame()


def with_shared_oracle(frames: dict[float, pd.DataFrame], oracle: pd.DataFrame) -> None:
    """Add ``oracle``'s records to every frame that has no oracle of its own.

    The copies carry the receiving sweep's ``env_kwargs``, so that the oracle
    normalises that knob setting (:func:`proxygym.analysis.surface.oracle_scores`),
    and no proxy return: the oracle's proxy return was measured at another setting.
    """
    if oracle.empty:
        return
    for value, frame in frames.items():
        if (frame["policy"] == "oracle").any():
            continue
        own_kwargs = frame["env_kwargs"].iloc[0]
        copies = oracle.assign(env_kwargs=[own_kwargs] * len(oracle), proxy_return=math.nan)
        frames[value] = pd.concat([frame, copies], ignore_index=True)


# -- analysis, figures and report -------------------------------------------------------------


@dataclass(frozen=True)
class EnvSurface:
    """The analysed surface of one environment."""

    env: str
    knob: str
    default: float
    reference: str
    grid: pd.DataFrame
    per_knob: pd.DataFrame


def worst_floors(env_id: str, knob: str, values: list[float]) -> dict[float, float] | None:
    """The exact worst true return at each knob setting (None: no tabular model)."""
    floors = {}
    for value in values:
        kwargs: dict[str, Any] = {knob: value}
        with gym.make(env_id, **kwargs) as env:
            model = tabular.model_of(env)
        if model is None:
            return None
        floors[value] = tabular.worst_true_return(model)
    return floors


#: Policies the hackability search evaluates per knob setting. Its first candidates are the
#: exact proxy- and true-optimal policies, which are a witness whenever each optimum is
#: worse than the other on the other's objective; 2,000 keeps it to seconds per setting.
HACKABILITY_BUDGET = 2_000


def hackability_at(env_id: str, knob: str, value: float) -> str:
    """Skalse et al.'s hackability of the proxy at one knob setting, as one line.

    Hackable: two stationary deterministic policies ordered one way by the
    proxy and the other way by the true objective
    (:func:`proxygym.planning.hackability.hackability`; exhaustive where the
    policies can be enumerated, else a search whose witness is a proof and
    whose silence is not). "n/a" without a tabular model.
    """
    kwargs: dict[str, Any] = {knob: value}
    with gym.make(env_id, **kwargs) as env:
        model = tabular.model_of(env)
    if model is None:
        return "n/a (no tabular model)"
    return hackability(model, max_policies=HACKABILITY_BUDGET).verdict


def analyse_env(out: Path, env_id: str, values: list[float]) -> EnvSurface | None:
    """The grid of ``env_id`` and a summary row per knob setting (None: no agent finished).

    Knob settings whose sweep has no finished agent cell (all failed) are left out.
    Where the random policy reaches the exact true optimum at every setting
    (CobraBounty), 0 is the exact worst policy instead of the random one.
    """
    knob, default = knob_of(env_id)
    frames = {}
    for value in values:
        frame = results.load(out / sweep_key(env_id, knob, value))
        if (frame["policy"] == "agent").any():
            frames[value] = frame
    if not frames:
        return None
    if env_id in SHARED_ORACLE_ENVS:
        with_shared_oracle(frames, shared_oracle(out, env_id, values))
    floors = None
    if all(random_reaches_optimum(frame) for frame in frames.values()):
        floors = worst_floors(env_id, knob, list(frames))
    grid = surface_grid(frames, floors)
    final = grid[grid["level"] == grid["level"].max()].set_index("knob")["normalised_true"]
    rows = []
    for value, frame in frames.items():
        summary = sweep_summary(frame)
        rows.append(
            {
                knob: value,
                "verdict": summary["verdict"],
                "goodhart_point": summary["goodhart_point"],
                "ndh": summary["ndh"],
                "kendall_tau": summary["kendall_tau"],
                "final_proxy": summary["final_proxy"],
                "final_true": summary["final_true"],
                "random_true": summary["random_true"],
                "true_optimal": summary["true_optimal"],
                "oracle_true": summary["oracle_true"],
                "final_normalised_true": float(final[value]),
                "hackability": hackability_at(env_id, knob, value),
                # Where unlimited pressure on the proxy leads: the exact proxy optimum.
                "proxy_optimum_normalised": normalised(
                    summary["proxy_optimal"],
                    floors[value] if floors else summary["random_true"],
                    summary["true_optimal"],
                ),
            }
        )
    references = set(grid["reference"])
    reference = references.pop() if len(references) == 1 else "mixed: " + ", ".join(references)
    return EnvSurface(env_id, knob, default, reference, grid, pd.DataFrame(rows))


def write_env_outputs(out: Path, surface: EnvSurface) -> list[Path]:
    """``grid.csv`` and the heat map of one environment."""
    directory = out / harness.env_dir_name(surface.env)
    harness.write_csv(directory / "grid.csv", surface.grid)
    title = (
        f"{harness.env_dir_name(surface.env)}: normalised true return\n"
        f"{REFERENCE_SHORT.get(surface.reference, surface.reference)}"
    )
    return save_surface_heatmap(surface.grid, surface.knob, title, directory / "heatmap")


def combined_grid(surfaces: list[EnvSurface]) -> pd.DataFrame:
    """Every environment's grid in one table, with ``env``, ``knob_name`` and ``knob_multiple``."""
    frames = [
        surface.grid.assign(
            env=surface.env,
            knob_name=surface.knob,
            knob_multiple=surface.grid["knob"] / surface.default,
        )
        for surface in surfaces
    ]
    table = pd.concat(frames, ignore_index=True)
    first = ["env", "knob_name", "knob", "knob_multiple"]
    return table[first + [c for c in table.columns if c not in first]]


def final_by_multiple(combined: pd.DataFrame) -> pd.DataFrame:
    """Normalised true return at the last checkpoint: environments x knob multiples."""
    last = combined[combined["level"] == combined.groupby("env")["level"].transform("max")]
    table = last.pivot(index="env", columns="knob_multiple", values="normalised_true")
    table.columns = [f"{multiple:g} x default" for multiple in table.columns]
    return table.reset_index()


def report_text(args: Args, surfaces: list[EnvSurface], seconds: float, cells: float) -> str:
    """The Markdown of ``OUT/report.md``."""
    combined = combined_grid(surfaces)
    levels = ", ".join(f"{f:g}" for f in args.fractions)
    budget = f"{args.timesteps:,} steps" if args.timesteps else "its tuned n_timesteps (ppo.toml)"
    lines = [
        "# The misspecification surface",
        "",
        f"PPO on each environment's proxy for {budget}, evaluated at {levels} x the budget "
        f"({args.eval_episodes} evaluation episode(s) each, temperature 1), seeds "
        f"{', '.join(map(str, args.seeds))}; knob settings "
        f"{', '.join(f'{m:g}' for m in args.knob_multiples)} x the default. Each cell is the mean "
        "over seeds of the true return normalised at its own knob setting: 0 = the uniformly "
        "random policy, 1 = the exact true optimum (tabular model) or, where there is none, the "
        "oracle (PPO on the true objective, same budget; not optimal, so values above 1 occur, "
        "and n/a where the oracle did no better than random). Where the random policy already "
        "reaches the exact optimum (CobraBounty), 0 is the exact worst policy instead.",
        "",
        "## Final checkpoint, normalised true return by knob setting",
        "",
        markdown_table(final_by_multiple(combined)),
    ]
    for surface in surfaces:
        name = harness.env_dir_name(surface.env)
        matrix = grid_matrix(surface.grid).reset_index()
        matrix.columns = [surface.knob] + [f"{level:,}" for level in matrix.columns[1:]]
        lines += [
            "",
            f"## {name}: knob `{surface.knob}` (default {surface.default:g})",
            "",
            f"Normalised by: {surface.reference}.",
            "",
            f"![{name} surface]({name}/heatmap.png)",
            "",
            "Mean normalised true return, knob setting (rows) x training steps (columns):",
            "",
            markdown_table(matrix),
            "",
            "Per knob setting, along training (`proxy_optimum_normalised`: the true return of "
            "the exact proxy-optimal policy, normalised the same way, where unlimited pressure "
            "on the proxy leads; tabular models only; `hackability`: Skalse et al.'s "
            "definition, two policies the proxy and the true objective order oppositely):",
            "",
            markdown_table(surface.per_knob),
        ]
    lines += harness.runtime_section(seconds, cells, args.workers)
    return "\n".join(lines) + "\n"


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> tuple[Args, argparse.Namespace]:
    """The experiment's settings and the raw options."""
    parser = harness.sweep_experiment_parser(
        __doc__,
        [
            "python -m experiments.misspecification_surface --quick --out /tmp/surface",
            "python -m experiments.misspecification_surface --envs SpeedTrack --seeds 0 1 2",
            "python -m experiments.misspecification_surface --estimate",
        ],
        Args(),
    )
    parser.add_argument(
        "--envs",
        nargs="+",
        metavar="ENV",
        help="default: all of " + ", ".join(harness.env_dir_name(e) for e in SURFACE_ENVS),
    )
    harness.add_engine_options(parser)
    options = harness.parse_options(parser, argv)
    args = harness.apply_engine_options(
        harness.apply_options(Args(), options, QUICK, parser), options, parser
    )
    if options.envs:
        try:
            args = replace(args, envs=tuple(harness.resolve_envs(options.envs, SURFACE_ENVS)))
        except ValueError as error:
            parser.error(f"{error} (the environments with one misspecification knob)")
    return args, options


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    configs = plan(args)
    if options.estimate:
        return harness.estimate_only(configs, args.out, args.workers)
    run = harness.run_planned(configs, args.out, args.workers, args.progress)
    surfaces = []
    for env_id in args.envs:
        surface = analyse_env(args.out, env_id, knob_values(env_id, args.knob_multiples))
        if surface is None:
            print(f"{harness.env_dir_name(env_id)}: no finished agent cells", file=sys.stderr)
            continue
        write_env_outputs(args.out, surface)
        surfaces.append(surface)
        print(f"{harness.env_dir_name(env_id)}: normalised by {surface.reference}")
        print(markdown_table(grid_matrix(surface.grid).reset_index()))
    if not surfaces:
        print("no environment has finished agent cells: nothing to report", file=sys.stderr)
        return 1
    combined = combined_grid(surfaces)
    harness.write_csv(args.out / "surface.csv", combined)
    text = report_text(args, surfaces, run.seconds(), run.cell_seconds())
    results.write_atomic(args.out / "report.md", text.encode())
    print(f"Report: {args.out / 'report.md'}")
    return run.exit_code()


if __name__ == "__main__":
    sys.exit(main())
