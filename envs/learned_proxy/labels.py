"""Bradley-Terry preference labels on pairs of segments, from their true returns.

A simulated labeller prefers segment ``a`` to ``b`` with probability
``sigmoid((R_a - R_b) / temperature)`` of their true returns (Christiano et al.
2017; Gao et al. 2022 label with a gold reward model the same way). Temperature
0 is a perfectly rational labeller; larger temperatures blur small return gaps.
Independently of that, each label is flipped with probability
``flip_probability``: mistakes that do not depend on the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from proxygym.core import check_knob
from proxygym.envs.learned_proxy._checks import check_int, check_probability
from proxygym.envs.learned_proxy.segments import Segments


@dataclass(frozen=True)
class Comparisons:
    """Labelled pairs of segments.

    Attributes:
        index_a: ``(m,)`` int64 index of the first segment of each pair.
        index_b: ``(m,)`` int64 index of the second, always different from the first.
        label: ``(m,)`` float32, 1.0 when ``a`` was preferred, else 0.0 (after flips).
        probability: ``(m,)`` the Bradley-Terry probability that ``a`` is
            preferred, before label noise: what a noiseless labeller believes.
    """

    index_a: np.ndarray
    index_b: np.ndarray
    label: np.ndarray
    probability: np.ndarray

    def __len__(self) -> int:
        return int(self.label.size)

    def subset(self, indices: np.ndarray) -> Comparisons:
        """The comparisons at ``indices`` (repeats allowed, as in a bootstrap resample)."""
        a, b = self.index_a[indices], self.index_b[indices]
        return Comparisons(a, b, self.label[indices], self.probability[indices])


def preference_probability(
    return_a: ArrayLike, return_b: ArrayLike, temperature: float
) -> np.ndarray:
    """``sigmoid((return_a - return_b) / temperature)``, elementwise (a 0-d array for scalars).

    At temperature 0 the preference is deterministic: 1 when ``a`` has the
    higher return, 0 when it has the lower one, and 0.5 for a tie.
    """
    temperature = check_knob("temperature", temperature)
    gap = np.asarray(return_a, dtype=np.float64) - np.asarray(return_b, dtype=np.float64)
    if temperature == 0:
        return np.asarray(0.5 + 0.5 * np.sign(gap))
    # 0.5 (1 + tanh(x / 2)) is the sigmoid without overflow for large |x|.
    return np.asarray(0.5 + 0.5 * np.tanh(gap / (2.0 * temperature)))


def draw_labels(
    probability: ArrayLike, flip_probability: float, rng: np.random.Generator
) -> np.ndarray:
    """Labels (float32 0/1): 1 with ``probability``, each then flipped with ``flip_probability``.

    A label is therefore 1 with probability ``p + (1 - 2 p) P`` for flip
    probability ``p`` and preference probability ``P``; ``p = 0.5`` is pure noise.
    """
    flip_probability = check_probability("flip_probability", flip_probability)
    probability = np.asarray(probability, dtype=np.float64)
    preferred = rng.random(probability.shape) < probability
    flipped = rng.random(probability.shape) < flip_probability
    return (preferred ^ flipped).astype(np.float32)


def label_pairs(
    segments: Segments,
    m: int,
    temperature: float,
    flip_probability: float,
    rng: np.random.Generator,
) -> Comparisons:
    """Draw ``m`` pairs of distinct segments uniformly and label them by their true returns.

    Pairs are drawn independently, so the same pair can occur more than once
    (with independently drawn labels), as when a labeller sees a clip twice.

    Raises:
        ValueError: naming the argument, for ``m < 1``, fewer than 2 segments,
            a negative or non-finite ``temperature``, or a ``flip_probability``
            outside [0, 1].
    """
    check_int("m", m, 1)
    n = len(segments)
    if n < 2:
        raise ValueError(f"segments must hold at least 2 segments to pair, got {n}")
    index_a = rng.integers(n, size=m)
    index_b = rng.integers(n - 1, size=m)
    index_b += index_b >= index_a  # skip index_a: uniform over the other n - 1
    probability = preference_probability(
        segments.true_returns[index_a], segments.true_returns[index_b], temperature
    )
    label = draw_labels(probability, flip_probability, rng)
    return Comparisons(index_a, index_b, label, probability)
