"""Quantilizers (Taylor 2016): pick from the top ``q`` fraction of a base distribution.

An optimiser that takes the argmax of a proxy score walks into whatever corner
of the outcome space the proxy over-rates most. A *q-quantilizer* instead
samples from the base distribution conditioned on landing in its top ``q``
fraction by score. Its guarantee needs no knowledge of the true objective: for
every non-negative cost ``c``,

    E_quantilizer[c] <= E_base[c] / q,

because the quantilizer puts at most ``p_base(x) / q`` on each outcome ``x``.
``q = 1`` is the base distribution itself; ``q`` shrinking to the mass of the
single best outcome is the argmax.

Two forms:

- :func:`quantilizer_distribution` is exact, for a finite base distribution
  given as probabilities.
- :func:`quantilize` (and :func:`top_candidates`, :func:`quantilizer_expectation`)
  works on ``n`` sampled candidates, i.e. on their uniform empirical
  distribution: it picks uniformly among the top ``ceil(q n)`` of them, the
  quantilizer analogue of best-of-n. Candidates tied in score at the
  boundary are admitted by index (lowest first), where the exact form would
  split the boundary mass between them.
"""

from __future__ import annotations

import math

import numpy as np

#: Probability mass below which sums are treated as equal (float round-off of
#: cumulative sums), so that ``q = 1`` and ``q = p_best`` take outcomes whole.
MASS_TOLERANCE = 1e-12


def _check_q(q: float) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise ValueError(f"q must be a number in (0, 1], got {q!r}")
    if not (0.0 < float(q) <= 1.0):
        raise ValueError(f"q must be in (0, 1], got {q!r}")
    return float(q)


def _check_scores(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite")
    return values


def quantilizer_distribution(base_probs: np.ndarray, scores: np.ndarray, q: float) -> np.ndarray:
    """The exact q-quantilizer of a finite base distribution.

    Outcomes are taken in order of decreasing score, each with its whole base
    mass, until mass ``q`` is collected; the outcome at the boundary gets only
    the mass still missing. Outcomes tied in score at the boundary are treated
    as one block and share the missing mass in proportion to their base
    probabilities, so the result does not depend on how ties are ordered. The
    collected masses are divided by ``q``.

    Args:
        base_probs: base probabilities, shape ``(n,)``, non-negative, summing to 1.
        scores: the score (e.g. proxy reward) of each outcome, shape ``(n,)``.
        q: the fraction of base mass kept, in ``(0, 1]``.

    Returns:
        The quantilizer's probabilities, shape ``(n,)``; never more than
        ``base_probs / q`` on any outcome.
    """
    q = _check_q(q)
    probs = np.asarray(base_probs, dtype=np.float64)
    values = _check_scores(scores)
    if probs.shape != values.shape:
        raise ValueError(f"base_probs has shape {probs.shape}, scores has shape {values.shape}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError("base_probs must be finite and non-negative")
    if not math.isclose(float(probs.sum()), 1.0, rel_tol=0.0, abs_tol=1e-9):
        raise ValueError(f"base_probs must sum to 1, got {probs.sum()!r}")

    taken = np.zeros_like(probs)
    collected = 0.0
    for score in np.unique(values)[::-1]:
        block = values == score
        block_mass = float(probs[block].sum())
        if block_mass == 0.0:
            continue
        missing = q - collected
        if block_mass <= missing + MASS_TOLERANCE:
            taken[block] = probs[block]
            collected += block_mass
        else:
            taken[block] = probs[block] * (missing / block_mass)
            collected = q
        if collected >= q - MASS_TOLERANCE:
            break
    return taken / q


def top_count(n: int, q: float) -> int:
    """``ceil(q n)``: how many of ``n`` candidates a q-quantilizer chooses among.

    ``q n`` is rounded to 9 decimals first so that float error (``0.3 * 10 ==
    3.0000000000000004``) does not add a candidate.
    """
    q = _check_q(q)
    if n < 1:
        raise ValueError(f"need at least one candidate, got {n}")
    return max(1, math.ceil(round(q * n, 9)))


def top_candidates(candidate_scores: np.ndarray, q: float) -> np.ndarray:
    """Indices of the top ``ceil(q n)`` candidates, best first.

    Ties are broken deterministically in favour of the lower index (a stable
    sort), so a candidate's index is its tie-break priority.
    """
    values = _check_scores(candidate_scores, "candidate_scores")
    order = np.argsort(-values, kind="stable")
    return order[: top_count(values.size, q)]


def quantilize(candidate_scores: np.ndarray, q: float, rng: np.random.Generator) -> int:
    """Index of a candidate drawn uniformly from the top ``ceil(q n)`` by score.

    The candidates are ``n`` samples of the base distribution, so this is the
    q-quantilizer of their empirical distribution. ``q = 1 / n`` always
    returns the best candidate (the lowest index among tied best ones), like
    best-of-n; ``q = 1`` returns a uniformly random one, like the base policy.
    """
    top = top_candidates(candidate_scores, q)
    return int(top[rng.integers(top.size)])


def quantilizer_expectation(candidate_scores: np.ndarray, values: np.ndarray, q: float) -> float:
    """Exact expected ``values[i]`` of the candidate :func:`quantilize` returns.

    That is the mean of ``values`` over the top ``ceil(q n)`` candidates: use
    it for the expected true reward or cost of a quantilizer without sampling.
    """
    quantities = _check_scores(values, "values")
    if quantities.shape != np.shape(candidate_scores):
        raise ValueError(
            f"values has shape {quantities.shape}, "
            f"candidate_scores has shape {np.shape(candidate_scores)}"
        )
    top = top_candidates(candidate_scores, q)
    return float(quantities[top].mean())
