"""Mean curves of a sweep with bootstrap intervals over seeds, and descriptions of them.

Nothing here decides what a sweep shows: drops, Goodhart curves, gaming and
phase transitions are :mod:`proxygym.analysis.verdicts`' to call. Everything
here reads the agent records of one pressure axis (``policy == "agent"`` rows
of :func:`proxygym.sweeps.results.load`) arranged as a seeds x levels table,
so an interrupted sweep simply has fewer seeds at some levels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Bootstrap resamples of the seeds.
N_BOOTSTRAP = 2000
CONFIDENCE = 0.95


def agent_records(frame: pd.DataFrame) -> pd.DataFrame:
    """The agent rows of one pressure axis, with numeric levels sorted."""
    agents = frame[frame["policy"] == "agent"]
    axes = agents["axis"].unique()
    if len(axes) != 1:
        raise ValueError(f"expected the records of one pressure axis, got axes {list(axes)}")
    if agents.empty:
        raise ValueError("no agent records to analyse")
    return agents


def seed_table(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the agent records as a seeds x levels table (NaN where missing)."""
    agents = agent_records(frame)
    table = agents.pivot_table(
        index="seed", columns="level", values=column, aggfunc="mean", dropna=False
    )
    levels = sorted(agents["level"].unique(), key=_sort_key)
    return table.reindex(index=sorted(agents["seed"].unique()), columns=levels)


def _sort_key(level: Any) -> Any:
    return (0, float(level)) if isinstance(level, (int, float, np.number)) else (1, str(level))


def _bootstrap_means(table: pd.DataFrame, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` bootstrap means per level, resampling seeds (rows) with replacement."""
    values = table.to_numpy(dtype=float)
    picks = rng.integers(0, values.shape[0], size=(n, values.shape[0]))
    with _quiet():
        return np.nanmean(values[picks], axis=1)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's warnings for levels that no (resampled) seed reached."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def aggregate(
    frame: pd.DataFrame,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> pd.DataFrame:
    """Per level: seeds, and mean with a bootstrap confidence interval across seeds.

    Columns ``<metric>_mean``, ``<metric>_low``, ``<metric>_high`` for
    ``proxy_return``, ``true_return``, ``true_score`` (normalised true return;
    NaN where the references are missing), ``kl_from_init`` and ``step``. With
    one seed the interval collapses to the mean.
    """
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    columns: dict[str, Any] = {}
    for metric in ("proxy_return", "true_return", "true_score", "kl_from_init", "step"):
        table = seed_table(frame, metric)
        if "seeds" not in columns:
            columns["seeds"] = table.notna().sum(axis=0).to_numpy()
            columns["level"] = list(table.columns)
        means = table.mean(axis=0).to_numpy(dtype=float)
        boot = _bootstrap_means(table, rng, n_bootstrap)
        with _quiet():
            low = np.nanquantile(boot, tail, axis=0)
            high = np.nanquantile(boot, 1 - tail, axis=0)
        columns[f"{metric}_mean"] = means
        columns[f"{metric}_low"] = low
        columns[f"{metric}_high"] = high
    return pd.DataFrame(columns)


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b between two equally long sequences (NaN if either is constant)."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = np.sign(x[j] - x[i]), np.sign(y[j] - y[i])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else math.nan


@dataclass(frozen=True)
class GoodhartMetrics:
    """Descriptions of one sweep's mean curves along its pressure axis.

    Descriptions only: whether the curves show a drop, a Goodhart curve,
    gaming or a phase transition is decided by
    :func:`proxygym.analysis.verdicts.judge`, with seeds and intervals.

    Attributes:
        kendall_tau: rank agreement of the mean proxy and mean true return
            along the levels (1: they rise together; negative: they oppose).
    """

    axis: str
    levels: tuple[Any, ...]
    n_seeds: int
    kendall_tau: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def goodhart_metrics(frame: pd.DataFrame) -> GoodhartMetrics:
    """Descriptions of the agent records of one sweep (see :class:`GoodhartMetrics`).

    Only the mean curves are needed (the means over seeds of :func:`aggregate`,
    without its bootstrap intervals).
    """
    agents = agent_records(frame)
    proxy = seed_table(agents, "proxy_return")
    true = seed_table(agents, "true_return")
    return GoodhartMetrics(
        axis=str(agents["axis"].iloc[0]),
        levels=tuple(true.columns),
        n_seeds=int(agents["seed"].nunique()),
        kendall_tau=kendall_tau(
            proxy.mean(axis=0).to_numpy(dtype=float), true.mean(axis=0).to_numpy(dtype=float)
        ),
    )
