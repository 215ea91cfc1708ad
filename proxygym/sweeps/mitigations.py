"""Mitigations of a sweep's ``[mitigation]`` table: one class each, one registry.

A mitigation holds the agents trained on the proxy back from over-optimizing
it (never the oracle). Each class in :data:`MITIGATIONS` validates its entry
of the table, with errors that name the key, and builds the training callback
(the callbacks themselves are in :mod:`proxygym.agents.mitigations`, imported
only when one is built, so validating a config needs neither torch nor
stable-baselines3)::

    [mitigation]
    kl_penalty = 0.05              # PPO/A2C: reward - 0.05 x KL(pi || pi_init); 0 = off
                                   # (softmax KL on Discrete, Gaussian KL on Box actions)

    [mitigation.early_stopping]    # stop when true-objective labels stop improving
    check_every = 10_000           # timesteps between checks
    episodes_per_check = 5         # true-labelled evaluation episodes per check
    patience = 2                   # checks without improvement before stopping
    max_labels = 20_000            # optional cap on true-reward labels
    min_delta = 0.0                # optional: improvement needed to count
    restore_best = true            # end with the best checked policy (default true)

Adding a mitigation is a subclass of :class:`Mitigation` decorated with
:func:`register_mitigation`; :mod:`proxygym.sweeps.config` and
:mod:`proxygym.sweeps.training` iterate the registry, in its order (which is
the order the callbacks run in).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from stable_baselines3.common.callbacks import BaseCallback

#: ``fail(key, problem)``: the exception to raise for a bad ``key`` (it names the file too).
Fail = Callable[[str, str], Exception]

#: Reset seeds of early stopping's true-labelled checks start here (plus 1000 x the run's
#: seed): disjoint from the seeds of evaluation and of best-of-n's held-out episodes.
EARLY_STOPPING_SEED_BASE = 9_000_000


def non_negative_number(value: Any, fail: Fail, key: str) -> float:
    """``value`` as a float, or ``fail(key, ...)`` unless it is a finite number >= 0."""
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise fail(key, f"must be a finite number >= 0, got {value!r}")
    return float(value)


def positive_int(value: Any, fail: Fail, key: str) -> int:
    """``value``, or ``fail(key, ...)`` unless it is an integer >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise fail(key, f"must be an integer >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class TrainingRun:
    """What a mitigation's callback may need to know about the run it joins."""

    env: str
    env_kwargs: dict[str, Any]
    algo: str
    seed: int
    eval_temperature: float


class Mitigation:
    """One entry of the ``[mitigation]`` table. Subclasses set ``name`` and override the rest.

    ``action_spaces`` names the kinds of action space (Gymnasium space class
    names) the mitigation works on; a config using it on another kind is
    refused when it is loaded.
    """

    name: str
    action_spaces: tuple[str, ...] = ("Discrete", "Box")

    @property
    def key(self) -> str:
        """The entry's key in error messages."""
        return f"mitigation.{self.name}"

    def resolve(self, entry: Any, algo: str, fail: Fail) -> Any | None:
        """The validated setting of the table's ``entry``; None when it switches this off."""
        raise NotImplementedError

    def callback(self, setting: Any, run: TrainingRun) -> BaseCallback:
        """The training callback for a resolved ``setting``."""
        raise NotImplementedError

    def true_labels(self, callback: BaseCallback) -> int:
        """True-objective labels ``callback`` has read so far (the mitigation's price)."""
        return 0


#: Every mitigation, by its key in the ``[mitigation]`` table, in callback order.
MITIGATIONS: dict[str, Mitigation] = {}

MitigationClass = TypeVar("MitigationClass", bound=type[Mitigation])


def register_mitigation(cls: MitigationClass) -> MitigationClass:
    """Class decorator: add an instance of ``cls`` to :data:`MITIGATIONS` under ``cls.name``."""
    MITIGATIONS[cls.name] = cls()
    return cls


@register_mitigation
class KLPenaltyMitigation(Mitigation):
    """``kl_penalty = coef``: :class:`~proxygym.agents.mitigations.KLPenalty` (PPO, A2C)."""

    name = "kl_penalty"

    def resolve(self, entry: Any, algo: str, fail: Fail) -> Any | None:
        coef = non_negative_number(entry, fail, self.key)
        if coef == 0:
            return None
        if algo not in ("ppo", "a2c"):
            raise fail(self.key, f"needs an on-policy algorithm (ppo, a2c), not {algo}")
        return coef

    def callback(self, setting: Any, run: TrainingRun) -> BaseCallback:
        from proxygym.agents.mitigations import KLPenalty

        return KLPenalty(setting)


@register_mitigation
class EarlyStoppingMitigation(Mitigation):
    """``[mitigation.early_stopping]``: :class:`~proxygym.agents.TrueLabelEarlyStopping`."""

    name = "early_stopping"
    REQUIRED = ("check_every", "episodes_per_check", "patience")
    SETTINGS = (*REQUIRED, "max_labels", "min_delta", "restore_best")

    def resolve(self, entry: Any, algo: str, fail: Fail) -> Any | None:
        if not isinstance(entry, dict):
            raise fail(self.key, f"must be a table, got {entry!r}")
        for key in entry:
            if key not in self.SETTINGS:
                raise fail(
                    f"{self.key}.{key}",
                    f"is not an early-stopping setting; expected one of {self.SETTINGS}",
                )
        settings: dict[str, Any] = {}
        for key in self.REQUIRED:
            if key not in entry:
                raise fail(f"{self.key}.{key}", "is missing")
            settings[key] = positive_int(entry[key], fail, f"{self.key}.{key}")
        if "max_labels" in entry:
            settings["max_labels"] = positive_int(
                entry["max_labels"], fail, f"{self.key}.max_labels"
            )
        settings["min_delta"] = non_negative_number(
            entry.get("min_delta", 0.0), fail, f"{self.key}.min_delta"
        )
        restore_best = entry.get("restore_best", True)
        if not isinstance(restore_best, bool):
            raise fail(f"{self.key}.restore_best", f"must be true or false, got {restore_best!r}")
        settings["restore_best"] = restore_best
        return settings

    def callback(self, setting: Any, run: TrainingRun) -> BaseCallback:
        from proxygym.agents.mitigations import TrueLabelEarlyStopping

        return TrueLabelEarlyStopping(
            run.env,
            env_kwargs=run.env_kwargs,
            temperature=run.eval_temperature,
            seed=EARLY_STOPPING_SEED_BASE + 1000 * run.seed,
            **setting,
        )

    def true_labels(self, callback: BaseCallback) -> int:
        return int(callback.labels_used)  # type: ignore[attr-defined]


def resolve_mitigations(
    table: Any, algo: str, fail: Fail, env: str = "", space_kind: str | None = None
) -> dict[str, Any]:
    """The validated ``[mitigation]`` table, with switched-off entries dropped.

    With ``space_kind`` (the environment ``env``'s action space class name),
    a mitigation that does not work on that kind of action is refused.
    """
    if not isinstance(table, dict):
        raise fail("mitigation", f"must be a table, got {table!r}")
    for key in table:
        if key not in MITIGATIONS:
            raise fail(
                f"mitigation.{key}", f"is not a mitigation; expected one of {tuple(MITIGATIONS)}"
            )
    resolved: dict[str, Any] = {}
    for name, mitigation in MITIGATIONS.items():
        if name in table:
            setting = mitigation.resolve(table[name], algo, fail)
            if setting is None:
                continue
            if space_kind is not None and space_kind not in mitigation.action_spaces:
                raise fail(
                    mitigation.key,
                    f"needs {' or '.join(mitigation.action_spaces)} actions; {env} has "
                    f"{space_kind} actions ({algo.upper()}): drop it for this environment",
                )
            resolved[name] = setting
    return resolved


class AppliedMitigations:
    """The callbacks of a config's resolved mitigations, built per training run, and their price."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.built: list[tuple[Mitigation, BaseCallback]] = []

    def callbacks(self, run: TrainingRun) -> list[BaseCallback]:
        """Callbacks for one training run, in registry order (none when ``settings`` is empty)."""
        callbacks = []
        for name, mitigation in MITIGATIONS.items():
            if name in self.settings:
                callback = mitigation.callback(self.settings[name], run)
                self.built.append((mitigation, callback))
                callbacks.append(callback)
        return callbacks

    def true_labels(self) -> int:
        """True-objective labels every callback built so far has read."""
        return sum(mitigation.true_labels(callback) for mitigation, callback in self.built)
