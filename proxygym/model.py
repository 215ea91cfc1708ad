"""The exact model of an environment with a small state space: a finite-horizon MDP, two rewards.

An environment that can enumerate its states hands a :class:`TabularModel` to
the planners (:mod:`proxygym.planning`); the model is derived from the same
transition function the environment steps with, so the planners solve exactly
the game the agent plays.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

Objective = Literal["proxy", "true"]
S = TypeVar("S", bound=Hashable)


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
