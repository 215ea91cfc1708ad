"""Record episodes as annotated frames and save them as an animated GIF or a contact sheet.

Watching a gaming policy is the fastest way to believe it games: the boat
that shuttles over one checkpoint, the score that climbs while the laps stay
at zero. :func:`record_episode` plays one episode of any environment with an
``rgb_array`` render mode and draws, under every frame, the step, the proxy
return so far and the hidden true return so far; :func:`save_gif` writes the
frames atomically as an animated GIF and :func:`contact_sheet` tiles a few of
them into one image for Markdown reports, with a legend of the board's
characters and colours (:func:`board_legend`, built from the environment's
channel names) below the tiles. :func:`save_episodes` picks the format by the
file's extension: ``.gif`` writes the animation, ``.png`` the contact sheet;
any other extension is refused.

A policy is a callable ``observation -> action``, a saved stable-baselines3
model (a path to its ``.zip``, as sweeps store in ``models/<cell>.zip``) or
one of ``random``, ``proxy-optimal`` and ``true-optimal``, resolved by
:func:`proxygym.agents.policies.resolve_policy`. Continuous (Box) actions
need nothing special: ``random`` samples the Box uniformly from a generator
seeded with the episode's seed, and a saved model acts through its
``predict`` (deterministic), whatever its action space.

Frames come from the environment's ``rgb_array`` mode. proxygym draws its
own environments' frames, and the classic-control pendulums', in numpy (no
pygame). MuJoCo environments (HopperForward) render through OpenGL: where
that cannot work, :func:`check_renderable` says what to install or set
(the ``mujoco`` extra, ``MUJOCO_GL=egl`` or ``osmesa``) before any episode
is played or any model loaded.

An episode of ``T`` steps gives exactly ``T + 1`` frames: the frame after
``reset()`` and one after each step. The step counter in the text strip makes
every frame differ from the one before it, so GIF writers that merge identical
consecutive frames never change the count.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from proxygym.agents.policies import (
    POLICY_NAMES,
    PolicyFn,
    agent_policy,
    load_agent,
    resolve_policy,
)
from proxygym.gridworld import GridWorld
from proxygym.model import exact_model
from proxygym.sweeps import results

#: Frames narrower than this are scaled up (by a whole factor) so the text strip fits.
MIN_FRAME_WIDTH = 240
#: Text strip: margin around the lines and height of one line of PIL's bitmap font.
STRIP_MARGIN = 4
LINE_HEIGHT = 12
STRIP_BACKGROUND = (255, 255, 255)
STRIP_TEXT = (0, 0, 0)
#: Colour of the true-return line (Okabe-Ito vermillion, as the plots use for the true objective).
TRUE_TEXT = (213, 94, 0)
#: At most this many states are read to build a legend (the first ones of the exact model).
LEGEND_STATES = 5000
#: Steps of a seeded random walk read to build a legend where there is no exact model.
LEGEND_WALK = 400
#: Environments registered only when an extra is installed: the extra of each.
OPTIONAL_ENVIRONMENTS: dict[str, str] = {"proxygym/HopperForward-v0": "mujoco"}
#: How to give MuJoCo an OpenGL backend on a machine without a display.
MUJOCO_GL_HINT = (
    "set MUJOCO_GL=egl (a GPU with EGL) or MUJOCO_GL=osmesa (software: apt-get install "
    "libosmesa6, pip install pyopengl), with the mujoco extra installed "
    "(pip install -e '.[mujoco]' in a proxygym checkout)"
)
#: Extensions :func:`save_episodes` writes, and what it writes for each.
SUPPORTED_OUTPUTS: dict[str, str] = {
    ".gif": "an animated GIF of every frame",
    ".png": "a contact sheet of 8 evenly spaced frames with the legend",
}


@dataclass(frozen=True)
class LegendEntry:
    """What one board character means.

    Attributes:
        symbol: the character in the text view (``ansi``) and the board.
        meaning: what it stands for, from the environment's channel names
            (``"lever down"``) or its board's documentation.
        colour: its colour in ``rgb_array`` frames (None where unknown).
    """

    symbol: str
    meaning: str
    colour: tuple[int, int, int] | None = None

    def describe(self) -> str:
        """``"l lever down"``; the blank character is shown as ``' '``."""
        return f"{self.symbol if self.symbol.strip() else repr(self.symbol)} {self.meaning}"


@dataclass(frozen=True)
class RecordedEpisode:
    """One played episode: annotated frames and what it earned.

    Attributes:
        frames: ``steps + 1`` annotated ``(H, W, 3)`` uint8 images.
        actions: the action taken at each step (a list for vector actions).
        proxy_return: the episode's visible return.
        true_return: the episode's hidden true return.
        steps: number of steps played.
        seed: the reset seed.
        legend: what the board's characters and colours mean (:func:`board_legend`).
    """

    frames: list[np.ndarray]
    actions: list[Any]
    proxy_return: float
    true_return: float
    steps: int
    seed: int
    legend: tuple[LegendEntry, ...] = ()


# -- environments -----------------------------------------------------------------------------


def make_env(
    env_id: str, env_kwargs: dict[str, Any] | None = None, render_mode: str | None = None
) -> gym.Env[Any, Any]:
    """``gym.make(env_id, **env_kwargs)``, with errors that name the bad id, kwarg or mode.

    Raises:
        ValueError: an unknown id (listing the proxygym ids), a kwarg the
            environment rejects, or a render mode it does not support.
    """
    kwargs = dict(env_kwargs or {})
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        if env_id in OPTIONAL_ENVIRONMENTS:
            extra = OPTIONAL_ENVIRONMENTS[env_id]
            raise ValueError(
                f"{env_id} is registered only with the {extra} extra installed: "
                f"pip install -e '.[{extra}]' in a proxygym checkout"
            ) from error
        known = ", ".join(sorted(i for i in gym.registry if i.startswith("proxygym/")))
        raise ValueError(f"unknown environment id {env_id!r}; proxygym ids: {known}") from error
    try:
        env = gym.make(env_id, **kwargs)
        if render_mode is None:
            return env
        modes = env.metadata.get("render_modes", [])
        env.close()
        if render_mode not in modes:
            raise ValueError(
                f"{env_id} cannot render {render_mode!r}; it supports render modes {list(modes)}"
            )
        return gym.make(env_id, render_mode=render_mode, **kwargs)
    except TypeError as error:
        raise ValueError(f"{env_id} does not accept the kwargs {kwargs}: {error}") from error


def discrete_actions(env: gym.Env[Any, Any], env_id: str, purpose: str) -> int:
    """The number of actions of ``env``, or a ValueError when its action space is not Discrete."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(
            f"{env_id} has the action space {space}; {purpose} needs a Discrete action space"
        )
    return int(space.n)


def uses_mujoco(env: gym.Env[Any, Any]) -> bool:
    """Whether ``env`` is (or wraps) a Gymnasium MuJoCo environment, which renders with OpenGL."""
    inner = env.unwrapped
    return hasattr(inner, "mujoco_renderer") or type(inner).__module__.startswith(
        "gymnasium.envs.mujoco"
    )


def _no_display() -> bool:
    """A Linux machine with no display and no MuJoCo backend chosen: MuJoCo's default (GLFW)
    has nothing to open a context on."""
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("MUJOCO_GL")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )


def first_frame(env: gym.Env[Any, Any], env_id: str) -> np.ndarray:
    """The frame of a freshly reset ``env``, or a ValueError saying what rendering needs.

    MuJoCo environments are refused up front on a Linux machine without a
    display unless ``MUJOCO_GL`` names a backend, and any failure of their
    renderer is reported with :data:`MUJOCO_GL_HINT`; a missing optional
    package (:class:`gymnasium.error.DependencyNotInstalled`) is reported
    with its own message, which names the package.
    """
    mujoco = uses_mujoco(env)
    if mujoco and _no_display():
        raise ValueError(
            f"{env_id} draws its frames with MuJoCo, which needs OpenGL and finds no display "
            f"here: {MUJOCO_GL_HINT}"
        )
    try:
        return _rgb(env)
    except gym.error.DependencyNotInstalled as error:
        raise ValueError(f"{env_id} cannot draw frames: {error}") from error
    except Exception as error:
        if not mujoco:
            raise
        raise ValueError(
            f"{env_id} draws its frames with MuJoCo, whose OpenGL rendering failed "
            f"({type(error).__name__}: {error}): {MUJOCO_GL_HINT}"
        ) from error


def check_renderable(env_id: str, env_kwargs: dict[str, Any] | None = None) -> None:
    """Fail now, with :func:`first_frame`'s message, if ``env_id`` cannot draw ``rgb_array``
    frames here (before a model is loaded or an episode played)."""
    env = make_env(env_id, env_kwargs, render_mode="rgb_array")
    try:
        env.reset(seed=0)
        first_frame(env, env_id)
    finally:
        env.close()


# -- legends ----------------------------------------------------------------------------------


def _palette_of(inner: Any) -> dict[str, tuple[int, int, int]]:
    """The colours ``inner`` draws its board characters with (``board_image``'s palette)."""
    palette: dict[str, tuple[int, int, int]] = {}
    for cls in reversed(type(inner).__mro__):
        module = inspect.getmodule(cls)
        palette.update(getattr(module, "_PALETTE", {}))
    palette.update(getattr(inner, "palette", {}))
    return palette


def _walk_states(inner: Any, env: gym.Env[Any, Any]) -> list[Hashable]:
    """The states of a seeded random walk (the reset state first)."""
    env.reset(seed=0)
    env.action_space.seed(0)
    states = [inner.state]
    for _ in range(LEGEND_WALK):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        states.append(inner.state)
        if terminated or truncated:
            env.reset()
            states.append(inner.state)
    return states


def _channel_meanings(env: gym.Env[Any, Any]) -> dict[str, str]:
    """Board character to meaning, read off the observation channels lit under it.

    Over the environment's states (its exact model's, else a random walk's),
    a character means the channels lit in at least half of the cells it is
    drawn on; ``wall`` is left out for any character but ``#`` (a lamp hangs
    in the wall). A character drawn where a channel is lit at other times but
    never under it is that channel off (``not lamp lit``); the blank under
    which nothing is lit is the floor.
    """
    inner: Any = env.unwrapped
    model = exact_model(env)
    states = list(model.index)[:LEGEND_STATES] if model is not None else None
    if not states or not all(hasattr(state, "_fields") for state in states[:1]):
        states = _walk_states(inner, env)
    names = [name.replace("_", " ") for name in inner.channels]
    seen: Counter[str] = Counter()
    lit: dict[str, Counter[str]] = {}
    others: dict[str, set[str]] = {}
    positions: dict[str, set[tuple[int, int]]] = {}
    planes = []
    for state in states:
        board = inner._render_board(state)
        obs = np.asarray(inner.observe(state)).reshape(inner.observation_shape) > 0.5
        planes.append((board, obs))
        for (row, col), char in np.ndenumerate(board):
            char = str(char)
            seen[char] += 1
            positions.setdefault(char, set()).add((row, col))
            counts = lit.setdefault(char, Counter())
            counts.update(names[k] for k in np.flatnonzero(obs[:, row, col]))
    for board, obs in planes:
        for char, cells in positions.items():
            for row, col in cells:
                if str(board[row, col]) != char:
                    found = {names[k] for k in np.flatnonzero(obs[:, row, col])}
                    others.setdefault(char, set()).update(found - {"wall", "agent"})
    meanings = {}
    for char, total in seen.items():
        chosen = [name for name, n in lit[char].items() if n * 2 >= total]
        if char != "#":
            chosen = [name for name in chosen if name != "wall"]
        if "agent" in chosen:  # whatever the agent stands on, its character is the agent
            chosen = ["agent"]
        if chosen:
            meanings[char] = " + ".join(sorted(chosen, key=names.index))
        elif others.get(char) and char.strip():
            meanings[char] = " + ".join(f"not {name}" for name in sorted(others[char]))
        else:
            meanings[char] = "floor"
    return meanings


#: ``X`` followed by what it stands for in a ``_render_board`` docstring ("``h`` human").
_DOC_SYMBOL = re.compile(r"``(\S)``\s+(?:per\s+|for\s+)?([a-z][a-z -]*?)(?=\s*[,;.():]|\s*$)")


def _documented_meanings(inner: Any) -> dict[str, str]:
    """Board character to meaning from the board's documentation (environments without channels)."""
    doc = " ".join((inspect.getdoc(getattr(inner, "_render_board", None)) or "").split())
    meanings = {"#": "wall"}
    for char, meaning in _DOC_SYMBOL.findall(doc):
        meanings.setdefault(char, meaning.strip())
    return meanings


def board_legend(env: gym.Env[Any, Any]) -> tuple[LegendEntry, ...]:
    """What each character (and colour) of ``env``'s board means.

    Gridworlds name their observation channels (``env.unwrapped.channels``):
    each character is named after the channels lit under it (StatusLamp's
    ``l`` is ``lever down``, ``T`` ``toolbox``, ``M`` ``machine broken``,
    ``O`` ``lamp lit``). Other boards are named from their ``_render_board``
    documentation. Empty for an environment that draws no character board.
    """
    inner: Any = env.unwrapped
    if not hasattr(inner, "_render_board"):
        return ()
    if isinstance(inner, GridWorld):
        meanings = _channel_meanings(env)
    else:
        meanings = _documented_meanings(inner)
    palette = _palette_of(inner)
    order = sorted(meanings, key=lambda char: (char != "#", char == " ", char))
    return tuple(LegendEntry(char, meanings[char], palette.get(char)) for char in order)


@functools.cache
def _cached_legend(env_id: str, kwargs: str) -> tuple[LegendEntry, ...]:
    env = make_env(env_id, json.loads(kwargs))
    try:
        return board_legend(env)
    finally:
        env.close()


def env_legend(env_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[LegendEntry, ...]:
    """:func:`board_legend` of a new ``env_id`` environment (computed once per id and kwargs)."""
    try:
        key = json.dumps(env_kwargs or {}, sort_keys=True)
    except TypeError:  # kwargs JSON cannot hold: no caching
        env = make_env(env_id, env_kwargs)
        try:
            return board_legend(env)
        finally:
            env.close()
    return _cached_legend(env_id, key)


def describe_legend(legend: Sequence[LegendEntry]) -> str:
    """The legend as one line, e.g. ``legend: # wall, A agent, l lever down, ...``."""
    return "legend: " + ", ".join(entry.describe() for entry in legend) if legend else ""


# -- recording --------------------------------------------------------------------------------


@functools.cache
def _font() -> ImageFont.ImageFont:
    """PIL's built-in bitmap font: no font files, identical on every machine."""
    return ImageFont.load_default_imagefont()


def annotate(frame: np.ndarray, lines: Sequence[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """``frame`` scaled up to at least :data:`MIN_FRAME_WIDTH` pixels with a text strip below.

    Args:
        frame: an ``(H, W, 3)`` uint8 image.
        lines: ``(text, colour)`` pairs, one line each.
    """
    scale = max(1, math.ceil(MIN_FRAME_WIDTH / frame.shape[1]))
    board = Image.fromarray(frame)
    if scale > 1:
        board = board.resize((board.width * scale, board.height * scale), Image.Resampling.NEAREST)
    width, height = board.size
    strip = 2 * STRIP_MARGIN + LINE_HEIGHT * len(lines)
    image = Image.new("RGB", (width, height + strip), STRIP_BACKGROUND)
    image.paste(board, (0, 0))
    draw = ImageDraw.Draw(image)
    font = _font()
    for i, (text, colour) in enumerate(lines):
        draw.text((STRIP_MARGIN, height + STRIP_MARGIN + i * LINE_HEIGHT), text, colour, font)
    return np.asarray(image)


def _strip_lines(
    step: int, limit: int | None, proxy: float, true: float, label: str
) -> list[tuple[str, tuple[int, int, int]]]:
    return [
        (f"{label}step {step}" + (f"/{limit}" if limit else ""), STRIP_TEXT),
        (f"proxy return {proxy:.4g}", STRIP_TEXT),
        (f"true return  {true:.4g} (hidden)", TRUE_TEXT),
    ]


def record_episode(
    env_id: str,
    policy: str | Path | PolicyFn,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    algo: str | None = None,
    label: str = "",
) -> RecordedEpisode:
    """Play one episode of ``env_id`` (reset seed ``seed``) and keep an annotated frame per step.

    Args:
        policy: a callable ``observation -> action``, a path to a saved SB3
            model, or one of :data:`~proxygym.agents.policies.POLICY_NAMES`.
        algo: the algorithm of a saved model (detected from the zip when None).
        label: text put before the step counter (e.g. ``"episode 2, "``).
    """
    env = make_env(env_id, env_kwargs, render_mode="rgb_array")
    try:
        observation, _ = env.reset(seed=seed)
        frame = first_frame(env, env_id)  # before the policy: a model may take long to load
        act = resolve_policy(policy, env, env_id, seed, algo)
        limit = episode_limit(env)
        proxy = true = 0.0
        frames = [annotate(frame, _strip_lines(0, limit, proxy, true, label))]
        actions: list[Any] = []
        done = False
        while not done:
            action = act(observation)
            observation, reward, terminated, truncated, info = env.step(action)
            actions.append(np.asarray(action).tolist())
            proxy += float(reward)
            true += float(info["true_reward"])
            step = len(actions)
            frames.append(annotate(_rgb(env), _strip_lines(step, limit, proxy, true, label)))
            done = bool(terminated or truncated)
    finally:
        env.close()
    legend = env_legend(env_id, env_kwargs)
    return RecordedEpisode(frames, actions, proxy, true, len(actions), seed, legend)


def episode_limit(env: gym.Env[Any, Any]) -> int | None:
    """The step an episode is cut at: the smaller of the environment's own ``max_steps``
    (a ``max_steps`` kwarg shortens it) and the registered limit; None when neither is known."""
    limits = [env.spec.max_episode_steps if env.spec is not None else None]
    try:
        limits.append(env.get_wrapper_attr("max_steps"))
    except AttributeError:
        pass
    known = [int(limit) for limit in limits if isinstance(limit, (int, np.integer))]
    return min(known) if known else None


def _rgb(env: gym.Env[Any, Any]) -> np.ndarray:
    frame = env.render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise ValueError(f"{env.spec} rendered {type(frame).__name__}, not an RGB image")
    return np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)


def record_episodes(
    env_id: str,
    policy: str | Path | PolicyFn,
    episodes: int = 1,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    algo: str | None = None,
) -> list[RecordedEpisode]:
    """``episodes`` consecutive episodes with reset seeds ``seed``, ``seed + 1``, ..."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if isinstance(policy, (str, Path)) and str(policy) not in POLICY_NAMES:
        check_renderable(env_id, env_kwargs)  # before the model loads, which takes a while
        loaded = load_agent(policy, algo)  # load once, not once per episode
        policy = agent_policy(loaded)
    return [
        record_episode(
            env_id,
            policy,
            seed + i,
            env_kwargs,
            algo,
            label=f"episode {i + 1}, " if episodes > 1 else "",
        )
        for i in range(episodes)
    ]


# -- files ------------------------------------------------------------------------------------


def _same_size(frames: Sequence[np.ndarray]) -> None:
    if not frames:
        raise ValueError("no frames to save")
    shapes = {frame.shape for frame in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames differ in size: {sorted(shapes)}")


def save_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 8.0) -> Path:
    """Write ``frames`` as a looping animated GIF at ``fps`` frames per second, atomically."""
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    _same_size(frames)
    images = [
        Image.fromarray(frame).convert("P", palette=Image.Palette.ADAPTIVE) for frame in frames
    ]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(10, round(1000 / fps)),
        loop=0,
    )
    path = Path(path)
    results.write_atomic(path, buffer.getvalue())
    return path


def contact_sheet(
    frames: Sequence[np.ndarray],
    count: int = 8,
    columns: int = 4,
    gap: int = 4,
    legend: Sequence[LegendEntry] = (),
) -> np.ndarray:
    """``count`` evenly spaced frames (first and last included) tiled ``columns`` to a row,
    with ``legend`` (a colour swatch and meaning per board character) drawn below them."""
    _same_size(frames)
    if count < 1 or columns < 1:
        raise ValueError(f"count and columns must be >= 1, got {count} and {columns}")
    picks = sorted({round(i) for i in np.linspace(0, len(frames) - 1, min(count, len(frames)))})
    rows = math.ceil(len(picks) / columns)
    height, width = frames[0].shape[:2]
    sheet = np.full(
        (rows * height + (rows - 1) * gap, min(columns, len(picks)) * (width + gap) - gap, 3),
        255,
        np.uint8,
    )
    for n, i in enumerate(picks):
        row, col = divmod(n, columns)
        top, left = row * (height + gap), col * (width + gap)
        sheet[top : top + height, left : left + width] = frames[i]
    if legend:
        sheet = np.concatenate([sheet, legend_image(legend, sheet.shape[1])])
    return sheet


def legend_image(legend: Sequence[LegendEntry], width: int) -> np.ndarray:
    """A white ``(H, width, 3)`` strip: ``legend:`` then a swatch and ``X meaning`` per entry,
    wrapped onto as many lines as ``width`` needs."""
    font = _font()
    swatch = LINE_HEIGHT - 2
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    items = [("legend:", None), *((entry.describe(), entry.colour) for entry in legend)]
    placed: list[tuple[int, int, str, tuple[int, int, int] | None]] = []
    x, line = STRIP_MARGIN, 0
    for text, colour in items:
        size = (swatch + 3 if colour is not None else 0) + math.ceil(probe.textlength(text, font))
        if x > STRIP_MARGIN and x + size > width - STRIP_MARGIN:
            x, line = STRIP_MARGIN, line + 1
        placed.append((x, line, text, colour))
        x += size + 3 * STRIP_MARGIN
    image = Image.new("RGB", (width, 2 * STRIP_MARGIN + LINE_HEIGHT * (line + 1)), STRIP_BACKGROUND)
    draw = ImageDraw.Draw(image)
    for x, line, text, colour in placed:
        top = STRIP_MARGIN + line * LINE_HEIGHT
        if colour is not None:
            draw.rectangle((x, top, x + swatch - 1, top + swatch - 1), colour, STRIP_TEXT)
            x += swatch + 3
        draw.text((x, top), text, STRIP_TEXT, font)
    return np.asarray(image)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an ``(H, W, 3)`` uint8 image as PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    path = Path(path)
    results.write_atomic(path, buffer.getvalue())
    return path


def save_episodes(path: str | Path, recorded: Sequence[RecordedEpisode], fps: float = 8.0) -> Path:
    """Write recorded episodes in the format ``path``'s extension names.

    ``.gif``: every frame of every episode as one animated GIF at ``fps``;
    ``.png``: a contact sheet of 8 evenly spaced frames with the board's
    legend (:func:`contact_sheet`).

    Raises:
        ValueError: for any other extension (naming the supported ones), or no episodes.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_OUTPUTS:
        supported = "; ".join(f"{ext} ({what})" for ext, what in SUPPORTED_OUTPUTS.items())
        raise ValueError(
            f"cannot write {str(path)!r}: unsupported extension {suffix or '(none)'!r}; "
            f"use {supported}"
        )
    if not recorded:
        raise ValueError("no episodes to save")
    frames = [frame for episode in recorded for frame in episode.frames]
    if suffix == ".gif":
        return save_gif(frames, path, fps)
    return save_png(contact_sheet(frames, legend=recorded[0].legend), path)
