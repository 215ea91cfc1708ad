"""How often something happens: binomial rates with Wilson intervals, by bin and by pressure.

Experiments that count events over many independent draws (how many random
MDPs show a Goodhart drop, how many seeds learnt the gaming behaviour) report
a rate with an interval that stays inside [0, 1] and behaves at 0 of n and n
of n, where the normal approximation collapses to a point: Wilson's score
interval. :func:`binned_rates` groups draws by a continuous covariate (the
angle between proxy and true reward, say) and :func:`cumulative_frequency`
turns the step at which each draw's event happened into the fraction that
has happened by each step of an optimization-pressure sweep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

CONFIDENCE = 0.95


def wilson_interval(
    successes: np.ndarray | float, trials: np.ndarray | float, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, elementwise; NaN where ``trials`` is 0.

    ``(p + z^2 / 2n -+ z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)`` with
    ``p = successes / n``: unlike ``p -+ z sqrt(p (1 - p) / n)`` it is never
    empty at 0 of n or n of n, and never leaves [0, 1].
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"need 0 <= successes <= trials, got {successes!r} of {trials!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        # The interval holds p exactly: at 0 of n (or n of n) rounding leaves
        # centre - half a hair above 0 (below 1), which would put p outside it.
        low = np.where(n > 0, np.clip(np.minimum(centre - half, p), 0.0, 1.0), math.nan)
        high = np.where(n > 0, np.clip(np.maximum(centre + half, p), 0.0, 1.0), math.nan)
    return low, high


def binned_rates(
    values: np.ndarray,
    edges: Sequence[float] | np.ndarray,
    events: Mapping[str, np.ndarray],
    means: Mapping[str, np.ndarray] | None = None,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Per bin of ``values``: the rate of each event with a Wilson interval, and column means.

    Args:
        values: the covariate of each draw (e.g. an angle), shape ``(n,)``.
        edges: increasing bin edges; bin ``i`` is ``[edges[i], edges[i+1])``, the last
            one closed. Draws outside every bin are left out.
        events: per event, 1/0 (or True/False) per draw; NaN marks draws the event
            does not apply to (e.g. "drop avoided" for a path without a drop),
            which are left out of that event's trials.
        means: per quantity, a number per draw (NaN left out): mean and standard error.

    Returns:
        One row per bin: ``bin_low``, ``bin_high``, ``n`` (draws in the bin); per event
        ``<event>`` (the rate), ``<event>_low``, ``<event>_high`` and ``<event>_trials``;
        per mean ``<quantity>_mean`` and ``<quantity>_sem``.
    """
    x = np.asarray(values, dtype=float)
    bounds = np.asarray(edges, dtype=float)
    if bounds.ndim != 1 or len(bounds) < 2 or np.any(np.diff(bounds) <= 0):
        raise ValueError(f"edges must be at least two strictly increasing numbers, got {edges!r}")
    columns = {**events, **(means or {})}
    for name, column in columns.items():
        if np.shape(column) != x.shape:
            raise ValueError(f"{name!r} has shape {np.shape(column)}, values have {x.shape}")
    index = np.searchsorted(bounds, x, side="right") - 1
    index[x == bounds[-1]] = len(bounds) - 2  # the last bin is closed
    rows = []
    for b in range(len(bounds) - 1):
        members = index == b
        row: dict[str, float] = {
            "bin_low": float(bounds[b]),
            "bin_high": float(bounds[b + 1]),
            "n": int(members.sum()),
        }
        for name, column in events.items():
            outcomes = np.asarray(column, dtype=float)[members]
            outcomes = outcomes[~np.isnan(outcomes)]
            low, high = wilson_interval(outcomes.sum(), len(outcomes), confidence)
            row[name] = float(outcomes.mean()) if len(outcomes) else math.nan
            row[f"{name}_low"], row[f"{name}_high"] = float(low), float(high)
            row[f"{name}_trials"] = len(outcomes)
        for name, column in (means or {}).items():
            numbers = np.asarray(column, dtype=float)[members]
            numbers = numbers[~np.isnan(numbers)]
            row[f"{name}_mean"] = float(numbers.mean()) if len(numbers) else math.nan
            row[f"{name}_sem"] = (
                float(numbers.std(ddof=1) / math.sqrt(len(numbers)))
                if len(numbers) > 1
                else math.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)


def cumulative_frequency(onsets: np.ndarray, steps: int) -> np.ndarray:
    """Fraction of draws whose event has happened by step ``k``, for ``k = 0 ... steps - 1``.

    ``onsets[i]`` is the step at which draw ``i``'s event happened, NaN if it never
    did; the curve is non-decreasing and ends at the overall event rate (of the
    events that happened within ``steps``).
    """
    times = np.asarray(onsets, dtype=float)
    if times.ndim != 1 or len(times) == 0:
        raise ValueError(f"onsets must be a non-empty 1-d array, got shape {times.shape}")
    happened = np.where(np.isnan(times), np.inf, times)
    return np.array([(happened <= k).mean() for k in range(steps)])
