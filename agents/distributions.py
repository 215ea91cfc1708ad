"""A policy's action distribution at one state: greedy action, tempered sample, KL, Hellinger.

Evaluation, ``kl_from_init``, the ``temperature`` axis and the detector see a
policy as a function from an observation to one of these objects (a
:data:`DistributionFn`), whatever trained it and whatever its action space:

- :class:`Categorical` (Discrete actions, from logits; Q-values for DQN):
  temperature 0 is the greedy ``argmax``, ``T > 0`` samples from
  ``softmax(logits / T)``.
- :class:`DiagGaussian` (PPO and A2C on Box actions): ``N(mean, std^2)`` per
  action dimension, ``T`` scales the standard deviation (0 is the mean), and
  actions are clipped to the Box bounds, as stable-baselines3's ``predict`` does.
- :class:`SquashedDiagGaussian` (SAC): ``tanh`` of ``N(mean, std^2)``, rescaled
  from ``[-1, 1]`` to the bounds; ``T`` scales the pre-``tanh`` standard deviation.
- :class:`DeterministicActor` (TD3): the actor's output ``mu(s)`` with its
  exploration noise ``N(0, sigma^2)``, clipped to the bounds; ``T`` scales ``sigma``.
- :class:`UniformBox` (the random reference on Box actions) and
  :class:`PointMass` (a scripted reference on Box actions).

Every sampling method draws from the numpy ``Generator`` it is handed and only
when ``T > 0``, so a greedy rollout consumes no randomness. KL and Hellinger
are defined between two distributions of the same kind; the Gaussian ones are
closed-form and ignore the clipping to the bounds (clipping merges actions, so
by the data-processing inequality the KL of the clipped policies is at most
the one reported). Everything here is numpy; building these from an SB3
policy is :func:`proxygym.agents.evaluation.policy_distribution`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

#: TD3's exploration noise when the model has none: TD3's published 0.1, as a
#: fraction of the action's half-range (Fujimoto et al. 2018; stable-baselines3
#: adds the noise to actions scaled to ``[-1, 1]``).
DEFAULT_EXPLORATION_STD = 0.1


def softmax(logits: np.ndarray) -> np.ndarray:
    """Action probabilities from logits (shifted by their maximum, so it never overflows)."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def categorical_kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of two distributions over actions (0 log 0 = 0)."""
    support = p > 0
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(q[support]))))


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float, or a ValueError unless it is a finite number >= 0."""
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    return float(temperature)


@runtime_checkable
class ActionDistribution(Protocol):
    """What evaluation and the detector ask of a policy's distribution at one state."""

    #: A short name of the kind, for messages ("categorical", "gaussian", ...).
    kind: ClassVar[str]

    def greedy(self) -> Any:
        """The action taken at temperature 0."""
        ...

    def sample(self, rng: np.random.Generator, temperature: float) -> Any:
        """An action drawn at ``temperature`` > 0 from ``rng``."""
        ...

    def kl(self, other: Any) -> float:
        """``KL(self || other)`` in nats, ``other`` of the same kind."""
        ...


#: A policy: one observation to its action distribution there.
DistributionFn = Callable[[np.ndarray], ActionDistribution]


def act(distribution: ActionDistribution, rng: np.random.Generator, temperature: float) -> Any:
    """The greedy action at temperature 0, else a sample at ``temperature`` from ``rng``."""
    if temperature == 0:
        return distribution.greedy()
    return distribution.sample(rng, temperature)


def _same_kind(first: Any, second: Any) -> None:
    if type(first) is not type(second):
        raise TypeError(
            f"cannot compare a {first.kind} distribution with a {second.kind} one: "
            "both policies must act in the same action space with the same kind of policy"
        )


@dataclass(frozen=True)
class Categorical:
    """A distribution over discrete actions given by its logits (unnormalised log-probabilities).

    Exactly what proxygym did before Box actions were supported: ``greedy`` is
    ``argmax(logits)`` (the first on ties), ``sample`` draws from
    ``softmax(logits / T)`` with ``rng.choice``, and ``kl`` is the KL of the
    two softmax distributions at temperature 1.
    """

    logits: np.ndarray
    kind: ClassVar[str] = "categorical"

    def probabilities(self) -> np.ndarray:
        """``softmax(logits)``: the distribution at temperature 1."""
        return softmax(self.logits)

    def greedy(self) -> int:
        return int(np.argmax(self.logits))

    def sample(self, rng: np.random.Generator, temperature: float) -> int:
        probs = softmax(self.logits / temperature)
        return int(rng.choice(len(probs), p=probs))

    def kl(self, other: Categorical) -> float:
        _same_kind(self, other)
        return categorical_kl(self.probabilities(), other.probabilities())


def _bounds(low: Any, high: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.broadcast_to(np.asarray(low, dtype=np.float64), shape),
        np.broadcast_to(np.asarray(high, dtype=np.float64), shape),
    )


@dataclass(frozen=True)
class DiagGaussian:
    """Independent Gaussians ``N(mean_i, std_i^2)``, one per action dimension, clipped to a Box.

    The policy of PPO and A2C on Box actions (stable-baselines3's
    ``DiagGaussianDistribution``, and its state-dependent-noise variant, whose
    marginal at a state is such a Gaussian too). ``greedy`` is the mean and
    ``sample`` is ``mean + T * std * z`` with ``z`` standard normal: the
    temperature scales the standard deviation. Both are clipped to
    ``[low, high]``, as SB3's ``predict`` clips, and returned as float32.

    ``kl`` is closed-form, summed over dimensions:
    ``sum log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2``. ``hellinger``
    is ``sqrt(1 - BC)`` with the Bhattacharyya coefficient
    ``BC = prod sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2)))``,
    in ``[0, 1]``. Both ignore the clipping (see the module docstring).
    """

    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray
    kind: ClassVar[str] = "gaussian"

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.broadcast_to(np.asarray(self.std, dtype=np.float64), mean.shape)
        if not np.all(np.isfinite(std)) or np.any(std <= 0):
            raise ValueError(f"a {self.kind} needs finite standard deviations > 0, got {std}")
        low, high = _bounds(self.low, self.high, mean.shape)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def _action(self, raw: np.ndarray) -> np.ndarray:
        """A raw draw of the Gaussian as the action the environment receives."""
        return np.clip(raw, self.low, self.high).astype(np.float32)

    def greedy(self) -> np.ndarray:
        return self._action(self.mean)

    def sample(self, rng: np.random.Generator, temperature: float) -> np.ndarray:
        noise = rng.standard_normal(self.mean.shape)
        return self._action(self.mean + temperature * self.std * noise)

    def kl(self, other: DiagGaussian) -> float:
        _same_kind(self, other)
        return gaussian_kl(self.mean, self.std, other.mean, other.std)

    def hellinger(self, other: DiagGaussian) -> float:
        _same_kind(self, other)
        return gaussian_hellinger(self.mean, self.std, other.mean, other.std)


def gaussian_kl(mean1: Any, std1: Any, mean2: Any, std2: Any) -> float:
    """``KL(N(mean1, diag std1^2) || N(mean2, diag std2^2))`` in nats, closed form."""
    m1, s1 = np.asarray(mean1, dtype=np.float64), np.asarray(std1, dtype=np.float64)
    m2, s2 = np.asarray(mean2, dtype=np.float64), np.asarray(std2, dtype=np.float64)
    terms = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    return max(float(np.sum(terms)), 0.0)


def gaussian_bhattacharyya(mean1: Any, std1: Any, mean2: Any, std2: Any) -> float:
    """Bhattacharyya distance ``-ln BC`` of two diagonal Gaussians, closed form, in ``[0, inf)``."""
    m1, s1 = np.asarray(mean1, dtype=np.float64), np.asarray(std1, dtype=np.float64)
    m2, s2 = np.asarray(mean2, dtype=np.float64), np.asarray(std2, dtype=np.float64)
    variance = s1**2 + s2**2
    terms = (m1 - m2) ** 2 / (4 * variance) + 0.5 * np.log(variance / (2 * s1 * s2))
    return max(float(np.sum(terms)), 0.0)


def gaussian_hellinger(mean1: Any, std1: Any, mean2: Any, std2: Any) -> float:
    """Hellinger distance ``sqrt(1 - exp(-Bhattacharyya))`` of two diagonal Gaussians, in [0, 1]."""
    coefficient = math.exp(-gaussian_bhattacharyya(mean1, std1, mean2, std2))
    return min(math.sqrt(max(1.0 - coefficient, 0.0)), 1.0)


@dataclass(frozen=True)
class SquashedDiagGaussian(DiagGaussian):
    """SAC's policy: ``tanh`` of ``N(mean, std^2)``, rescaled from ``[-1, 1]`` to ``[low, high]``.

    ``mean`` and ``std`` are the pre-``tanh`` Gaussian's. ``greedy`` is the
    rescaled ``tanh(mean)`` (SB3's ``deterministic=True``), ``sample`` the
    rescaled ``tanh(mean + T * std * z)``: the temperature scales the
    pre-``tanh`` standard deviation. ``tanh`` followed by the affine rescaling
    is a bijection onto the open box, and KL and Hellinger (like every
    f-divergence) are unchanged by a bijection applied to both distributions,
    so the KL and Hellinger of two squashed Gaussians equal those of their
    pre-``tanh`` Gaussians, computed in closed form, exactly.
    """

    kind: ClassVar[str] = "squashed gaussian"

    def _action(self, raw: np.ndarray) -> np.ndarray:
        scaled = self.low + 0.5 * (np.tanh(raw) + 1.0) * (self.high - self.low)
        return np.clip(scaled, self.low, self.high).astype(np.float32)


@dataclass(frozen=True)
class DeterministicActor(DiagGaussian):
    """TD3's policy as it explores: the actor's ``mu(s)`` plus Gaussian noise, clipped to the Box.

    A deterministic actor has no distribution of its own, so what is measured
    is the behaviour policy TD3 trains with, ``N(mu(s), sigma^2)`` in action
    units: ``mean`` is ``mu(s)`` and ``std`` is ``sigma``, the model's
    ``NormalActionNoise`` scale (a fraction of the half-range, as SB3 adds it to
    actions scaled to ``[-1, 1]``) times the half-range, or
    :data:`DEFAULT_EXPLORATION_STD` of the half-range when the model has none.
    ``greedy`` is ``mu(s)`` (SB3's ``predict``, which never adds noise),
    ``sample`` is ``mu(s) + T * sigma * z`` clipped: the temperature scales
    ``sigma``. With the same ``sigma`` on both sides the KL is
    ``sum (mu1 - mu2)^2 / (2 sigma^2)``: the squared distance of the two
    actors' actions in units of the exploration noise.
    """

    kind: ClassVar[str] = "deterministic actor"


@dataclass(frozen=True)
class UniformBox:
    """The uniformly random policy on a bounded Box (the random reference on Box actions).

    ``sample`` draws ``rng.uniform(low, high)`` whatever the temperature > 0 (a
    uniform distribution has no scale to temper); ``greedy`` is the Box's
    centre, its mean. It has no KL to a policy of another kind.
    """

    low: np.ndarray
    high: np.ndarray
    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        low, high = np.asarray(self.low, np.float64), np.asarray(self.high, np.float64)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(
                f"the uniformly random policy needs a bounded Box, got bounds {low} to {high}"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def greedy(self) -> np.ndarray:
        return (0.5 * (self.low + self.high)).astype(np.float32)

    def sample(self, rng: np.random.Generator, temperature: float) -> np.ndarray:
        return rng.uniform(self.low, self.high).astype(np.float32)

    def kl(self, other: UniformBox) -> float:
        _same_kind(self, other)
        if np.array_equal(self.low, other.low) and np.array_equal(self.high, other.high):
            return 0.0
        raise ValueError("KL between uniform distributions on different boxes is not supported")


@dataclass(frozen=True)
class PointMass:
    """One fixed action at every temperature: a scripted policy on Box actions.

    The KL of two point masses is 0 where they agree and infinite otherwise.
    """

    action: np.ndarray
    kind: ClassVar[str] = "point mass"

    def greedy(self) -> np.ndarray:
        return np.asarray(self.action, dtype=np.float32)

    def sample(self, rng: np.random.Generator, temperature: float) -> np.ndarray:
        return self.greedy()

    def kl(self, other: PointMass) -> float:
        _same_kind(self, other)
        return 0.0 if np.array_equal(self.greedy(), other.greedy()) else math.inf
