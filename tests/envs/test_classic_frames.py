"""Pendulum's and Acrobot's ``rgb_array`` frames, drawn in numpy (no pygame)."""

from __future__ import annotations

import math
import sys

import gymnasium as gym
import numpy as np
import pytest

from proxygym.envs.wrapped._classic_frames import (
    BLACK,
    FRAME_PIXELS,
    JOINT,
    LINK,
    ROD,
    TORQUE,
    acrobot_frame,
    pendulum_frame,
)
from proxygym.envs.wrapped._fast_classic_control import FastAcrobotEnv, FastPendulumEnv

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
ACROBOT = "proxygym/AcrobotHeight-v0"
# Below, SCALE = 240 / 4.4 = 54.5 pixels per link length (2.2 each side of the pivot).


def painted(frame: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """``(row, col)`` of every pixel of ``colour``."""
    return np.argwhere((frame == colour).all(axis=2))


def test_an_upright_pendulum_is_a_vertical_rod_above_the_pivot() -> None:
    frame = pendulum_frame(0.0, None, 2.0)
    assert frame.shape == (FRAME_PIXELS, FRAME_PIXELS, 3) and frame.dtype == np.uint8
    rows, cols = painted(frame, ROD).T
    # A rod 1 long and 0.2 wide from the pivot (120, 120) up, with round ends, painted where
    # pixel centres (k + 0.5) fall inside: from 120 - SCALE - 0.1 SCALE = 60.0 down to
    # 120 + 0.1 SCALE = 125.45 (rows 60 to 124), columns 120 +- 5.45 (115 to 124).
    assert (rows.min(), rows.max()) == (60, 124) and (cols.min(), cols.max()) == (115, 124)
    np.testing.assert_array_equal(frame, frame[:, ::-1])  # symmetric about the rod
    assert len(painted(frame, BLACK)) > 0 and len(painted(frame, TORQUE)) == 0
    assert {tuple(c) for c in frame.reshape(-1, 3)} == {(255, 255, 255), ROD, BLACK}


def test_the_hanging_pendulum_is_the_upright_one_upside_down() -> None:
    np.testing.assert_array_equal(
        pendulum_frame(math.pi, None, 2.0), pendulum_frame(0, None, 2)[::-1]
    )


@pytest.mark.parametrize("angle", [0.0, 0.7, 2.5, -1.9])
@pytest.mark.parametrize("torque", [0.4, 2.0, 5.0])
def test_mirrored_state_and_torque_give_the_mirrored_frame(angle: float, torque: float) -> None:
    np.testing.assert_array_equal(
        pendulum_frame(-angle, -torque, 2.0), pendulum_frame(angle, torque, 2.0)[:, ::-1]
    )


def test_the_torque_arc_turns_the_way_the_torque_does_and_grows_with_it() -> None:
    sizes = {}
    for torque in (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0):
        arc = painted(pendulum_frame(0.0, torque, 2.0), TORQUE)
        sizes[torque] = len(arc)
        if torque > 0:  # counterclockwise from the upright rod: to the left
            assert (arc[:, 1] < FRAME_PIXELS / 2).all()
        if torque < 0:
            assert (arc[:, 1] >= FRAME_PIXELS / 2).all()
    assert sizes[0.0] == 0
    assert 0 < sizes[0.5] < sizes[1.0] < sizes[2.0] == sizes[3.0]  # clipped at the limit
    assert sizes[-1.0] == sizes[1.0]


def test_acrobot_links_hang_down_and_stand_up_to_the_hand_computed_rows() -> None:
    down = acrobot_frame(0.0, 0.0, 1.0, 1.0)
    rows, cols = painted(down, LINK).T
    # Two links of 1 (0.2 wide) below the pivot at 120: the tip's round end reaches
    # 120 + 2 SCALE + 0.1 SCALE = 234.5..., the last pixel centre within it is 234.5.
    assert rows.max() == 234 and rows.min() >= 120 - 6 and (cols.min(), cols.max()) == (115, 124)
    up = acrobot_frame(math.pi, 0.0, 1.0, 1.0)
    assert painted(up, LINK)[:, 0].min() == 5  # 120 - 2 SCALE - 0.1 SCALE = 5.45
    # The goal line, one link above the pivot (row 120 - SCALE = 65.45), across the frame.
    line = painted(down, BLACK)
    assert set(line[:, 0]) == {65} and len(line) == FRAME_PIXELS
    assert len(painted(down, JOINT)) > 0


def test_env_frames_draw_the_state_and_the_last_torque_without_pygame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)  # importing pygame now fails
    env = gym.make(PENDULUM, render_mode="rgb_array")
    env.reset(seed=0)
    np.testing.assert_array_equal(env.render(), pendulum_frame(env.unwrapped.state[0], None, 2.0))
    env.step(np.array([-3.0], np.float32))  # clipped to -2
    np.testing.assert_array_equal(env.render(), pendulum_frame(env.unwrapped.state[0], -2.0, 2.0))
    acrobot = gym.make(ACROBOT, render_mode="rgb_array")
    acrobot.reset(seed=0)
    acrobot.step(2)
    theta1, theta2 = acrobot.unwrapped.state[:2]
    np.testing.assert_array_equal(acrobot.render(), acrobot_frame(theta1, theta2, 1.0, 1.0))


@pytest.mark.parametrize("fast_class", [FastAcrobotEnv, FastPendulumEnv])
def test_rendering_before_reset_is_refused(fast_class: type) -> None:
    with pytest.raises(gym.error.ResetNeeded):
        fast_class(render_mode="rgb_array").render()
