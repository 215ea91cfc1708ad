"""Goodhart's law in two minutes on a CPU: ``make demo`` or ``python -m proxygym.teaching.demo``.

One Goodhart environment at its default hack-difficulty dial (:data:`DEMO_ENV`;
the honest behaviour is easy to learn, the hack takes more optimization to
find), seen twice:

Part 1 is exact. The environment has a tabular model, so we can plan
perfectly: the proxy-soft-optimal policy at a rising inverse temperature
``beta`` (the cleanest pressure axis, no training noise), each evaluated
exactly on both rewards. The proxy keeps rising; the true objective first
rises (the honest behaviour is the cheap way to earn proxy) and then falls
(the hack pays more, once the policy is sharp enough to find it).

Part 2 trains PPO on the proxy, :data:`SEEDS` seeds in one compiled JAX call
(:mod:`proxygym.sweeps.jax_engine`; ``--engine sb3`` uses stable-baselines3),
evaluated at checkpoints along training, beside an oracle trained on the true
objective, the random policy and the exact optima. The figure shows proxy and
true return with 95 % bands over seeds, the Goodhart point and its bootstrap
interval; the last line is the verdict of :mod:`proxygym.analysis.verdicts`,
which calls it a Goodhart curve only if its rules find one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from proxygym.agents.hyperparameters import tuned_budget
from proxygym.analysis.dial import peak_interval
from proxygym.analysis.metrics import seed_table
from proxygym.analysis.verdicts import Verdict, judge, level_text
from proxygym.model import TabularModel, exact_model
from proxygym.planning.tabular import TabularPolicy, evaluate, kl_from_reference, solve
from proxygym.reporting.report import verdict_sentence, write_report
from proxygym.sweeps import results
from proxygym.sweeps.axes import env_dial
from proxygym.sweeps.config import ENGINES, SweepConfig
from proxygym.sweeps.runner import run_sweep

#: The demo's environment, at its card's default dial and knob.
DEMO_ENV = "proxygym/SpeedTrack-v0"
#: Seeds of the PPO part: enough for the verdict rules (at least 10).
SEEDS = 20
#: Checkpoints along training, as fractions of the budget.
FRACTIONS: tuple[float, ...] = (0.0, 1 / 32, 1 / 16, 1 / 8, 3 / 16, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1.0)
#: Inverse temperatures of the exact part.
BETAS: tuple[float, ...] = tuple(float(b) for b in np.logspace(-2, 2, 25))
DEMONSTRATOR_TEMPERATURE = 1.0
PRESSURES = tuple(float(b) for b in np.logspace(-2, 1, 13))
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#D55E00", "#009E73", "#555555"


@dataclass(frozen=True)
class CurvePoint:
    """One level of optimization pressure, evaluated exactly."""

    pressure: float
    kl: float
    proxy_return: float
    true_return: float


def soft_optimal_curve(model: TabularModel, betas: tuple[float, ...] = BETAS) -> list[CurvePoint]:
    """Proxy and true return of the proxy-soft-optimal policy at each inverse temperature.

    ``kl`` is the policy's KL from the uniformly random policy (beta = 0).
    """
    uniform = solve(model, "proxy", temperature=1e12)
    return _curve(model, betas, kl_to=uniform, prior=None)


def goodhart_curve(
    model: TabularModel, pressures: tuple[float, ...] = PRESSURES
) -> list[CurvePoint]:
    """Proxy and true return of the KL-regularised proxy optimum at each pressure.

    The starting policy is a noisy demonstrator of the intended task
    (soft-optimal for the true objective); ``pressure`` is the inverse KL
    penalty for leaving it (the tutorial uses this view).
    """
    demonstrator = solve(model, "true", temperature=DEMONSTRATOR_TEMPERATURE)
    return _curve(model, pressures, kl_to=demonstrator, prior=demonstrator)


def _curve(
    model: TabularModel,
    pressures: tuple[float, ...],
    kl_to: TabularPolicy,
    prior: TabularPolicy | None,
) -> list[CurvePoint]:
    """The proxy-soft-optimal policy at each inverse temperature (regularised towards
    ``prior`` when given), evaluated exactly, with its KL from ``kl_to``."""
    points = []
    for beta in pressures:
        policy = solve(model, "proxy", temperature=1.0 / beta, reference=prior)
        returns = evaluate(model, policy)
        points.append(
            CurvePoint(
                pressure=beta,
                kl=kl_from_reference(model, policy, kl_to),
                proxy_return=returns.proxy_return,
                true_return=returns.true_return,
            )
        )
    return points


def demo_model(env_id: str = DEMO_ENV) -> TabularModel:
    """The exact model of ``env_id`` at its defaults."""
    env = gym.make(env_id)
    try:
        model = exact_model(env.unwrapped)
    finally:
        env.close()
    if model is None:
        raise ValueError(f"{env_id} has no exact tabular model: the demo's part 1 needs one")
    return model


def ppo_config(timesteps: int, seeds: int, engine: str, env_id: str = DEMO_ENV) -> SweepConfig:
    """The demo's sweep: PPO on the proxy, evaluated at checkpoints along training."""
    levels = sorted({round(timesteps * f) for f in FRACTIONS})
    return SweepConfig.from_dict(
        {
            "name": "demo",
            "env": env_id,
            "algo": "ppo",
            "engine": engine,
            "timesteps": timesteps,
            "seeds": list(range(seeds)),
            "eval_episodes": 10,
            "pressure": {"axis": "timesteps", "levels": levels},
        },
        source="demo",
    )


@dataclass(frozen=True)
class PPOSummary:
    """The PPO part: per-seed records, their verdict, and where the true return peaks."""

    frame: pd.DataFrame
    verdict: Verdict
    peak: tuple[Any, Any, Any]

    def reference(self, policy: str) -> float | None:
        """Mean true return of a reference policy (oracle, random, exact optima), if recorded."""
        rows = self.frame[self.frame.policy == policy]
        return float(rows.true_return.mean()) if len(rows) else None

    def table(self) -> pd.DataFrame:
        """Mean training step, proxy and true return of the agents at each checkpoint."""
        agent = self.frame[self.frame.policy == "agent"]
        return agent.groupby("level")[["step", "proxy_return", "true_return"]].mean()


def run_ppo(out: Path, timesteps: int, seeds: int, workers: int, engine: str) -> PPOSummary:
    """Run the demo sweep from scratch into ``out`` and summarise it."""
    shutil.rmtree(out, ignore_errors=True)
    config = ppo_config(timesteps, seeds, engine)
    summary = run_sweep(config, out, workers=workers, echo=lambda _: None)
    if summary.failed:
        raise RuntimeError(f"demo sweep cells failed: {summary.failed}; see {out / 'cells'}")
    frame = results.load(out)
    peak = peak_interval(frame) if seeds >= 2 else (None, None, None)
    return PPOSummary(frame, judge(frame), peak)


def _band(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds with a 95 % normal band (the figure's; the verdict has its own intervals)."""
    mean = table.mean(axis=0).to_numpy()
    if len(table) < 2:
        return mean, mean, mean
    half = 1.96 * table.std(axis=0, ddof=1).to_numpy() / np.sqrt(len(table))
    return mean, mean - half, mean + half


def plot(points: list[CurvePoint], ppo: PPOSummary | None, path: Path, title: str) -> None:
    """The exact picture beside the PPO curve, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if ppo is not None else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(5.6 * panels, 4.0), constrained_layout=True, squeeze=False
    )
    ax = axes[0][0]
    betas = [p.pressure for p in points]
    ax.plot(betas, [p.proxy_return for p in points], "o-", ms=3, color=BLUE, label="proxy")
    ax.plot(betas, [p.true_return for p in points], "s-", ms=3, color=ORANGE, label="true")
    ax.set_xscale("log")
    ax.set_xlabel("inverse temperature beta (pressure on the proxy)")
    ax.set_ylabel("expected return per episode")
    ax.set_title("exact: proxy-soft-optimal policy")
    ax.legend(loc="best", fontsize="small")
    if ppo is not None:
        ax = axes[0][1]
        true = seed_table(ppo.frame, "true_return").dropna(axis=0, how="any")
        proxy = seed_table(ppo.frame, "proxy_return").reindex(index=true.index)
        steps = seed_table(ppo.frame, "step").reindex(index=true.index).mean(axis=0).to_numpy()
        for table, colour, label, marker in (
            (proxy, BLUE, "PPO: proxy", "o"),
            (true, ORANGE, "PPO: true", "s"),
        ):
            mean, low, high = _band(table)
            ax.plot(steps, mean, marker=marker, ms=3, color=colour, label=label)
            ax.fill_between(steps, low, high, color=colour, alpha=0.2)
        levels = list(true.columns)
        point, low, high = ppo.peak
        if ppo.verdict.goodhart_point is not None and low is not None:
            ax.axvspan(
                steps[levels.index(low)],
                steps[levels.index(high)],
                color=ORANGE,
                alpha=0.12,
                label="Goodhart point: 95 % interval",
            )
            ax.axvline(
                steps[levels.index(ppo.verdict.goodhart_point)],
                color=ORANGE,
                linestyle=":",
                label="Goodhart point",
            )
        for policy, style, label in (
            ("oracle", "--", "oracle PPO (trained on true): true"),
            ("true_optimal", "-.", "exact true optimum: true"),
            ("proxy_optimal", ":", "exact proxy optimum: true"),
        ):
            value = ppo.reference(policy)
            if value is not None:
                colour = GREEN if policy == "oracle" else GREY
                ax.axhline(value, color=colour, linestyle=style, linewidth=1, label=label)
        ax.set_xlabel("PPO training steps on the proxy")
        ax.set_ylabel("return per episode (mean over seeds, 95 % band)")
        seeds = len(true)
        ax.set_title(f"PPO, {seeds} seed{'s' if seeds != 1 else ''}: {ppo.verdict.label}")
        ax.legend(loc="best", fontsize="x-small")
    fig.suptitle(title)
    with results.atomic_file(path) as handle:
        fig.savefig(handle, format="png", dpi=150)
    plt.close(fig)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    budget = tuned_budget("ppo", DEMO_ENV)
    parser = argparse.ArgumentParser(
        prog="python -m proxygym.teaching.demo",
        description=(
            f"Show Goodhart's law on {DEMO_ENV}: the exact proxy-soft-optimal policy along "
            "beta, then PPO along training with seed bands and the verdict of "
            "proxygym.analysis.verdicts."
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
        default=budget,
        help="PPO training steps per seed; 0 skips part 2 (default: the tuned %(default)s)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=SEEDS,
        help="PPO seeds; the verdict rules need at least 10 (default: %(default)s)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="jax",
        help="jax: every seed in one compiled call (default); sb3: stable-baselines3, slower",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="parallel processes for the sb3 engine (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.ppo_steps < 0:
        parser.error(f"--ppo-steps must be >= 0, got {args.ppo_steps}")
    if args.seeds < 1 or args.workers < 1:
        parser.error(f"--seeds and --workers must be >= 1, got {args.seeds} and {args.workers}")
    if args.ppo_steps and args.engine == "jax" and importlib.util.find_spec("jax") is None:
        parser.error("--engine jax needs JAX: pip install -e '.[jax]' (or use --engine sb3)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    dial = env_dial(DEMO_ENV)
    env = gym.make(DEMO_ENV).unwrapped
    setting = f"{dial} = {getattr(env, dial)}" if dial else "its defaults"
    env.close()
    name = DEMO_ENV.split("/")[-1]
    print(f"{DEMO_ENV} at {setting}: {env_card_line(DEMO_ENV)}\n")
    print(
        "Part 1: exact planning. The proxy-soft-optimal policy at rising inverse temperature beta:"
    )
    points = soft_optimal_curve(demo_model())
    print(f"{'beta':>8} {'proxy':>8} {'true':>8}")
    peak = max(points, key=lambda p: p.true_return)
    for p in points:
        if p is peak or points.index(p) % 2 == 0:  # every other beta, and the peak
            print(f"{p.pressure:8.3f} {p.proxy_return:8.1f} {p.true_return:8.1f}")
    print(
        f"The proxy rises {points[0].proxy_return:.0f} -> {points[-1].proxy_return:.0f}; the true "
        f"return rises {points[0].true_return:.0f} -> {peak.true_return:.0f} (beta "
        f"{peak.pressure:.2f}) and falls to {points[-1].true_return:.0f}."
    )

    ppo = None
    if args.ppo_steps:
        print(
            f"\nPart 2: PPO on the proxy ({args.engine} engine), {args.seeds} seed(s) x "
            f"{args.ppo_steps:,} steps, evaluated along training, beside an oracle trained on "
            "the true objective ..."
        )
        ppo = run_ppo(args.out / "sweep", args.ppo_steps, args.seeds, args.workers, args.engine)
        table = ppo.table()
        print(f"{'steps':>8} {'proxy':>8} {'true':>8}")
        for row in table.itertuples():
            print(f"{row.step:8.0f} {row.proxy_return:8.1f} {row.true_return:8.1f}")
        refs = {p: ppo.reference(p) for p in ("oracle", "random", "true_optimal", "proxy_optimal")}
        print(
            "true return of the references: "
            + ", ".join(f"{p} {v:.1f}" for p, v in refs.items() if v is not None)
        )
        point, low, high = ppo.peak
        if point is not None:
            print(
                f"The mean true return peaks at checkpoint {level_text(point)} "
                f"(bootstrap 95 % interval {level_text(low)} - {level_text(high)})."
            )
        print(f"Sweep records: {(args.out / 'sweep').resolve()}")
        write_report(args.out / "sweep")

    figure = args.out / "goodhart_curve.png"
    plot(points, ppo, figure, f"{name}, {setting}: Goodhart's law")
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")
    print(f"Figure: {figure.resolve()}")
    if ppo is not None:
        print(f"Verdict: {verdict_sentence(ppo.verdict)}")
    return 0


def env_card_line(env_id: str) -> str:
    """What the proxy pays and what the true objective wants, from the environment's card."""
    from proxygym.registry import env_class

    card = env_class(env_id).card
    return f"the proxy pays {card.proxy}; the true objective is {card.true_objective}."


if __name__ == "__main__":
    sys.exit(main())
