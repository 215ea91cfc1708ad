"""The proxy/true contract every proxygym environment follows.

Every environment hands the agent a *proxy* reward (what it is trained on) and
reports the *hidden true objective* beside it, the same way, on every step:

- ``step()`` returns the proxy as ``reward`` and ``info["proxy_reward"]``
  equals it;
- ``info["true_reward"]`` is a finite float on every step, including the one
  that ends the episode;
- ``info["episode_proxy_return"]`` and ``info["episode_true_return"]`` hold the
  running sums of the current episode, so on the step that ends it (for any
  reason, including truncation by an outer ``TimeLimit``) they hold that
  episode's returns and ``Monitor(info_keywords=...)`` can log them;
- ``reset()`` returns the same four keys, all 0.0 (:func:`reset_info`), so
  clients that record or stack the infos of reset steps too (Gymnasium's
  vector environments, Minari's ``record_infos``) find them on every step;
- stepping before ``reset()`` or after the episode ended raises
  :class:`gymnasium.error.ResetNeeded`.

:class:`ProxyEnv` implements this bookkeeping once; a concrete environment only
implements :meth:`ProxyEnv._reset_state` and :meth:`ProxyEnv._advance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

#: A policy on Discrete actions as a function from one observation to the
#: unnormalised log-probabilities of each action (how evaluation, the detector
#: and reward-model data collection see a policy, whatever trained it). On any
#: action space, Box included, evaluation and the detector also take a function
#: from an observation to an action distribution
#: (``proxygym.agents.distributions.DistributionFn``: greedy action, tempered
#: sample, KL), which an array of logits stands for on Discrete actions.
LogitsFn = Callable[[np.ndarray], np.ndarray]

GoodhartVariant = Literal["regressional", "extremal", "causal", "adversarial"]
GOODHART_VARIANTS: tuple[str, ...] = ("regressional", "extremal", "causal", "adversarial")

#: Keys of the ``info`` dict that make up the contract.
INFO_KEYS: tuple[str, ...] = (
    "proxy_reward",
    "true_reward",
    "episode_proxy_return",
    "episode_true_return",
)
#: The episode sums among them: what ``Monitor(info_keywords=...)`` logs per episode.
EPISODE_KEYS: tuple[str, ...] = INFO_KEYS[2:]


def reset_info() -> dict[str, Any]:
    """The contract's ``info`` on ``reset()``: every :data:`INFO_KEYS` key, each 0.0.

    Nothing has been paid yet, so both rewards and both episode sums are 0.
    """
    return dict.fromkeys(INFO_KEYS, 0.0)


@dataclass(frozen=True)
class EnvCard:
    """What an environment measures, in one line each.

    Attributes:
        proxy: the visible reward the agent is trained on.
        true_objective: the hidden objective the designer actually wants.
        goodhart_variant: which of Manheim & Garrabrant's four variants the
            gap between them illustrates.
        knobs: constructor kwargs that set how misspecified the proxy is.
        dial: the constructor kwarg that sets how much optimization it takes
            to *find* the hack (the hack-difficulty dial), or None. At 0 the
            hack is as easy to find as the environment's original design; the
            honest behaviour stays equally easy at every setting, so a higher
            dial moves the point where the true return starts to fall later
            along the optimization pressure. Unlike a knob it does not change
            how misspecified the proxy is.
    """

    proxy: str
    true_objective: str
    goodhart_variant: GoodhartVariant
    knobs: tuple[str, ...] = ()
    dial: str | None = None

    def __post_init__(self) -> None:
        if self.goodhart_variant not in GOODHART_VARIANTS:
            raise ValueError(
                f"goodhart_variant must be one of {GOODHART_VARIANTS}, "
                f"got {self.goodhart_variant!r}"
            )


def check_knob(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is a finite number >= 0.

    Misspecification knobs are floats where 0 means "no gaming possible"; a
    bool, a string, NaN, infinity or a negative number is a mistake to report,
    not a setting to clamp.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_dial(name: str, value: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` unless it is an integer >= 0.

    Hack-difficulty dials (:attr:`EnvCard.dial`) count something (cells,
    steps, repetitions) where 0 means "as easy as the original design".
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ScriptedPolicy:
    """A stated hand-written policy that serves as a reference where no oracle or optimum does.

    ``act`` maps an observation to an action; it sees only what an agent sees.
    ``description`` says what it does, for reports. Sweeps evaluate it beside
    the random policy (policy ``"scripted"`` in the records), and the verdict
    rules use it as a reference only when it beats random
    (:mod:`proxygym.analysis.verdicts`, rule 3).
    """

    name: str
    act: Callable[[np.ndarray], int]
    description: str


class ProxyEnv(gym.Env[np.ndarray, np.int64]):
    """Base class owning the proxy/true bookkeeping and the episode limit.

    Subclasses set :attr:`card` and implement :meth:`_reset_state` and
    :meth:`_advance`. The episode is truncated by the environment itself after
    ``max_steps`` steps (the game's own limit, which the exact solver also uses
    as its horizon); the registered ``TimeLimit`` uses the same number.
    """

    card: ClassVar[EnvCard]
    #: Constructor kwargs that act as optimization-pressure axes in sweeps
    #: (for instance action resolution or observation noise).
    pressure_axes: ClassVar[tuple[str, ...]] = ()
    #: Lines of the ``ansi`` view that draw state the agent does not observe
    #: (``proxygym play`` masks them, so a human player sees what the agent sees).
    hidden_board_rows: ClassVar[tuple[int, ...]] = ()
    #: A stated scripted reference policy, where the environment has one
    #: (Pandemic: the reactive lockdown); see :class:`ScriptedPolicy`.
    scripted_reference: ClassVar[ScriptedPolicy | None] = None
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}

    def __init__(self, max_steps: int = 100, render_mode: str | None = None) -> None:
        if (
            not isinstance(max_steps, (int, np.integer))
            or isinstance(max_steps, bool)
            or max_steps < 1
        ):
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.elapsed_steps = 0
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        self._needs_reset = True

    # -- to implement -------------------------------------------------------
    def _reset_state(self, options: dict[str, Any] | None) -> np.ndarray:
        """Start a new episode (randomness from ``self.np_random``); return the observation."""
        raise NotImplementedError

    def _advance(self, action: int) -> tuple[np.ndarray, float, float, bool]:
        """Apply a validated action; return ``(observation, proxy, true, terminated)``."""
        raise NotImplementedError

    # -- Gymnasium API ------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.elapsed_steps = 0
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        self._needs_reset = False
        return self._reset_state(options), reset_info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                f"{type(self).__name__}.step() called before reset() or after the episode "
                "ended; call reset() first"
            )
        observation, proxy, true, terminated = self._advance(self._validate_action(action))
        self.elapsed_steps += 1
        self.episode_proxy_return += proxy
        self.episode_true_return += true
        truncated = not terminated and self.elapsed_steps >= self.max_steps
        if terminated or truncated:
            self._needs_reset = True
        info = {
            "proxy_reward": proxy,
            "true_reward": true,
            "episode_proxy_return": self.episode_proxy_return,
            "episode_true_return": self.episode_true_return,
        }
        return observation, proxy, terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; pass render_mode='ansi' or "
                "'rgb_array' to gym.make"
            )
            return None
        return self._render()

    def _render(self) -> str | np.ndarray:
        """The current frame for ``self.render_mode``: text for ``"ansi"``, an image otherwise."""
        raise NotImplementedError

    def _score_lines(self, number_format: str = "g") -> list[str]:
        """The text view's two score lines: the visible proxy and the labelled hidden return."""
        return [
            f"visible score (proxy reward):           {self.episode_proxy_return:{number_format}}",
            f"HIDDEN score (true objective, unseen):  {self.episode_true_return:{number_format}}",
        ]

    def _validate_action(self, action: Any) -> int:
        """Return ``action`` as an int, or raise a ValueError naming the problem."""
        if type(action) is int or isinstance(action, np.integer):  # the fast, common cases
            index = int(action)
        elif isinstance(action, np.ndarray) and action.ndim == 0 and action.dtype.kind in "iu":
            index = int(action)
        else:
            raise ValueError(
                f"invalid action {action!r} of type {type(action).__name__}: "
                f"expected an integer in {self.action_space}"
            )
        if not 0 <= index < self.action_space.n:  # type: ignore[attr-defined]
            raise ValueError(f"invalid action {index}: expected an integer in {self.action_space}")
        return index
