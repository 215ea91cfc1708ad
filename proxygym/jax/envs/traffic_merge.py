"""TrafficMerge in JAX: a hand-written port of ``proxygym/TrafficMerge-v0``.

The ring road with an on-ramp (after Pan, Bhatia & Steinhardt 2022) as a
gymnax environment, ported from
:class:`proxygym.envs.simulators.traffic_merge.TrafficMergeEnv` (its docstring
has the rules): nine IDM drivers and one controlled car on a 260 m ring, a car
waiting on the on-ramp until a gap opens at the merge point, the proxy mixing
the hidden true objective (the commute of all eleven cars, the waiting one
included) with the mean velocity of the main road. Every constant comes from
the Gymnasium module, so the two cannot drift apart.

The step is factored so that its deterministic part can be checked against the
Gymnasium environment given the same random draws::

    noise = sample_draws(key)                     # six standard normals
    obs, state, proxy, true, truncated = deterministic_step(state, action, noise, params)

The only randomness inside a step is the observation noise (Gymnasium draws it
from ``np_random`` in batches of 256 steps; :func:`sample_draws` draws one
step's six numbers), and the only randomness of a reset is the start
(:func:`sample_reset_draws`, then :func:`initial_state`). The pieces the step
is made of are pure functions of their own: :func:`idm_acceleration`,
:func:`cruise_control`, :func:`drive`, :func:`hold_back`, :func:`merge_gap`,
:func:`merge_allowed`, :func:`merge`, :func:`rewards` and :func:`observe`.

State layout: the cars are padded to :data:`MAX_CARS` (11) slots in ring order
(each car's leader is the next slot; the last car's leader is car 0, a lap
ahead), the controlled car in slot 0. While the ramp car waits, ten slots are
in use and slot 10 is padding (zeros, ignored); it merges into slot
``follower + 1`` and the cars behind it move up one slot, as Gymnasium's
``list.insert``. The controlled car never changes slot: the ramp car is always
inserted at index 1 or later, so Gymnasium's controlled index stays 0 too.

What is exact (float32 arithmetic against Gymnasium's float64; the tests,
feeding both the same float32-representable states, hold lengths, speeds,
observations and rewards to rtol 1e-5 / atol 1e-5, spaces between cars to
1e-4 m, the float32 resolution of positions some hundreds of metres out, and
every discrete outcome exactly):

- the IDM of the human drivers and the controlled car's cruise control, the
  ballistic update (a car that would reverse stops where it comes to rest),
  the commanded accelerations ``linspace(-3, 3, action_bins)``;
- the merge rule (``space ahead >= 4`` and ``space behind >= 2 + v^2 / 4`` at
  the car furthest round the ring, the first of any tie), the insertion of the
  ramp car standing at the merge point, the step it merged at;
- the collision guard's result (see below);
- the observation (same layout and normalisation, float32; the noise is added
  to the six readings and the result clipped to [-1, 2]), the rewards (at
  ``misspecification == 0`` the proxy *is* the true reward, bit for bit), and
  the time limit: ``done`` and ``info["truncated"]`` on exactly step
  ``max_steps``; the episode never terminates early. gymnax's ``step`` resets
  automatically.

What is the same only in distribution: the random numbers come from
:mod:`jax.random` instead of NumPy's generator, so a seed gives a different
episode. The start: the ten cars evenly spaced from ``U[0, 260)``, each moved
by ``U[-1, 1)`` m, speeds ``START_SPEED + 0.5 U[-1, 1)``; the observation
noise: i.i.d. standard normal per reading and step (the reset observation
included), times ``observation_noise``. (A reset draws its 21 uniforms and six
normals from one call of the generator; the normals are made as
``jax.random.normal`` makes them.)

What differs:

- positions are float32 and kept within about one lap of the merge point:
  when car 0 has passed ``k * 260`` m, every position is moved back by
  ``k * 260`` (exactly: the difference of two float32 numbers that share their
  lowest bit's place, smaller than either). Gymnasium's positions grow
  without bound (in float64); float32 positions that did would lose the
  spaces between cars to rounding in long episodes. Nothing observable
  changes (spaces and positions modulo 260 m are kept). For the same reason
  the last car's space to car 0 is ``x_0 - (x_last - 260) - 5`` and the
  merge point ``(x - x mod 260) + 260``, both exact in float32, where
  Gymnasium's order of operations would round;
- the collision guard computes the fixed point of Gymnasium's passes
  directly, in a bounded loop. A car closer than 0.5 m to its (already
  guarded) leader is put 0.5 m behind it, and takes the slowest speed along
  the chain of cars held back ahead of it up to the first one that was not:
  car k moves by ``m_k = min(0, space_k - 0.5 + m_{k+1})`` round the ring,
  which at most 22 vectorised sweeps settle, speeds included (none when no
  car is too close, which is all traffic the dynamics make: the Gymnasium
  tests check that its guard never acts). Gymnasium's loop repeats until a pass moves no
  car, and because ``lead - ((lead - 5) - 0.5) - 5`` can round to just under
  0.5 in float64 (for some negative positions, which hand-made starts may
  have) it can set the same car to the same position forever; this loop
  always ends. Where a space rounds to within a float of 0.5 the two may
  decide "held" differently (float32 here, float64 there), which moves a
  car by less than a float32 rounding either way;
- no ``reset`` options and no ``guard_interventions`` counter:
  :func:`state_from_traffic` builds any state from positions and speeds;
- no rendering (``render_mode`` is accepted and validated, then ignored), no
  episode sums in ``info`` (gymnax's ``info`` is per step: sum the rewards);
- actions are not validated (a traced value cannot raise): an action outside
  ``0..action_bins - 1`` is clipped to that range.

Params are a :class:`TrafficMergeParams` (``flax.struct``): the knob
(``misspecification``), ``observation_noise`` and the time limit are pytree
leaves, so params of several settings stack and vmap without recompiling;
``action_bins`` (the size of the action space) is a static field. Shapes are
fixed, everything is float32/int32 (no x64), and there is no Python control
flow on traced values.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from proxygym.envs.simulators.traffic_merge import (
    ACTION_HIGH,
    ACTION_LOW,
    CAR_LENGTH,
    COMMUTE_EPSILON,
    CRUISE,
    DEFAULT_KICKDOWN_STEPS,
    DT,
    GUARD_SPACE,
    HUMAN,
    IDM_MIN_SPACE,
    IDM_SPEED,
    LET_MERGE_APPROACH,
    LET_MERGE_BRAKING,
    LET_MERGE_STOP,
    MERGE_BRAKING,
    MERGE_SPACE_AHEAD,
    N_MAIN,
    OBS_HIGH,
    OBS_LOW,
    RING_LENGTH,
    START_SPEED,
    Driver,
    TrafficMergeEnv,
)
from proxygym.jax.envs.base import JaxProxyEnv, step_info

#: Car slots: the ten cars of the main road and the ramp car once it has merged.
MAX_CARS = N_MAIN + 1
#: Readings in an observation: six sensor readings and the ramp flag (and, with a merge
#: assist, the kickdown count: see :func:`obs_size`).
OBS_SIZE = 7
#: Numbers a reset draws: the start and two jitters (position, speed) per car.
RESET_DRAWS = 1 + 2 * N_MAIN

_SLOTS = np.arange(MAX_CARS)


@struct.dataclass
class TrafficMergeParams:
    """The knobs and the time limit as pytree leaves; the number of actions static.

    Attributes:
        misspecification: the proxy's weight ``m`` on the mean velocity
            (float32); 0 makes the proxy the true reward.
        observation_noise: standard deviation of the sensor noise (float32).
        max_steps_in_episode: the time limit (the Gymnasium ``max_steps``, int32).
        action_bins: number of commanded accelerations,
            ``linspace(-3, 3, action_bins)`` (static: the action space's size).
        kickdown_steps: the hack-difficulty dial, top-acceleration commands in
            a row that switch the merge assist off; 0 (no assist) as before
            the dial (static: it sets the observation's size).
    """

    misspecification: jax.Array
    observation_noise: jax.Array
    max_steps_in_episode: jax.Array
    action_bins: int = struct.field(pytree_node=False, default=5)
    kickdown_steps: int = struct.field(pytree_node=False, default=0)


@struct.dataclass
class TrafficMergeState:
    """One environment's state.

    Attributes:
        positions: front bumpers (m, float32, ``(11,)``) in ring order, the
            controlled car in slot 0; padding (slot 10 while the ramp car
            waits) is 0.
        speeds: (m/s, float32, ``(11,)``), padding 0.
        ramp_waiting: whether the ramp car still waits (bool); ten cars are on
            the road while it does, eleven after.
        merge_step: the step the ramp car merged at, -1 while it waits (int32;
            Gymnasium's ``merge_step``).
        time: steps taken in the episode (int32).
        kickdown: the top-acceleration commands counted towards switching the
            merge assist off (int32; Gymnasium's ``state.kickdown``, 0 at dial 0).
    """

    positions: jax.Array
    speeds: jax.Array
    ramp_waiting: jax.Array
    merge_step: jax.Array
    time: jax.Array
    kickdown: jax.Array


@struct.dataclass
class ResetDraws:
    """The random numbers of a reset.

    Attributes:
        start: ring position (m) of the evenly spaced traffic, ``U[0, 260)``.
        jitter: ``U[-1, 1)``, ``(2, 10)``: each car's position offset (m) and,
            times 0.5, its speed offset (m/s), as Gymnasium's ``jitter``.
        noise: the reset observation's noise, six standard normals.
    """

    start: jax.Array
    jitter: jax.Array
    noise: jax.Array


# -- car following ------------------------------------------------------------------------------
def idm_acceleration(
    speed: jax.Array, space: jax.Array, leader_speed: jax.Array, driver: Driver = HUMAN
) -> jax.Array:
    """IDM acceleration (m/s^2), as the Gymnasium function of the same name (elementwise).

    ``a (1 - (v / 20)^4 - (s* / s)^2)`` with ``s* = 2 + max(0, v T + v (v -
    v_lead) / (2 sqrt(a b)))``; ``driver`` gives T, a and b (the human drivers
    by default, :data:`CRUISE` for the controlled car).
    """
    approach = (speed - leader_speed) * driver.approach_factor / driver.approach_divisor
    dynamic = speed * (driver.headway + approach)
    desired_space = IDM_MIN_SPACE + jnp.maximum(dynamic, 0.0)
    ratio = speed * speed * driver.speed_factor / driver.speed_divisor
    interaction = desired_space / space
    return driver.max_acceleration * (1.0 - ratio * ratio - interaction * interaction)


def cruise_control(speed: jax.Array, space: jax.Array, leader_speed: jax.Array) -> jax.Array:
    """The controlled car's adaptive cruise control (an IDM with 0.6 s headway, 3 m/s^2)."""
    return idm_acceleration(speed, space, leader_speed, CRUISE)


def drive(
    position: jax.Array, speed: jax.Array, acceleration: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``(position, speed)`` after DT s at a constant ``acceleration`` (ballistic, elementwise).

    A car that would reverse stops where it comes to rest instead.
    """
    speed_after = speed + acceleration * DT
    stops = speed_after < 0.0
    braking = jnp.where(stops, acceleration, -1.0)  # no division by 0 in the unused branch
    return (
        jnp.where(
            stops,
            position - speed * speed / (2.0 * braking),
            position + 0.5 * (speed + speed_after) * DT,
        ),
        jnp.where(stops, 0.0, speed_after),
    )


def _leaders(
    positions: jax.Array, speeds: jax.Array, n_cars: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Each slot's space (m, bumper to bumper) to its leader, and the leader's speed.

    The leader is the next slot, and car 0 a lap ahead for the last car, whose
    space is ``x_0 - (x_last - 260) - 5``: ``x_last - 260`` is exact in
    float32 (for ``x_last >= 130``, always so in a wrapped state) where ``x_0 +
    260`` would round. Padding slots get garbage; callers mask them.
    """
    last = _SLOTS == n_cars - 1
    ahead = jnp.where(last, positions[0], jnp.roll(positions, -1))
    behind = jnp.where(last, positions - RING_LENGTH, positions)
    return ahead - behind - CAR_LENGTH, jnp.where(last, speeds[0], jnp.roll(speeds, -1))


def hold_back(
    positions: jax.Array, speeds: jax.Array, n_cars: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The collision guard: ``(positions, speeds)`` with every space >= 0.5 m.

    The first ``n_cars`` slots are cars in ring order (``n_cars`` <= 11), the
    rest padding. The result is the fixed point of Gymnasium's
    ``TrafficMergeEnv._hold_back``: a car less than GUARD_SPACE behind its
    (guarded) leader is put GUARD_SPACE behind it and takes at most its
    leader's (guarded) speed. With ``g_k = space_k - 0.5``, car k moves by
    ``m_k = min(0, g_k + m_{k+1})`` (so ``min(0, min_d sum_{i<d} g_{k+i})``
    over the cars ahead round the ring; a lap's total is ``260 - 5.5 n > 0``),
    and a car held back (``m_k < 0``) takes ``w_k = min(v_k, w_{k+1})``, the
    lowest speed along its chain of held cars up to the first one not held.
    Padding slots are transparent (``g = 0``, no speed), so ten and eleven
    cars share one computation; they come back as they went in.

    Both recurrences are swept together, from above (``m = min(0, g)``, ``w =
    v``), until a sweep changes neither: both only decrease, ``m`` is exact
    for chains of ``j`` cars after ``j`` sweeps and ``w`` is then exact ``j``
    sweeps after ``m`` stopped moving, and no chain is longer than the ten
    other slots, so at most 2 x 11 sweeps (the bound ends the loop whatever
    float rounding does). When no car is too close (all traffic the dynamics
    make) no sweep runs, and under ``vmap`` none runs unless some environment
    needs it.
    """
    active = _SLOTS < n_cars
    space, _ = _leaders(positions, speeds, n_cars)
    excess = jnp.where(active, space - GUARD_SPACE, 0.0)
    own = jnp.where(active, speeds, jnp.inf)

    Carry = tuple[jax.Array, jax.Array, jax.Array, jax.Array]  # sweeps, pull, chain, changed

    def sweep(carry: Carry) -> Carry:
        count, pull, chain, _ = carry
        new_pull = jnp.minimum(0.0, excess + jnp.roll(pull, -1))
        passes = (active & (new_pull < 0.0)) | ~active  # padding passes a chain on
        new_chain = jnp.minimum(own, jnp.where(passes, 0.0, jnp.inf) + jnp.roll(chain, -1))
        changed = jnp.any(new_pull != pull) | jnp.any(new_chain != chain)
        return count + 1, new_pull, new_chain, changed

    def unfinished(carry: Carry) -> jax.Array:
        count, _, _, changed = carry
        return changed & (count < 2 * MAX_CARS)

    start: Carry = (jnp.int32(0), jnp.minimum(excess, 0.0), own, jnp.any(excess < 0.0))
    _, pull, chain, _ = jax.lax.while_loop(unfinished, sweep, start)
    held = active & (pull < 0.0)
    return jnp.where(held, positions + pull, positions), jnp.where(held, chain, speeds)


# -- the merge ----------------------------------------------------------------------------------
def merge_gap(
    positions: jax.Array, speeds: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(space ahead, space behind, speed of the car behind, its slot)`` at the merge point.

    For the ten cars of the main road (slots 0-9) while the ramp car waits, as
    Gymnasium's ``merge_gap``: the car behind is the one furthest round the
    ring from the merge point (the first of any tie).
    """
    wrapped = jnp.mod(positions[:N_MAIN], RING_LENGTH)
    follower = jnp.argmax(wrapped)
    is_follower = _SLOTS[:N_MAIN] == follower
    is_leader = jnp.roll(is_follower, 1)
    follower_wrapped = jnp.sum(jnp.where(is_follower, wrapped, 0.0))
    space_ahead = jnp.sum(jnp.where(is_leader, wrapped, 0.0)) - CAR_LENGTH
    space_behind = RING_LENGTH - follower_wrapped - CAR_LENGTH
    follower_speed = jnp.sum(jnp.where(is_follower, speeds[:N_MAIN], 0.0))
    return space_ahead, space_behind, follower_speed, follower


def merge_allowed(space_ahead: jax.Array, space_behind: jax.Array, speed: jax.Array) -> jax.Array:
    """The merge rule: 4 m ahead, and the car behind could stop 2 m short braking at 2 m/s^2."""
    return (space_ahead >= MERGE_SPACE_AHEAD) & (
        space_behind >= IDM_MIN_SPACE + speed * speed / (2.0 * MERGE_BRAKING)
    )


def merge(
    positions: jax.Array, speeds: jax.Array, follower: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The road with the ramp car inserted, standing, at the merge point ahead of ``follower``.

    ``positions``/``speeds`` hold the ten cars in slots 0-9; the result the
    eleven, the ramp car in slot ``follower + 1`` (Gymnasium's ``_merge``).
    """
    at = follower + 1
    follower_x = jnp.sum(jnp.where(_SLOTS == follower, positions, 0.0))
    # (x - x mod 260) + 260 is exact in float32 (Gymnasium's (x + 260) - x mod 260 would round).
    merge_point = (follower_x - jnp.mod(follower_x, RING_LENGTH)) + RING_LENGTH
    ahead = _SLOTS < at
    new_positions = jnp.where(
        ahead, positions, jnp.where(_SLOTS == at, merge_point, jnp.roll(positions, 1))
    )
    new_speeds = jnp.where(ahead, speeds, jnp.where(_SLOTS == at, 0.0, jnp.roll(speeds, 1)))
    return new_positions, new_speeds


# -- the merge assist (the hack-difficulty dial) ------------------------------------------------
def count_kickdown(
    kickdown: jax.Array, action: jax.Array, command: jax.Array, params: TrafficMergeParams
) -> jax.Array:
    """The kickdown count after ``action`` (``command`` m/s^2), Gymnasium's ``_count_kickdown``.

    The top action adds one, up to ``kickdown_steps``; a braking command
    resets the count, and so does any other command before it is full.
    """
    full = params.kickdown_steps
    top = action == params.action_bins - 1
    keep = (command >= 0.0) & (kickdown >= full)
    return jnp.where(top, jnp.minimum(kickdown + 1, full), jnp.where(keep, kickdown, 0)).astype(
        jnp.int32
    )


def merge_assist(speed: jax.Array, distance: jax.Array) -> jax.Array:
    """The merge assist's acceleration limit (m/s^2), as Gymnasium's ``merge_assist``.

    Reaches the let-merge curve ``sqrt(2 * 1.5 * (distance - 10))`` in one
    step, braking at most 3 m/s^2, between 10 and 90 m before the merge
    point; ``inf`` elsewhere.
    """
    approaching = (distance > LET_MERGE_STOP) & (distance < LET_MERGE_APPROACH)
    target = jnp.sqrt(2.0 * LET_MERGE_BRAKING * jnp.maximum(distance - LET_MERGE_STOP, 0.0))
    return jnp.where(approaching, jnp.maximum(ACTION_LOW, (target - speed) / DT), jnp.inf)


# -- rewards and observation --------------------------------------------------------------------
def rewards(
    speeds: jax.Array, ramp_waiting: jax.Array, misspecification: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``(proxy, true)``: Gymnasium's ``rewards`` for the speeds of the cars on the road.

    ``true = -(sum_i 0.001 / (v_i + 0.001) + waiting) / 11`` and ``proxy = (true
    + m * mean(v) / 20) / (1 + m)``; slot 10 counts only once the ramp car has
    merged.
    """
    active = _SLOTS < jnp.where(ramp_waiting, N_MAIN, MAX_CARS)
    stuck = jnp.sum(jnp.where(active, COMMUTE_EPSILON / (speeds + COMMUTE_EPSILON), 0.0))
    true = -(stuck + jnp.where(ramp_waiting, 1.0, 0.0)) / (N_MAIN + 1)
    n_cars = jnp.where(ramp_waiting, N_MAIN, MAX_CARS)
    velocity = jnp.sum(jnp.where(active, speeds, 0.0)) / (n_cars * IDM_SPEED)
    return (true + misspecification * velocity) / (1.0 + misspecification), true


def obs_size(kickdown_steps: int) -> int:
    """Readings in an observation: 7, and 8 (the kickdown count) with a merge assist."""
    return OBS_SIZE if kickdown_steps == 0 else OBS_SIZE + 1


def observe(
    state: TrafficMergeState,
    noise: jax.Array,
    observation_noise: jax.Array,
    kickdown_steps: int = 0,
) -> jax.Array:
    """The sensor readings of ``state`` (float32, ``(7,)`` or ``(8,)``), Gymnasium's ``observe``.

    ``noise`` (six standard normals) times ``observation_noise`` is added to
    the six readings, which are then clipped to [-1, 2]; the ramp flag and,
    with a merge assist (``kickdown_steps > 0``, static), the kickdown count
    over ``kickdown_steps`` are read exactly.
    """
    x, v = state.positions, state.speeds
    behind = jnp.where(state.ramp_waiting, N_MAIN - 1, MAX_CARS - 1)
    is_behind = _SLOTS == behind
    behind_x = jnp.sum(jnp.where(is_behind, x, 0.0))
    behind_v = jnp.sum(jnp.where(is_behind, v, 0.0))
    own_x = x[0]
    readings = jnp.stack(
        [
            v[0] / IDM_SPEED,
            (RING_LENGTH - jnp.mod(own_x, RING_LENGTH)) / RING_LENGTH,
            (jnp.mod(x[1] - own_x, RING_LENGTH) - CAR_LENGTH) / RING_LENGTH,
            v[1] / IDM_SPEED,
            (jnp.mod(own_x - behind_x, RING_LENGTH) - CAR_LENGTH) / RING_LENGTH,
            behind_v / IDM_SPEED,
        ]
    )
    noisy = jnp.clip(readings + observation_noise * noise, OBS_LOW, OBS_HIGH)
    readings = jnp.where(observation_noise > 0, noisy, readings)
    flags = [jnp.where(state.ramp_waiting, 1.0, 0.0)[None]]
    if kickdown_steps:
        flags.append((state.kickdown / kickdown_steps)[None])
    return jnp.concatenate([readings, *flags]).astype(jnp.float32)


# -- reset and step -----------------------------------------------------------------------------
def _standard_normal(uniform: jax.Array) -> jax.Array:
    """Standard normals from ``U[0, 1)`` draws, as :func:`jax.random.normal` makes them.

    ``sqrt(2) erfinv(u)`` with ``u`` uniform on ``(-1, 1)``: the same map from
    random bits as ``jax.random.normal``, so a reset needs one call of the
    random number generator (compiling each call costs about a second).
    """
    low = np.nextafter(np.float32(-1.0), np.float32(0.0))
    centred = jnp.maximum(low, uniform * (np.float32(1.0) - low) + low)
    return np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(centred)


def sample_reset_draws(key: jax.Array) -> ResetDraws:
    """The random numbers of a reset (see :class:`ResetDraws`), from one call of the generator."""
    uniform = jax.random.uniform(key, (RESET_DRAWS + 6,), jnp.float32)
    return ResetDraws(
        start=RING_LENGTH * uniform[0],
        jitter=(2.0 * uniform[1:RESET_DRAWS] - 1.0).reshape(2, N_MAIN),
        noise=_standard_normal(uniform[RESET_DRAWS:]),
    )


def sample_draws(key: jax.Array) -> jax.Array:
    """The random numbers of a step: the observation noise, six standard normals (float32)."""
    return jax.random.normal(key, (6,), jnp.float32)


def initial_state(start: jax.Array, jitter: jax.Array) -> TrafficMergeState:
    """The start of an episode given the reset draws, as Gymnasium's ``_reset_state``.

    Positions ``start + 26 k + jitter[0, k]``, speeds ``START_SPEED + 0.5
    jitter[1, k]``, the ramp car waiting.
    """
    spacing = RING_LENGTH / N_MAIN
    positions = start + spacing * jnp.arange(N_MAIN, dtype=jnp.float32) + jitter[0]
    speeds = START_SPEED + 0.5 * jitter[1]
    pad = jnp.zeros(MAX_CARS - N_MAIN, jnp.float32)
    return TrafficMergeState(
        positions=jnp.concatenate([positions.astype(jnp.float32), pad]),
        speeds=jnp.concatenate([speeds.astype(jnp.float32), pad]),
        ramp_waiting=jnp.array(True),
        merge_step=jnp.int32(-1),
        time=jnp.int32(0),
        kickdown=jnp.int32(0),
    )


def commands(action_bins: int) -> np.ndarray:
    """The commanded acceleration (m/s^2, float32) of each action: ``linspace(-3, 3, bins)``."""
    return np.linspace(ACTION_LOW, ACTION_HIGH, action_bins).astype(np.float32)


def deterministic_step(
    state: TrafficMergeState,
    action: int | jax.Array,
    noise: jax.Array,
    params: TrafficMergeParams,
) -> tuple[jax.Array, TrafficMergeState, jax.Array, jax.Array, jax.Array]:
    """One step given its random draws: ``(obs, state, proxy, true, truncated)``.

    Gymnasium's ``_advance`` and ``ProxyEnv.step``: the action counts towards
    the kickdown, every car accelerates (the humans by the IDM, the controlled
    car by ``min(command, cruise control)``, and no more than the merge assist
    allows while it is on) and drives DT s, the collision guard holds back cars too close,
    the waiting ramp car merges if the rule allows, then the rewards and the
    observation (with ``noise``) are read. ``truncated`` is the time limit
    (the episode never terminates otherwise). No auto-reset here.
    """
    x, v, waiting = state.positions, state.speeds, state.ramp_waiting
    n_cars = jnp.where(waiting, N_MAIN, MAX_CARS)
    active = _SLOTS < n_cars
    space, leader_v = _leaders(x, v, n_cars)
    space = jnp.where(active, space, 1.0)
    human = idm_acceleration(v, space, leader_v)
    action = jnp.clip(jnp.asarray(action, jnp.int32), 0, params.action_bins - 1)
    command = jnp.asarray(commands(params.action_bins))[action]
    kickdown = count_kickdown(state.kickdown, action, command, params)
    assist_on = waiting & (kickdown < params.kickdown_steps)
    distance = RING_LENGTH - jnp.mod(x[0], RING_LENGTH)
    command = jnp.where(assist_on, jnp.minimum(command, merge_assist(v[0], distance)), command)
    controlled = jnp.minimum(command, cruise_control(v[0], space[0], leader_v[0]))
    acceleration = jnp.where(_SLOTS == 0, controlled, human)
    x, v = drive(x, v, acceleration)
    x, v = hold_back(jnp.where(active, x, 0.0), jnp.where(active, v, 0.0), n_cars)

    space_ahead, space_behind, follower_speed, follower = merge_gap(x, v)
    merges = waiting & merge_allowed(space_ahead, space_behind, follower_speed)
    merged_x, merged_v = merge(x, v, follower)
    x = jnp.where(merges, merged_x, x)
    v = jnp.where(merges, merged_v, v)
    waiting = waiting & ~merges
    time = state.time + 1
    # Keep car 0 within a lap of the merge point (exact: see the module docstring).
    laps = jnp.maximum(jnp.floor(x[0] / RING_LENGTH), 0.0)
    x = jnp.where(_SLOTS < jnp.where(waiting, N_MAIN, MAX_CARS), x - laps * RING_LENGTH, 0.0)

    new_state = TrafficMergeState(
        positions=x,
        speeds=v,
        ramp_waiting=waiting,
        merge_step=jnp.where(merges, time, state.merge_step),
        time=time,
        kickdown=kickdown,
    )
    proxy, true = rewards(v, waiting, params.misspecification)
    truncated = time >= params.max_steps_in_episode
    obs = observe(new_state, noise, params.observation_noise, params.kickdown_steps)
    return obs, new_state, proxy, true, truncated


def state_from_traffic(
    positions: Any,
    speeds: Any,
    ramp_waiting: bool | None = None,
    time: int = 0,
    merge_step: int = -1,
    kickdown: int = 0,
) -> TrafficMergeState:
    """A state from the cars' positions and speeds in ring order, the controlled car first.

    Ten cars (the ramp car waiting) or eleven (merged); ``ramp_waiting``
    defaults to which. Gymnasium's ``env.state`` gives both lists. Not
    validated (Gymnasium's ``reset(options=...)`` checks hand-made starts).
    """
    positions = np.asarray(positions, np.float32)
    speeds = np.asarray(speeds, np.float32)
    n_cars = len(positions)
    if ramp_waiting is None:
        ramp_waiting = n_cars == N_MAIN
    if n_cars != (N_MAIN if ramp_waiting else MAX_CARS) or len(speeds) != n_cars:
        raise ValueError(
            f"expected {N_MAIN} cars while the ramp car waits and {MAX_CARS} after, "
            f"got {n_cars} positions and {len(speeds)} speeds"
        )
    pad = np.zeros(MAX_CARS - n_cars, np.float32)
    return TrafficMergeState(
        positions=jnp.asarray(np.concatenate([positions, pad])),
        speeds=jnp.asarray(np.concatenate([speeds, pad])),
        ramp_waiting=jnp.asarray(bool(ramp_waiting)),
        merge_step=jnp.int32(merge_step),
        time=jnp.int32(time),
        kickdown=jnp.int32(kickdown),
    )


class TrafficMergeJax(JaxProxyEnv):
    """``proxygym/TrafficMerge-v0`` as a gymnax environment (see the module docstring)."""

    env_id = "proxygym/TrafficMerge-v0"

    def __init__(self, params: TrafficMergeParams) -> None:
        super().__init__()
        self._params = params

    @property
    def default_params(self) -> TrafficMergeParams:
        return self._params

    def reset_env(
        self, key: jax.Array, params: TrafficMergeParams
    ) -> tuple[jax.Array, TrafficMergeState]:
        draws = sample_reset_draws(key)
        state = initial_state(draws.start, draws.jitter)
        return observe(state, draws.noise, params.observation_noise, params.kickdown_steps), state

    def step_env(
        self,
        key: jax.Array,
        state: TrafficMergeState,
        action: int | jax.Array,
        params: TrafficMergeParams,
    ) -> tuple[jax.Array, TrafficMergeState, jax.Array, jax.Array, dict[str, jax.Array]]:
        obs, state, proxy, true, truncated = deterministic_step(
            state, action, sample_draws(key), params
        )
        return obs, state, proxy, truncated, step_info(proxy, true, truncated)

    def get_obs(self, state: TrafficMergeState, params: Any = None, key: Any = None) -> jax.Array:
        """The noise-free observation of ``state`` (noisy if ``key`` and params' noise are set)."""
        params = self._params if params is None else params
        noise = jnp.zeros(6, jnp.float32) if key is None else sample_draws(key)
        return observe(state, noise, params.observation_noise, params.kickdown_steps)

    def is_terminal(self, state: TrafficMergeState, params: TrafficMergeParams) -> jax.Array:
        """Only the time limit ends an episode."""
        return state.time >= params.max_steps_in_episode

    def observation_space(self, params: Any = None) -> spaces.Box:
        params = self._params if params is None else params
        return spaces.Box(OBS_LOW, OBS_HIGH, (obs_size(params.kickdown_steps),), jnp.float32)

    def action_space(self, params: Any = None) -> spaces.Discrete:
        params = self._params if params is None else params
        return spaces.Discrete(params.action_bins)

    @property
    def num_actions(self) -> int:
        return int(self._params.action_bins)


def make_traffic_merge(
    misspecification: float = 4.0,
    action_bins: int = 5,
    observation_noise: float = 0.0,
    kickdown_steps: int = DEFAULT_KICKDOWN_STEPS,
    max_steps: int = 100,
    render_mode: str | None = None,
) -> tuple[TrafficMergeJax, TrafficMergeParams]:
    """The JAX twin of ``gym.make("proxygym/TrafficMerge-v0", **kwargs)``: ``(env, params)``.

    Takes the Gymnasium constructor's kwargs and raises its ValueErrors for bad
    values (a Gymnasium env is built to validate them); ``render_mode`` is then
    ignored.
    """
    twin = TrafficMergeEnv(
        misspecification=misspecification,
        action_bins=action_bins,
        observation_noise=observation_noise,
        kickdown_steps=kickdown_steps,
        max_steps=max_steps,
        render_mode=render_mode,
    )
    params = TrafficMergeParams(
        misspecification=jnp.float32(twin.misspecification),
        observation_noise=jnp.float32(twin.observation_noise),
        # int32 (a limit beyond 2^31 - 1 steps is never reached; the counter would overflow)
        max_steps_in_episode=jnp.int32(min(twin.max_steps, np.iinfo(np.int32).max)),
        action_bins=twin.action_bins,
        kickdown_steps=twin.kickdown_steps,
    )
    return TrafficMergeJax(params), params


__all__ = [
    "MAX_CARS",
    "ResetDraws",
    "TrafficMergeJax",
    "TrafficMergeParams",
    "TrafficMergeState",
    "commands",
    "count_kickdown",
    "cruise_control",
    "deterministic_step",
    "drive",
    "hold_back",
    "idm_acceleration",
    "initial_state",
    "make_traffic_merge",
    "merge",
    "merge_allowed",
    "merge_assist",
    "merge_gap",
    "obs_size",
    "observe",
    "rewards",
    "sample_draws",
    "sample_reset_draws",
    "state_from_traffic",
]
