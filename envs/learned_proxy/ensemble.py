"""Fitted reward models as numpy arrays, and ensembles of them with a pessimistic aggregate.

Predictions run in numpy (float32, as fitted), not torch: an environment step
calls the model on a single observation, where a torch call costs tens of
microseconds of overhead and numpy a few. :class:`MLPWeights` holds one
exported member (from :meth:`proxygym.envs.learned_proxy.model.RewardModel.to_numpy`);
:class:`RewardEnsemble` stacks the members so one matrix product serves all
of them, and aggregates their predictions (Coste et al. 2023):

- ``"mean"``: the average member;
- ``"min"``: the worst-case member;
- ``"lcb"``: ``mean - lcb_lambda * std`` over members (population std, ddof 0),
  a lower confidence bound that penalises disagreement.

This module needs no torch, so environments built on it import quickly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from proxygym.core import check_knob

Aggregate = Literal["mean", "min", "lcb"]
AGGREGATES: tuple[str, ...] = ("mean", "min", "lcb")

#: Rows per chunk in batched prediction: bounds the size of intermediate arrays.
_CHUNK = 4096
#: Entries kept by :meth:`RewardEnsemble.step_reward`'s memo before it starts afresh.
STEP_CACHE_SIZE = 1 << 16


@dataclass(frozen=True)
class MLPWeights:
    """One fitted per-step reward MLP as float64 arrays.

    The feature standardisation and the centring offset of the fit are folded
    into the first and last layers, so the network applies to raw step features.

    Attributes:
        weights: per layer, an ``(inputs, outputs)`` matrix; ReLU between layers.
        biases: per layer, an ``(outputs,)`` vector; the last layer has one output.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @property
    def n_features(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def depth(self) -> int:
        """Number of hidden layers (0: a linear model)."""
        return len(self.weights) - 1

    @property
    def width(self) -> int:
        """Units per hidden layer (1 for a linear model)."""
        return int(self.weights[0].shape[1])


class RewardEnsemble:
    """``k`` reward models of one architecture, predicting per step and aggregated.

    Args:
        members: the exported members, all with the same ``n_features``,
            ``width`` and ``depth``.
        aggregate: ``"mean"``, ``"min"`` or ``"lcb"`` (see the module docstring).
        lcb_lambda: the ``lambda`` of ``"lcb"`` (finite, >= 0).

    With one member every aggregate is that member's prediction.
    """

    def __init__(
        self, members: Sequence[MLPWeights], aggregate: Aggregate = "mean", lcb_lambda: float = 1.0
    ) -> None:
        if not members:
            raise ValueError("members must hold at least one fitted model")
        shapes = {(m.n_features, m.width, m.depth) for m in members}
        if len(shapes) != 1:
            raise ValueError(f"members must share one architecture, got (F, width, depth) {shapes}")
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        self.members = tuple(members)
        self.aggregate: Aggregate = aggregate
        self.lcb_lambda = check_knob("lcb_lambda", lcb_lambda)
        self.n_features, self.width, self.depth = shapes.pop()
        self._step_cache: dict[tuple[bytes, int], float] = {}
        # Stacked in float32 (as fitted): one product serves every member.
        first_w = np.concatenate([m.weights[0] for m in members], axis=1)
        first_b = np.concatenate([m.biases[0] for m in members])
        self._first_w = first_w.astype(np.float32)
        self._first_b = first_b.astype(np.float32)
        # The per-step path adds an action's row and the bias in one go.
        self._first_w_plus_b = (first_w + first_b).astype(np.float32)
        self._hidden = [
            (
                np.stack([m.weights[i] for m in members]).astype(np.float32),
                np.stack([m.biases[i] for m in members]).astype(np.float32)[:, None, :],
            )
            for i in range(1, self.depth)
        ]
        if self.depth:
            # Block-diagonal (k * width, k): every member's output layer in one product.
            out_block = np.zeros((len(members) * self.width, len(members)))
            for i, member in enumerate(members):
                out_block[i * self.width : (i + 1) * self.width, i] = member.weights[-1][:, 0]
            self._out_block = out_block.astype(np.float32)
            self._out_b = np.array([m.biases[-1][0] for m in members], dtype=np.float32)

    def __len__(self) -> int:
        return len(self.members)

    def with_aggregate(self, aggregate: Aggregate, lcb_lambda: float = 1.0) -> RewardEnsemble:
        """The same members with another aggregate (no refitting).

        ``self`` when nothing changes. A single member predicts the same under
        every aggregate, so its copies share :meth:`step_reward`'s memo.
        """
        if aggregate == self.aggregate and lcb_lambda == self.lcb_lambda:
            return self
        ensemble = RewardEnsemble(self.members, aggregate, lcb_lambda)
        if len(self) == 1:
            ensemble._step_cache = self._step_cache
        return ensemble

    def warm_step_cache(
        self, observations: np.ndarray, n_actions: int, max_observations: int = 2048
    ) -> None:
        """Fill :meth:`step_reward`'s memo for the commonest observations and every action.

        Used with the observations a model was fit on: an agent early in
        training visits much the same states, so its steps start as lookups.
        The values are computed by :meth:`step_reward` itself, so a warmed
        entry is exactly what the step would have computed.

        Args:
            observations: ``(..., observation size)`` observations.
            n_actions: the number of discrete actions.
            max_observations: at most this many distinct observations are
                warmed, the most frequent first, which bounds the cost (about
                10 us per entry) where observations rarely repeat.
        """
        observations = np.asarray(observations, dtype=np.float32)
        # Counted by their bytes (the memo's key): much faster than np.unique on wide rows.
        counts = Counter(row.tobytes() for row in observations.reshape(-1, observations.shape[-1]))
        limit = min(max_observations, (STEP_CACHE_SIZE - len(self._step_cache)) // n_actions)
        for row_bytes, _ in counts.most_common(max(limit, 0)):
            row = np.frombuffer(row_bytes, dtype=np.float32)
            for action in range(n_actions):
                self.step_reward(row, action)

    def predict_members(self, features: np.ndarray) -> np.ndarray:
        """Every member's per-step reward for ``(..., F)`` features: ``(k, ...)``.

        Computed in float32, the precision of the fit, and returned as float64.
        """
        features = np.asarray(features)
        if features.shape[-1:] != (self.n_features,):
            raise ValueError(
                f"features must end in {self.n_features} features, got shape {features.shape}"
            )
        flat = features.reshape(-1, self.n_features)
        out = np.empty((len(self), flat.shape[0]))
        for start in range(0, flat.shape[0], _CHUNK):
            chunk = flat[start : start + _CHUNK]
            first = chunk.astype(np.float32, copy=False) @ self._first_w + self._first_b
            out[:, start : start + chunk.shape[0]] = self._forward(first).T
        return out.reshape(len(self), *features.shape[:-1])

    def combine(self, member_values: np.ndarray) -> np.ndarray:
        """Aggregate ``(k, ...)`` member values over the first axis."""
        if len(self) == 1:
            return member_values[0]
        if self.aggregate == "min":
            return member_values.min(axis=0)
        mean = member_values.mean(axis=0)
        if self.aggregate == "mean":
            return mean
        return mean - self.lcb_lambda * member_values.std(axis=0)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The aggregated per-step reward for ``(..., F)`` features: ``(...)``."""
        return self.combine(self.predict_members(features))

    def step_reward(self, observation: Any, action: int) -> float:
        """The aggregated reward of taking ``action`` in ``observation`` (the fast per-step path).

        Equals ``predict(step_features(observation, action, n_actions))`` up
        to float32 rounding, but adds the action's row of the first layer
        instead of multiplying by a one-hot vector and works on one row.

        Memoised on the observation's bytes and the action: the gridworlds
        and Pandemic revisit the same few thousand observations, so most steps
        are a dictionary lookup (about 1 us) instead of the forward pass
        (about 7-10 us). PPO on the default ``LearnedProxy-v0`` (Pandemic,
        memo warmed by :meth:`warm_step_cache`, shared by the 8 copies) finds
        89 % of its first 16k steps and 94 % of 100k in the memo. The memo
        holds at most :data:`STEP_CACHE_SIZE` entries and starts afresh when
        full, so observations that never repeat cost a little time, never
        correctness.
        """
        as_float32 = np.asarray(observation, dtype=np.float32)
        key = (as_float32.tobytes(), action)  # C-order bytes: the same for any shape
        cached = self._step_cache.get(key)
        if cached is not None:
            return cached
        flat = as_float32.reshape(-1)
        size = flat.size
        first = flat @ self._first_w[:size] + self._first_w_plus_b[size + action]
        reward = float(self.combine(self._forward(first)))
        if len(self._step_cache) >= STEP_CACHE_SIZE:
            self._step_cache.clear()
        self._step_cache[key] = reward
        return reward

    def _forward(self, first: np.ndarray) -> np.ndarray:
        """``(..., k * width)`` first-layer pre-activations -> ``(..., k)`` member rewards."""
        if not self.depth:
            return first
        k, width = len(self), self.width
        hidden = np.maximum(first, 0.0)
        for weight, bias in self._hidden:
            per_member = hidden.reshape(-1, k, width).transpose(1, 0, 2)  # (k, N, width)
            out = np.maximum(per_member @ weight + bias, 0.0)
            hidden = out.transpose(1, 0, 2).reshape(first.shape)
        return hidden @ self._out_block + self._out_b
