"""Play an environment from the keyboard, scored on the proxy like an agent, then see the truth.

The teaching point of proxygym in one minute: a person optimising the
visible score finds the same exploits an agent does. :func:`play` shows the
board (the environment's ``ansi`` view with the hidden score and every line
it labels hidden taken out, and the board rows that draw unobserved state,
``hidden_board_rows``, masked with ``?``), the key map and the proxy return so far; the
true return is revealed only when the episode ends, beside the proxy return
and, where the environment has a tabular model, the exact proxy-optimal and
true-optimal policies' returns.

Keys come from any iterable of strings, so tests and scripts drive a game
through a pipe or ``io.StringIO`` (each line is a string of keys: ``"ddss"``,
or one key per line); :func:`terminal_keys` reads single keypresses from a
terminal in cbreak mode and :func:`cbreak` puts the terminal back on any exit.

Keys: ``w a s d`` or the arrow keys move in the gridworlds whose actions are
0 up, 1 down, 2 left, 3 right; digits pick action ``0..n-1`` in every
Discrete environment; ``.`` plays the previous action again (one step: in a
gridworld, walking into a wall is how to wait) and ``*`` holds it, playing it
again on every step to the end of the episode; ``q`` quits. Any other key
prints the key map again and does not step. Under the key map, a legend says
what each character of the board means (:func:`~proxygym.teaching.animation.board_legend`).

Continuous actions: an environment whose action is one bounded number (a
``Box`` of shape ``(1,)``, PendulumNoTorqueCost's torque) is played on
:data:`BOX_LEVELS` evenly spaced levels from its low to its high bound,
digits ``0..8`` from low to high (``4`` the middle: no torque on Pendulum),
named in the key map; ``.`` and ``*`` repeat a level as they repeat an
action. Such environments draw no text board, so the player sees the
observation and the proxy return so far (never the true reward) and, as
everywhere, the true return only at the end. A ``Box`` of more numbers
(HopperForward's three joint torques) or an unbounded one is refused with a
message pointing to ``proxygym render``, which plays a policy instead.

``max_steps`` shortens every episode for a class (``proxygym play ENV_ID
--max-steps 30``); the exact optima shown at the end are those of the
shortened episode.
"""

from __future__ import annotations

import os
import re
import select
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

from proxygym.agents.policies import exact_optima
from proxygym.planning.tabular import Evaluation
from proxygym.teaching.animation import (
    LegendEntry,
    board_legend,
    describe_legend,
    discrete_actions,
    make_env,
)

QUIT_KEYS = frozenset({"q", "Q"})
#: Levels a one-number Box action is played on, evenly spaced from low to high
#: (odd, so a symmetric range has its middle, 0, among them: digits 0-8, 4 the middle).
BOX_LEVELS = 9
#: Plays the previous action once more.
AGAIN_KEY = "."
#: Plays the previous action on every remaining step of the episode.
HOLD_KEY = "*"
#: The line under the key map that explains the two repeat keys.
REPEAT_LINE = (
    f"repeat: {AGAIN_KEY} plays your last action again (into a wall: wait), "
    f"{HOLD_KEY} holds it to the end of the episode"
)
#: :data:`REPEAT_LINE` for a continuous action, where there are no walls to wait against.
LEVEL_REPEAT_LINE = (
    f"repeat: {AGAIN_KEY} plays your last level again, "
    f"{HOLD_KEY} holds it to the end of the episode"
)
#: Escape sequences of the arrow keys (normal and application cursor mode).
ARROW_SEQUENCES: dict[str, str] = {
    "\x1b[A": "up",
    "\x1b[B": "down",
    "\x1b[C": "right",
    "\x1b[D": "left",
    "\x1bOA": "up",
    "\x1bOB": "down",
    "\x1bOC": "right",
    "\x1bOD": "left",
}
#: Letter keys of the four moves, as in most keyboard games.
MOVE_KEYS: dict[str, str] = {"w": "up", "s": "down", "a": "left", "d": "right"}
MOVE_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
ARROW_GLYPHS: dict[str, str] = {"up": "↑", "down": "↓", "left": "←", "right": "→"}
#: Keys that never count as a keypress: separators of line-based input.
IGNORED = frozenset(" \t\r\n")
#: Clears a terminal and moves the cursor home.
CLEAR = "\x1b[H\x1b[2J"
_ACTION_ITEM = re.compile(r"(?<![\w-])(\d+) ([a-z][a-z ]*?)(?=\s*[,:;.()]|\s*$)", re.MULTILINE)
#: ``Box(...)``: what the number is, in an ``## Action Space`` section ("``Box(-2, 2, (1,),
#: float32)``: the torque." gives "torque").
_BOX_MEANING = re.compile(r"Box\([^`]*\)``:\s*(?:the\s+)?([a-z][a-z -]*?)\s*[.;,\n]")


@dataclass(frozen=True)
class KeyMap:
    """Which key takes which action.

    Attributes:
        keys: key (a character, or ``"up"``... for an arrow key) to action
            (for a continuous action: to the index of its level).
        names: a name per action (``"0"``, ``"1"``... where the environment names
            none; for a continuous action the level's value, ``"-2"`` ... ``"+2"``).
        moves: whether w/a/s/d and the arrow keys are bound.
        levels: for a one-number Box, the action array of each level (low to high);
            empty for a Discrete action space.
        meaning: what a continuous action is (``"torque"``), for the key map.
    """

    keys: dict[str, int]
    names: tuple[str, ...]
    moves: bool
    levels: tuple[np.ndarray, ...] = ()
    meaning: str = "action"

    def action(self, key: str) -> int | None:
        """The action (or level index) bound to ``key``, or None."""
        return self.keys.get(key)

    def env_action(self, action: int) -> Any:
        """What to pass to ``env.step`` for ``action``: the level's array for a Box, else itself."""
        return self.levels[action] if self.levels else action

    def repeat_line(self) -> str:
        """The line under the key map that explains ``.`` and ``*``."""
        return LEVEL_REPEAT_LINE if self.levels else REPEAT_LINE

    def describe(self) -> str:
        """The key map as one line, e.g. ``keys: w/↑ up, s/↓ down, ... q quit``, or for a
        continuous action ``keys: 0-8 set the torque from -2 to +2: 0 -2, ..., q quit``."""
        if self.levels:
            levels = ", ".join(f"{level} {name}" for level, name in enumerate(self.names))
            span = f"from {self.names[0]} to {self.names[-1]}"
            return f"keys: 0-{len(self.names) - 1} set the {self.meaning} {span}: {levels}, q quit"
        items = []
        for action, name in enumerate(self.names):
            bound = [str(action)]
            if self.moves:
                letter = next(k for k, v in MOVE_KEYS.items() if v == name)
                bound = [letter, ARROW_GLYPHS[name], str(action)]
            label = "" if name == str(action) else f" {name}"
            items.append("/".join(bound) + label)
        return "keys: " + ", ".join(items) + ", q quit"


@dataclass(frozen=True)
class PlayedEpisode:
    """What one played episode earned; ``finished`` is False when the player quit first."""

    steps: int
    proxy_return: float
    true_return: float
    finished: bool


def action_names(env: gym.Env[Any, Any]) -> tuple[str, ...] | None:
    """Names of the actions, read from the class docstring's ``## Action Space``
    section (``0 up, 1 down, ...``; ``- 0 hunt: ...``; the first name given to each number).

    The docstring is where every environment documents its actions, so the
    key map never drifts from it. None unless it names exactly ``0..n-1``.
    """
    space = env.action_space
    doc = type(env.unwrapped).__doc__ or ""
    match = re.search(r"## Action Space\n(.*?)(?:## |\Z)", doc, re.DOTALL)
    if match is None or not isinstance(space, gym.spaces.Discrete):
        return None
    found: dict[int, str] = {}
    for number, name in _ACTION_ITEM.findall(match.group(1)):
        found.setdefault(int(number), name.strip())
    if sorted(found) != list(range(int(space.n))):
        return None
    return tuple(found[i] for i in range(int(space.n)))


def _action_doc(env: gym.Env[Any, Any]) -> str:
    """The docstring that documents ``env``'s actions: the outermost class in its wrapper
    chain with an ``## Action Space`` section (a ProxyReward's, not the wrapped Pendulum's)."""
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        if "## Action Space" in (type(layer).__doc__ or ""):
            return type(layer).__doc__ or ""
        layer = layer.env
    return type(env.unwrapped).__doc__ or ""


def _level_name(value: float) -> str:
    """A level's value as the key map shows it: ``-2``, ``0``, ``+0.5``."""
    return "0" if value == 0 else f"{value:+.4g}"


def not_playable(env_id: str, space: gym.Space[Any], reason: str) -> ValueError:
    """The error for an action space the keyboard cannot play, naming ``proxygym render``."""
    return ValueError(
        f"{env_id} has the action space {space} ({reason}): keyboard play needs a Discrete "
        "action space or a Box of one bounded number; watch a policy play it instead: "
        f"proxygym render {env_id} --policy random --out play.gif (or --policy PATH.zip)"
    )


def box_key_map(env: gym.Env[Any, Any], env_id: str, levels: int = BOX_LEVELS) -> KeyMap:
    """Digits ``0..levels-1`` for ``levels`` evenly spaced values of a one-number Box action.

    Raises:
        ValueError: the action space is not a Box of one bounded number (the
            message names ``proxygym render``, which plays a policy instead),
            or ``levels`` is not 2 to 10 (one digit each).
    """
    if not 2 <= levels <= 10:
        raise ValueError(f"levels must be 2 to 10 (the digits 0-9), got {levels}")
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        raise not_playable(env_id, space, "not a Box")
    low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    if space.shape != (1,):
        raise not_playable(env_id, space, f"{int(np.prod(space.shape))} numbers per step")
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise not_playable(env_id, space, "an unbounded number")
    values = np.linspace(low[0], high[0], levels)
    arrays = tuple(np.array([value], dtype=space.dtype) for value in values)
    names = tuple(_level_name(float(array[0])) for array in arrays)
    found = _BOX_MEANING.search(_action_doc(env))
    meaning = found.group(1) if found else "action"
    return KeyMap({str(i): i for i in range(levels)}, names, False, arrays, meaning)


def key_map(env: gym.Env[Any, Any], env_id: str) -> KeyMap:
    """The key map of ``env``: digits always, plus w/a/s/d and arrows for up/down/left/right;
    for a one-number Box action, digits for evenly spaced levels (:func:`box_key_map`)."""
    space = env.action_space
    if isinstance(space, gym.spaces.Box):
        return box_key_map(env, env_id)
    if not isinstance(space, gym.spaces.Discrete):
        raise not_playable(env_id, space, f"a {type(space).__name__}")
    n = discrete_actions(env, env_id, "keyboard play")
    if n > 10:
        raise ValueError(f"{env_id} has {n} actions; keyboard play supports at most 10 (0-9)")
    names = action_names(env) or tuple(str(i) for i in range(n))
    keys = {str(i): i for i in range(n)}
    moves = names == MOVE_NAMES
    if moves:
        for action, name in enumerate(names):
            keys[name] = action
            keys.update({letter: action for letter, move in MOVE_KEYS.items() if move == name})
    return KeyMap(keys, names, moves)


def tokenize(text: str) -> Iterator[str]:
    """The keys in ``text``: characters, with arrow-key escape sequences as ``"up"`` etc.

    Spaces and line ends separate keys in line-based input and are dropped.
    """
    i = 0
    while i < len(text):
        sequence = text[i : i + 3]
        if sequence in ARROW_SEQUENCES:
            yield ARROW_SEQUENCES[sequence]
            i += 3
            continue
        if text[i] not in IGNORED:
            yield text[i]
        i += 1


def line_keys(source: Iterable[str]) -> Iterator[str]:
    """Keys from line-based input: each item (a line, or any string) is a string of keys."""
    for chunk in source:
        yield from tokenize(chunk)


def terminal_keys(stream: TextIO) -> Iterator[str]:
    """Single keypresses from a terminal (call inside :func:`cbreak`); ends at end of input."""
    fd = stream.fileno()
    while True:
        chunk = os.read(fd, 1)
        if not chunk:
            return
        if chunk == b"\x1b":  # an escape sequence arrives at once; a lone Esc does not
            while select.select([fd], [], [], 0.05)[0] and len(chunk) < 3:
                chunk += os.read(fd, 1)
        yield from tokenize(chunk.decode(errors="replace"))


@contextmanager
def cbreak(stream: TextIO) -> Iterator[None]:
    """Put the terminal behind ``stream`` in cbreak mode (keys arrive unbuffered, unechoed;
    Ctrl-C still interrupts) and restore its settings on any exit, Ctrl-C included."""
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _is_hidden(line: str) -> bool:
    """Lines of an ``ansi`` view that show the score or hidden state (the true objective's)."""
    lowered = line.lower()
    return "hidden" in lowered or lowered.startswith("visible score")


def _masked(line: str) -> str:
    """A board line with everything but its walls drawn as ``?``."""
    return "".join(char if char == "#" else "?" for char in line)


def visible_view(env: gym.Env[Any, Any], observation: np.ndarray) -> str:
    """What the player sees: the ``ansi`` view without the score lines and lines labelled
    hidden, and with the board rows the environment marks hidden (``hidden_board_rows``)
    masked; or, for environments without a text view, the observation itself."""
    if env.render_mode == "ansi":
        lines = str(env.render()).splitlines()
        for row in getattr(env.unwrapped, "hidden_board_rows", ()):
            lines[row] = _masked(lines[row])
        return "\n".join(line for line in lines if not _is_hidden(line))
    values = np.array2string(np.asarray(observation), precision=3, suppress_small=True)
    return f"observation: {values}"


def _visible_legend(env: gym.Env[Any, Any], ansi: bool) -> tuple[LegendEntry, ...]:
    """The board's legend as the player sees it: none without a text view; characters
    drawn only in masked rows (``hidden_board_rows``) left out and ``?`` explained."""
    if not ansi:
        return ()
    legend = board_legend(env)
    masked = set(getattr(env.unwrapped, "hidden_board_rows", ()))
    if not masked:
        return legend
    env.reset(seed=0)
    rows = env.unwrapped._render_board(env.unwrapped.state)  # type: ignore[attr-defined]
    shown = {str(c) for i, row in enumerate(rows) if i not in masked for c in row}
    only_masked = {str(c) for i in masked for c in rows[i]} - shown
    kept = tuple(entry for entry in legend if entry.symbol not in only_masked)
    return (*kept, LegendEntry("?", "not shown to you (nor to the agent)"))


def _number(value: float) -> str:
    return f"{value:.4g}"


def _reveal(episode: PlayedEpisode, optima: dict[str, Evaluation] | None) -> list[str]:
    """The end-of-episode lines: both returns, and the exact optima where known."""
    ending = "ended" if episode.finished else "stopped (quit)"
    steps = f"{episode.steps} step" + ("" if episode.steps == 1 else "s")
    lines = [
        f"episode {ending} after {steps}",
        f"  your proxy return (the score you saw):  {_number(episode.proxy_return)}",
        f"  your TRUE return (hidden until now):    {_number(episode.true_return)}",
    ]
    if optima is not None:
        for name, returns in optima.items():
            lines.append(
                f"  {name} policy (exact): proxy {_number(returns.proxy_return)}, "
                f"true {_number(returns.true_return)}"
            )
    return lines


def _keys_of(keys: Iterable[str] | TextIO) -> Iterator[str]:
    if hasattr(keys, "isatty") and hasattr(keys, "fileno") and keys.isatty():
        return terminal_keys(keys)  # type: ignore[arg-type]
    return line_keys(keys)


def play(
    env_id: str,
    keys: Iterable[str] | TextIO,
    out: TextIO,
    seed: int = 0,
    episodes: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    clear: bool = False,
    max_steps: int | None = None,
) -> list[PlayedEpisode]:
    """Play ``episodes`` episodes of ``env_id`` with ``keys``, writing the game to ``out``.

    Args:
        keys: a terminal (single keypresses; wrap the call in :func:`cbreak`),
            or any iterable of strings of keys (lines of a pipe, a list).
        out: where the board, key map and scores go.
        seed: reset seed of the first episode (then ``seed + 1``, ...).
        clear: clear the screen before each board (for a terminal).
        max_steps: a shorter (or longer) episode, passed to the environment as
            its ``max_steps`` kwarg; None keeps the environment's own.

    Returns:
        One :class:`PlayedEpisode` per episode started; fewer than
        ``episodes`` when the player quits or the keys run out.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if max_steps is not None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        env_kwargs = {**(env_kwargs or {}), "max_steps": max_steps}
    probe = make_env(env_id, env_kwargs)
    mapping = key_map(probe, env_id)
    optima = exact_optima(probe)
    legend = describe_legend(
        _visible_legend(probe, ansi="ansi" in probe.metadata.get("render_modes", []))
    )
    ansi = "ansi" in probe.metadata.get("render_modes", [])
    probe.close()
    env = make_env(env_id, env_kwargs, render_mode="ansi" if ansi else None)
    pressed = _keys_of(keys)
    played: list[PlayedEpisode] = []
    try:
        for number in range(1, episodes + 1):
            episode = _play_episode(env, mapping, pressed, out, seed + number - 1, clear, legend)
            played.append(episode)
            title = f"{env_id}, episode {number} of {episodes}"
            print("\n".join([title, *_reveal(episode, optima)]), file=out, flush=True)
            if not episode.finished:
                break
            if clear and number < episodes and not _next_episode(pressed, out):
                break
    finally:
        env.close()
    return played


def _next_episode(pressed: Iterator[str], out: TextIO) -> bool:
    """On a cleared screen, keep the reveal up until a keypress; False when the player quits."""
    print("press any key for the next episode, q to quit", file=out, flush=True)
    key = next(pressed, None)
    return key is not None and key not in QUIT_KEYS


def _play_episode(
    env: gym.Env[Any, Any],
    mapping: KeyMap,
    pressed: Iterator[str],
    out: TextIO,
    seed: int,
    clear: bool,
    legend: str = "",
) -> PlayedEpisode:
    """One episode: show, read a key, step, until the episode ends or the player quits."""
    observation, _ = env.reset(seed=seed)
    steps, proxy, true = 0, 0.0, 0.0
    last = ""
    previous: int | None = None
    holding = False
    while True:
        screen = [visible_view(env, observation), f"proxy return so far: {_number(proxy)}{last}"]
        print(
            (CLEAR if clear else "")
            + "\n".join(
                [*screen, mapping.describe(), mapping.repeat_line(), *[legend] * bool(legend)]
            ),
            file=out,
        )
        out.flush()
        action = previous if holding else None
        if action is None:
            for key in pressed:
                if key in QUIT_KEYS:
                    return PlayedEpisode(steps, proxy, true, finished=False)
                if key in (AGAIN_KEY, HOLD_KEY) and previous is not None:
                    action, holding = previous, key == HOLD_KEY
                    break
                action = mapping.action(key)
                if action is not None:
                    break
                if key in (AGAIN_KEY, HOLD_KEY):
                    print(f"no action to repeat yet; {mapping.describe()}", file=out, flush=True)
                    continue
                print(f"key {key!r} does not play; {mapping.describe()}", file=out, flush=True)
        if action is None:  # the keys ran out
            return PlayedEpisode(steps, proxy, true, finished=False)
        previous = action
        observation, reward, terminated, truncated, info = env.step(mapping.env_action(action))
        steps += 1
        proxy += float(reward)
        true += float(info["true_reward"])
        last = f" (last step: {float(reward):+.4g}, {mapping.meaning} {mapping.names[action]})"
        if terminated or truncated:
            final = [visible_view(env, observation), f"proxy return: {_number(proxy)}"]
            print((CLEAR if clear else "") + "\n".join(final), file=out, flush=True)
            return PlayedEpisode(steps, proxy, true, finished=True)


def play_terminal(
    env_id: str,
    seed: int = 0,
    episodes: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    max_steps: int | None = None,
) -> list[PlayedEpisode]:
    """:func:`play` on the process's own terminal: single keypresses when stdin is a TTY
    (restored afterwards), lines of keys when it is a pipe or a file."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if stdin.isatty():
        with cbreak(stdin):
            return play(
                env_id,
                stdin,
                stdout,
                seed,
                episodes,
                env_kwargs,
                clear=stdout.isatty(),
                max_steps=max_steps,
            )
    return play(env_id, stdin, stdout, seed, episodes, env_kwargs, max_steps=max_steps)
