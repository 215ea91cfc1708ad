"""Record episodes as annotated frames and save them as an animated GIF or a contact sheet.

Watching a gaming policy is the fastest way to believe it games: the boat
that shuttles over one checkpoint, the score that climbs while the laps stay
at zero. :func:`record_episode` plays one episode of any environment with an
``rgb_array`` render mode and draws, under every frame, the step, the proxy
return so far and the hidden true return so far; :func:`save_gif` writes the
frames atomically as an animated GIF and :func:`contact_sheet` tiles a few of
them into one image for Markdown reports.

A policy is a callable ``observation -> action``, a saved stable-baselines3
model (a path to its ``.zip``, as sweeps store in ``models/<cell>.zip``) or
one of ``random``, ``proxy-optimal`` and ``true-optimal``, resolved by
:func:`proxygym.agents.policies.resolve_policy`.

An episode of ``T`` steps gives exactly ``T + 1`` frames: the frame after
``reset()`` and one after each step. The step counter in the text strip makes
every frame differ from the one before it, so GIF writers that merge identical
consecutive frames never change the count.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
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
    """

    frames: list[np.ndarray]
    actions: list[Any]
    proxy_return: float
    true_return: float
    steps: int
    seed: int


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
        act = resolve_policy(policy, env, env_id, seed, algo)
        observation, _ = env.reset(seed=seed)
        limit = env.spec.max_episode_steps if env.spec is not None else None
        proxy = true = 0.0
        frames = [annotate(_rgb(env), _strip_lines(0, limit, proxy, true, label))]
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
    return RecordedEpisode(frames, actions, proxy, true, len(actions), seed)


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
    frames: Sequence[np.ndarray], count: int = 8, columns: int = 4, gap: int = 4
) -> np.ndarray:
    """``count`` evenly spaced frames (first and last included) tiled ``columns`` to a row."""
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
    return sheet


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an ``(H, W, 3)`` uint8 image as PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    path = Path(path)
    results.write_atomic(path, buffer.getvalue())
    return path
