"""The exact model of an environment with a small state space: a finite-horizon MDP, two rewards.

An environment that can enumerate its states hands a :class:`TabularModel` to
the planners (:mod:`proxygym.planning`); the model is derived from the same
transition function the environment steps with, so the planners solve exactly
the game the agent plays.

- :class:`StateEnv` is an environment whose game is pure functions of a
  hashable state (initial states, a possibly random step rule, ``observe``).
- :class:`ModelEnv` is one whose rule is deterministic: it steps through a
  memo table and derives its :class:`TabularModel` from the same rule.
- :func:`model_reason` and :func:`exact_model` are the one way to ask any
  environment whether it has an exact model, and why not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

import gymnasium as gym
import numpy as np

from proxygym.core import ProxyEnv

Objective = Literal["proxy", "true"]
S = TypeVar("S", bound=Hashable)
StateT = TypeVar("StateT", bound=Hashable)


@dataclass(frozen=True)
class TabularModel:
    """A finite-horizon MDP with two reward functions.

    Transitions from state ``s`` under action ``a`` have up to ``K`` outcomes
    ``k``, each with probability ``probs[s, a, k]``, successor
    ``next_states[s, a, k]``, rewards ``proxy_rewards[s, a, k]`` and
    ``true_rewards[s, a, k]``, and flag ``terminal[s, a, k]`` (the episode ends
    on that transition). Unused outcome slots have probability 0.

    Attributes:
        states: the environment's own state objects; ``index`` maps back.
        initial: initial state distribution, shape ``(S,)``.
        horizon: number of steps in an episode (the environment's time limit).
    """

    states: tuple[Hashable, ...]
    initial: np.ndarray
    next_states: np.ndarray
    probs: np.ndarray
    proxy_rewards: np.ndarray
    true_rewards: np.ndarray
    terminal: np.ndarray
    horizon: int

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_actions(self) -> int:
        return int(self.next_states.shape[1])

    @property
    def index(self) -> dict[Hashable, int]:
        """State object to state index."""
        return {state: i for i, state in enumerate(self.states)}

    def rewards(self, objective: Objective) -> np.ndarray:
        """Per-outcome rewards of ``objective`` (``"proxy"`` or ``"true"``)."""
        if objective == "proxy":
            return self.proxy_rewards
        if objective == "true":
            return self.true_rewards
        raise ValueError(f"objective must be 'proxy' or 'true', got {objective!r}")

    @classmethod
    def from_deterministic(
        cls,
        initial: Sequence[tuple[float, S]],
        step: Callable[[S, int], tuple[S, float, float, bool]],
        n_actions: int,
        horizon: int,
    ) -> TabularModel:
        """Enumerate every state reachable from ``initial`` under ``step``.

        Args:
            initial: ``(probability, state)`` pairs.
            step: the game's deterministic rules,
                ``step(state, action) -> (next_state, proxy, true, terminated)``.
            n_actions: number of discrete actions.
            horizon: episode length in steps.
        """
        index: dict[S, int] = {}
        states: list[S] = []
        rows: list[list[tuple[int, float, float, bool]]] = []
        frontier: deque[S] = deque()

        def visit(state: S) -> int:
            if state not in index:
                index[state] = len(states)
                states.append(state)
                frontier.append(state)
            return index[state]

        initial_indices = [(visit(state), p) for p, state in initial]
        while frontier:
            state = frontier.popleft()
            row = []
            for action in range(n_actions):
                next_state, proxy, true, terminated = step(state, action)
                row.append((visit(next_state), float(proxy), float(true), bool(terminated)))
            rows.append(row)
        start = np.zeros(len(states))
        for i, p in initial_indices:
            start[i] += p
        table = np.array([[outcome[0] for outcome in row] for row in rows], dtype=np.int64)
        shape = (len(states), n_actions, 1)
        return cls(
            states=tuple(states),
            initial=start,
            next_states=table.reshape(shape),
            probs=np.ones(shape),
            proxy_rewards=np.array([[o[1] for o in row] for row in rows]).reshape(shape),
            true_rewards=np.array([[o[2] for o in row] for row in rows]).reshape(shape),
            terminal=np.array([[o[3] for o in row] for row in rows]).reshape(shape),
            horizon=horizon,
        )


@runtime_checkable
class TabularEnv(Protocol):
    """An environment that knows whether it has an exact tabular model.

    The contract: ``tabular_reason()`` is None exactly when ``tabular_model()``
    returns a model; otherwise it says why there is none, and
    ``tabular_model()`` raises NotImplementedError with that reason.
    """

    def tabular_reason(self) -> str | None: ...

    def tabular_model(self) -> TabularModel: ...


def model_reason(env: gym.Env[Any, Any]) -> str | None:
    """Why ``env`` has no exact tabular model, or None when it has one.

    Looks through wrappers (``env.unwrapped``). An environment without the
    :class:`TabularEnv` hooks (continuous control, simulators) has none.
    """
    inner = env.unwrapped
    if not isinstance(inner, TabularEnv):
        return f"{type(inner).__name__} does not enumerate its states"
    return inner.tabular_reason()


def exact_model(env: gym.Env[Any, Any]) -> TabularModel | None:
    """The exact tabular model of ``env.unwrapped``, or None when it has none.

    :func:`model_reason` says why there is none.
    """
    inner = env.unwrapped
    if not isinstance(inner, TabularEnv) or inner.tabular_reason() is not None:
        return None
    return inner.tabular_model()


class StateEnv(ProxyEnv, Generic[StateT]):
    """An environment whose game is pure functions of a hashable state.

    Subclasses implement :meth:`_initial_states`, :meth:`_sample_next` (which
    may draw from ``self.np_random``) and :meth:`observe`; this class keeps the
    current state and steps it. Such a game has no tabular model unless its
    rule is deterministic, which is what :class:`ModelEnv` is for.
    """

    def __init__(self, max_steps: int = 100, render_mode: str | None = None) -> None:
        super().__init__(max_steps=max_steps, render_mode=render_mode)
        self._state: StateT | None = None

    # -- to implement -------------------------------------------------------
    def _initial_states(self) -> Sequence[tuple[float, StateT]]:
        """The initial state distribution as ``(probability, state)`` pairs."""
        raise NotImplementedError

    def _sample_next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        """One step of the game: ``(next_state, proxy, true, terminated)``."""
        raise NotImplementedError

    def observe(self, state: StateT) -> np.ndarray:
        """What the agent sees in ``state``."""
        raise NotImplementedError

    # -- exact planning -----------------------------------------------------
    def tabular_reason(self) -> str | None:
        """Why this instance has no tabular model, or None when it has one."""
        return "its dynamics are random at every step"

    def tabular_model(self) -> TabularModel:
        """The exact finite-horizon MDP of this instance (see :mod:`proxygym.planning.tabular`).

        Raises:
            NotImplementedError: with the reason, when the instance has none.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no tabular model: {self.tabular_reason()}"
        )

    # -- stepping -----------------------------------------------------------
    @property
    def state(self) -> StateT:
        """The current state of the game (hashable; the tabular model's state objects)."""
        if self._state is None:
            raise gym.error.ResetNeeded("the environment has no state before reset()")
        return self._state

    @property
    def n_actions(self) -> int:
        """Number of discrete actions (the action space must be Discrete)."""
        space = self.action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise TypeError(f"{type(self).__name__} needs a Discrete action space, got {space}")
        return int(space.n)

    def _initial_state(self) -> StateT:
        choices = self._initial_states()
        if len(choices) == 1:
            return choices[0][1]
        probabilities = [p for p, _ in choices]
        return choices[int(self.np_random.choice(len(choices), p=probabilities))][1]

    def _reset_state(self, options: dict[str, Any] | None) -> np.ndarray:
        self._state = self._initial_state()
        return self.observe(self._state)

    def _advance(self, action: int) -> tuple[np.ndarray, float, float, bool]:
        self._state, proxy, true, terminated = self._sample_next(self.state, action)
        return self.observe(self._state), proxy, true, terminated


class ModelEnv(StateEnv[StateT]):
    """An environment with an exact model: deterministic rules over a hashable state.

    Subclasses implement :meth:`_initial_states` (the only randomness),
    :meth:`_next` (the rules) and :meth:`observe`. In return, stepping is
    memoised per ``(state, action)``: the rules and ``observe`` run once per
    distinct transition and state, which is what makes stepping cheap; and
    :meth:`tabular_model` enumerates the reachable states with the same rules
    the environment steps with. A subclass whose instance is too large to
    enumerate overrides :meth:`tabular_reason` to say so.
    """

    #: Memo tables are dropped once they hold this many states (bounds memory).
    cache_limit: ClassVar[int] = 20_000

    def __init__(self, max_steps: int = 100, render_mode: str | None = None) -> None:
        super().__init__(max_steps=max_steps, render_mode=render_mode)
        # state -> per action (next_state, its observation, proxy, true, terminated), or None.
        self._transitions: dict[StateT, list[Any]] = {}
        self._observations: dict[StateT, np.ndarray] = {}

    # -- to implement -------------------------------------------------------
    def _next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        """The game's rules: ``(next_state, proxy, true, terminated)``."""
        raise NotImplementedError

    # -- exact planning -----------------------------------------------------
    def tabular_reason(self) -> str | None:
        """Why this instance has no tabular model: None, deterministic rules give one."""
        return None

    def tabular_model(self) -> TabularModel:
        """The exact finite-horizon MDP of this instance, enumerated with :meth:`_next`.

        Raises:
            NotImplementedError: with the reason, when the instance has none.
        """
        if self.tabular_reason() is not None:
            return super().tabular_model()
        return TabularModel.from_deterministic(
            self._initial_states(), self._next, n_actions=self.n_actions, horizon=self.max_steps
        )

    # -- memoised stepping --------------------------------------------------
    def _sample_next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        return self._next(state, action)

    def _cached_observation(self, state: StateT) -> np.ndarray:
        obs = self._observations.get(state)
        if obs is None:
            if len(self._observations) >= self.cache_limit:
                self._observations.clear()
            obs = self._observations[state] = self.observe(state)
        return obs

    def _reset_state(self, options: dict[str, Any] | None) -> np.ndarray:
        self._state = self._initial_state()
        return self._cached_observation(self._state).copy()

    def _advance(self, action: int) -> tuple[np.ndarray, float, float, bool]:
        state = self.state
        row = self._transitions.get(state)
        if row is None:
            if len(self._transitions) >= self.cache_limit:
                self._transitions.clear()
            row = self._transitions[state] = [None] * self.n_actions
        outcome = row[action]
        if outcome is None:
            next_state, proxy, true, terminated = self._next(state, action)
            outcome = row[action] = (
                next_state,
                self._cached_observation(next_state),
                float(proxy),
                float(true),
                bool(terminated),
            )
        self._state = outcome[0]
        return outcome[1].copy(), outcome[2], outcome[3], outcome[4]
