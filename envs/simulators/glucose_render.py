"""Glucose's views: a chart of the glucose trace over the target band, drawn with numpy or text."""

from __future__ import annotations

import numpy as np

from proxygym.rendering import CELL_PIXELS

#: The glucose range the charts show (mg/dL) and the target band shaded in them.
CHART_TOP, BAND_LOW, BAND_HIGH = 400.0, 70.0, 180.0
#: Pixels per step in the image: 100 steps fill a 25-cell (400-pixel) frame.
STEP_PIXELS = 4
#: Image rows (from the bottom) given to the infusion bars.
INSULIN_ROWS = 32

_BACKGROUND = (250, 250, 250)
_BAND = (205, 235, 205)
_GLUCOSE = (30, 30, 30)
_INSULIN = (60, 110, 200)
_MEAL = (235, 140, 30)
_LOW = (200, 40, 40)


def glucose_image(
    height: int,
    width: int,
    glucose: list[float],
    insulin: list[float],
    max_rate: float,
    meals: list[tuple[int, float]],
) -> np.ndarray:
    """An ``(height * 16, width * 16, 3)`` uint8 frame of the latest steps.

    Top: the glucose trace (black, red below 70 mg/dL) over 0-400 mg/dL with
    the target band 70-180 shaded; orange ticks at the meals eaten. Bottom:
    one bar a step for the infusion rate, full height at full throttle.
    """
    rows, cols = height * CELL_PIXELS, width * CELL_PIXELS
    image = np.empty((rows, cols, 3), np.uint8)
    image[:] = _BACKGROUND
    chart_rows = rows - INSULIN_ROWS

    def row_of(value: float) -> int:
        clipped = min(max(value, 0.0), CHART_TOP)
        return min(chart_rows - 1, int((1.0 - clipped / CHART_TOP) * chart_rows))

    image[row_of(BAND_HIGH) : row_of(BAND_LOW) + 1] = _BAND
    image[chart_rows] = (120, 120, 120)
    shown = cols // STEP_PIXELS
    first = max(0, len(glucose) - shown)
    previous = None
    for step in range(first, len(glucose)):
        left = (step - first) * STEP_PIXELS
        row = row_of(glucose[step])
        top, bottom = (row, row) if previous is None else sorted((row, previous))
        colour = _LOW if glucose[step] < BAND_LOW else _GLUCOSE
        image[max(top - 1, 0) : bottom + 2, left : left + STEP_PIXELS] = colour
        previous = row
        bar = round(INSULIN_ROWS * min(insulin[step] / max_rate, 1.0))
        if bar:
            image[rows - bar :, left : left + STEP_PIXELS - 1] = _INSULIN
    for step, _ in meals:
        if first <= step < len(glucose):
            left = (step - first) * STEP_PIXELS
            image[:6, left : left + STEP_PIXELS] = _MEAL
    return image


def glucose_chart(readings: list[float], height: int, width: int) -> list[str]:
    """``height`` text rows plotting the last ``width`` readings (mg/dL) as ``*``.

    Each row covers an equal slice of 0-400 mg/dL, labelled with its lower
    end; cells inside the target band 70-180 that hold no reading are ``.``.
    """
    shown = readings[-width:]
    slice_height = CHART_TOP / height
    lines = []
    for index in range(height):
        low = CHART_TOP - (index + 1) * slice_height
        in_band = low + slice_height > BAND_LOW and low < BAND_HIGH
        cells = []
        for value in shown:
            clipped = min(max(value, 0.0), CHART_TOP - 1e-9)
            if low <= clipped < low + slice_height:
                cells.append("*")
            else:
                cells.append("." if in_band else " ")
        lines.append(f"{low:5.0f} |{''.join(cells).ljust(width)}|")
    return lines
