"""How often optimising a proxy lowers the true return, by proxy-true angle (Karwowski et al. 2023).

Exact computation on thousands of small MDPs, no learning:

1. **Environments.** Random MDPs (4-16 states, 2-4 actions, three random
   successors per action with Dirichlet probabilities, horizon 4-10) and
   gridworlds (3x3 to 5x5, stay or move, slipping into a random move with
   probability 0, 0.1 or 0.3, start in a corner, horizon n to 2n). No
   terminal states: every episode runs to the horizon.
2. **Rewards at a controlled angle.** A true reward with independent
   standard normal entries (per state-action in random MDPs, per cell in
   gridworlds) and a proxy ``|R| (cos(phi) R/|R| + sin(phi) U)`` with ``U`` a
   random unit vector orthogonal to ``R``: the angle between the two reward
   vectors is exactly ``phi``, drawn uniformly from 0 to 180 degrees. What
   matters for optimisation is Karwowski et al.'s *projected* angle (both
   rewards without the shaping every policy collects equally,
   :func:`proxygym.planning.angle_stopping.reward_angle`), which is what the results
   are binned by.
3. **Pressure.** The path of proxy soft-optimal policies (exact backward
   induction, :func:`proxygym.planning.tabular.solve`) from the uniform policy
   (temperature inf) down to the greedy proxy optimum (temperature 0),
   temperatures in units of the reward's root mean square.
4. **Record.** Whether the true return falls anywhere along the path while
   the proxy rises (a Goodhart drop), where the angle early-stopping rule
   (:func:`proxygym.planning.angle_stopping.early_stopping_path`, told the exact
   projected angle) stops, and the true returns of the start, the best point
   on the path, the end and the stop, normalised so that the uniform policy
   scores 0 and the true optimum 1.

Writes ``OUT/paths.csv.gz`` (one row per MDP, floats to 6 significant digits), ``OUT/by_angle.csv``,
``OUT/by_pressure.csv``, ``OUT/summary.csv``, ``OUT/figures/*.png`` (and
``.svg``) and ``OUT/report.md``. ``--quick`` is the size the test suite runs.

    python -m experiments.goodhart_frequency --out runs/goodhart_frequency
    python -m experiments.goodhart_frequency --quick --out /tmp/goodhart_frequency
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import harness
from proxygym.analysis.frequency import binned_rates, cumulative_frequency, wilson_interval
from proxygym.analysis.verdicts import MIN_EFFECT
from proxygym.planning.angle_stopping import early_stopping_path
from proxygym.planning.tabular import TabularModel, evaluate, solve
from proxygym.reporting.report import markdown_table

FAMILIES = ("random_mdp", "gridworld")
#: A fall in true return from the path's best point to its end smaller than this share of
#: the true optimum's gain over the uniform policy is reported as a drop but not a material one.
MATERIAL_LOSS = 0.01
#: Coarse angle groups (degrees) of the pressure curves.
ANGLE_GROUPS = (0.0, 30.0, 60.0, 90.0, 180.0)


def _temperatures(high: float, low: float, count: int) -> tuple[float, ...]:
    """``count`` temperatures from ``high`` down to ``low``, evenly on a log scale, then 0."""
    return (*(float(t) for t in np.geomspace(high, low, count)), 0.0)


@dataclass(frozen=True)
class Args:
    """Settings of the experiment; the defaults are the full size."""

    out: Path = Path("runs/goodhart_frequency")
    """results directory"""
    random_mdps: int = 10_000
    """random MDPs drawn"""
    gridworlds: int = 10_000
    """gridworlds drawn"""
    temperatures: tuple[float, ...] = _temperatures(100.0, 1e-3, 31)
    """temperatures of the proxy soft optima after the uniform start, in reward RMS units"""
    bin_degrees: float = 10.0
    """width of the projected-angle bins"""
    workers: int = 2
    """parallel processes"""
    seed: int = 0
    """seeds every draw (with the family and the draw's index)"""


QUICK: dict[str, Any] = {
    "random_mdps": 80,
    "gridworlds": 80,
    "temperatures": _temperatures(100.0, 1e-2, 13),
    "bin_degrees": 30.0,
}


# -- 1. environments ----------------------------------------------------------------------


def random_mdp(rng: np.random.Generator) -> tuple[TabularModel, tuple[int, int]]:
    """A random MDP with zero rewards, and the shape of its reward table (state x action)."""
    n_states, n_actions = int(rng.integers(4, 17)), int(rng.integers(2, 5))
    shape = (n_states, n_actions, 3)
    model = TabularModel(
        states=tuple(range(n_states)),
        initial=rng.dirichlet(np.ones(n_states)),
        next_states=rng.integers(0, n_states, size=shape),
        probs=rng.dirichlet(np.ones(3), size=(n_states, n_actions)),
        proxy_rewards=np.zeros(shape),
        true_rewards=np.zeros(shape),
        terminal=np.zeros(shape, dtype=bool),
        horizon=int(rng.integers(4, 11)),
    )
    return model, (n_states, n_actions)


#: Gridworld actions and slip outcomes: stay, up, down, left, right as (row, col) steps.
GRID_MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def gridworld(rng: np.random.Generator) -> tuple[TabularModel, tuple[int, int]]:
    """A slippery n x n gridworld with zero rewards, and the shape of its reward table (cell)."""
    side = int(rng.integers(3, 6))
    slip = float(rng.choice([0.0, 0.1, 0.3]))
    n_states, n_moves = side * side, len(GRID_MOVES)
    shape = (n_states, n_moves, n_moves)
    next_states = np.empty(shape, dtype=np.int64)
    for cell in range(n_states):
        row, col = divmod(cell, side)
        for outcome, (dr, dc) in enumerate(GRID_MOVES):
            # A move off the grid leaves the agent where it is.
            r, c = min(max(row + dr, 0), side - 1), min(max(col + dc, 0), side - 1)
            next_states[cell, :, outcome] = r * side + c
    # The intended move with probability 1 - slip, a uniformly random one with probability slip.
    probs = np.full(shape, slip / n_moves) + (1.0 - slip) * np.eye(n_moves)[None]
    initial = np.zeros(n_states)
    initial[0] = 1.0
    model = TabularModel(
        states=tuple(range(n_states)),
        initial=initial,
        next_states=next_states,
        probs=probs,
        proxy_rewards=np.zeros(shape),
        true_rewards=np.zeros(shape),
        terminal=np.zeros(shape, dtype=bool),
        horizon=int(rng.integers(side, 2 * side + 1)),
    )
    return model, (n_states, 1)


# -- 2. rewards at a controlled angle --------------------------------------------------------


def reward_pair(
    rng: np.random.Generator, shape: tuple[int, int], angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """A standard normal true reward table (scaled to RMS 1) and a proxy exactly ``angle`` from it.

    The proxy is ``|R| (cos(angle) R/|R| + sin(angle) U)`` for a random unit ``U``
    orthogonal to ``R``: the same norm, and at angle 0 the true reward itself.
    """
    if not 0.0 <= angle <= math.pi:
        raise ValueError(f"angle must be in [0, pi] radians, got {angle!r}")
    true = rng.normal(size=shape)
    true /= math.sqrt(float(np.mean(true**2)))
    direction = true / np.linalg.norm(true)
    other = rng.normal(size=shape)
    other -= float(np.sum(other * direction)) * direction
    other /= np.linalg.norm(other)
    proxy = np.linalg.norm(true) * (math.cos(angle) * direction + math.sin(angle) * other)
    return true, proxy


def with_rewards(model: TabularModel, true: np.ndarray, proxy: np.ndarray) -> TabularModel:
    """``model`` paying ``true`` and ``proxy`` (tables of shape (S, A) or (S, 1)) on every
    outcome of a state-action, so the expected reward of ``(s, a)`` is the table's entry."""
    shape = model.next_states.shape
    return replace(
        model,
        true_rewards=np.broadcast_to(true[:, :, None], shape).copy(),
        proxy_rewards=np.broadcast_to(proxy[:, :, None], shape).copy(),
    )


# -- 3-4. one path ----------------------------------------------------------------------------


def draw_rng(seed: int, family: str, index: int) -> np.random.Generator:
    """The generator of draw ``index`` of ``family``: independent of every other draw and of
    how draws are split between workers."""
    return np.random.default_rng([seed, FAMILIES.index(family), index])


def study_mdp(
    family: str,
    index: int,
    seed: int,
    temperatures: tuple[float, ...],
    angle: float | None = None,
) -> dict[str, Any]:
    """Draw one MDP and reward pair, walk the proxy's soft-optimal path, and record it.

    ``angle`` (radians) fixes the proxy-true angle instead of drawing it uniformly in
    [0, pi]. Returns one row of ``paths.csv`` (see the module docstring); normalised
    true returns are ``(J - J_uniform) / (J_true_optimum - J_uniform)``.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown MDP family {family!r}; choose one of {FAMILIES}")
    rng = draw_rng(seed, family, index)
    model, table_shape = random_mdp(rng) if family == "random_mdp" else gridworld(rng)
    drawn = float(rng.uniform(0.0, math.pi)) if angle is None else angle
    true, proxy = reward_pair(rng, table_shape, drawn)
    model = with_rewards(model, true, proxy)
    path = early_stopping_path(model, temperatures)
    true_returns = np.array([point.true_return for point in path.points])
    start, best = true_returns[0], true_returns.max()
    optimum = evaluate(model, solve(model, "true")).true_return
    gain = optimum - start  # > 0: the projected true reward is not zero (checked by the path)

    def normalised(value: float) -> float:
        return float((value - start) / gain)

    drop = path.first_drop_index
    stop = path.stop_index
    return {
        "family": family,
        "index": index,
        "n_states": model.n_states,
        "n_actions": model.n_actions,
        "horizon": model.horizon,
        "angle_drawn": math.degrees(drawn),
        "angle_projected": math.degrees(path.theta),
        "goodhart_drop": path.goodhart_drop,
        # The first point whose true return is below its predecessor's.
        "drop_point": math.nan if drop is None else drop + 1,
        "drop_temperature": math.nan if drop is None else path.points[drop + 1].temperature,
        "stop_point": stop,
        "stop_temperature": path.points[stop].temperature,
        "stopped_at_start": stop == 0,
        "drop_avoided": path.drop_avoided if path.goodhart_drop else math.nan,
        "true_optimum": optimum,
        "true_start": start,
        "true_best": best,
        "true_end": true_returns[-1],
        "true_stopped": path.stopped_true_return,
        "best_normalised": normalised(best),
        "end_normalised": normalised(true_returns[-1]),
        "stopped_normalised": normalised(path.stopped_true_return),
        "loss_unstopped": float((best - true_returns[-1]) / gain),
        "loss_stopped": float(path.true_return_given_up / gain),
        "proxy_start": path.points[0].proxy_return,
        "proxy_end": path.points[-1].proxy_return,
    }


def _study(task: tuple[str, int, int, tuple[float, ...]]) -> dict[str, Any]:
    return study_mdp(*task)


def tasks(args: Args) -> list[tuple[str, int, int, tuple[float, ...]]]:
    """Every draw of the experiment: (family, index, seed, temperatures)."""
    counts = {"random_mdp": args.random_mdps, "gridworld": args.gridworlds}
    return [
        (family, index, args.seed, args.temperatures)
        for family in FAMILIES
        for index in range(counts[family])
    ]


def run_paths(args: Args, echo: Any = print) -> pd.DataFrame:
    """Study every draw (in ``args.workers`` processes), printing progress; one row per MDP."""
    todo = tasks(args)
    if not todo:
        raise ValueError("no MDPs to study: set random_mdps or gridworlds above 0")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    report_every = max(1, len(todo) // 10)
    for row in _map(todo, args.workers):
        rows.append(row)
        if len(rows) % report_every == 0 or len(rows) == len(todo):
            echo(f"  {len(rows)}/{len(todo)} MDPs, {time.perf_counter() - started:.0f} s")
    return pd.DataFrame(rows)


def _map(todo: list[tuple[str, int, int, tuple[float, ...]]], workers: int) -> Iterator[Any]:
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        yield from map(_study, todo)
        return
    # Draws are tiny: hand them out in chunks so the pool's overhead stays small. Workers fork
    # from a server that has imported this module once (spawn would import it per worker).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with context.Pool(workers) as pool:
        yield from pool.imap(_study, todo, chunksize=max(1, len(todo) // (workers * 20)))


# -- summaries ---------------------------------------------------------------------------------


def _events(paths: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "drop": paths["goodhart_drop"].to_numpy(dtype=float),
        "material_drop": (
            paths["goodhart_drop"] & (paths["loss_unstopped"] >= MATERIAL_LOSS)
        ).to_numpy(dtype=float),
        # The verdict rules' scale: a fall of at least MIN_EFFECT (10 %) of the reference
        # range (here the true optimum's gain over the uniform start, exactly known).
        "meaningful_drop": (
            paths["goodhart_drop"] & (paths["loss_unstopped"] >= MIN_EFFECT)
        ).to_numpy(dtype=float),
        "drop_avoided": paths["drop_avoided"].to_numpy(dtype=float),
        "stopped_at_start": paths["stopped_at_start"].to_numpy(dtype=float),
    }


def _means(paths: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "loss_unstopped": paths["loss_unstopped"].to_numpy(dtype=float),
        "loss_stopped": paths["loss_stopped"].to_numpy(dtype=float),
        "end_normalised": paths["end_normalised"].to_numpy(dtype=float),
        "stopped_normalised": paths["stopped_normalised"].to_numpy(dtype=float),
    }


def by_angle(paths: pd.DataFrame, bin_degrees: float) -> pd.DataFrame:
    """Per family (and ``all``) and projected-angle bin: event rates and mean losses."""
    edges = np.arange(0.0, 180.0 + bin_degrees / 2, bin_degrees)
    frames = []
    for family, group in _families(paths):
        table = binned_rates(
            group["angle_projected"].to_numpy(), edges, _events(group), _means(group)
        )
        frames.append(table.assign(family=family))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["family", *[c for c in frame.columns if c != "family"]]]


def _families(paths: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [("all", paths)] + [(f, paths[paths["family"] == f]) for f in FAMILIES]


def summary(paths: pd.DataFrame) -> pd.DataFrame:
    """Per family (and ``all``, and ``all`` with a projected angle below 90 degrees, where the
    proxy still points somewhat the true reward's way): headline rates and mean losses."""
    aligned = ("all, angle < 90", paths[paths["angle_projected"] < 90.0])
    rows = []
    for family, group in [*_families(paths), aligned]:
        if group.empty:
            continue
        row: dict[str, Any] = {"family": family, "mdps": len(group)}
        for name, outcomes in _events(group).items():
            outcomes = outcomes[~np.isnan(outcomes)]
            low, high = wilson_interval(outcomes.sum(), len(outcomes))
            row[name] = float(outcomes.mean()) if len(outcomes) else math.nan
            row[f"{name}_ci"] = f"[{float(low):.3f}, {float(high):.3f}]"
        for name, values in _means(group).items():
            row[f"{name}_mean"] = float(np.mean(values))
        # What stopping saves where the path drops, and costs where there is nothing to avoid.
        for label, part in (("drop", group["goodhart_drop"]), ("no_drop", ~group["goodhart_drop"])):
            for name in ("loss_unstopped", "loss_stopped"):
                values = group.loc[part, name]
                row[f"{name}_{label}_mean"] = float(values.mean()) if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def by_pressure(paths: pd.DataFrame, temperatures: tuple[float, ...]) -> pd.DataFrame:
    """Per coarse angle group and point of the path: the share of paths that have dropped by
    then (unstopped) and the share the rule has stopped by then."""
    points = len(temperatures) + 1
    rows = []
    for low, high in zip(ANGLE_GROUPS, ANGLE_GROUPS[1:], strict=False):
        last = high == ANGLE_GROUPS[-1]
        angles = paths["angle_projected"]
        group = paths[(angles >= low) & ((angles <= high) if last else (angles < high))]
        if group.empty:
            continue
        dropped = cumulative_frequency(group["drop_point"].to_numpy(dtype=float), points)
        # The rule has stopped by point k once it refused the step out of a point before k.
        refused = group["stop_point"].where(group["stop_point"] < points - 1).to_numpy(float)
        stopped = cumulative_frequency(refused + 1, points)
        for k in range(points):
            rows.append(
                {
                    "angle_group": f"{low:g}-{high:g}",
                    "point": k,
                    "temperature": math.inf if k == 0 else temperatures[k - 1],
                    "mdps": len(group),
                    "dropped_by_here": dropped[k],
                    "stopped_by_here": stopped[k],
                }
            )
    return pd.DataFrame(rows)


# -- figures and report --------------------------------------------------------------------


def plot_by_angle(table: pd.DataFrame, out: Path) -> list[Path]:
    """Drop frequency against the projected angle, and the true-return loss with and without
    early stopping."""
    import matplotlib
    from matplotlib.figure import Figure

    from proxygym.reporting.plots import (
        COLUMN_WIDTH,
        EXACT,
        ORACLE,
        PROXY,
        STYLE,
        TRUE,
        save_figure,
    )

    written = []
    colours = {"all": EXACT, "random_mdp": PROXY, "gridworld": TRUE}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.add_subplot()
        for family, rows in table.groupby("family", sort=False):
            rows = rows[rows["n"] > 0]
            x = (rows["bin_low"] + rows["bin_high"]) / 2
            ax.plot(x, rows["drop"], "o-", color=colours[str(family)], label=f"{family}: any drop")
            if family == "all":
                ax.fill_between(x, rows["drop_low"], rows["drop_high"], color=EXACT, alpha=0.15)
                ax.plot(
                    x,
                    rows["material_drop"],
                    "s--",
                    color=ORACLE,
                    label=f"all: drop >= {MATERIAL_LOSS:g} of the optimum's gain",
                )
        ax.set_xlabel("projected angle between proxy and true reward (degrees)")
        ax.set_ylabel("share of MDPs with a Goodhart drop")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="best")
        written += save_figure(fig, out / "drop_frequency_vs_angle")

        fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.add_subplot()
        rows = table[(table["family"] == "all") & (table["n"] > 0)]
        x = (rows["bin_low"] + rows["bin_high"]) / 2
        for name, colour, label in (
            ("loss_unstopped", TRUE, "optimised to the end (greedy)"),
            ("loss_stopped", PROXY, "angle early stopping"),
        ):
            mean, sem = rows[f"{name}_mean"], rows[f"{name}_sem"].fillna(0.0)
            ax.plot(x, mean, "o-", color=colour, label=label)
            ax.fill_between(x, mean - 1.96 * sem, mean + 1.96 * sem, color=colour, alpha=0.15)
        ax.set_xlabel("projected angle between proxy and true reward (degrees)")
        ax.set_ylabel("true return below the path's best\n(share of the optimum's gain)")
        ax.legend(loc="best")
        written += save_figure(fig, out / "loss_vs_angle")
    return written


def plot_by_pressure(table: pd.DataFrame, out: Path) -> list[Path]:
    """Share of paths that have dropped by each temperature, per angle group."""
    import matplotlib
    from matplotlib.figure import Figure

    from proxygym.reporting.plots import COLUMN_WIDTH, STYLE, save_figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.add_subplot()
        groups = list(table["angle_group"].unique())
        colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(groups)))
        for colour, group in zip(colours, groups, strict=True):
            rows = table[(table["angle_group"] == group) & (table["point"] > 0)]
            # Temperature 0 (greedy) has no place on a log axis: it is drawn one decade on.
            temps = rows["temperature"].to_numpy()
            positive = temps[temps > 0]
            x = np.where(temps > 0, temps, positive.min() / 10 if len(positive) else 1e-3)
            ax.plot(x, rows["dropped_by_here"], "-", color=colour, label=f"{group} degrees")
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("proxy soft-optimum temperature (last point: greedy)")
        ax.set_ylabel("share of paths dropped so far")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="best", title="projected angle")
        return save_figure(fig, out / "drops_vs_pressure")


def _setup_text(args: Args) -> str:
    return (
        f"{args.random_mdps} random MDPs and {args.gridworlds} gridworlds (see the script's "
        "docstring), each with a standard normal true reward and a proxy at an angle drawn "
        "uniformly in [0, 180] degrees. Path: the uniform policy, then the proxy soft optimum "
        f"at {len(args.temperatures) - 1} temperatures from {args.temperatures[0]:g} down to "
        f"{args.temperatures[-2]:g} (reward RMS units), then the greedy proxy optimum. A drop: "
        "the true return falls between two consecutive points while the proxy does not. "
        f"A material drop: the path ends at least {MATERIAL_LOSS:g} of the true optimum's gain "
        "over the uniform policy below its best point; a meaningful drop: at least "
        f"{MIN_EFFECT:g} of it, the scale on which proxygym.analysis.verdicts counts a fall "
        "(its seed rules do not apply: every path is exact, so only which MDPs were drawn is "
        "noise, and rates carry Wilson intervals over MDPs). Losses are in units of that gain. The "
        "early-stopping rule is told the exact projected angle."
    )


def main(argv: list[str] | None = None) -> int:
    parser = harness.experiment_parser(
        __doc__,
        ["python -m experiments.goodhart_frequency --quick --out /tmp/goodhart"],
        Args.out,
        "parallel processes",
        workers=Args.workers,
    )
    parser.add_argument("--seed", type=int, default=Args.seed, help="seeds every draw")
    options = harness.parse_options(parser, argv)
    args = Args(out=options.out, workers=options.workers, seed=options.seed)
    if options.quick:
        args = replace(args, **QUICK)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    print(f"studying {args.random_mdps + args.gridworlds} MDPs with {args.workers} worker(s)")
    paths = run_paths(args)
    angles = by_angle(paths, args.bin_degrees)
    headline = summary(paths)
    pressure = by_pressure(paths, args.temperatures)
    # One row per MDP: the records every number is computed from, compressed (20,000 rows).
    harness.write_csv_gz(args.out / "paths.csv.gz", paths)
    tables = {"by_angle": angles, "summary": headline, "by_pressure": pressure}
    harness.write_tables(args.out, tables)
    figures = args.out / "figures"
    plot_by_angle(angles, figures)
    plot_by_pressure(pressure, figures)
    print(markdown_table(headline))

    columns = ["family", "bin_low", "bin_high", "n", "drop", "drop_low", "drop_high"]
    columns += ["material_drop", "meaningful_drop", "drop_avoided", "stopped_at_start"]
    columns += ["loss_unstopped_mean", "loss_stopped_mean"]
    greedy = pressure.groupby("angle_group", sort=False).last().reset_index()
    sections = {
        "Setup": _setup_text(args),
        "Headline (every angle)": markdown_table(headline),
        "By projected angle": markdown_table(angles[angles["n"] > 0][columns])
        + "\n\n![drop frequency](figures/drop_frequency_vs_angle.png)"
        + "\n\n![loss](figures/loss_vs_angle.png)",
        "By pressure": "Share of paths dropped by the greedy end, per angle group:\n\n"
        + markdown_table(greedy[["angle_group", "mdps", "dropped_by_here", "stopped_by_here"]])
        + "\n\n![pressure](figures/drops_vs_pressure.png)",
        "Runtime": f"{time.perf_counter() - started:.0f} s with {args.workers} worker(s)",
    }
    report = harness.write_markdown_report(
        args.out / "report.md", "Goodhart drops on random MDPs and gridworlds", sections
    )
    print(f"Report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
