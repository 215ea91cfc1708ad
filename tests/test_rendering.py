"""Board images: one square of colour per cell, arrows on the direction characters."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from proxygym.rendering import CELL_PIXELS, board_image

YELLOW = (255, 200, 0)


def cell(image: np.ndarray, row: int, col: int) -> np.ndarray:
    top, left = row * CELL_PIXELS, col * CELL_PIXELS
    return image[top : top + CELL_PIXELS, left : left + CELL_PIXELS]


def test_each_arrow_points_its_own_way_and_other_cells_stay_plain() -> None:
    board = np.array([list(">v<^#")])
    image = board_image(board, {char: YELLOW for char in "<>^v"} | {"#": (9, 9, 9)})
    right, down, left, up, wall = (cell(image, 0, col) for col in range(5))
    assert (wall == 9).all()
    np.testing.assert_array_equal(left, right[:, ::-1])  # mirror images
    np.testing.assert_array_equal(up, down[::-1])
    np.testing.assert_array_equal(down, np.rot90(right, -1))
    colours = {tuple(pixel) for pixel in right.reshape(-1, 3)}
    assert colours == {YELLOW, (85, 66, 0)}  # the cell's colour and a third of it
    dark = (right == (85, 66, 0)).all(axis=2)
    # The arrow of ">" widens to the west: more dark pixels in its left half than its right.
    assert dark[:, : CELL_PIXELS // 2].sum() > 2 * dark[:, CELL_PIXELS // 2 :].sum() > 0


def test_boat_race_frames_show_the_checkpoint_directions() -> None:
    env = gym.make("proxygym/BoatRace-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    board = env.unwrapped.board
    arrows = {str(board[pos]): cell(frame, *pos) for pos in np.ndindex(board.shape)}
    assert not np.array_equal(arrows[">"], arrows["<"])
    assert not np.array_equal(arrows["^"], arrows["v"])
