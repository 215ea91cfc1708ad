"""One-row summaries of sweeps, and the misspecification surface built from them.

A *Goodhart curve* is one sweep along a pressure axis; :func:`sweep_summary`
reduces it to one row (where the true return peaks, how far it falls, how
well the proxy ranks the levels, where it ends, against which references).
A *misspecification surface* is a family of such sweeps, one per setting of
an environment's misspecification knob; :func:`surface_grid` lays their
normalised true returns out over (knob, pressure).

Normalisation puts every knob setting on one scale: 0 is the uniformly random
policy, 1 the best reference at the same knob setting. The reference is the
exact true optimum where the environment has a tabular model (the
``true_score`` of :func:`proxygym.sweeps.results.load`); elsewhere it is the oracle,
the same algorithm and budget trained on the true objective, which is a
weaker yardstick (the oracle is not optimal, so scores above 1 can happen).
Where the random policy already reaches the exact optimum, so that it is no
floor, a caller can pass the exact worst return as the floor instead
(``floors`` of :func:`surface_grid`; :func:`proxygym.planning.tabular.worst_true_return`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from proxygym.analysis.metrics import agent_records, goodhart_metrics
from proxygym.analysis.verdicts import judge

#: Names of the normalisation references, as they appear in tables and titles.
EXACT = "exact true optimum"
ORACLE = "oracle (same algorithm and budget, trained on the true objective)"
EXACT_FROM_WORST = (
    "exact true optimum, with the exact worst policy as 0 (the random policy reaches the optimum)"
)
NO_REFERENCE = "none"


def _policy_mean(frame: pd.DataFrame, policy: str) -> float:
    """Mean true return of ``policy``'s records (NaN when it has none)."""
    rows = frame.loc[frame["policy"] == policy, "true_return"]
    return float(rows.mean()) if len(rows) else math.nan


def _spans(random: float, reference: float) -> bool:
    """Whether the reference lies above random, so that normalising by it means something."""
    return math.isfinite(random) and math.isfinite(reference) and reference - random > 1e-9


def random_reaches_optimum(frame: pd.DataFrame) -> bool:
    """Whether a sweep's random policy already reaches its exact true optimum (so is no floor)."""
    random, optimum = _policy_mean(frame, "random"), _policy_mean(frame, "true_optimal")
    return math.isfinite(random) and math.isfinite(optimum) and not _spans(random, optimum)


def normalised(value: float, random: float, reference: float) -> float:
    """``(value - random) / (reference - random)``; NaN unless the reference is above random."""
    return (value - random) / (reference - random) if _spans(random, reference) else math.nan


def oracle_scores(frame: pd.DataFrame) -> pd.Series:
    """``(J - J_random) / (J_oracle - J_random)`` per record, per environment setting.

    ``J_oracle`` is the mean over the oracle's seeds recorded with the same
    ``env_kwargs``. NaN where the oracle or the random policy is missing, or
    where the oracle is no better than random (nothing to normalise by).
    """
    scores = pd.Series(math.nan, index=frame.index, dtype=float)
    for _, rows in frame.groupby(frame["env_kwargs"].astype(str), sort=False):
        oracle, random = _policy_mean(rows, "oracle"), _policy_mean(rows, "random")
        if _spans(random, oracle):
            scores.loc[rows.index] = (rows["true_return"] - random) / (oracle - random)
    return scores


def normalised_true(frame: pd.DataFrame, floor: float | None = None) -> tuple[pd.Series, str]:
    """Each record's normalised true return, and the name of the reference used.

    With a ``floor`` (a true return to call 0, such as the exact worst
    policy's) and an exact true optimum recorded: ``(J - floor) / (optimum -
    floor)``, :data:`EXACT_FROM_WORST`. Otherwise the exact true optimum when
    every agent record has one (``true_score``); else the oracle when the
    sweep recorded an oracle and the random policy (NaN at settings where the
    oracle did no better than random); else NaN with :data:`NO_REFERENCE`.
    """
    if floor is not None:
        optimum = _policy_mean(frame, "true_optimal")
        if _spans(floor, optimum):
            return (frame["true_return"] - floor) / (optimum - floor), EXACT_FROM_WORST
    agents = frame["policy"] == "agent"
    exact = frame["true_score"] if "true_score" in frame else pd.Series(math.nan, frame.index)
    if agents.any() and np.isfinite(exact[agents].to_numpy(dtype=float)).all():
        return exact.astype(float), EXACT
    if {"oracle", "random"} <= set(frame["policy"]):
        return oracle_scores(frame), ORACLE
    return pd.Series(math.nan, index=frame.index, dtype=float), NO_REFERENCE


def _plain(level: Any) -> Any:
    """A level as a plain Python number: 4096.0 -> 4096 (levels pass through float columns)."""
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return int(level)
    return level.item() if isinstance(level, np.generic) else level


def sweep_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """One row describing the Goodhart curve of a sweep (records of ``results.load``).

    Keys: ``seeds``, ``levels``; the verdict of
    :func:`~proxygym.analysis.verdicts.judge` (``verdict``, ``goodhart_point``
    only for a Goodhart curve, ``ndh``, ``phase_transitions`` as a count);
    ``kendall_tau`` of the mean curves; the mean agent returns at the highest level
    (``final_proxy``, ``final_true``); the references' true returns
    (``oracle_true``, ``random_true``, ``true_optimal``, ``proxy_optimal``;
    NaN where not recorded); and the final true return normalised by the exact
    optimum (``final_true_score``) and by the oracle (``final_oracle_score``).
    """
    agents = agent_records(frame)
    metrics = goodhart_metrics(frame)
    judged = judge(frame)
    final = agents[agents["level"] == metrics.levels[-1]]
    return {
        "seeds": metrics.n_seeds,
        "levels": len(metrics.levels),
        "verdict": judged.label,
        "goodhart_point": None if judged.goodhart_point is None else _plain(judged.goodhart_point),
        "ndh": judged.ndh,
        "kendall_tau": metrics.kendall_tau,
        "phase_transitions": len(judged.phase_transitions),
        "final_proxy": float(final["proxy_return"].mean()),
        "final_true": float(final["true_return"].mean()),
        "oracle_true": _policy_mean(frame, "oracle"),
        "random_true": _policy_mean(frame, "random"),
        "true_optimal": _policy_mean(frame, "true_optimal"),
        "proxy_optimal": _policy_mean(frame, "proxy_optimal"),
        "final_true_score": float(final["true_score"].mean()),
        "final_oracle_score": float(oracle_scores(frame)[final.index].mean()),
    }


def surface_grid(
    frames: Mapping[float, pd.DataFrame], floors: Mapping[float, float] | None = None
) -> pd.DataFrame:
    """The misspecification surface: one row per (knob value, pressure level).

    ``frames`` maps each knob value to the records of its sweep (one pressure
    axis, the same levels for every knob value); ``floors`` optionally maps
    knob values to the true return that counts as 0 there (see
    :func:`normalised_true`). Columns: ``knob``, ``level``,
    ``seeds``, ``step`` (mean training steps at the evaluation), mean
    ``proxy_return`` and ``true_return`` over seeds, ``normalised_true`` (mean
    over seeds) with its seed standard deviation ``normalised_true_std``, and
    ``reference`` (see :func:`normalised_true`). Rows are sorted by knob, then level.
    """
    if not frames:
        raise ValueError("surface_grid needs the records of at least one knob value")
    rows = []
    for knob, frame in frames.items():
        scores, reference = normalised_true(frame, (floors or {}).get(knob))
        agents = agent_records(frame).assign(normalised_true=scores)
        for level, at_level in agents.groupby("level", sort=True):
            rows.append(
                {
                    "knob": float(knob),
                    "level": _plain(level),
                    "seeds": int(at_level["seed"].nunique()),
                    "step": float(at_level["step"].mean()),
                    "proxy_return": float(at_level["proxy_return"].mean()),
                    "true_return": float(at_level["true_return"].mean()),
                    "normalised_true": float(at_level["normalised_true"].mean()),
                    "normalised_true_std": float(at_level["normalised_true"].std(ddof=1))
                    if len(at_level) > 1
                    else math.nan,
                    "reference": reference,
                }
            )
    return pd.DataFrame(rows).sort_values(["knob", "level"], ignore_index=True)


def grid_matrix(grid: pd.DataFrame, value: str = "normalised_true") -> pd.DataFrame:
    """``value`` of a :func:`surface_grid` as a knob (rows) x pressure level (columns) table."""
    if value not in grid:
        raise ValueError(f"unknown grid column {value!r}; columns: {list(grid.columns)}")
    return grid.pivot(index="knob", columns="level", values=value).sort_index()
