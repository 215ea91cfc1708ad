"""Shared machinery for ASCII-art gridworlds.

A concrete gridworld describes its game as pure functions of a hashable
*state* (see :class:`proxygym.model.StateEnv`, which steps it, and
:class:`proxygym.model.ModelEnv`, which memoises deterministic games and
derives their exact tabular model); this module adds what is particular to
grids: the board, moves, the one-hot observation and both render modes.

Observation layout (all gridworlds): a flat ``float32`` vector of length
``C * H * W`` holding one-hot channels of the board, channel-major; reshape
with ``obs.reshape(env.unwrapped.observation_shape)`` to get ``(C, H, W)``
and read the channel names from ``env.unwrapped.channels``. SB3's
``MlpPolicy`` learns from it as is.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import ClassVar, TypeVar

import gymnasium as gym
import numpy as np

from proxygym.model import ModelEnv, StateEnv
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


class GridWorld(StateEnv[StateT]):
    """A gridworld whose dynamics are pure functions of a hashable state.

    Subclasses set ``channels`` and ``board`` (the static map) in
    ``__init__`` before calling :meth:`_setup_grid`, and implement
    :meth:`_initial_states`, :meth:`_sample_next`, :meth:`_observation_cells`
    and :meth:`_render_board`. Address channels by name with :meth:`channel`.
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
        self._channel_index = {name: i for i, name in enumerate(self.channels)}

    # -- to implement -------------------------------------------------------
    def _observation_cells(self, state: StateT) -> Iterable[tuple[int, Position]]:
        """``(channel index, position)`` pairs that are lit in what the agent sees."""
        raise NotImplementedError

    def _render_board(self, state: StateT) -> np.ndarray:
        """The board as a human observer sees it, as an ``(H, W)`` char array."""
        raise NotImplementedError

    def _render_notes(self, state: StateT) -> list[str]:
        """Extra lines for the text view (for instance what the agent sees)."""
        return []

    # -- helpers ------------------------------------------------------------
    def channel(self, name: str) -> int:
        """Index of the observation channel called ``name``.

        Raises:
            ValueError: when the environment has no channel of that name.
        """
        index = self._channel_index.get(name)
        if index is None:
            raise ValueError(f"{type(self).__name__} has no channel {name!r}: {self.channels}")
        return index

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


class DeterministicGridWorld(GridWorld[StateT], ModelEnv[StateT]):
    """A gridworld whose only randomness is the initial state.

    The grid comes from :class:`GridWorld`; memoised stepping and the exact
    :meth:`tabular_model` come from :class:`~proxygym.model.ModelEnv`.
    Subclasses implement :meth:`_next` (the rules) instead of ``_sample_next``.
    """
