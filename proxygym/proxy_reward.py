"""ProxyReward: any Gymnasium environment as a proxy/true pair built from named terms.

A *term* is one number per step: the environment's own reward (``"reward"``),
a number it puts in ``info`` (``"info:<key>"``), or a function of the step
(``Term.fn(name, function)``, given a :class:`Transition`). The proxy and the
true objective are weighted sums of terms, so each of Pan, Bhatia &
Steinhardt's (2022) kinds of misspecification, and added noise, is one line::

    ProxyReward(env, proxy={"info:reward_forward": 1.0, "info:reward_ctrl": 0.1})  # misweighting
    ProxyReward(env, proxy={Term.fn("tip_height", tip_height): 1.0})  # ontological swap
    ProxyReward(env, proxy={"info:x_velocity": 1.0})  # limited scope
    ProxyReward(env, proxy={"reward": 1.0}, noise=0.5)  # noise (regressional)

The true objective defaults to the environment's own reward. The wrapped
environment follows the proxygym contract (:mod:`proxygym.core`), so it can be
registered under a new id and trained, evaluated and swept like any other.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Discrete

from proxygym.core import check_knob, reset_info

#: Mixed into the noise generator's seed, so the noise stream differs from the environment's.
_NOISE_STREAM = 0x9E3779B9
_INFO_PREFIX = "info:"
_isfinite = math.isfinite
_INT64 = np.int64
_new_tuple: Any = tuple.__new__


class Transition(NamedTuple):
    """One step, as the function terms see it.

    Attributes:
        observation: the observation the action was chosen on.
        action: the action taken.
        next_observation: the observation the step returned.
        reward: the environment's own reward for the step.
        terminated: whether the step ended the episode in a terminal state.
        truncated: whether the environment truncated the episode at this step.
        info: the environment's ``info`` for the step.
    """

    observation: Any
    action: Any
    next_observation: Any
    reward: float
    terminated: bool
    truncated: bool
    info: Mapping[str, Any]


@dataclass(frozen=True)
class Term:
    """One named number per step that proxy and true rewards are weighted sums of.

    Build terms with :meth:`reward`, :meth:`info` and :meth:`fn`; a string
    ``"reward"`` or ``"info:<key>"`` stands for the first two wherever a term
    is expected.
    """

    name: str
    source: str
    key: str | None = None
    function: Callable[[Transition], float] | None = None

    @classmethod
    def reward(cls) -> Term:
        """The wrapped environment's own reward."""
        return cls("reward", "reward")

    @classmethod
    def info(cls, key: str) -> Term:
        """The number the environment puts in ``info[key]`` (an error on a step without it)."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"an info term needs a non-empty key, got {key!r}")
        return cls(_INFO_PREFIX + key, "info", key=key)

    @classmethod
    def fn(cls, name: str, function: Callable[[Transition], float]) -> Term:
        """``function(transition)``, called once per step and named ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a function term needs a non-empty name, got {name!r}")
        if name == "reward" or name.startswith(_INFO_PREFIX):
            raise ValueError(f"the term name {name!r} is reserved; name function terms otherwise")
        if not callable(function):
            raise ValueError(f"term {name!r}: function must be callable, got {function!r}")
        return cls(name, "function", function=function)

    @classmethod
    def parse(cls, term: str | Term) -> Term:
        """``term`` itself, or the term a string names; a ValueError for anything else."""
        if isinstance(term, Term):
            return term
        if term == "reward":
            return cls.reward()
        if isinstance(term, str) and term.startswith(_INFO_PREFIX):
            return cls.info(term[len(_INFO_PREFIX) :])
        raise ValueError(
            f"unknown term {term!r}: use 'reward' (the environment's reward), "
            "'info:<key>' (a number the environment puts in info) or "
            "Term.fn(name, function) (a function of the step)"
        )

    def value(self, transition: Transition) -> float:
        """This term's value on ``transition``, as a float."""
        if self.source == "reward":
            return transition.reward
        if self.source == "info":
            info, key = transition.info, str(self.key)
            if key not in info:
                raise _missing_info(self.name, key, info)
            raw = info[key]
        else:
            assert self.function is not None
            raw = self.function(transition)
        return _number(self.name, raw)


def _number(name: str, raw: Any) -> float:
    """``float(raw)``, or a TypeError saying that term ``name`` must be a number."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise TypeError(f"term {name!r} must be a number, got {raw!r}") from None


def _missing_info(name: str, key: str, info: Mapping[str, Any]) -> KeyError:
    """The error for info term ``name`` on a step whose ``info`` has no ``key``."""
    return KeyError(
        f"term {name!r}: the environment put no {key!r} in info on this step; "
        f"info keys: {sorted(info)}"
    )


#: A Transition's ``reward``, the value of the reward term (``float`` already).
_reward_of = operator.itemgetter(Transition._fields.index("reward"))


def _value_function(term: Term) -> Callable[[Transition], float]:
    """``term.value``, specialised for stepping: the same values and errors, with fewer steps."""
    if type(term) is not Term:  # a subclass may compute values its own way
        return term.value
    if term.source == "reward":
        return _reward_of
    name = term.name
    if term.source == "info":
        key = str(term.key)

        def info_value(transition: Transition) -> float:
            info = transition.info
            if key not in info:
                raise _missing_info(name, key, info)
            raw = info[key]
            return raw if type(raw) is float else _number(name, raw)

        return info_value
    function = term.function
    assert function is not None

    def function_value(transition: Transition) -> float:
        raw = function(transition)
        # ``float`` of a float is the float itself, so only other types go through it.
        return raw if type(raw) is float else _number(name, raw)

    return function_value


def _values_function(
    functions: tuple[Callable[[Transition], float], ...],
) -> Callable[[Transition], list[float]]:
    """A function giving ``[f(transition) for f in functions]``, written out for up to three.

    A list comprehension costs about as much as a cheap term itself.
    """
    if len(functions) == 1:
        (first,) = functions
        return lambda transition: [first(transition)]
    if len(functions) == 2:
        first, second = functions
        return lambda transition: [first(transition), second(transition)]
    if len(functions) == 3:
        first, second, third = functions
        return lambda transition: [first(transition), second(transition), third(transition)]
    return lambda transition: [function(transition) for function in functions]


def _weights(role: str, weights: Mapping[str | Term, float]) -> dict[Term, float]:
    """``weights`` with every key parsed into a Term; ValueErrors name bad terms and weights."""
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"{role} must be a non-empty mapping of term to weight, got {weights!r}")
    parsed: dict[Term, float] = {}
    for key, weight in weights.items():
        term = Term.parse(key)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float, np.integer, np.floating))
            or not math.isfinite(weight)
        ):
            raise ValueError(
                f"weight of term {term.name!r} in {role} must be a finite number, got {weight!r}"
            )
        if term in parsed:
            raise ValueError(f"term {term.name!r} appears twice in {role}")
        parsed[term] = float(weight)
    return parsed


class ProxyReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Pay a weighted sum of terms as the proxy; report another as the true objective.

    ``step()`` returns the proxy as the reward and adds the contract's keys to
    ``info``: ``proxy_reward``, ``true_reward`` and the running sums
    ``episode_proxy_return`` and ``episode_true_return`` (reset by
    ``reset()``, whose ``info`` carries the four keys too, all 0.0). Every
    other ``info`` key is kept. Observations, actions and episode ends are
    the wrapped environment's, plus the ``max_steps`` limit if one is set.
    Stepping before ``reset()`` or after the episode ended (the wrapped
    environment terminated or truncated it, or ``max_steps`` did) raises
    :class:`gymnasium.error.ResetNeeded`, as a :class:`~proxygym.core.ProxyEnv`
    does.

    Args:
        env: any Gymnasium environment.
        proxy: term -> weight; a term is ``"reward"``, ``"info:<key>"`` or a
            :class:`Term`.
        true: term -> weight for the true objective; default ``{"reward":
            1.0}``, the environment's own reward.
        noise: standard deviation of Gaussian noise added to the proxy on
            every step (float >= 0, default 0). The noise has its own
            generator, seeded from ``reset(seed=...)``, so seeded rollouts
            repeat exactly and the environment's randomness is untouched.
        max_steps: truncate the episode after this many steps (a positive
            int), as a ``ProxyEnv`` truncates after its own ``max_steps``; the
            default None leaves episode ends to the wrapped environment. Set
            it to the registered limit when the wrapped environment has no
            ``TimeLimit`` of its own, so that the end of the episode is known
            here and a step after it is refused.

    Bad term names and bad weights raise a ValueError at construction; an
    ``info`` key the environment does not provide raises a KeyError, listing
    the keys it does provide, on the first step that lacks it. A term that is
    not a number raises a TypeError; a non-finite proxy or true reward a
    ValueError naming its terms.
    """

    def __init__(
        self,
        env: gym.Env,
        proxy: Mapping[str | Term, float],
        true: Mapping[str | Term, float] | None = None,
        noise: float = 0.0,
        max_steps: int | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, proxy=proxy, true=true, noise=noise, max_steps=max_steps
        )
        gym.Wrapper.__init__(self, env)
        self.proxy_weights = _weights("proxy", proxy)
        self.true_weights = _weights("true", {"reward": 1.0} if true is None else true)
        names: dict[str, Term] = {}
        for term in (*self.proxy_weights, *self.true_weights):
            if names.setdefault(term.name, term) != term:
                raise ValueError(f"two different terms are named {term.name!r}")
        self.terms: tuple[Term, ...] = tuple(names.values())
        # Stepping works on positions, not on Terms (hashing a dataclass is slow).
        position = {term: i for i, term in enumerate(self.terms)}
        self._values = _values_function(tuple(_value_function(term) for term in self.terms))
        self._proxy_sum = tuple((position[t], w) for t, w in self.proxy_weights.items())
        self._true_sum = tuple((position[t], w) for t, w in self.true_weights.items())
        self.noise = check_knob("noise", noise)
        if max_steps is not None and (
            not isinstance(max_steps, (int, np.integer))
            or isinstance(max_steps, bool)
            or max_steps < 1
        ):
            raise ValueError(f"max_steps must be a positive integer or None, got {max_steps!r}")
        self.max_steps = None if max_steps is None else int(max_steps)
        self.elapsed_steps = 0
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        self._observation: Any = None
        self._noise_rng: np.random.Generator | None = None
        self._needs_reset = True

    def __getstate__(self) -> dict[str, Any]:
        """The instance's attributes without ``_values`` (local functions, rebuilt from terms)."""
        attributes = self.__dict__.copy()
        del attributes["_values"]
        return attributes

    def __setstate__(self, attributes: dict[str, Any]) -> None:
        self.__dict__.update(attributes)
        self._values = _values_function(tuple(_value_function(term) for term in self.terms))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self._noise_rng = np.random.default_rng([seed, _NOISE_STREAM])
        elif self._noise_rng is None:
            self._noise_rng = np.random.default_rng()
        self._observation = observation
        self.elapsed_steps = 0
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        self._needs_reset = False
        return observation, {**info, **reset_info()}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                f"{type(self).__name__}.step() called before reset() or after the episode "
                "ended; call reset() first"
            )
        # Many Gymnasium envs index a table with the action, so -1 would quietly
        # be the last action; the contract wants invalid actions refused. Only
        # discrete spaces are checked: Box envs clip out-of-range actions themselves.
        space = self.action_space
        if isinstance(space, Discrete):
            kind = type(action)
            if kind is int or kind is _INT64:  # ``_in_discrete``'s fast path, without the call
                start = space.start
                valid = start <= action < start + space.n
            else:
                valid = _in_discrete(space, action)
            if not valid:
                raise ValueError(f"invalid action {action!r}: expected an integer in {space}")
        observation, reward, terminated, truncated, info = self.env.step(action)
        max_steps = self.max_steps
        if max_steps is not None:
            self.elapsed_steps = elapsed = self.elapsed_steps + 1
            if elapsed >= max_steps and not terminated:
                truncated = True
        if terminated or truncated:
            self._needs_reset = True
        # ``Transition(...)`` without the Python-level ``__new__`` namedtuple adds.
        transition: Transition = _new_tuple(
            Transition,
            (self._observation, action, observation, float(reward), terminated, truncated, info),
        )
        values = self._values(transition)
        # The weighted sums, each from 0.0 in the order the weights were given.
        proxy = 0.0
        for position, weight in self._proxy_sum:
            proxy += weight * values[position]
        if not _isfinite(proxy):
            raise self._not_finite(values, self._proxy_sum, "proxy")
        if self.noise > 0.0:
            if self._noise_rng is None:  # not after a reset (a subclass skipped it): unseeded
                self._noise_rng = np.random.default_rng()
            proxy += self.noise * float(self._noise_rng.standard_normal())
        true = 0.0
        for position, weight in self._true_sum:
            true += weight * values[position]
        if not _isfinite(true):
            raise self._not_finite(values, self._true_sum, "true")
        self._observation = observation
        self.episode_proxy_return = episode_proxy_return = self.episode_proxy_return + proxy
        self.episode_true_return = episode_true_return = self.episode_true_return + true
        if type(info) is dict:  # the same new dict as below, built faster
            info = info.copy()
            info["proxy_reward"] = proxy
            info["true_reward"] = true
            info["episode_proxy_return"] = episode_proxy_return
            info["episode_true_return"] = episode_true_return
        else:
            info = {
                **info,
                "proxy_reward": proxy,
                "true_reward": true,
                "episode_proxy_return": episode_proxy_return,
                "episode_true_return": episode_true_return,
            }
        return observation, proxy, terminated, truncated, info

    def render(self) -> Any:
        """The wrapped environment's frame; a missing renderer names the extra that brings it."""
        try:
            return self.env.render()
        except gym.error.DependencyNotInstalled as error:
            raise gym.error.DependencyNotInstalled(
                f"{error}; with proxygym: pip install -e '.[render]' in a proxygym checkout"
            ) from error

    def _not_finite(
        self, values: list[float], weights: tuple[tuple[int, float], ...], role: str
    ) -> ValueError:
        """The error for a non-finite ``role`` reward, naming its terms' ``values``."""
        terms = {self.terms[position].name: values[position] for position, _ in weights}
        return ValueError(f"the {role} reward is not finite on this step; its terms: {terms}")


def _in_discrete(space: gym.spaces.Discrete, action: Any) -> bool:
    """``space.contains(action)``, with a fast path for the ints agents pass.

    ``Discrete.contains`` costs a few microseconds, a noticeable share of a
    cheap environment's step; Python and numpy int64 actions skip it.
    """
    if type(action) is int or type(action) is np.int64:
        return bool(space.start <= action < space.start + space.n)
    return space.contains(action)
