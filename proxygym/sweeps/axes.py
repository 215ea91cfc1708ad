"""Optimization-pressure axes: named ways of turning up how hard the proxy is optimized.

Each axis maps a level to a training or evaluation setting. ``shared_run``
axes get every level from one training run per seed (checkpoints along
training, evaluation temperatures, or candidates selected among); the others
train a separate run per level. An environment can declare its own axes by
naming constructor kwargs in its class attribute ``pressure_axes`` (for
instance action resolution or observation noise); a level of such an axis is
the kwarg's value. The misspecification knobs on an environment's card
(``card.knobs``) can be swept the same way: not pressure, but the other axis
of a misspecification surface, and a labelled set of honest and gaming
policies for :mod:`proxygym.analysis.detect`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from proxygym.registry import env_class


@dataclass(frozen=True)
class PressureAxis:
    """One axis of optimization pressure.

    Attributes:
        name: the axis name used in sweep configs.
        description: what a level means.
        shared_run: whether one training run per seed serves every level.
        env_kwarg: for environment-declared axes, the kwarg a level sets.
    """

    name: str
    description: str
    shared_run: bool
    env_kwarg: str | None = None

    def check_level(self, level: Any, timesteps: int) -> None:
        """Raise ValueError naming the problem when ``level`` is not valid on this axis."""
        if self.env_kwarg is not None:
            return  # the environment's constructor validates its own kwargs
        is_int = isinstance(level, int) and not isinstance(level, bool)
        is_number = isinstance(level, (int, float)) and not isinstance(level, bool)
        if self.name == "timesteps" and not (is_int and 0 <= level <= timesteps):
            raise ValueError(
                f"timesteps levels are checkpoints: integers from 0 to timesteps ({timesteps}), "
                f"got {level!r}"
            )
        if self.name in ("width", "depth", "best_of_n") and not (is_int and level >= 1):
            raise ValueError(f"{self.name} levels must be integers >= 1, got {level!r}")
        if self.name == "temperature" and not (is_number and math.isfinite(level) and level >= 0):
            raise ValueError(f"temperature levels must be finite numbers >= 0, got {level!r}")


AXES: dict[str, PressureAxis] = {
    axis.name: axis
    for axis in (
        PressureAxis(
            "timesteps",
            "training steps: checkpoints of one run, evaluated along training (0 = untrained)",
            shared_run=True,
        ),
        PressureAxis("width", "units per hidden layer of the policy and value networks", False),
        PressureAxis("depth", "hidden layers of the policy and value networks", False),
        PressureAxis(
            "temperature",
            "evaluation-time softmax temperature over the policy's logits (0 = greedy)",
            shared_run=True,
        ),
        PressureAxis(
            "best_of_n",
            "best of n trained candidates, selected by proxy return on held-out episodes",
            shared_run=True,
        ),
    )
}

#: Defaults for the network axes when the other dimension is not swept.
DEFAULT_WIDTH = 64
DEFAULT_DEPTH = 2


def env_axes(env_id: str) -> tuple[str, ...]:
    """The pressure axes ``env_id`` declares (names of its constructor kwargs)."""
    return tuple(getattr(env_class(env_id), "pressure_axes", ()))


def env_knobs(env_id: str) -> tuple[str, ...]:
    """The misspecification knobs on ``env_id``'s card (names of its constructor kwargs)."""
    card = getattr(env_class(env_id), "card", None)
    return tuple(card.knobs) if card is not None else ()


def get_axis(name: str, env_id: str) -> PressureAxis:
    """The axis called ``name``, built in or declared by ``env_id``."""
    if name in AXES:
        return AXES[name]
    declared = env_axes(env_id)
    if name in declared:
        return PressureAxis(
            name, f"environment kwarg {name!r} of {env_id}", shared_run=False, env_kwarg=name
        )
    knobs = env_knobs(env_id)
    if name in knobs:
        return PressureAxis(
            name, f"misspecification knob {name!r} of {env_id}", shared_run=False, env_kwarg=name
        )
    raise ValueError(
        f"unknown pressure axis {name!r} for {env_id}; built in: {sorted(AXES)}; "
        f"declared by the environment: {sorted(declared) or 'none'}; "
        f"its misspecification knobs: {sorted(knobs) or 'none'}"
    )


def net_arch(algo: str, width: int, depth: int) -> Any:
    """SB3 ``net_arch`` with ``depth`` hidden layers of ``width`` units."""
    layers = [width] * depth
    return layers if algo == "dqn" else {"pi": layers, "vf": layers}
