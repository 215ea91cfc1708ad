"""Shared machinery for ASCII-art gridworlds.

A concrete gridworld describes its game as pure functions of a hashable
*state*; this module derives the Gymnasium API, the one-hot observation, both
render modes and (for deterministic games) the exact tabular model from them.

Observation layout (all gridworlds): a flat ``float32`` vector of length
``C * H * W`` holding one-hot channels of the board, channel-major; reshape
with ``obs.reshape(env.unwrapped.observation_shape)`` to get ``(C, H, W)``
and read the channel names from ``env.unwrapped.channels``. SB3's
``MlpPolicy`` learns from it as is.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np

from proxygym.core import ProxyEnv
from proxygym.model import TabularModel
from proxygym.rendering import board_image

Position = tuple[int, int]
StateT = TypeVar("StateT", bound=Hashable)

#: Actions 0 up, 1 down, 2 left, 3 right, as (row, col) displacements.
MOVES: tuple[Position, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")

_PALETTE: dict[str, tuple[int, int, int]] = {
    "#": (152, 152, 152),
    " ": (219, 219, 219),
    "A": (0, 180, 255),
    "G": (0, 210, 50),
}


def parse_art(art: Sequence[str]) -> np.ndarray:
    """Turn equal-length strings into an ``(H, W)`` array of characters."""
    widths = {len(row) for row in art}
    if len(widths) != 1:
        raise ValueError(f"game art rows must have equal length, got widths {sorted(widths)}")
    return np.array([list(row) for row in art])


def find(board: np.ndarray, chars: str) -> list[Position]:
    """All positions whose character is in ``chars``, in row-major order."""
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(np.isin(board, list(chars))), strict=True)]


class GridWorld(ProxyEnv, Generic[StateT]):
    """A gridworld whose dynamics are pure functions of a hashable state.

    Subclasses set ``channels`` and ``board`` (the static map) in
    ``__init__`` before calling :meth:`_setup_grid`, and implement
    :meth:`_initial_states`, :meth:`_sample_next`, :meth:`_observation_cells`
    and :meth:`_render_board`.
    """

    channels: tuple[str, ...]
    board: np.ndarray
    palette: ClassVar[dict[str, tuple[int, int, int]]] = {}

    def _setup_grid(self) -> None:
        self.height, self.width = self.board.shape
        self.observation_shape = (len(self.channels), self.height, self.width)
        self._observation_size = int(np.prod(self.observation_shape))
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self._observation_size,), np.float32)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.walls = frozenset(find(self.board, "#"))
        self._state: StateT | None = None

    # -- to implement -------------------------------------------------------
    def _initial_states(self) -> list[tuple[float, StateT]]:
        """The initial state distribution as ``(probability, state)`` pairs."""
        raise NotImplementedError

    def _sample_next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        """One step of the game: ``(next_state, proxy, true, terminated)``."""
        raise NotImplementedError

    def _observation_cells(self, state: StateT) -> Iterable[tuple[int, Position]]:
        """``(channel index, position)`` pairs that are lit in what the agent sees."""
        raise NotImplementedError

    def _render_board(self, state: StateT) -> np.ndarray:
        """The board as a human observer sees it, as an ``(H, W)`` char array."""
        raise NotImplementedError

    def _render_notes(self, state: StateT) -> list[str]:
        """Extra lines for the text view (for instance what the agent sees)."""
        return []

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

    # -- helpers ------------------------------------------------------------
    @property
    def state(self) -> StateT:
        """The current state of the game (hashable; the tabular model's state objects)."""
        if self._state is None:
            raise gym.error.ResetNeeded("the environment has no state before reset()")
        return self._state

    def channel(self, name: str) -> int:
        """Index of the observation channel called ``name``."""
        return self.channels.index(name)

    def moved(self, position: Position, action: int) -> Position:
        """Where ``action`` takes an agent at ``position``: a wall leaves it in place."""
        d_row, d_col = MOVES[action]
        target = (position[0] + d_row, position[1] + d_col)
        return position if target in self.walls else target

    def observe(self, state: StateT) -> np.ndarray:
        """The observation of ``state``: what the agent sees, one-hot, flat."""
        obs = np.zeros(self._observation_size, np.float32)
        plane = self.height * self.width
        for channel, (row, col) in self._observation_cells(state):
            obs[channel * plane + row * self.width + col] = 1.0
        return obs

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

    # -- rendering ----------------------------------------------------------
    def _render(self) -> str | np.ndarray:
        board = self._render_board(self.state)
        if self.render_mode == "ansi":
            return self._render_text(board)
        return board_image(board, {**_PALETTE, **self.palette})

    def _render_text(self, board: np.ndarray) -> str:
        lines = ["".join(row) for row in board]
        lines.append(f"step {self.elapsed_steps}/{self.max_steps}")
        lines.extend(self._score_lines())
        lines.extend(self._render_notes(self.state))
        return "\n".join(lines) + "\n"


class DeterministicGridWorld(GridWorld[StateT]):
    """A gridworld whose only randomness is the initial state.

    Transitions are memoised per ``(state, action)`` (the game's rules run once
    per distinct transition, which is what makes stepping cheap), and
    :meth:`tabular_model` enumerates the reachable states from the same
    transition function the environment steps with.
    """

    #: Memo tables are dropped once they hold this many states (bounds memory).
    cache_limit: ClassVar[int] = 20_000

    def _setup_grid(self) -> None:
        super()._setup_grid()
        self._transitions: dict[StateT, list[Any]] = {}
        self._observations: dict[StateT, np.ndarray] = {}

    def _next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        """The game's rules: ``(next_state, proxy, true, terminated)``."""
        raise NotImplementedError

    def _sample_next(self, state: StateT, action: int) -> tuple[StateT, float, float, bool]:
        return self._next(state, action)

    def tabular_reason(self) -> str | None:
        return None

    def tabular_model(self) -> TabularModel:
        if self.tabular_reason() is not None:
            return super().tabular_model()
        return TabularModel.from_deterministic(
            self._initial_states(), self._next, n_actions=len(MOVES), horizon=self.max_steps
        )

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
            row = self._transitions[state] = [None] * len(MOVES)
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
