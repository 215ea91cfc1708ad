"""Board images: one square of colour per cell, arrows on the direction characters."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from proxygym.rendering import (
    CELL_PIXELS,
    board_image,
    canvas,
    fill_arc,
    fill_disc,
    fill_polygon,
    fill_segment,
)

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


def test_shapes_paint_the_pixels_whose_centres_they_cover() -> None:
    image = canvas(20, 30, (1, 2, 3))
    assert image.shape == (20, 30, 3) and (image == (1, 2, 3)).all()
    fill_disc(image, (10.0, 10.0), 1.0, YELLOW)
    # Centres (9.5, 9.5), (10.5, 9.5), (9.5, 10.5), (10.5, 10.5) are 0.71 away; the next 1.58.
    assert {tuple(p) for p in np.argwhere((image == YELLOW).all(axis=2))} == {
        (9, 9),
        (9, 10),
        (10, 9),
        (10, 10),
    }
    dot, both = canvas(20, 20), canvas(20, 20)
    fill_segment(dot, (7.0, 7.0), (7.0, 7.0), 6.0, YELLOW)  # zero length: a disc of radius 3
    fill_disc(both, (7.0, 7.0), 3.0, YELLOW)
    np.testing.assert_array_equal(dot, both)
    square = [(2.0, 2.0), (6.0, 2.0), (6.0, 6.0), (2.0, 6.0)]
    clockwise, counter = canvas(8, 8), canvas(8, 8)
    fill_polygon(clockwise, square, YELLOW)
    fill_polygon(counter, square[::-1], YELLOW)
    np.testing.assert_array_equal(clockwise, counter)
    assert (clockwise[2:6, 2:6] == YELLOW).all() and (clockwise == YELLOW).all(axis=2).sum() == 16


def test_arcs_run_counterclockwise_on_screen_for_a_positive_sweep() -> None:
    up, up_back = canvas(40, 40), canvas(40, 40)
    # From 12 o'clock a quarter turn counterclockwise: the upper-left quadrant only.
    fill_arc(up, (20.0, 20.0), 10.0, np.pi / 2, np.pi / 2, 2.0, YELLOW)
    rows, cols = np.argwhere((up == YELLOW).all(axis=2)).T
    assert rows.max() < 21 and cols.max() < 21 and rows.min() >= 9 and cols.min() >= 9
    # The same arc drawn from its other end, clockwise.
    fill_arc(up_back, (20.0, 20.0), 10.0, np.pi, -np.pi / 2, 2.0, YELLOW)
    np.testing.assert_array_equal(up, up_back)
    ring = canvas(40, 40)
    fill_arc(ring, (20.0, 20.0), 10.0, 0.0, 2 * np.pi, 2.0, YELLOW)
    np.testing.assert_array_equal(ring, ring[::-1])  # a full turn: the whole ring
    np.testing.assert_array_equal(ring, ring[:, ::-1])
