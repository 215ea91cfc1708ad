"""Drawing a character board as an image, shared by every environment's ``rgb_array`` mode."""

from __future__ import annotations

import numpy as np

#: Side of one board cell in the rendered image, in pixels.
CELL_PIXELS = 16


def _right_arrow() -> np.ndarray:
    """A cell-sized mask of a triangle pointing right (east), with a margin of 3 pixels."""
    rows, cols = np.mgrid[0:CELL_PIXELS, 0:CELL_PIXELS] + 0.5
    centre, tip, base = CELL_PIXELS / 2, CELL_PIXELS - 3.0, 3.0
    return (cols >= base) & (cols <= tip) & (np.abs(rows - centre) <= (tip - cols) / 2)


#: Direction characters drawn with an arrow over their cell's colour (BoatRace's
#: checkpoints, ConveyorBelt's belt end), so a frame shows which way they point.
ARROW_GLYPHS: dict[str, np.ndarray] = {
    ">": _right_arrow(),
    "^": np.rot90(_right_arrow()),
    "<": np.rot90(_right_arrow(), 2),
    "v": np.rot90(_right_arrow(), 3),
}


def board_image(board: np.ndarray, palette: dict[str, tuple[int, int, int]]) -> np.ndarray:
    """An ``(H * 16, W * 16, 3)`` uint8 image of an ``(H, W)`` character board.

    Each cell is a square of its character's colour in ``palette``; characters
    without a colour are drawn black. Direction characters (:data:`ARROW_GLYPHS`)
    carry an arrow in a darker shade of their colour.
    """
    image = np.zeros((*board.shape, 3), np.uint8)
    for (row, col), char in np.ndenumerate(board):
        image[row, col] = palette.get(str(char), (0, 0, 0))
    pixels = np.kron(image, np.ones((CELL_PIXELS, CELL_PIXELS, 1), np.uint8))
    for (row, col), char in np.ndenumerate(board):
        glyph = ARROW_GLYPHS.get(str(char))
        if glyph is not None:
            top, left = row * CELL_PIXELS, col * CELL_PIXELS
            cell = pixels[top : top + CELL_PIXELS, left : left + CELL_PIXELS]  # a view
            cell[glyph] = image[row, col] // 3
    return pixels
