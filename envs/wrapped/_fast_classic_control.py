"""Gymnasium's Acrobot-v1 and Pendulum-v1 with ``step`` computed in plain Python floats.

Gymnasium's classic-control steps do their arithmetic on tiny numpy arrays
and numpy scalars (Acrobot integrates a 5-vector with RK4), so nearly all of
a step is per-call numpy overhead: Acrobot's step costs about as much as
PPO's own work per step. The subclasses here override only ``step`` and redo
exactly the same floating-point operations, in the same order, on Python
floats with :mod:`math`. IEEE arithmetic is the same on either, and numpy's
float64 scalar ``**``, ``sin`` and ``cos`` are the C library's, so the
results are bit-identical to Gymnasium's. Numpy builds that use their own
SIMD sine and cosine (AVX-512, numpy#23523) differ from the C library in the
last bit, so Gymnasium's own chaotic Acrobot trajectories differ between such
machines and others; there the two agree to about 1e-15 a step.
``tests/envs/test_fast_classic_control.py`` compares them step by step. Where
Gymnasium computes in float32 (Pendulum's torque terms on a float32 action),
the same numpy float32 operations are kept.

Reset, seeding (``np_random``), spaces, ``options``, ``book_or_nips``,
``torque_noise_max`` and the ``human`` window (pygame) are Gymnasium's own,
inherited unchanged. Three additions: an unknown ``render_mode`` raises a
ValueError (Gymnasium's ``gym.make`` only warns); stepping (or rendering)
before ``reset`` raises :class:`gymnasium.error.ResetNeeded`; and
``rgb_array`` frames are drawn in numpy
(:mod:`proxygym.envs.wrapped._classic_frames`) rather than with pygame, so
they need no extra package and are the same arrays on every machine
(Gymnasium's picture, 240 pixels square, not anti-aliased; Pendulum's frame
shows the last torque as an arc).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium.envs.classic_control.acrobot import AcrobotEnv, wrap
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from gymnasium.error import ResetNeeded

from proxygym.envs.wrapped._classic_frames import acrobot_frame, pendulum_frame

#: Acrobot's joint accelerations ``(ddtheta1, ddtheta2)`` from ``(theta1, theta2,
#: dtheta1, dtheta2, torque)``.
Accelerations = Callable[[float, float, float, float, float], tuple[float, float]]

_PI = math.pi
_TWO_PI = 2 * math.pi
_cos, _sin = math.cos, math.sin
_array = np.array
_FLOAT32 = np.dtype(np.float32)

#: Gravity in Gymnasium's ``AcrobotEnv._dsdt`` (a literal there, not an attribute).
ACROBOT_GRAVITY = 9.8


def as_floats(state: Sequence[Any] | np.ndarray) -> list[float]:
    """``state`` as a list of Python floats (exact for float32 and float64 values)."""
    if isinstance(state, np.ndarray):
        return state.tolist()
    return [float(x) for x in state]


def check_render_mode(env: Any, render_mode: str | None) -> None:
    """A ValueError naming ``render_mode`` unless it is None or one of ``env.metadata``'s."""
    modes = env.metadata["render_modes"]
    if render_mode is not None and render_mode not in modes:
        raise ValueError(
            f"{type(env).__name__}: render_mode must be one of {modes} or None, got {render_mode!r}"
        )


class FloatState:
    """A ``state`` attribute kept as a list of Python floats between steps.

    Gymnasium's classic-control envs hold ``self.state`` as a float64 array,
    which a fast step would build only to turn back into floats on the next
    step. Here a step leaves its new state in ``_floats`` (``_state`` None),
    and reading ``state`` builds the float64 array from them, once; from
    then on ``state`` is that array, which may be changed in place, so the
    next step reads its floats from it. Anything assigned to ``state`` is
    kept (in ``_state``) and read back as it is, as in Gymnasium.
    """

    _state: Any = None
    _floats: list[float] | None = None

    @property
    def state(self) -> Any:
        """Gymnasium's ``state``: None before ``reset``, a float64 array after a step."""
        state = self._state
        if state is None and self._floats is not None:
            state = self._state = _array(self._floats)
            self._floats = None
        return state

    @state.setter
    def state(self, value: Any) -> None:
        self._state = value
        self._floats = None

    def _state_floats(self) -> list[float]:
        """The state a step starts from, as floats; ResetNeeded before ``reset``."""
        if self._floats is not None:
            return self._floats
        if self._state is None:
            raise ResetNeeded(f"{type(self).__name__}: call reset() before step()")
        return as_floats(self._state)


class FastAcrobotEnv(FloatState, AcrobotEnv):
    """Gymnasium's Acrobot-v1 (``AcrobotEnv``), stepped in plain Python floats.

    Same dynamics, observations, rewards and termination as Gymnasium's, bit
    for bit; see the module docstring. ``self.state`` is a float64 array
    after a step, as in Gymnasium.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        check_render_mode(self, render_mode)
        super().__init__(render_mode=render_mode)
        self._rk4_cache: tuple[Any, ...] | None = None

    def render(self) -> Any:
        """An ``rgb_array`` frame drawn in numpy (:func:`acrobot_frame`); ``human``: Gymnasium's."""
        if self.render_mode != "rgb_array":
            return super().render()
        theta1, theta2 = self._state_floats()[:2]
        return acrobot_frame(theta1, theta2, float(self.LINK_LENGTH_1), float(self.LINK_LENGTH_2))

    def __getstate__(self) -> dict[str, Any]:
        """The instance's attributes without the cached accelerations (a local function)."""
        attributes = self.__dict__.copy()
        attributes["_rk4_cache"] = None  # rebuilt on the next step
        return attributes

    def step(self, a: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Gymnasium's ``AcrobotEnv.step``: an RK4 step of ``dt``, torque ``AVAIL_TORQUE[a]``."""
        state = self._state_floats()
        torque = self.AVAIL_TORQUE[a]
        if self.torque_noise_max > 0:
            torque += self.np_random.uniform(-self.torque_noise_max, self.torque_noise_max)
        theta1, theta2, dtheta1, dtheta2 = self._integrate(state, float(torque))
        if theta1 > _PI or theta1 < -_PI:  # ``wrap`` returns anything else unchanged
            theta1 = wrap(theta1, -_PI, _PI)
        if theta2 > _PI or theta2 < -_PI:
            theta2 = wrap(theta2, -_PI, _PI)
        # Gymnasium's ``bound``, ``min(max(x, -limit), limit)``, compared out.
        limit = self.MAX_VEL_1
        if -limit > dtheta1:
            dtheta1 = -limit
        if limit < dtheta1:
            dtheta1 = limit
        limit = self.MAX_VEL_2
        if -limit > dtheta2:
            dtheta2 = -limit
        if limit < dtheta2:
            dtheta2 = limit
        dtheta1, dtheta2 = float(dtheta1), float(dtheta2)
        self._state, self._floats = None, [theta1, theta2, dtheta1, dtheta2]
        cos1 = _cos(theta1)
        terminated = -cos1 - _cos(theta2 + theta1) > 1.0
        observation = _array(
            [cos1, _sin(theta1), _cos(theta2), _sin(theta2), dtheta1, dtheta2], _FLOAT32
        )
        if self.render_mode == "human":
            self.render()
        return observation, 0.0 if terminated else -1.0, terminated, False, {}

    def _integrate(self, state: list[float], torque: float) -> tuple[float, float, float, float]:
        """Gymnasium's ``rk4(self._dsdt, [*state, torque], [0, self.dt])``, term by term.

        The derivative of the angles is the velocities, so each RK4 stage ``k``
        is ``(velocity1, velocity2, acceleration1, acceleration2)``, and the
        torque, whose derivative is 0, stays as it is.
        """
        accelerations, half, sixth, dt = self._rk4_constants()
        t1, t2, w1, w2 = state
        a1, b1 = accelerations(t1, t2, w1, w2, torque)
        u2, v2, x2, y2 = t1 + half * w1, t2 + half * w2, w1 + half * a1, w2 + half * b1
        a2, b2 = accelerations(u2, v2, x2, y2, torque)
        u3, v3, x3, y3 = t1 + half * x2, t2 + half * y2, w1 + half * a2, w2 + half * b2
        a3, b3 = accelerations(u3, v3, x3, y3, torque)
        u4, v4, x4, y4 = t1 + dt * x3, t2 + dt * y3, w1 + dt * a3, w2 + dt * b3
        a4, b4 = accelerations(u4, v4, x4, y4, torque)
        return (
            t1 + sixth * (w1 + 2 * x2 + 2 * x3 + x4),
            t2 + sixth * (w2 + 2 * y2 + 2 * y3 + y4),
            w1 + sixth * (a1 + 2 * a2 + 2 * a3 + a4),
            w2 + sixth * (b1 + 2 * b2 + 2 * b3 + b4),
        )

    def _rk4_constants(self) -> tuple[Accelerations, float, float, float]:
        """The accelerations (:func:`acrobot_accelerations`) and RK4's half, sixth and whole ``dt``.

        Built from the link constants, ``book_or_nips`` and ``dt`` as they are
        now, as Gymnasium reads them on every step; rebuilt whenever one of
        them is no longer the very object they were built from.
        """
        key = (
            self.dt,
            self.LINK_MASS_1,
            self.LINK_MASS_2,
            self.LINK_LENGTH_1,
            self.LINK_COM_POS_1,
            self.LINK_COM_POS_2,
            self.LINK_MOI,
            self.book_or_nips,
        )
        cached = self._rk4_cache
        if cached is not None and all(map(operator.is_, key, cached[0])):
            return cached[1]  # type: ignore[no-any-return]
        span = key[0] - 0  # Gymnasium's ``t[1] - t[0]``
        accelerations = acrobot_accelerations(*key[1:])  # the link constants, book_or_nips
        constants = (accelerations, float(span / 2.0), float(span / 6.0), float(span))
        self._rk4_cache = (key, constants)
        return constants


@functools.lru_cache(maxsize=16, typed=True)
def acrobot_accelerations(
    m1: float, m2: float, l1: float, lc1: float, lc2: float, inertia: float, book_or_nips: str
) -> Accelerations:
    """Gymnasium's ``AcrobotEnv._dsdt`` accelerations for these link constants, on floats.

    Each product of constants folded below is a leading factor of Gymnasium's
    left-to-right products, so folding it in advance changes no rounding.
    """
    cos, sin = math.cos, math.sin
    half_pi = math.pi / 2.0  # Gymnasium's ``pi / 2.0`` and ``pi / 2``
    g = ACROBOT_GRAVITY
    inertia1 = inertia2 = inertia
    d1_base, d1_sum, d1_cos = float(m1 * lc1**2), float(l1**2 + lc2**2), float(2 * l1 * lc2)
    d2_sum, d2_cos = float(lc2**2), float(l1 * lc2)
    phi2_cos = float(m2 * lc2 * g)
    phi1_sq, phi1_cross = float(-m2 * l1 * lc2), float(2 * m2 * l1 * lc2)
    phi1_cos = float((m1 * lc1 + m2 * l1) * g)
    dd2_sq = float(m2 * l1 * lc2)
    dd2_base = float(m2 * lc2**2 + inertia2)
    m2, inertia1, inertia2 = float(m2), float(inertia1), float(inertia2)
    book = book_or_nips != "nips"

    def accelerations(
        theta1: float, theta2: float, dtheta1: float, dtheta2: float, a: float
    ) -> tuple[float, float]:
        cos2, sin2 = cos(theta2), sin(theta2)
        d1 = d1_base + m2 * (d1_sum + d1_cos * cos2) + inertia1 + inertia2
        d2 = m2 * (d2_sum + d2_cos * cos2) + inertia2
        phi2 = phi2_cos * cos(theta1 + theta2 - half_pi)
        phi1 = (
            phi1_sq * dtheta2**2 * sin2
            - phi1_cross * dtheta2 * dtheta1 * sin2
            + phi1_cos * cos(theta1 - half_pi)
            + phi2
        )
        if book:
            ddtheta2 = (a + d2 / d1 * phi1 - dd2_sq * dtheta1**2 * sin2 - phi2) / (
                dd2_base - d2**2 / d1
            )
        else:
            ddtheta2 = (a + d2 / d1 * phi1 - phi2) / (dd2_base - d2**2 / d1)
        return -(d2 * ddtheta2 + phi1) / d1, ddtheta2

    return accelerations


class FastPendulumEnv(FloatState, PendulumEnv):
    """Gymnasium's Pendulum-v1 (``PendulumEnv``), stepped in plain Python floats.

    Same dynamics, observations and rewards as Gymnasium's, bit for bit; see
    the module docstring. ``self.state`` is a float64 array, as in Gymnasium.
    """

    def __init__(self, render_mode: str | None = None, g: float = 10.0) -> None:
        check_render_mode(self, render_mode)
        super().__init__(render_mode=render_mode, g=g)
        self.state = None

    def render(self) -> Any:
        """An ``rgb_array`` frame drawn in numpy (:func:`pendulum_frame`, the rod and the last
        torque); ``human``: Gymnasium's pygame window."""
        if self.render_mode != "rgb_array":
            return super().render()
        angle = self._state_floats()[0]
        torque = None if self.last_u is None else float(self.last_u)
        return pendulum_frame(angle, torque, float(self.max_torque))

    def step(self, u: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Gymnasium's ``PendulumEnv.step``: one Euler step of ``dt`` with torque ``u`` clipped."""
        state = self._state_floats()
        th, thdot = state
        torque = self._clipped_torque(u)
        self.last_u = torque  # for rendering
        g, m, l = self.g, self.m, self.l  # noqa: E741 (Gymnasium's names)
        # Gymnasium's torque terms are numpy scalars of the action's dtype (float32
        # from SB3): kept so, then widened exactly as its float64 sums widen them.
        torque_cost = float(0.001 * (torque**2))
        push = float(3.0 / (m * l**2) * torque)
        normalized = ((th + _PI) % _TWO_PI) - _PI  # Pendulum-v1's angle_normalize(th)
        costs = normalized**2 + 0.1 * thdot**2 + torque_cost
        dt = float(self.dt)
        newthdot = thdot + (float(3 * g / (2 * l)) * _sin(th) + push) * dt
        max_speed = float(self.max_speed)
        if -max_speed > newthdot:  # ``min(max(newthdot, -max_speed), max_speed)``, compared out
            newthdot = -max_speed
        if max_speed < newthdot:
            newthdot = max_speed
        newth = th + newthdot * dt
        self._state, self._floats = None, [newth, newthdot]
        observation = _array([_cos(newth), _sin(newth), newthdot], _FLOAT32)
        if self.render_mode == "human":
            self.render()
        return observation, -costs, False, False, {}

    def _clipped_torque(self, u: Any) -> Any:
        """``np.clip(u, -max_torque, max_torque)[0]``, a numpy scalar of Gymnasium's dtype.

        A float array's first entry is clipped directly (``np.clip`` is slow);
        anything else goes through ``np.clip`` itself.
        """
        if isinstance(u, np.ndarray) and u.ndim == 1 and u.size:
            torque = u[0]
            if type(torque) is np.float32 or type(torque) is np.float64:
                limit = self.max_torque
                if torque > limit:
                    return type(torque)(limit)
                if torque < -limit:
                    return type(torque)(-limit)
                return torque
        return np.clip(u, -self.max_torque, self.max_torque)[0]
