"""Scaling-law fits of gold (true) reward against optimization distance.

After Gao, Schulman, Hilton 2022 ("Scaling laws for reward model
overoptimization"): with ``d = sqrt(KL(pi || pi_init))`` the gold reward of a
proxy-optimized policy follows

- best-of-n (``form="bon"``): ``R(d) = d (alpha - beta d)``,
- RL (``form="rl"``): ``R(d) = d (alpha - beta log d)``.

Both are linear in ``(alpha, beta)`` for known ``d``, so the fit is exact linear
least squares (no iterative optimiser, no starting point, no local minima).
``beta`` measures how fast the proxy stops tracking the true reward; the peak
``d*`` is where more pressure starts to hurt. The paper's claim worth testing
is that a fit on small ``d`` predicts the curve at larger ``d``:
:func:`extrapolation_check` scores exactly that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from proxygym.planning.best_of_n import kl_best_of_n

Form = Literal["bon", "rl"]
__all__ = [
    "FORMS",
    "ExtrapolationCheck",
    "Form",
    "OveroptimizationFit",
    "extrapolation_check",
    "fit_overoptimization",
    "kl_best_of_n",
]

FORMS: tuple[Form, ...] = ("bon", "rl")

#: Largest exponent ``x`` with ``exp(x)`` finite in float64.
_MAX_EXPONENT = math.log(np.finfo(float).max)


@dataclass(frozen=True)
class OveroptimizationFit:
    """A fitted ``R(d) = d (alpha - beta d)`` ("bon") or ``d (alpha - beta log d)`` ("rl").

    Attributes:
        alpha: initial slope of gold reward in ``d`` (scale of the gain).
        beta: strength of the overoptimization term; ``beta <= 0`` means the
            fitted curve never turns over.
        form: ``"bon"`` or ``"rl"``.
        r_squared: coefficient of determination on the fitted points,
            ``1 - SS_res / SS_tot`` around the mean of ``r`` (the model has no
            intercept, so it can be negative); NaN when every ``r`` is equal.
        n_points: number of points fitted.
        d_star: position of the interior maximum on ``d > 0``, or None when
            the fitted curve has none: ``beta <= 0`` (it rises for ever), a
            "bon" fit with ``alpha <= 0`` (it only falls from ``R(0) = 0``), or
            an "rl" peak beyond float range (``alpha / beta`` huge).
        peak_value: ``R(d_star)``, or None when ``d_star`` is None.
    """

    alpha: float
    beta: float
    form: Form
    r_squared: float
    n_points: int
    d_star: float | None
    peak_value: float | None

    @property
    def has_peak(self) -> bool:
        """Whether the fit predicts a finite point past which more pressure lowers R."""
        return self.d_star is not None

    def predict(self, d: ArrayLike) -> np.ndarray:
        """Predicted gold reward at ``d`` (same shape as ``d``; ``d >= 0``, finite)."""
        d_array = np.asarray(d, dtype=float)
        if not np.all(np.isfinite(d_array)):
            raise ValueError("d must be finite")
        if np.any(d_array < 0):
            raise ValueError(f"d must be >= 0 (it is sqrt(KL)), got min {d_array.min()!r}")
        return np.asarray(_design(d_array, self.form) @ np.array([self.alpha, self.beta]))


@dataclass(frozen=True)
class ExtrapolationCheck:
    """A fit on the smallest ``d`` values scored on the largest ones.

    Attributes:
        fit: the fit on the training (low-``d``) points.
        n_train: number of training points.
        n_heldout: number of held-out (high-``d``) points.
        train_max_d: largest ``d`` among the training points.
        heldout_r_squared: ``1 - SS_res / SS_tot`` of the fit's predictions on
            the held-out points, around their own mean (NaN when the held-out
            ``r`` are all equal); near 1 means the law extrapolates.
    """

    fit: OveroptimizationFit
    n_train: int
    n_heldout: int
    train_max_d: float
    heldout_r_squared: float


def fit_overoptimization(d: ArrayLike, r: ArrayLike, form: Form = "bon") -> OveroptimizationFit:
    """Fit ``alpha`` and ``beta`` of the Gao et al. law by exact linear least squares.

    Args:
        d: ``sqrt(KL)`` of each policy from the initial one (not the KL itself),
            each ``>= 0``. Points at ``d == 0`` are kept: both forms give
            ``R(0) = 0`` exactly (for "rl", ``d log d`` is taken as its limit
            0 at ``d == 0``), so they pull the fit towards passing through 0.
        r: gold (true) reward at each ``d``.
        form: ``"bon"`` (best-of-n) or ``"rl"``.

    Raises:
        ValueError: naming the problem when the inputs are unequal in length,
            not finite, negative in ``d``, fewer than 2 points, with fewer than
            2 distinct positive ``d`` (the two terms are then not separable),
            or ``form`` is unknown.
    """
    d_array, r_array = _validated(d, r, form)
    positive = np.unique(d_array[d_array > 0])
    if positive.size < 2:
        raise ValueError(
            "need at least 2 distinct positive d values to separate alpha from beta, "
            f"got {positive.size}"
        )
    design = _design(d_array, form)
    (alpha, beta), *_ = np.linalg.lstsq(design, r_array, rcond=None)
    alpha, beta = float(alpha), float(beta)
    d_star = _peak(alpha, beta, form)
    peak_value = None
    if d_star is not None:
        peak_value = float(_design(np.array(d_star), form) @ np.array([alpha, beta]))
    return OveroptimizationFit(
        alpha=alpha,
        beta=beta,
        form=form,
        r_squared=_r_squared(r_array, design @ np.array([alpha, beta])),
        n_points=int(d_array.size),
        d_star=d_star,
        peak_value=peak_value,
    )


def extrapolation_check(
    d: ArrayLike, r: ArrayLike, form: Form = "bon", train_fraction: float = 0.5
) -> ExtrapolationCheck:
    """Fit on the lowest-``d`` points and score the prediction on the rest.

    The points are sorted by ``d`` (stable, so tied ``d`` keep their order);
    the first ``round(train_fraction * n)`` are fitted, the others held out.
    This is the test Gao et al. report passing: a law fitted at low
    optimization pressure predicts gold reward at higher pressure.

    Raises:
        ValueError: naming the problem for the inputs rejected by
            :func:`fit_overoptimization`, a ``train_fraction`` outside (0, 1),
            or a split leaving fewer than 2 points on either side.
    """
    d_array, r_array = _validated(d, r, form)
    if not (isinstance(train_fraction, (int, float)) and 0 < train_fraction < 1):
        raise ValueError(f"train_fraction must be a number in (0, 1), got {train_fraction!r}")
    n = d_array.size
    n_train = round(train_fraction * n)
    if n_train < 2 or n - n_train < 2:
        raise ValueError(
            f"train_fraction={train_fraction} splits {n} points into {n_train} to fit and "
            f"{n - n_train} held out; each side needs at least 2"
        )
    order = np.argsort(d_array, kind="stable")
    train, heldout = order[:n_train], order[n_train:]
    fit = fit_overoptimization(d_array[train], r_array[train], form)
    return ExtrapolationCheck(
        fit=fit,
        n_train=int(n_train),
        n_heldout=int(heldout.size),
        train_max_d=float(d_array[train].max()),
        heldout_r_squared=_r_squared(r_array[heldout], fit.predict(d_array[heldout])),
    )


def _validated(d: ArrayLike, r: ArrayLike, form: str) -> tuple[np.ndarray, np.ndarray]:
    """``d`` and ``r`` as 1-D float arrays, or ValueError naming what is wrong."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    d_array = np.asarray(d, dtype=float)
    r_array = np.asarray(r, dtype=float)
    for name, array in (("d", d_array), ("r", r_array)):
        if array.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite, got {_first_bad(array)!r}")
    if d_array.size != r_array.size:
        raise ValueError(f"d and r differ in length: {d_array.size} vs {r_array.size}")
    if d_array.size < 2:
        raise ValueError(f"need at least 2 points, got {d_array.size}")
    if np.any(d_array < 0):
        raise ValueError(f"d must be >= 0 (it is sqrt(KL)), got {d_array.min()!r}")
    return d_array, r_array


def _first_bad(array: np.ndarray) -> float:
    return float(array[~np.isfinite(array)][0])


def _design(d: np.ndarray, form: str) -> np.ndarray:
    """Columns ``[d, -d]`` times ``[1, d]`` ("bon") or ``[1, log d]`` ("rl", 0 at d == 0)."""
    if form == "bon":
        second = d * d
    else:
        safe = np.where(d > 0, d, 1.0)
        second = np.where(d > 0, d * np.log(safe), 0.0)
    return np.stack([d, -second], axis=-1)


def _peak(alpha: float, beta: float, form: Form) -> float | None:
    """Argmax of the fitted curve on ``d > 0``, or None when it has no interior maximum."""
    if beta <= 0:
        return None
    if form == "bon":
        return alpha / (2 * beta) if alpha > 0 else None
    exponent = alpha / beta - 1
    return math.exp(exponent) if exponent <= _MAX_EXPONENT else None


def _r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` around the mean of ``observed``; NaN if it is constant."""
    total = float(((observed - observed.mean()) ** 2).sum())
    if total == 0:
        return math.nan
    return 1.0 - float(((observed - predicted) ** 2).sum()) / total
