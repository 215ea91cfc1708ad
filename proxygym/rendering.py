"""Drawing a character board as an image, shared by every environment's ``rgb_array`` mode."""

from __future__ import annotations

import numpy as np

#: Side of one board cell in the rendered image, in pixels.
CELL_PIXELS = 16


def board_image(board: np.ndarray, palette: dict[str, tuple[int, int, int]]) -> np.ndarray:
    """An ``(H * 16, W * 16, 3)`` uint8 image of an ``(H, W)`` character board.

    Each cell is a square of its character's colour in ``palette``; characters
    without a colour are drawn black.
    """
    image = np.zeros((*board.shape, 3), np.uint8)
    for (row, col), char in np.ndenumerate(board):
        image[row, col] = palette.get(str(char), (0, 0, 0))
    return np.kron(image, np.ones((CELL_PIXELS, CELL_PIXELS, 1), np.uint8))
