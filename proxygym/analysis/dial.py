"""Where the true return peaks, and whether a hack-difficulty dial moves that peak.

A hack-difficulty dial (:attr:`proxygym.core.EnvCard.dial`) sets how much
optimization it takes to find an environment's hack. The dial experiment
(``experiments/dial_experiment.py``) trains PPO at several dial settings along
the ``timesteps`` axis and asks whether the true return's peak (the Goodhart
point, where more optimization starts to hurt) comes later at a higher dial.
Single sweeps are judged by :mod:`proxygym.analysis.verdicts`; this module
compares sweeps of one environment at different dial settings, by its own
rule, written down before any dial sweep was run and applied unchanged:

**The dial rule.** Each seed's *peak* is the level of its highest true return
along the pressure axis (the first such level on ties: a flat curve peaks at
its start). The *trend* is Spearman's rank correlation between the dial
setting and the per-seed peak over all (setting, seed) pairs; its 95 %
interval is the percentile interval of 2,000 bootstrap resamples that draw
seeds with replacement within each setting (settings are separate training
runs, so seeds are resampled independently per setting). The peak *moves
later* (``"later"``) when at least ``MIN_SETTINGS`` (4) settings each have at
least ``verdicts.MIN_SEEDS`` seeds and the interval's lower bound is above 0;
``"earlier"`` when its upper bound is below 0; ``"not shown"`` otherwise.

Per-seed peaks rather than each setting's Goodhart point: the Goodhart point
exists only where the verdict rules find a Goodhart curve (not at dial 0, where
the fall starts at once), while every seed has a peak, and the seeds give the
interval. :func:`peak_interval` gives the interval of the mean curve's peak
level (the Goodhart point's interval when the verdict finds one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from proxygym.analysis.metrics import seed_table
from proxygym.analysis.verdicts import CONFIDENCE, MIN_SEEDS, N_RESAMPLES

#: Fewest dial settings the trend is judged on.
MIN_SETTINGS = 4
DIAL_LABELS = ("later", "earlier", "not shown")


def _complete_true_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Agent true returns as seeds x levels, only seeds with a record at every level."""
    return seed_table(frame, "true_return").dropna(axis=0, how="any")


def seed_peaks(frame: pd.DataFrame) -> pd.Series:
    """Each seed's peak level: where its true return is highest (the first on ties).

    Only seeds with an agent record at every level count (as in the verdict rules).
    """
    table = _complete_true_table(frame)
    levels = np.asarray(table.columns)
    return pd.Series(levels[np.argmax(table.to_numpy(float), axis=1)], index=table.index)


def peak_interval(
    frame: pd.DataFrame,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> tuple[Any, Any, Any]:
    """The mean true curve's peak level and a percentile bootstrap interval of it over seeds.

    Returns ``(peak, low, high)``: levels of the sweep. Resampling seeds with
    replacement, each resample's mean curve peaks somewhere; ``low`` and
    ``high`` are the ``(1 - confidence) / 2`` quantiles of those peaks' level
    positions. Describes where the peak is; it does not decide whether there
    is a Goodhart curve (:func:`proxygym.analysis.verdicts.judge` does).
    """
    table = _complete_true_table(frame)
    values = table.to_numpy(float)
    if len(values) < 2:
        raise ValueError(f"a peak interval needs at least 2 complete seeds, got {len(values)}")
    levels = list(table.columns)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(n_resamples, len(values)))
    peaks = np.argmax(values[picks].mean(axis=1), axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(peaks, [tail, 1 - tail], method="inverted_cdf")
    return levels[int(np.argmax(values.mean(axis=0)))], levels[int(low)], levels[int(high)]


@dataclass(frozen=True)
class DialTrend:
    """Whether the per-seed peaks move with the dial (the dial rule above)."""

    label: str
    rho: float
    low: float
    high: float
    n_settings: int
    n_seeds: dict[Any, int]
    median_peaks: dict[Any, float]

    def text(self) -> str:
        """One sentence with the label and its numbers."""
        medians = ", ".join(f"{d}: {m:g}" for d, m in self.median_peaks.items())
        return (
            f"{self.label}: Spearman rho {self.rho:.2f} [{self.low:.2f}, {self.high:.2f}] between "
            f"dial and per-seed peak over {self.n_settings} settings "
            f"(median peak per setting: {medians})"
        )


def _spearman(dials: np.ndarray, peaks: np.ndarray) -> float:
    if np.ptp(dials) == 0 or np.ptp(peaks) == 0:
        return 0.0  # no ranking to correlate: no evidence of a trend either way
    # Spearman's rho is Pearson's correlation of the (average, for ties) ranks
    return float(np.corrcoef(stats.rankdata(dials), stats.rankdata(peaks))[0, 1])


def dial_trend(
    frames: Mapping[Any, pd.DataFrame],
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> DialTrend:
    """The dial rule applied to one environment's sweeps, keyed by dial setting."""
    if not frames:
        raise ValueError("dial_trend needs at least one sweep")
    peaks = {dial: seed_peaks(frame).to_numpy(float) for dial, frame in sorted(frames.items())}
    dials = np.concatenate([np.full(len(p), float(d)) for d, p in peaks.items()])
    rho = _spearman(dials, np.concatenate(list(peaks.values())))
    rng = np.random.default_rng(seed)
    draws = np.empty(n_resamples)
    for i in range(n_resamples):
        resampled = [p[rng.integers(0, len(p), len(p))] if len(p) else p for p in peaks.values()]
        draws[i] = _spearman(dials, np.concatenate(resampled))
    tail = (1 - confidence) / 2
    low, high = (float(q) for q in np.quantile(draws, [tail, 1 - tail]))
    counted = [d for d, p in peaks.items() if len(p) >= MIN_SEEDS]
    label = "not shown"
    if len(counted) >= MIN_SETTINGS and len(counted) == len(peaks):
        label = "later" if low > 0 else "earlier" if high < 0 else "not shown"
    return DialTrend(
        label=label,
        rho=rho,
        low=low,
        high=high,
        n_settings=len(peaks),
        n_seeds={d: len(p) for d, p in peaks.items()},
        median_peaks={d: float(np.median(p)) if len(p) else float("nan") for d, p in peaks.items()},
    )


__all__ = ["DIAL_LABELS", "MIN_SETTINGS", "DialTrend", "dial_trend", "peak_interval", "seed_peaks"]
