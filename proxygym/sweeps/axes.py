"""Optimization-pressure axes: named ways of turning up how hard the proxy is optimized.

One class per axis, one registry (:data:`AXES`). An axis object owns
everything the rest of the sweep machinery asks about it:

- validating a level (:meth:`PressureAxis.check_level`);
- planning runs: ``shared_run`` axes get every level from one training run
  per seed (checkpoints along training, evaluation temperatures, or
  candidates selected among); the others train a separate run per level
  (:meth:`~PressureAxis.agent_runs`, :meth:`~PressureAxis.reference_runs`);
- applying a level: environment kwargs, training overrides, checkpoints,
  evaluation temperature, and candidates to select among (the hooks of
  :class:`PressureAxis`, read by :mod:`proxygym.sweeps.training`);
- reading results: its plot label, how a level reads in a sentence, and which
  record describes a cell's saved model.

Adding an axis is a subclass of :class:`PressureAxis` decorated with
:func:`register_axis`, in this file (or in a module a sweep's ``modules``
imports). An environment can declare its own axes by naming constructor
kwargs in its class attribute ``pressure_axes`` (for instance action
resolution or observation noise); a level of such an axis is the kwarg's
value. The misspecification knobs on an environment's card (``card.knobs``)
and the hack-difficulty dial (``card.dial``)
can be swept the same way: not pressure, but the other axis of a
misspecification surface or of a dial experiment, and a labelled set of honest and gaming policies
for :mod:`proxygym.analysis.detect`. Both are :class:`EnvKwargAxis`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from proxygym.registry import env_class

if TYPE_CHECKING:
    import pandas as pd

#: Defaults for the network axes when the other dimension is not swept.
DEFAULT_WIDTH = 64
DEFAULT_DEPTH = 2

#: One training run (or set of references) of a cell: its key's tag and the levels it covers.
Run = tuple[str, tuple[Any, ...]]


def _is_int(level: Any) -> bool:
    return isinstance(level, int) and not isinstance(level, bool)


def level_tag(level: Any) -> str:
    """``level`` as it appears in cell keys."""
    return json.dumps(level).replace('"', "").replace(" ", "")


class PressureAxis:
    """One axis of optimization pressure. Subclasses override the hooks that differ.

    Attributes:
        name: the axis name used in sweep configs and in every record's ``axis``.
        description: what a level means.
        label: the plots' axis label.
        shared_run: whether one training run per seed serves every level.
        env_kwarg: for environment axes, the kwarg a level sets.
        untrained_level: the level whose agent is the untrained policy (d = 0 of
            an overoptimization fit), if the axis has one.
        fit_form: the functional form of Gao et al.'s fit of the true-return
            gain against d = sqrt(KL): ``"bon"`` for best-of-n, ``"rl"`` otherwise.
        action_spaces: the kinds of action space (Gymnasium space class names)
            the axis applies to; a sweep config pairing it with another kind is
            refused when it is loaded. Every built-in axis applies to Discrete
            and Box actions (``temperature`` tempers a softmax on Discrete
            actions and scales the standard deviation on Box actions).
    """

    name: str
    description: str
    label: str
    shared_run: bool = False
    env_kwarg: str | None = None
    untrained_level: Any = None
    fit_form: Literal["rl", "bon"] = "rl"
    action_spaces: tuple[str, ...] = ("Discrete", "Box")

    # -- validating -----------------------------------------------------------
    def check_level(self, level: Any, timesteps: int) -> None:
        """Raise ValueError naming the problem when ``level`` is not valid on this axis."""

    # -- planning -------------------------------------------------------------
    def agent_runs(self, levels: Sequence[Any]) -> list[Run]:
        """The agent runs of one seed: one for every level, or one per level."""
        if self.shared_run:
            return [("", tuple(levels))]
        return [(f"-{self.name}{level_tag(level)}", (level,)) for level in levels]

    def reference_runs(self, levels: Sequence[Any]) -> list[Run]:
        """The references' runs: per level when a level changes the environment, else one."""
        if self.env_kwarg is None:
            return [("", ())]
        return [(f"-{self.name}{level_tag(level)}", (level,)) for level in levels]

    # -- applying a level -----------------------------------------------------
    def env_kwargs(self, env_kwargs: dict[str, Any], levels: Sequence[Any]) -> dict[str, Any]:
        """The environment kwargs of a run covering ``levels``."""
        return dict(env_kwargs)

    def training_overrides(self, levels: Sequence[Any], algo: str) -> dict[str, Any]:
        """Hyperparameter overrides of a run covering ``levels``."""
        return {}

    def checkpoints(self, levels: Sequence[Any]) -> list[int]:
        """Levels evaluated during training, once it has used that many steps (none here)."""
        return []

    def eval_temperature(self, level: Any) -> float | None:
        """The temperature ``level`` is evaluated at; None: the sweep's ``eval_temperature``."""
        return None

    def candidates(self, levels: Sequence[Any]) -> int | None:
        """How many candidates a run trains to select among; None: one, no selection."""
        return None

    def select(self, level: Any, scores: Sequence[float]) -> int:
        """The candidate evaluated for ``level``, given every candidate's held-out proxy return."""
        return 0

    def keep(self, scores: Sequence[float]) -> int:
        """The candidate whose model the sweep saves."""
        return 0

    # -- reading results ------------------------------------------------------
    def describe_level(self, level: Any, fmt: Callable[[Any], str] = str) -> str:
        """``level`` in a sentence ("at ..."), numbers formatted by ``fmt``."""
        return f"{self.name} = {fmt(level)}"

    def saved_model_record(self, records: pd.DataFrame, eval_temperature: float) -> pd.Series:
        """Which of a cell's records describes its saved model.

        A shared run records several levels: the saved model is the last one
        trained (the last checkpoint, the winner of the largest ``n``), so the
        record with the largest step and level.
        """
        return records.sort_values(["step", "level"]).iloc[-1]


#: The built-in axes, by name (environment axes are made by :func:`get_axis`).
AXES: dict[str, PressureAxis] = {}

AxisClass = TypeVar("AxisClass", bound=type[PressureAxis])


def register_axis(cls: AxisClass) -> AxisClass:
    """Class decorator: add an instance of ``cls`` to :data:`AXES` under ``cls.name``."""
    AXES[cls.name] = cls()
    return cls


@register_axis
class Timesteps(PressureAxis):
    """Checkpoints of one training run; a level is the training steps used."""

    name = "timesteps"
    description = "training steps: checkpoints of one run, evaluated along training (0 = untrained)"
    label = "training steps"
    shared_run = True
    untrained_level = 0

    def check_level(self, level: Any, timesteps: int) -> None:
        if not (_is_int(level) and 0 <= level <= timesteps):
            raise ValueError(
                f"timesteps levels are checkpoints: integers from 0 to timesteps ({timesteps}), "
                f"got {level!r}"
            )

    def checkpoints(self, levels: Sequence[Any]) -> list[int]:
        return list(levels)

    def describe_level(self, level: Any, fmt: Callable[[Any], str] = str) -> str:
        return f"{int(level):,} training steps"


def net_arch(algo: str, width: int, depth: int) -> Any:
    """SB3 ``net_arch`` with ``depth`` hidden layers of ``width`` units.

    DQN's is a list (its Q-network); the actor-critics' a dict of the policy
    network and its critic: the value network (``"vf"``) for PPO and A2C, the
    Q-networks (``"qf"``) for SAC and TD3.
    """
    layers = [width] * depth
    if algo == "dqn":
        return layers
    critic = "qf" if algo in ("sac", "td3") else "vf"
    return {"pi": layers, critic: list(layers)}


class _NetworkAxis(PressureAxis):
    """A size of the policy and value networks; one run per level."""

    def check_level(self, level: Any, timesteps: int) -> None:
        if not (_is_int(level) and level >= 1):
            raise ValueError(f"{self.name} levels must be integers >= 1, got {level!r}")

    def shape(self, level: int) -> tuple[int, int]:
        """(width, depth) of the network at ``level``."""
        raise NotImplementedError

    def training_overrides(self, levels: Sequence[Any], algo: str) -> dict[str, Any]:
        width, depth = self.shape(levels[0])
        return {"policy_kwargs": {"net_arch": net_arch(algo, width, depth)}}


@register_axis
class Width(_NetworkAxis):
    name = "width"
    description = "units per hidden layer of the policy and value networks"
    label = "network width (units per layer)"

    def shape(self, level: int) -> tuple[int, int]:
        return level, DEFAULT_DEPTH


@register_axis
class Depth(_NetworkAxis):
    name = "depth"
    description = "hidden layers of the policy and value networks"
    label = "network depth (hidden layers)"

    def shape(self, level: int) -> tuple[int, int]:
        return DEFAULT_WIDTH, level


@register_axis
class Temperature(PressureAxis):
    """One trained policy evaluated at several temperatures (see ``agents/distributions.py``)."""

    name = "temperature"
    description = (
        "evaluation-time temperature: of the softmax over the logits (Discrete actions) or "
        "scaling the standard deviation (Box actions); 0 = greedy (the mode, or the mean)"
    )
    label = "evaluation temperature"
    shared_run = True

    def check_level(self, level: Any, timesteps: int) -> None:
        is_number = isinstance(level, (int, float)) and not isinstance(level, bool)
        if not (is_number and math.isfinite(level) and level >= 0):
            raise ValueError(f"temperature levels must be finite numbers >= 0, got {level!r}")

    def eval_temperature(self, level: Any) -> float | None:
        return float(level)

    def saved_model_record(self, records: pd.DataFrame, eval_temperature: float) -> pd.Series:
        """The record nearest the temperature the saved model is rolled out at."""
        return records.loc[(records["level"].astype(float) - eval_temperature).abs().idxmin()]


def _best_of(n: int, scores: Sequence[float]) -> int:
    """The best of the first ``n`` candidates (ties to the earliest)."""
    return max(range(n), key=lambda i: (scores[i], -i))


@register_axis
class BestOfN(PressureAxis):
    """Best of n trained candidates, selected by proxy return on held-out episodes."""

    name = "best_of_n"
    description = "best of n trained candidates, selected by proxy return on held-out episodes"
    label = "best of n candidates"
    shared_run = True
    fit_form = "bon"

    def check_level(self, level: Any, timesteps: int) -> None:
        if not (_is_int(level) and level >= 1):
            raise ValueError(f"{self.name} levels must be integers >= 1, got {level!r}")

    def candidates(self, levels: Sequence[Any]) -> int | None:
        return max(levels)

    def select(self, level: Any, scores: Sequence[float]) -> int:
        return _best_of(level, scores)

    def keep(self, scores: Sequence[float]) -> int:
        return _best_of(len(scores), scores)


class EnvKwargAxis(PressureAxis):
    """An environment constructor kwarg: declared in ``pressure_axes`` or a card's knob.

    The environment's constructor validates the levels; the plot label is the kwarg's name.
    """

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self.label = name
        self.env_kwarg = name

    def env_kwargs(self, env_kwargs: dict[str, Any], levels: Sequence[Any]) -> dict[str, Any]:
        if not levels:
            return dict(env_kwargs)
        return {**env_kwargs, self.name: levels[0]}


def env_axes(env_id: str) -> tuple[str, ...]:
    """The pressure axes ``env_id`` declares (names of its constructor kwargs)."""
    return tuple(getattr(env_class(env_id), "pressure_axes", ()))


def env_knobs(env_id: str) -> tuple[str, ...]:
    """The misspecification knobs on ``env_id``'s card (names of its constructor kwargs)."""
    card = getattr(env_class(env_id), "card", None)
    return tuple(card.knobs) if card is not None else ()


def env_dial(env_id: str) -> str | None:
    """The hack-difficulty dial on ``env_id``'s card (a constructor kwarg), or None."""
    card = getattr(env_class(env_id), "card", None)
    return getattr(card, "dial", None)


def get_axis(name: str, env_id: str) -> PressureAxis:
    """The axis called ``name``, built in or declared by ``env_id``."""
    if name in AXES:
        return AXES[name]
    declared = env_axes(env_id)
    if name in declared:
        return EnvKwargAxis(name, f"environment kwarg {name!r} of {env_id}")
    knobs = env_knobs(env_id)
    if name in knobs:
        return EnvKwargAxis(name, f"misspecification knob {name!r} of {env_id}")
    if name == env_dial(env_id):
        return EnvKwargAxis(name, f"hack-difficulty dial {name!r} of {env_id}")
    raise ValueError(
        f"unknown pressure axis {name!r} for {env_id}; built in: {sorted(AXES)}; "
        f"declared by the environment: {sorted(declared) or 'none'}; "
        f"its misspecification knobs: {sorted(knobs) or 'none'}; "
        f"its hack-difficulty dial: {env_dial(env_id) or 'none'}"
    )


def recorded_axis(name: str) -> PressureAxis:
    """The axis a record's ``axis`` names, without its environment.

    A built-in axis, else an environment kwarg: for readers of results
    (labels, sentences), which need not be able to construct the environment.
    """
    return AXES.get(name) or EnvKwargAxis(name, f"environment kwarg {name!r}")


def axis_label(name: str) -> str:
    """The plot label of the axis a record's ``axis`` names."""
    return recorded_axis(name).label


class _AxisLabels(Mapping[str, str]):
    """The built-in axes' plot labels, read from :data:`AXES` whenever asked."""

    def __getitem__(self, name: str) -> str:
        return AXES[name].label

    def __iter__(self) -> Iterator[str]:
        return iter(AXES)

    def __len__(self) -> int:
        return len(AXES)


#: The built-in axes' plot labels by name (a live view of :data:`AXES`); prefer :func:`axis_label`.
AXIS_LABELS: Mapping[str, str] = _AxisLabels()
