"""Fit a sweep's true-return gain against d = sqrt(KL from init) (Gao et al. 2022).

The gain is measured against the true return at d = 0: the untrained agent
(the axis's ``untrained_level``, level 0 of a ``timesteps`` sweep) when it was
evaluated, else the uniformly random policy (an untrained SB3 policy is close
to uniform). The axis also picks the form: best-of-n sweeps use
R(d) = d(alpha - beta d), every other axis R(d) = d(alpha - beta log d).

No fit is shown (:func:`fit_sweep` returns why) unless the KL varies across
the levels beyond the seeds' scatter and the fitted alpha is positive: a fit
to a constant KL, or one in which the true return never rises with KL, is not
Gao's curve whatever its R^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from proxygym.analysis.fits import OveroptimizationFit, fit_overoptimization
from proxygym.analysis.verdicts import MIN_EFFECT, MIN_SEEDS, Estimate, welch_interval
from proxygym.sweeps.axes import recorded_axis


@dataclass(frozen=True)
class SweepFit:
    """The fitted curve with the points it was fitted to."""

    d: np.ndarray
    gain: np.ndarray
    reference: float
    fit: OveroptimizationFit


def kl_reference(frame: pd.DataFrame) -> float | None:
    """True return at d = 0: the untrained agent (the axis's untrained level), else random."""
    agents = frame[frame["policy"] == "agent"]
    untrained_levels = {
        axis: recorded_axis(axis).untrained_level for axis in agents["axis"].unique()
    }
    is_untrained = [
        untrained_levels[axis] is not None and level == untrained_levels[axis]
        for axis, level in zip(agents["axis"], agents["level"], strict=True)
    ]
    untrained = agents[is_untrained]
    if len(untrained):
        return float(untrained["true_return"].mean())
    random = frame[frame["policy"] == "random"]["true_return"]
    return float(random.mean()) if len(random) else None


def fit_sweep(frame: pd.DataFrame) -> SweepFit | str:
    """The overoptimization fit of a sweep's agent records, or why there is none."""
    agents = frame[(frame["policy"] == "agent") & frame["kl_from_init"].notna()]
    reference = kl_reference(frame)
    if reference is None:
        return "no reference for d = 0 (neither an untrained evaluation nor the random baseline)"
    d = np.sqrt(agents["kl_from_init"].clip(lower=0).to_numpy(dtype=float))
    if len(np.unique(np.round(d, 6))) < 3:
        return "fewer than 3 distinct KL values"
    why_not = _kl_constant(agents.assign(d=d))
    if why_not is not None:
        return why_not
    form = recorded_axis(str(agents["axis"].iloc[0])).fit_form
    gain = agents["true_return"].to_numpy(dtype=float) - reference
    try:
        fit = fit_overoptimization(d, gain, form=form)
    except ValueError as error:
        return f"the fit failed: {error}"
    if not fit.alpha > 0:
        return (
            f"the fit's alpha is {fit.alpha:.3g} <= 0: the true return does not rise with KL, "
            "so there is no Gao curve to show"
        )
    return SweepFit(d, gain, reference, fit)


def _kl_constant(agents: pd.DataFrame, alpha: float = 0.05) -> str | None:
    """Why d = sqrt(KL) cannot be said to vary across the levels, or None when it does.

    One-way ANOVA of d by level at ``alpha``: a fit against KL means something
    only where pressure moves the KL more than the seeds scatter it.
    """
    groups = [group["d"].to_numpy(float) for _, group in agents.groupby("level")]
    if len(groups) < 2:
        return "one level only: the KL cannot vary across levels"
    if min(len(group) for group in groups) < 2:
        return "one seed at some level: the KL's variation across levels cannot be told from noise"
    if all(np.ptp(group) == 0 for group in groups):
        p_value = 0.0 if len({float(group[0]) for group in groups}) > 1 else 1.0
    else:
        p_value = float(stats.f_oneway(*groups).pvalue)
    if not p_value < alpha:
        return (
            f"the KL from init does not vary across levels (one-way ANOVA p = {p_value:.2g}); "
            "a greedy evaluation once made it constant"
        )
    return None


# -- comparing two methods at matched KL --------------------------------------------------
#: Points of the common KL range at which two methods' frontiers are compared.
FRONTIER_POINTS = 5


@dataclass(frozen=True)
class FrontierComparison:
    """Method - reference true return at matched KL (:func:`compare_frontiers`)."""

    label: str  # "same frontier", "different frontier" or "inconclusive"
    reason: str
    gap: Estimate | None
    d_max: float


def _agents_with_kl(frame: pd.DataFrame) -> pd.DataFrame:
    """The agent records that carry a KL from the initial policy."""
    return frame[(frame["policy"] == "agent") & frame["kl_from_init"].notna()]


def frontier_values(frame: pd.DataFrame, d_points: np.ndarray) -> np.ndarray:
    """Per seed: its true return at ``d_points`` (linear in d = sqrt(KL) between its
    checkpoints, sorted by d), averaged over the points."""
    agents = _agents_with_kl(frame)
    values = []
    for _, seed in agents.groupby("seed"):
        d = np.sqrt(seed["kl_from_init"].clip(lower=0).to_numpy(float))
        order = np.argsort(d, kind="stable")
        true = seed["true_return"].to_numpy(float)[order]
        values.append(float(np.interp(d_points, d[order], true).mean()))
    return np.array(values)


def compare_frontiers(
    method: pd.DataFrame, reference: pd.DataFrame, scale: float | None
) -> FrontierComparison:
    """Does ``method`` reach a different true return than ``reference`` at the same KL?

    The rule, fixed before any stored run was compared with it (Gao et al.'s
    claim that a KL penalty does not move the gold-reward-vs-KL frontier):
    ``d = sqrt(KL from init)`` of every agent checkpoint; the common range is
    ``[0, D]`` with ``D`` the smallest of every seed's (both methods') largest
    d; each seed's true return is interpolated at ``FRONTIER_POINTS`` evenly
    spaced points of ``(0, D]`` and averaged, one number per seed; the gap is
    method - reference with Welch's 95 % interval. **Same frontier** when the
    whole interval lies within +-``MIN_EFFECT`` x ``scale`` (the reference
    range R of :mod:`proxygym.analysis.verdicts`); **different frontier** when
    it excludes 0 and |gap| >= ``MIN_EFFECT`` x R; else inconclusive. Fewer
    than ``MIN_SEEDS`` seeds in either method, no R, or D = 0 give inconclusive.
    """

    # Each seed's largest d, per method.
    method_tops, reference_tops = (
        np.sqrt(_agents_with_kl(frame).groupby("seed")["kl_from_init"].max().clip(lower=0))
        for frame in (method, reference)
    )
    tops = pd.concat([method_tops, reference_tops])
    counts = (len(method_tops), len(reference_tops))
    if min(counts) < MIN_SEEDS:
        return FrontierComparison(
            "inconclusive",
            f"{counts[0]} and {counts[1]} seeds; the rules need at least {MIN_SEEDS} each",
            None,
            float(tops.min()) if len(tops) else 0.0,
        )
    d_max = float(tops.min())
    if not d_max > 0 or scale is None or not math.isfinite(scale):
        why = "no common KL range (some seed never left d = 0)" if not d_max > 0 else "no R"
        return FrontierComparison("inconclusive", why, None, d_max)
    points = np.linspace(0, d_max, FRONTIER_POINTS + 1)[1:]
    gap = welch_interval(frontier_values(method, points), frontier_values(reference, points))
    band = MIN_EFFECT * scale
    common = (
        f"gap {gap.text()} in true return at matched d in (0, {d_max:.3g}], "
        f"10 % of the reference range is {band:.3g}"
    )
    if -band < gap.low and gap.high < band:
        return FrontierComparison(
            "same frontier", common + ": the interval lies within it", gap, d_max
        )
    if gap.significant and abs(gap.value) >= band:
        return FrontierComparison("different frontier", common + ": the gap exceeds it", gap, d_max)
    return FrontierComparison("inconclusive", common + ": neither within nor beyond it", gap, d_max)
