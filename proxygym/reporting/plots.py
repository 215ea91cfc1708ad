"""Figures of a sweep: Goodhart curve, proxy against true, per-seed lines, true against sqrt(KL).

Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies) and figures are sized for a paper column (3.5 inches wide).
Figures are built with matplotlib's object API, never pyplot, so importing
this module changes no global state (backends, open figures).
:func:`plot_sweep` writes every figure of a sweep directory as PNG and SVG
(the SVG's text stays text: ``svg.fonttype`` is ``none``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from proxygym.analysis.metrics import GoodhartMetrics, aggregate, goodhart_metrics
from proxygym.analysis.overoptimization import fit_sweep
from proxygym.analysis.verdicts import judge
from proxygym.sweeps import results
from proxygym.sweeps.axes import axis_label

PROXY = "#0072B2"  # blue
TRUE = "#D55E00"  # vermillion
ORACLE = "#009E73"  # bluish green
EXACT = "#000000"
COLUMN_WIDTH = 3.5
STYLE: Any = {
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "lines.linewidth": 1.2,
    "lines.markersize": 3,
    # SVGs keep their text as <text> elements (searchable, editable, selectable) rather
    # than glyph outlines; a viewer draws them in its own font.
    "svg.fonttype": "none",
}


def _positions(levels: list[Any]) -> tuple[np.ndarray, list[str] | None]:
    """x positions of the levels: the values when numeric, else evenly spaced with labels."""
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in levels):
        return np.asarray(levels, dtype=float), None
    return np.arange(len(levels), dtype=float), [str(v) for v in levels]


def _evaluated_positions(frame: pd.DataFrame, levels: list[Any]) -> np.ndarray:
    """x positions of the levels where they were evaluated: on the ``timesteps`` axis, the
    mean training step of the agents' evaluations at each level (a checkpoint is evaluated
    when training crosses it, at the end of a rollout, so 6,250 may be step 8,192); else
    :func:`_positions`."""
    x, labels = _positions(levels)
    agents = frame[frame["policy"] == "agent"]
    if labels is not None or "step" not in agents or set(agents["axis"]) != {"timesteps"}:
        return x
    steps = agents.groupby("level")["step"].mean()
    return np.array([float(steps.get(level, at)) for level, at in zip(levels, x, strict=True)])


def _style_x(ax: Any, axis: str, levels: list[Any]) -> None:
    x, labels = _positions(levels)
    if labels is not None:
        ax.set_xticks(x, labels)
    elif len(x) > 2 and x.min() > 0 and x.max() / x.min() >= 100:
        ax.set_xscale("log")
    ax.set_xlabel(axis_label(axis))


def _reference(frame: pd.DataFrame, policy: str) -> float | None:
    rows = frame[frame["policy"] == policy]["true_return"]
    return float(rows.mean()) if len(rows) else None


def goodhart_curve(frame: pd.DataFrame, metrics: GoodhartMetrics | None = None) -> Figure:
    """Mean proxy and true return against pressure with 95% bands, the references, and the
    Goodhart point where :mod:`proxygym.analysis.verdicts` finds a Goodhart curve."""
    metrics = metrics or goodhart_metrics(frame)
    summary = aggregate(frame)
    levels = list(summary["level"])
    x = _evaluated_positions(frame, levels)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.subplots()
        for metric, colour, label, marker in (
            ("proxy_return", PROXY, "proxy (visible reward)", "o"),
            ("true_return", TRUE, "true objective (hidden)", "s"),
        ):
            ax.plot(x, summary[f"{metric}_mean"], marker=marker, color=colour, label=label)
            ax.fill_between(
                x, summary[f"{metric}_low"], summary[f"{metric}_high"], color=colour, alpha=0.2
            )
        point = judge(frame).goodhart_point  # marked only on what the rules call a Goodhart curve
        if point is not None and point in levels:
            ax.axvline(
                x[levels.index(point)],
                color=TRUE,
                linestyle=":",
                linewidth=1,
                label="Goodhart point",
            )
        oracle = _reference(frame, "oracle")
        if oracle is not None:
            ax.axhline(oracle, color=ORACLE, linestyle="--", linewidth=1, label="oracle: true")
        best = _reference(frame, "true_optimal")
        if best is not None:
            ax.axhline(
                best, color=EXACT, linestyle="-.", linewidth=0.8, label="exact optimum: true"
            )
        scripted = _reference(frame, "scripted")
        if scripted is not None:
            ax.axhline(scripted, color=EXACT, linestyle=":", linewidth=0.8, label="scripted: true")
        _style_x(ax, metrics.axis, levels)
        ax.set_ylabel("return")
        seeds = "1 seed" if metrics.n_seeds == 1 else f"{metrics.n_seeds} seeds"
        ax.set_title(f"Goodhart curve ({seeds}, 95% CI)")
        ax.legend(loc="best")
    return fig


def proxy_vs_true(frame: pd.DataFrame) -> Figure:
    """Every evaluated policy as a point, coloured by pressure level."""
    agents = frame[frame["policy"] == "agent"]
    levels = sorted(agents["level"].unique(), key=lambda v: (str(type(v)), v))
    rank = {level: i for i, level in enumerate(levels)}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 2.8), layout="constrained")
        ax = fig.subplots()
        points = ax.scatter(
            agents["proxy_return"],
            agents["true_return"],
            c=[rank[v] for v in agents["level"]],
            cmap="cividis",
            s=12,
            edgecolors="none",
        )
        bar = fig.colorbar(points, ax=ax, ticks=range(len(levels)))
        bar.ax.set_yticklabels([f"{v:g}" if isinstance(v, float) else str(v) for v in levels])
        bar.set_label(axis_label(str(agents["axis"].iloc[0])))
        low = min(agents["proxy_return"].min(), agents["true_return"].min())
        high = max(agents["proxy_return"].max(), agents["true_return"].max())
        ax.plot(
            [low, high],
            [low, high],
            color=EXACT,
            linestyle=":",
            linewidth=0.8,
            label="true = proxy",
        )
        ax.legend(loc="best")
        ax.set_xlabel("proxy return")
        ax.set_ylabel("true return")
        ax.set_title("Proxy against true, per evaluated policy")
    return fig


def per_seed(frame: pd.DataFrame) -> Figure:
    """Proxy and true return of every seed along the pressure axis."""
    agents = frame[frame["policy"] == "agent"]
    axis = str(agents["axis"].iloc[0])
    levels = sorted(agents["level"].unique(), key=lambda v: (str(type(v)), v))
    x_of = dict(zip(levels, _positions(levels)[0], strict=True))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH * 2, 2.4), layout="constrained")
        axes = fig.subplots(1, 2, sharex=True)
        for ax, metric, colour, title in (
            (axes[0], "proxy_return", PROXY, "proxy return per seed"),
            (axes[1], "true_return", TRUE, "true return per seed"),
        ):
            for _, runs in agents.groupby("seed"):
                runs = runs.sort_values("level", key=lambda s: s.map(levels.index))
                ax.plot(
                    [x_of[v] for v in runs["level"]],
                    runs[metric],
                    color=colour,
                    alpha=0.6,
                    marker=".",
                )
            _style_x(ax, axis, levels)
            ax.set_title(title)
            ax.set_ylabel("return")
    return fig


def true_against_kl(frame: pd.DataFrame) -> Figure | None:
    """Gain in true return against sqrt(KL from init), with the fitted overoptimization curve.

    None when there is nothing to fit (see :func:`proxygym.analysis.overoptimization.fit_sweep`).
    """
    fitted = fit_sweep(frame)
    if isinstance(fitted, str):
        return None
    fit = fitted.fit
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.subplots()
        ax.scatter(fitted.d, fitted.gain, color=TRUE, s=10, label="evaluated policies")
        grid = np.linspace(0, fitted.d.max() * 1.05, 200)
        formula = "d(a - b d)" if fit.form == "bon" else "d(a - b log d)"
        ax.plot(
            grid,
            fit.predict(grid),
            color=EXACT,
            linewidth=1,
            label=f"fit {formula}: a={fit.alpha:.3g}, b={fit.beta:.3g}, R2={fit.r_squared:.2f}",
        )
        ax.set_xlabel("d = sqrt(KL from the initial policy)")
        ax.set_ylabel("true return - initial true return")
        ax.set_title("True objective against optimization distance")
        ax.legend(loc="best")
    return fig


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``fig`` as ``stem``.png and ``stem``.svg, each atomically."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "svg"):
        path = stem.with_suffix(f".{suffix}")
        # The style again: savefig reads some settings (svg.fonttype) when it writes.
        with results.atomic_file(path) as handle, matplotlib.rc_context(STYLE):
            fig.savefig(handle, format=suffix, dpi=300)
        paths.append(path)
    return paths


def plot_sweep(directory: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write every figure of the sweep in ``directory`` (default: ``directory/figures``)."""
    directory = Path(directory)
    out = Path(out) if out is not None else directory / "figures"
    frame = results.load(directory)
    if not (frame["policy"] == "agent").any():
        raise ValueError(f"{directory} has no finished agent cells to plot yet")
    metrics = goodhart_metrics(frame)
    figures: dict[str, Figure | None] = {
        "goodhart_curve": goodhart_curve(frame, metrics),
        "proxy_vs_true": proxy_vs_true(frame),
        "per_seed": per_seed(frame),
        "true_vs_kl": true_against_kl(frame),
    }
    written: list[Path] = []
    for name, fig in figures.items():
        if fig is not None:
            written += save_figure(fig, out / name)
    return written
