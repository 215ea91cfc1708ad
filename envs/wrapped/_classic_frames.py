"""``rgb_array`` frames of Pendulum-v1 and Acrobot-v1 drawn in numpy, without pygame.

Gymnasium draws these two with pygame (anti-aliased, 500 pixels square),
which proxygym installs only with its ``render`` extra; without it
``proxygym render`` could not record the two continuous-control classics
at all. The frames here keep Gymnasium's picture (its colours, its scale:
the pivot in the middle of a square 2.2 link lengths from the centre to
each side, up being up) on a smaller canvas, drawn from filled shapes
(:mod:`proxygym.rendering`) with no anti-aliasing, so a frame depends on
the state alone: the same array on every machine, whatever is installed.

Pendulum: the rod, the pivot, and the torque of the last step as a blue arc
around the pivot starting at the rod, in the direction the torque turns it
(counterclockwise for a positive torque, as Pendulum-v1's angle counts),
over ``3/4 pi`` times the torque's share of the limit, with an arrowhead.
Acrobot: the two links, their joints, and the line the tip must rise above.
"""

from __future__ import annotations

import math

import numpy as np

from proxygym.rendering import (
    Colour,
    Point,
    canvas,
    fill_arc,
    fill_disc,
    fill_polygon,
    fill_segment,
)

#: Side of the square frame in pixels (the text strip under a recorded frame fits it unscaled).
FRAME_PIXELS = 240
#: Gymnasium's colours: Pendulum's rod, Acrobot's links and joints.
ROD: Colour = (204, 77, 77)
LINK: Colour = (0, 204, 204)
JOINT: Colour = (204, 204, 0)
BLACK: Colour = (0, 0, 0)
#: The applied torque's arc (Okabe-Ito blue).
TORQUE: Colour = (0, 114, 178)
#: Pendulum's view reaches this far from the pivot, in rod lengths (Gymnasium's ``bound``).
PENDULUM_BOUND = 2.2
#: The torque arc at the limit turns this far around the pivot.
FULL_SWEEP = 0.75 * math.pi
#: A torque arc shorter than this (radians) is not drawn: no visible torque.
MIN_SWEEP = 0.02


class _View:
    """Maps world coordinates (pivot at 0, y up, in link lengths) to pixels of a square frame."""

    def __init__(self, bound: float) -> None:
        self.scale = FRAME_PIXELS / (2 * bound)
        self.centre = FRAME_PIXELS / 2

    def pixel(self, x: float, y: float) -> Point:
        return self.centre + x * self.scale, self.centre - y * self.scale


def pendulum_frame(angle: float, torque: float | None, max_torque: float) -> np.ndarray:
    """Pendulum-v1 at ``angle`` (0 upright, counterclockwise positive) after applying ``torque``.

    ``torque`` None (just after reset) or near 0 draws no arc.
    """
    view = _View(PENDULUM_BOUND)
    image = canvas(FRAME_PIXELS, FRAME_PIXELS)
    pivot = view.pixel(0.0, 0.0)
    rod_angle = angle + math.pi / 2  # from the x axis, counterclockwise
    if torque is not None and max_torque > 0:
        sweep = FULL_SWEEP * max(-1.0, min(1.0, float(torque) / max_torque))
        if abs(sweep) >= MIN_SWEEP:
            _torque_arc(image, view, rod_angle, sweep)
    tip = view.pixel(math.cos(rod_angle), math.sin(rod_angle))
    fill_segment(image, pivot, tip, 0.2 * view.scale, ROD)
    fill_disc(image, pivot, 0.05 * view.scale, BLACK)
    return image


def _torque_arc(image: np.ndarray, view: _View, start: float, sweep: float) -> None:
    """An arc of radius 0.6 from angle ``start`` through ``sweep``, an arrowhead at its end."""
    radius, head = 0.6, 0.12
    fill_arc(
        image, view.pixel(0.0, 0.0), radius * view.scale, start, sweep, 0.06 * view.scale, TORQUE
    )
    end = start + sweep
    turn = math.copysign(1.0, sweep)  # the way the arc runs: along +tangent when counterclockwise
    radial = (math.cos(end), math.sin(end))
    tangent = (-radial[1] * turn, radial[0] * turn)
    centre = (radius * radial[0], radius * radial[1])
    corners = [
        (centre[0] + 2 * head * tangent[0], centre[1] + 2 * head * tangent[1]),
        (centre[0] + head * radial[0], centre[1] + head * radial[1]),
        (centre[0] - head * radial[0], centre[1] - head * radial[1]),
    ]
    fill_polygon(image, [view.pixel(x, y) for x, y in corners], TORQUE)


def acrobot_frame(theta1: float, theta2: float, link1: float, link2: float) -> np.ndarray:
    """Acrobot-v1 with joint angles ``theta1``, ``theta2`` (both 0: hanging straight down).

    The black line one first-link length above the pivot is the height the
    tip must pass to end the episode (Acrobot-v1's goal).
    """
    bound = link1 + link2 + 0.2
    view = _View(bound)
    image = canvas(FRAME_PIXELS, FRAME_PIXELS)
    line_y = view.pixel(0.0, 1.0)[1]
    fill_segment(image, (0.0, line_y), (float(FRAME_PIXELS), line_y), 1.0, BLACK)
    elbow = (link1 * math.sin(theta1), -link1 * math.cos(theta1))
    tip = (
        elbow[0] + link2 * math.sin(theta1 + theta2),
        elbow[1] - link2 * math.cos(theta1 + theta2),
    )
    for start, end in (((0.0, 0.0), elbow), (elbow, tip)):
        fill_segment(image, view.pixel(*start), view.pixel(*end), 0.2 * view.scale, LINK)
        fill_disc(image, view.pixel(*start), 0.1 * view.scale, JOINT)
    return image
