"""Heat map of a misspecification surface: normalised true return over (knob, pressure).

Rows are settings of the environment's misspecification knob (0 at the
bottom: the proxy is an affine transform of the true objective), columns are
pressure levels (evenly spaced, labelled with their values), and each cell is
annotated with its value, so the figure reads without the colour bar.
Built with matplotlib's object API, like :mod:`proxygym.reporting.plots`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from proxygym.analysis.surface import grid_matrix
from proxygym.reporting.plots import COLUMN_WIDTH, STYLE, save_figure
from proxygym.sweeps.axes import axis_label

#: Perceptually uniform and readable with the common colour-vision deficiencies.
COLOURMAP = "cividis"


def _level_label(level: float) -> str:
    """Tick label: whole numbers with thousands separators (12,500), others as %g."""
    return f"{int(level):,}" if float(level).is_integer() else f"{level:g}"


def surface_heatmap(grid: pd.DataFrame, knob: str, title: str, axis: str = "timesteps") -> Figure:
    """The mean normalised true return of a :func:`~proxygym.analysis.surface.surface_grid`.

    The colour scale spans [min(0, lowest), max(1, highest)], so 0 (random)
    and 1 (the reference) are always on it and cells from different
    environments compare by colour.
    """
    matrix = grid_matrix(grid)
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(1.0, float(finite.max())) if finite.size else 1.0
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH, 0.6 + 0.32 * len(matrix.index)), layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(
            values, origin="lower", aspect="auto", cmap=COLOURMAP, vmin=low, vmax=high
        )
        middle = (low + high) / 2
        for (row, column), value in np.ndenumerate(values):
            text = "n/a" if not np.isfinite(value) else f"{value:.2f}"
            colour = "white" if not np.isfinite(value) or value < middle else "black"
            ax.text(column, row, text, ha="center", va="center", color=colour, fontsize=5)
        ax.set_xticks(range(len(matrix.columns)), [_level_label(v) for v in matrix.columns])
        ax.set_yticks(range(len(matrix.index)), [f"{v:g}" for v in matrix.index])
        ax.set_xlabel(axis_label(axis))
        ax.set_ylabel(knob)
        ax.set_title(title)
        bar = fig.colorbar(image, ax=ax)
        bar.set_label("normalised true return")
    return fig


def save_surface_heatmap(
    grid: pd.DataFrame, knob: str, title: str, stem: Path, axis: str = "timesteps"
) -> list[Path]:
    """Write :func:`surface_heatmap` as ``stem``.png and ``stem``.svg (atomically)."""
    return save_figure(surface_heatmap(grid, knob, title, axis), stem)
