"""Drawing ``rgb_array`` frames in numpy: character boards, and the few filled shapes the
classic-control pendulums are drawn with (:mod:`proxygym.envs.wrapped._classic_frames`)."""

from __future__ import annotations

import functools

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


# -- shapes -----------------------------------------------------------------------------------
# Frames of environments without a character board (the classic-control pendulums) are drawn
# from a few filled shapes, in numpy alone: no pygame, no anti-aliasing, so a frame is the same
# array on every machine and holds only the colours it was drawn with (GIFs keep them exactly).
# Points are ``(x, y)`` in pixels, x to the right and y down, measured to pixel centres.

Point = tuple[float, float]
Colour = tuple[int, int, int]


def canvas(height: int, width: int, colour: Colour = (255, 255, 255)) -> np.ndarray:
    """A new ``(height, width, 3)`` uint8 image filled with ``colour``."""
    return np.full((height, width, 3), colour, np.uint8)


def _pixel_centres(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of every pixel's centre, as two read-only ``(H, W)`` arrays."""
    return _centres(image.shape[0], image.shape[1])


@functools.cache
def _centres(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:height, 0:width]
    x, y = cols + 0.5, rows + 0.5
    x.flags.writeable = y.flags.writeable = False  # shared between calls
    return x, y


def fill_disc(image: np.ndarray, centre: Point, radius: float, colour: Colour) -> None:
    """Paint the pixels whose centres lie within ``radius`` of ``centre``."""
    x, y = _pixel_centres(image)
    image[(x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2] = colour


def fill_segment(image: np.ndarray, start: Point, end: Point, width: float, colour: Colour) -> None:
    """Paint a segment ``width`` pixels thick with round ends (every pixel centre within
    ``width / 2`` of the segment from ``start`` to ``end``)."""
    x, y = _pixel_centres(image)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length2 = dx * dx + dy * dy
    along = ((x - start[0]) * dx + (y - start[1]) * dy) / length2 if length2 > 0 else 0 * x
    along = np.clip(along, 0.0, 1.0)
    nearest_x, nearest_y = start[0] + along * dx, start[1] + along * dy
    image[(x - nearest_x) ** 2 + (y - nearest_y) ** 2 <= (width / 2) ** 2] = colour


def fill_polygon(image: np.ndarray, corners: list[Point], colour: Colour) -> None:
    """Paint the inside of a convex polygon (corners in either winding order)."""
    x, y = _pixel_centres(image)
    sides = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        sides.append((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0))
    inside = np.all([side >= 0 for side in sides], axis=0)
    inside |= np.all([side <= 0 for side in sides], axis=0)
    image[inside] = colour


def fill_arc(
    image: np.ndarray,
    centre: Point,
    radius: float,
    start: float,
    sweep: float,
    width: float,
    colour: Colour,
) -> None:
    """Paint a circular arc ``width`` pixels thick around ``centre``.

    Angles are in radians, counterclockwise as seen on the screen (0 points
    right, ``pi / 2`` up); the arc runs from ``start`` through ``sweep``
    radians (negative: clockwise), at most a full turn.
    """
    x, y = _pixel_centres(image)
    dx, dy = x - centre[0], centre[1] - y  # y up, so angles turn counterclockwise on screen
    ring = np.abs(np.hypot(dx, dy) - radius) <= width / 2
    low = start if sweep >= 0 else start + sweep
    offset = np.mod(np.arctan2(dy, dx) - low, 2 * np.pi)
    image[ring & (offset <= abs(sweep))] = colour
