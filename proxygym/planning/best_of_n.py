"""Best-of-n selection against a learned proxy, exactly, over a pool of sampled trajectories.

Best-of-n draws ``n`` trajectories from the base policy and keeps the one the
proxy scores highest (Gao et al. 2022, Coste et al. 2023). Here the base
policy is represented by a pool of ``N`` sampled trajectories: "exact" means
exact for the *empirical* distribution that puts mass ``1 / N`` on each pool
item, not for the policy the pool was sampled from; every number below is a
function of the pool alone, with no sampling noise of its own.

With the pool sorted by score, rank ``i`` (1 = lowest), drawing ``n`` items
with replacement makes item ``i`` the best with probability
``(i / N)^n - ((i - 1) / N)^n``. Items with equal scores form one block,
which is best with the summed probability of its ranks; ties are broken
uniformly at random, so each member gets an equal share (this is exactly what
picking uniformly among the tied maximal draws gives, by symmetry).

The KL divergence from the base distribution is over *trajectories*: pool
items with the same key (identical observations and actions, see
:class:`proxygym.envs.learned_proxy.segments.Trajectories`) are one outcome,
whose base probability is its count over ``N``. Identical trajectories score
the same, so they sit in one tied block with equal shares; merging them
therefore leaves the KL unchanged, and the keys serve as a consistency check
(equal keys with unequal scores are an error). For distinct scores and large
``N`` the KL approaches the analytic ``log n - (n - 1) / n``; ties and small
pools make it smaller (it is at most ``log N``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from proxygym.envs.learned_proxy._checks import check_int
from proxygym.envs.learned_proxy.ensemble import RewardEnsemble
from proxygym.envs.learned_proxy.segments import Trajectories
from proxygym.planning.quantilizer import top_count

KLChoice = Literal["exact", "analytic"]


@dataclass(frozen=True)
class BestOfNPoint:
    """Best-of-``n`` against the pool, for one ``n``.

    Attributes:
        n: candidates drawn per selection.
        true_return: expected true return of the selected trajectory.
        proxy_score: expected proxy score of the selected trajectory.
        kl_exact: KL(best-of-n || pool) over trajectories, exact for the pool.
        kl_analytic: ``log n - (n - 1) / n``, the continuous-score value (an
            upper bound with ties).
        kl_used: which of the two ``d`` is computed from.
        d: ``sqrt`` of the KL used, the x-axis of Gao et al.'s fits.
    """

    n: int
    true_return: float
    proxy_score: float
    kl_exact: float
    kl_analytic: float
    kl_used: KLChoice
    d: float


def kl_best_of_n(n: int) -> float:
    """KL divergence of best-of-``n`` sampling from the base policy: ``log n - (n - 1) / n``.

    This is the analytic value for a continuous reward with no ties; in
    discrete spaces (ties between samples) the true KL is at most this, so it
    is an upper bound there. Pass ``sqrt`` of it as ``d`` to the fits.

    Raises:
        ValueError: when ``n`` is not an integer >= 1.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return math.log(n) - (n - 1) / n


def best_of_n_probabilities(scores: ArrayLike, n: int) -> np.ndarray:
    """Probability that each pool item is the one best-of-``n`` selects: ``(N,)``, summing to 1."""
    n = check_int("n", n, 1)
    values = _scores(scores)
    size = values.size
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], size]
    block = (ends / size) ** n - (starts / size) ** n  # P(best score lies in the block)
    probabilities = np.empty(size)
    probabilities[order] = np.repeat(block / (ends - starts), ends - starts)
    return probabilities


def best_of_n_curve(
    scores: ArrayLike,
    true_returns: ArrayLike,
    ns: Sequence[int],
    keys: Sequence[Hashable] | None = None,
    kl: KLChoice = "exact",
) -> list[BestOfNPoint]:
    """Expected true return, proxy score and KL of best-of-n for each ``n`` in ``ns``.

    Args:
        scores: ``(N,)`` proxy score of each pool item (finite).
        true_returns: ``(N,)`` true return of each pool item.
        ns: the ``n`` values (integers >= 1).
        keys: one hashable per item; equal keys mark identical trajectories,
            merged into one outcome for the KL.
        kl: which KL ``d`` is computed from: ``"exact"`` (for the pool) or
            ``"analytic"`` (``log n - (n - 1) / n``).

    Raises:
        ValueError: naming the argument, for mismatched lengths, non-finite
            values, equal keys with unequal scores, or an unknown ``kl``.
    """
    values = _scores(scores)
    returns = np.asarray(true_returns, dtype=np.float64)
    if returns.shape != values.shape or not np.all(np.isfinite(returns)):
        raise ValueError(
            f"true_returns must be {values.size} finite numbers, one per score, "
            f"got shape {returns.shape}"
        )
    if kl not in ("exact", "analytic"):
        raise ValueError(f"kl must be 'exact' or 'analytic', got {kl!r}")
    outcome, base = _outcomes(values, keys)
    points = []
    for n in ns:
        probabilities = best_of_n_probabilities(values, n)
        selected = np.bincount(outcome, weights=probabilities)
        support = selected > 0
        kl_exact = max(
            float(np.sum(selected[support] * np.log(selected[support] / base[support]))), 0.0
        )
        kl_analytic = kl_best_of_n(int(n))
        points.append(
            BestOfNPoint(
                n=int(n),
                true_return=float(probabilities @ returns),
                proxy_score=float(probabilities @ values),
                kl_exact=kl_exact,
                kl_analytic=kl_analytic,
                kl_used=kl,
                d=math.sqrt(kl_exact if kl == "exact" else kl_analytic),
            )
        )
    return points


def best_of_n_sample(
    scores: ArrayLike, n: int, rng: np.random.Generator, size: int = 1
) -> np.ndarray:
    """``size`` independent best-of-``n`` selections from the pool: ``(size,)`` item indices.

    Each draws ``n`` items uniformly with replacement and keeps the highest
    scored, breaking ties uniformly among the tied draws; the selections
    follow :func:`best_of_n_probabilities`.
    """
    n = check_int("n", n, 1)
    size = check_int("size", size, 1)
    values = _scores(scores)
    # Dense rank of each score plus a uniform in [0, 1): the argmax is the
    # best score, and a uniformly chosen draw among those tied for it.
    dense_rank = np.unique(values, return_inverse=True)[1]
    draws = rng.integers(values.size, size=(size, n))
    keys = dense_rank[draws] + rng.random((size, n))
    return draws[np.arange(size), np.argmax(keys, axis=1)]


def trajectory_scores(ensemble: RewardEnsemble, trajectories: Trajectories) -> np.ndarray:
    """Each trajectory's proxy score: the ensemble's aggregate over members of their returns.

    Each member sums its per-step rewards over a trajectory; the members'
    returns are then aggregated (Coste et al. 2023 score whole samples). For
    ``"mean"`` this equals the return an agent sees through
    :class:`~proxygym.envs.learned_proxy.wrapper.LearnedRewardProxy`, which
    aggregates per step; for ``"min"`` and ``"lcb"`` it is at least that.
    """
    member_returns = trajectories.episode_sums(ensemble.predict_members(trajectories.features))
    return np.asarray(ensemble.combine(member_returns))


def _scores(scores: ArrayLike) -> np.ndarray:
    """``scores`` as a non-empty 1-D float array of finite numbers, or a ValueError."""
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(
            f"scores must be a non-empty 1-D array of finite numbers, got shape {values.shape}"
        )
    return values


def _outcomes(scores: np.ndarray, keys: Sequence[Hashable] | None) -> tuple[np.ndarray, np.ndarray]:
    """Outcome index of each item and each outcome's base probability (count / N)."""
    size = scores.size
    if keys is None:
        return np.arange(size), np.full(size, 1.0 / size)
    if len(keys) != size:
        raise ValueError(f"keys must hold one key per score ({size}), got {len(keys)}")
    index: dict[Hashable, int] = {}
    outcome = np.array([index.setdefault(key, len(index)) for key in keys])
    low = np.full(len(index), np.inf)
    high = np.full(len(index), -np.inf)
    np.minimum.at(low, outcome, scores)
    np.maximum.at(high, outcome, scores)
    if np.any(low != high):
        raise ValueError("items with equal keys (identical trajectories) must have equal scores")
    return outcome, np.bincount(outcome) / size


def quantilized_best_of_n_probabilities(scores: ArrayLike, n: int, q: float) -> np.ndarray:
    """Probability that each pool item is picked by a q-quantilizer over ``n`` draws.

    The quantilizer of Taylor (2016) applied to best-of-n: draw ``n``
    candidates from the pool (with replacement, as best-of-n does), keep the
    top ``k = top_count(n, q)`` by score and pick one of them uniformly. Item
    ``i`` (rank ``i`` of ``N`` by ascending score) fills the ``j``-th best place
    when exactly ``j - 1`` draws rank above it, so with ``T_i ~ Binomial(n, 1 -
    i / N)`` draws above rank ``i``, ``P(pick rank <= i) = E[(k - T_i)^+] / k``
    and the probabilities are its differences. ``q`` with ``k = 1`` is best-of-n
    (:func:`best_of_n_probabilities`); ``q = 1`` is the pool itself. Tied
    scores share their block's probability evenly, as in best-of-n.
    """
    n = check_int("n", n, 1)
    k = top_count(n, q)
    values = _scores(scores)
    size = values.size
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]) + 1, size]
    starts = np.r_[0, ends[:-1]]
    above = 1.0 - np.arange(size + 1) / size  # P(a draw ranks above rank i), i = 0..N
    t = np.arange(k)
    log_pmf = (
        _log_binomial(n, t)[None, :]
        + _xlogy(t[None, :], above[:, None])
        + _xlogy((n - t)[None, :], 1.0 - above[:, None])
    )
    below_k = np.exp(log_pmf) @ (k - t)  # E[(k - T_i)^+] for i = 0..N
    block = (below_k[ends] - below_k[starts]) / k
    probabilities = np.empty(size)
    probabilities[order] = np.repeat(block / (ends - starts), ends - starts)
    return probabilities


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x log y`` with ``0 log 0 = 0`` (a probability of 0 raised to the power 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def _log_binomial(n: int, t: np.ndarray) -> np.ndarray:
    """``log C(n, t)`` for an array of ``t`` in ``0..n``."""
    return np.array([math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) for x in t])
