"""Goodhart's law in about a minute on a CPU: ``make demo`` or ``python -m proxygym.teaching.demo``.

Part 1 is exact. RocksDiamonds (level 1) has a tabular model, so we can plan
perfectly. The starting policy is a noisy demonstrator of the intended task
(soft-optimal for the true objective). We then optimize the visible reward
harder and harder while paying a KL penalty for leaving the demonstrator
(the inverse penalty ``beta`` is the optimization pressure), and evaluate every
policy exactly on both rewards: the proxy keeps rising, the true objective
holds and then collapses once tampering with the reward switch pays.

Part 2 trains stable-baselines3 PPO on BoatRace's proxy with a real sweep
(``proxygym sweep``): checkpoints along training are the pressure levels, an
oracle trained on the true objective is the reference. The proxy climbs to
its optimum while the true objective stalls far below the oracle's: the boat
learns to shuttle over one checkpoint instead of sailing laps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from proxygym.envs.gridworlds.rocks_diamonds import RocksDiamondsEnv
from proxygym.planning.tabular import TabularModel, evaluate, kl_from_reference, solve
from proxygym.reporting.report import write_report
from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig
from proxygym.sweeps.runner import run_sweep

DEMONSTRATOR_TEMPERATURE = 1.0
PRESSURES = tuple(float(b) for b in np.logspace(-2, 1, 13))
PPO_ENV = "proxygym/BoatRace-v0"
BLUE, ORANGE, GREY = "#0072B2", "#D55E00", "#555555"


@dataclass(frozen=True)
class CurvePoint:
    """One level of optimization pressure, evaluated exactly."""

    pressure: float
    kl: float
    proxy_return: float
    true_return: float


def goodhart_curve(
    model: TabularModel, pressures: tuple[float, ...] = PRESSURES
) -> list[CurvePoint]:
    """Proxy and true return of the KL-regularised proxy optimum at each pressure."""
    demonstrator = solve(model, "true", temperature=DEMONSTRATOR_TEMPERATURE)
    points = []
    for beta in pressures:
        policy = solve(model, "proxy", temperature=1.0 / beta, reference=demonstrator)
        returns = evaluate(model, policy)
        points.append(
            CurvePoint(
                pressure=beta,
                kl=kl_from_reference(model, policy, demonstrator),
                proxy_return=returns.proxy_return,
                true_return=returns.true_return,
            )
        )
    return points


def ppo_config(timesteps: int, seeds: int) -> SweepConfig:
    """The demo's sweep: PPO on BoatRace, evaluated at checkpoints along training."""
    levels = sorted({0, *(int(timesteps * f) for f in (0.05, 0.1, 0.2, 0.4, 0.7)), timesteps})
    return SweepConfig.from_dict(
        {
            "name": "demo",
            "env": PPO_ENV,
            "algo": "ppo",
            "timesteps": timesteps,
            "seeds": list(range(seeds)),
            "eval_episodes": 10,
            # Greedy evaluation shows what the policy has settled on (the shuttle or
            # the lap) without sampling noise; it leaves KL nearly flat, so the
            # report skips the KL fit for this sweep.
            "eval_temperature": 0.0,
            "pressure": {"axis": "timesteps", "levels": levels},
        },
        source="demo",
    )


@dataclass(frozen=True)
class PPOSummary:
    """Mean over seeds of the agent's returns at each checkpoint, and the references."""

    table: pd.DataFrame
    oracle_true: float
    best_true: float | None


def summarise(frame: pd.DataFrame) -> PPOSummary:
    agent = frame[frame.policy == "agent"]
    table = agent.groupby("level")[["step", "proxy_return", "true_return"]].mean()
    oracle = frame[frame.policy == "oracle"].true_return.mean()
    exact = frame[frame.policy == "true_optimal"].true_return
    return PPOSummary(table, float(oracle), float(exact.iloc[0]) if len(exact) else None)


def run_ppo(out: Path, timesteps: int, seeds: int, workers: int) -> PPOSummary:
    """Run the demo sweep from scratch into ``out`` and summarise it."""
    shutil.rmtree(out, ignore_errors=True)
    summary = run_sweep(ppo_config(timesteps, seeds), out, workers=workers, echo=lambda _: None)
    if summary.failed:
        raise RuntimeError(f"demo sweep cells failed: {summary.failed}; see {out / 'cells'}")
    return summarise(results.load(out))


def plot(points: list[CurvePoint], ppo: PPOSummary | None, path: Path) -> None:
    """Both parts side by side, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if ppo is not None else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(5.2 * panels, 3.8), constrained_layout=True, squeeze=False
    )
    ax = axes[0][0]
    pressures = [p.pressure for p in points]
    ax.plot(
        pressures,
        [p.proxy_return for p in points],
        "o-",
        color=BLUE,
        label="proxy (visible reward)",
    )
    ax.plot(
        pressures,
        [p.true_return for p in points],
        "s-",
        color=ORANGE,
        label="true objective (hidden)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("pressure on the proxy (beta = 1 / KL penalty)")
    ax.set_ylabel("expected return over 100 steps")
    ax.set_title("RocksDiamonds, exact planning")
    ax.legend(loc="center right", fontsize="small")
    if ppo is not None:
        ax = axes[0][1]
        steps = ppo.table.step.to_numpy()
        ax.plot(steps, ppo.table.proxy_return, "o-", color=BLUE, label="PPO: proxy")
        ax.plot(steps, ppo.table.true_return, "s-", color=ORANGE, label="PPO: true objective")
        ax.axhline(ppo.oracle_true, color=GREY, linestyle="--", label="oracle PPO: true objective")
        ax.set_xlabel("PPO training steps")
        ax.set_ylabel("return over 100 steps")
        ax.set_title("BoatRace, PPO trained on the proxy")
        ax.legend(loc="lower right", fontsize="small")
    with results.atomic_file(path) as handle:
        fig.savefig(handle, format="png", dpi=150)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proxygym.teaching.demo",
        description=(
            "Show Goodhart's law: exact planning on RocksDiamonds, then a PPO sweep on BoatRace."
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        help="where to write results (default: %(default)s)",
    )
    parser.add_argument(
        "--ppo-steps",
        type=int,
        default=50_000,
        help="PPO training steps per run; 0 skips part 2 (default: %(default)s)",
    )
    parser.add_argument("--seeds", type=int, default=2, help="PPO seeds (default: %(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="parallel processes (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.ppo_steps < 0:
        parser.error("--ppo-steps must be >= 0")
    if args.seeds < 1 or args.workers < 1:
        parser.error("--seeds and --workers must be >= 1")

    start = time.perf_counter()
    print("Part 1: RocksDiamonds level 1, exact planning.")
    print("The agent starts as a noisy demonstrator of the intended task (push the diamond in).")
    print("We then optimize the visible reward ever harder (beta), on a KL leash to it.\n")
    points = goodhart_curve(RocksDiamondsEnv(level=1).tabular_model())
    print(f"{'beta':>8} {'KL':>8} {'proxy':>8} {'true':>8}")
    for p in points:
        print(f"{p.pressure:8.3f} {p.kl:8.2f} {p.proxy_return:8.1f} {p.true_return:8.1f}")
    peak = max(points, key=lambda p: p.true_return)
    last = points[-1]
    print(
        f"\nProxy rose {points[0].proxy_return:.0f} -> {last.proxy_return:.0f}; the true objective "
        f"peaked at {peak.true_return:.0f} (beta {peak.pressure:.2f}) "
        f"and fell to {last.true_return:.0f}: the agent flipped the rock switch and pushed "
        "the rock in too."
    )

    ppo = None
    if args.ppo_steps:
        print(
            f"\nPart 2: PPO on BoatRace's proxy, {args.seeds} seed(s) x {args.ppo_steps} steps, "
            f"evaluated along training, plus an oracle trained on the true objective "
            f"({args.workers} worker(s))..."
        )
        ppo = run_ppo(args.out / "sweep", args.ppo_steps, args.seeds, args.workers)
        print(f"{'steps':>8} {'proxy':>8} {'true':>8}")
        for row in ppo.table.itertuples():
            print(f"{row.step:8.0f} {row.proxy_return:8.1f} {row.true_return:8.1f}")
        print(
            f"oracle PPO (trained on the true objective): true {ppo.oracle_true:.1f}; "
            f"best possible: proxy 50, true {ppo.best_true:.0f}"
        )
        print(f"Sweep records: {(args.out / 'sweep').resolve()}")

    figure = args.out / "goodhart_curve.png"
    plot(points, ppo, figure)
    print(f"\nFigure: {figure.resolve()}")
    if ppo is not None:
        report = write_report(args.out / "sweep")
        print(f"Report: {report.html.resolve()}")
        print(f"Verdict: {report.verdict}")
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
