"""Glucose in JAX: a hand-written port of ``proxygym/Glucose-v0`` for the JAX SAC engine.

The insulin pump of :class:`proxygym.envs.simulators.glucose.GlucoseEnv` (its
docstring has the rules) as a gymnax environment: the UVa/Padova patient
(:mod:`~proxygym.envs.simulators.glucose_model`) integrated by RK4 at one-minute
substeps, 5-minute steps, the action ``Box(-1, 1, (1,))`` setting the rate
``max(a, 0) x 43.2 x basal`` U/min, the 96-number observation (48 CGM readings
/ 400, then 48 rates / full throttle, oldest first), the proxy ``-Magni risk``
and the hidden true reward ``proxy - misspecification x 25 x rate`` in
``info["true_reward"]``. Every constant and every patient's parameters come
from the Gymnasium modules, so the two cannot drift apart.

It is not registered in :data:`proxygym.jax.envs.PORTS` nor in
``proxygym.jax.support.PORTED``: the JAX engine's PPO trains discrete actions
only, and a registration would bypass its refusal of Box actions. The JAX SAC
engine wires it in by calling :func:`make_glucose` itself.

Params are a :class:`GlucoseParams` (``flax.struct``): the patient's model
parameters (and the constants derived from them, computed in float64 and
stored as float32), its basal state, the knob, the CGM noise and the time
limit are pytree leaves, so one compiled step serves every patient and
setting (stack params and vmap); ``meal_days`` (how many days of meals an
episode spans, which sets the state's shape) is static.

What is the same as Gymnasium (given the same meals and actions):

- the model's equations, their branches (gastric emptying at ``Dbar = 0``,
  endogenous production never negative, renal excretion above ``ke2``,
  compartments at or below 0 held) and the RK4 scheme, the meal bookkeeping
  (a new meal sets ``Dbar`` to the stomach's content plus it, a meal that goes
  on adds to it; grams eaten evenly over the step), the CGM's clipping to
  39-600 mg/dL, the observation's layout and its basal start, the rewards
  (at ``misspecification = 0`` the true reward *is* the proxy, bit for bit),
  and the time limit (``done`` and ``info["truncated"]`` on exactly step
  ``max_steps``; never an early end). gymnax's ``step`` resets automatically;
- up to float32 rounding: everything here is float32 (no x64), Gymnasium is
  float64. Over 100-step episodes of three patients (a child, an adolescent,
  an adult) with meals and every kind of dose (pump off, basal, three times
  basal, full throttle down to 12 mg/dL), observations agree to 5e-7 (0.2
  ug/dL of glucose) and both rewards to 1.5e-4 absolute (risks up to 344);
  the tests (``tests/jax/test_glucose_jax.py``) hold them to 2e-6 and
  ``atol 1e-3, rtol 1e-5``. So float32 is kept: there is no drift worth x64.

What is the same only in distribution: the random numbers come from
:mod:`jax.random`, not NumPy's generator, so a seed gives different meals
and sensor noise than Gymnasium's ``reset(seed=...)``. The day's meals are
drawn at reset by :func:`draw_meals` with :mod:`glucose_meals`'s tables and
logic (six candidate meals a day eaten with their probabilities, times from
the normal distribution truncated to their window, here drawn directly by
``jax.random.truncated_normal`` rather than by rejection, rounded to the
minute; sizes ``round(N(share x daily carbs, 0.15 x that))`` clipped at 0;
days drawn from midnight of the first; meals before 05:00 or after the
episode's end dropped; meals in one step add up). The CGM noise is a
standard normal per step times ``cgm_noise``.

What differs:

- meals are planted with :meth:`GlucoseJax.reset_with_meals` (``(step,
  grams)`` arrays) instead of ``reset(options={"meals": ...})``; the state
  holds them as ``(step, grams)`` slots, a step of -1 marking an empty one;
- actions are not validated (a traced value cannot raise): one outside
  [-1, 1] is clipped to it;
- no rendering (``render_mode`` is validated, then ignored), no episode sums;
- ``max_steps`` is capped at :data:`MAX_STEPS` (about 9.5 years of
  5-minute steps): the state holds all of an episode's meals (48 bytes a
  day), drawn at reset.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from proxygym.envs.simulators.glucose import (
    CGM_HIGH,
    CGM_LOW,
    CGM_SCALE,
    DEFAULT_PATIENT,
    HISTORY_STEPS,
    INSULIN_COST,
    MAX_RATE_MULTIPLE,
    START_MINUTE,
    STEP_MINUTES,
    GlucoseEnv,
)
from proxygym.envs.simulators.glucose_meals import MEALS, MINUTES_PER_DAY, SIZE_SD, daily_carbs
from proxygym.envs.simulators.glucose_model import GS, PMOL_PER_UNIT, QSTO1, QSTO2
from proxygym.envs.simulators.glucose_patients import PATIENTS, PatientParameters
from proxygym.jax.envs.base import JaxProxyEnv, step_info

#: The longest episode the port holds the meals of (1,000,000 steps of 5 minutes).
MAX_STEPS = 1_000_000
#: Candidate meals a day (:data:`glucose_meals.MEALS`).
MEALS_PER_DAY = len(MEALS)
#: The model's parameters the derivative reads, by :class:`PatientParameters` name.
MODEL_FIELDS: tuple[str, ...] = (
    "kmax", "kmin", "kabs", "b", "d", "kp1", "kp2", "kp3", "Fsnc", "ke1", "ke2", "k1", "k2",
    "Vm0", "Vmx", "Km0", "m1", "m2", "m30", "Vi", "Ib", "p2u", "ki", "kd", "ka1", "ka2", "ksc",
)  # fmt: skip

_MEAL_TABLE = np.array([meal[1:] for meal in MEALS], np.float64)
#: Per candidate meal: probability, earliest, mean, latest minute, sd of the time, share.
_PROBABILITY, _EARLIEST, _MEAN, _LATEST, _SD, _SHARE = _MEAL_TABLE.T


@struct.dataclass
class GlucoseParams:
    """A patient and the environment's settings, as pytree leaves (float32 unless said).

    Attributes:
        model: the patient's model parameters by name (:data:`MODEL_FIELDS`)
            and the derived ``f_bw`` (``f kabs / BW``), ``half_range``,
            ``one_minus_b``, ``m2m4``, ``m1m30``, ``ka1kd``, ``pmol_per_unit``
            (pmol/kg per U) and ``inverse_vg``, each a scalar.
        x0: the patient's basal state, ``(13,)``.
        max_rate: full throttle, U/min (43.2 x the basal rate).
        daily_carbs: the Harris-Benedict grams of carbohydrate a day.
        misspecification: the knob (the price of insulin in units of 25 per U/min).
        cgm_noise: the sd (mg/dL) of the sensor's Gaussian noise.
        max_steps_in_episode: the time limit (int32; Gymnasium's ``max_steps``).
        meal_days: days of meals a state holds (static: it sets the state's shape).
    """

    model: dict[str, jax.Array]
    x0: jax.Array
    max_rate: jax.Array
    daily_carbs: jax.Array
    misspecification: jax.Array
    cgm_noise: jax.Array
    max_steps_in_episode: jax.Array
    meal_days: int = struct.field(pytree_node=False, default=1)


@struct.dataclass
class GlucoseState:
    """One environment's state (as Gymnasium's ``glucose.GlucoseState``).

    Attributes:
        x: the patient's 13 model states (float32).
        time: steps taken in the episode (int32).
        dbar: the meal being digested (mg).
        ate: whether the patient ate in the previous step (bool).
        cgm: the last 48 CGM readings / 400, oldest first.
        insulin: the last 48 rates / full throttle, oldest first.
        meal_steps: the step of each meal slot (int32, -1: empty).
        meal_grams: the grams of each meal slot.
    """

    x: jax.Array
    time: jax.Array
    dbar: jax.Array
    ate: jax.Array
    cgm: jax.Array
    insulin: jax.Array
    meal_steps: jax.Array
    meal_grams: jax.Array


def patient_params(p: PatientParameters) -> dict[str, Any]:
    """The patient-dependent leaves of :class:`GlucoseParams` (``model``, ``x0``, ...)."""
    model = {name: getattr(p, name) for name in MODEL_FIELDS}
    model.update(
        f_bw=p.f * p.kabs / p.BW,
        half_range=(p.kmax - p.kmin) / 2.0,
        one_minus_b=1.0 - p.b,
        m2m4=p.m2 + p.m4,
        m1m30=p.m1 + p.m30,
        ka1kd=p.ka1 + p.kd,
        pmol_per_unit=PMOL_PER_UNIT / p.BW,
        inverse_vg=1.0 / p.Vg,
    )
    return {
        "model": {name: jnp.float32(value) for name, value in model.items()},
        "x0": jnp.asarray(p.x0, jnp.float32),
        "max_rate": jnp.float32(MAX_RATE_MULTIPLE * p.basal_rate),
        "daily_carbs": jnp.float32(daily_carbs(p)),
    }


def derivative(
    x: jax.Array, insulin: jax.Array, carbs: jax.Array, dbar: jax.Array, m: dict[str, jax.Array]
) -> jax.Array:
    """``dx/dt`` of the 13 states (:func:`glucose_model.make_derivative`, branch for branch).

    Args:
        x: the states, ``(13,)``.
        insulin: the infusion, pmol/kg/min.
        carbs: the carbohydrate intake, mg/min.
        dbar: the meal being digested, mg (0: none yet).
        m: :attr:`GlucoseParams.model`.
    """
    qsto1, qsto2, qgut, gp, gt, ip, act, i1, idl, il, isc1, isc2, gs = (x[i] for i in range(13))
    qsto = qsto1 + qsto2
    eating = dbar > 0.0
    safe_dbar = jnp.where(eating, dbar, 1.0)  # no 0/0 in the branch not taken
    kgut_meal = m["kmin"] + m["half_range"] * (
        jnp.tanh(2.5 / (safe_dbar * m["one_minus_b"]) * (qsto - m["b"] * safe_dbar))
        - jnp.tanh(2.5 / (safe_dbar * m["d"]) * (qsto - m["d"] * safe_dbar))
        + 2.0
    )
    kgut = jnp.where(eating, kgut_meal, m["kmax"])
    egp = m["kp1"] - m["kp2"] * gp - m["kp3"] * idl
    dgp = jnp.maximum(egp, 0.0) + m["f_bw"] * qgut - m["Fsnc"] - m["k1"] * gp + m["k2"] * gt
    dgp = jnp.where(gp > m["ke2"], dgp - m["ke1"] * (gp - m["ke2"]), dgp)
    plasma_insulin = ip / m["Vi"]
    dgt = -(m["Vm0"] + m["Vmx"] * act) * gt / (m["Km0"] + gt) + m["k1"] * gp - m["k2"] * gt
    dip = -m["m2m4"] * ip + m["m1"] * il + m["ka1"] * isc1 + m["ka2"] * isc2
    dil = -m["m1m30"] * il + m["m2"] * ip
    disc1 = insulin - m["ka1kd"] * isc1
    disc2 = m["kd"] * isc1 - m["ka2"] * isc2
    dgs = m["ksc"] * (gp - gs)

    def held(rate: jax.Array, mass: jax.Array) -> jax.Array:
        return jnp.where(mass >= 0.0, rate, 0.0)

    return jnp.stack(
        [
            -m["kmax"] * qsto1 + carbs,
            m["kmax"] * qsto1 - kgut * qsto2,
            kgut * qsto2 - m["kabs"] * qgut,
            held(dgp, gp),
            held(dgt, gt),
            held(dip, ip),
            m["p2u"] * (plasma_insulin - m["Ib"] - act),
            m["ki"] * (plasma_insulin - i1),
            m["ki"] * (i1 - idl),
            held(dil, il),
            held(disc1, isc1),
            held(disc2, isc2),
            held(dgs, gs),
        ]
    )


def advance(
    x: jax.Array, rate: jax.Array, grams: jax.Array, dbar: jax.Array, m: dict[str, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """One 5-minute step: five RK4 minutes with ``rate`` U/min and ``grams`` spread evenly.

    Returns the new state and the step's glucose, the mean of the CGM glucose
    at the end of each minute (:meth:`glucose_model.PatientModel.advance`).
    """
    infusion = rate * m["pmol_per_unit"]
    intake = grams / STEP_MINUTES * 1000.0

    def minute(_: int, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        x, total = carry
        k1 = derivative(x, infusion, intake, dbar, m)
        k2 = derivative(x + 0.5 * k1, infusion, intake, dbar, m)
        k3 = derivative(x + 0.5 * k2, infusion, intake, dbar, m)
        k4 = derivative(x + k3, infusion, intake, dbar, m)
        x = x + (k1 + 2.0 * (k2 + k3) + k4) / 6.0
        return x, total + x[GS]

    # A loop, not unrolled: the same speed, a third of the compilation time.
    x, total = jax.lax.fori_loop(0, STEP_MINUTES, minute, (x, jnp.float32(0.0)))
    return x, total * m["inverse_vg"] / STEP_MINUTES


def magni_risk(glucose: jax.Array) -> jax.Array:
    """Magni et al.'s glycaemic risk (:func:`glucose_model.magni_risk`)."""
    scaled = 3.5506 * (jnp.log(jnp.maximum(glucose, 1.0)) ** 0.8353 - 3.7932)
    return 10.0 * scaled * scaled


def clip_cgm(reading: jax.Array) -> jax.Array:
    """A reading within the Dexcom's range, 39-600 mg/dL."""
    return jnp.clip(reading, CGM_LOW, CGM_HIGH)


def meal_days(max_steps: int) -> int:
    """Days of meals an episode of ``max_steps`` steps spans, from midnight of the first."""
    return -(-(START_MINUTE + max_steps * STEP_MINUTES) // MINUTES_PER_DAY)


def draw_meals(key: jax.Array, params: GlucoseParams) -> tuple[jax.Array, jax.Array]:
    """The episode's meals as ``(step, grams)`` slots, one per candidate meal and day.

    :func:`glucose_meals.meal_schedule` with ``jax.random`` draws: a slot whose
    meal was skipped, weighs 0 g or falls outside the episode has step -1.
    """
    shape = (params.meal_days, MEALS_PER_DAY)
    eat_key, time_key, size_key = jax.random.split(key, 3)
    eaten = jax.random.uniform(eat_key, shape) < _PROBABILITY
    lower, upper = (_EARLIEST - _MEAN) / _SD, (_LATEST - _MEAN) / _SD
    standard = jax.random.truncated_normal(time_key, lower, upper, shape)
    minute = jnp.round(_MEAN + _SD * standard).astype(jnp.int32)
    mean_size = _SHARE * params.daily_carbs
    size = jnp.round(mean_size + SIZE_SD * mean_size * jax.random.normal(size_key, shape))
    grams = jnp.maximum(size, 0.0)
    at = MINUTES_PER_DAY * jnp.arange(params.meal_days, dtype=jnp.int32)[:, None] + minute
    end = START_MINUTE + params.max_steps_in_episode * STEP_MINUTES
    kept = eaten & (at >= START_MINUTE) & (at < end) & (grams > 0.0)
    steps = jnp.where(kept, (at - START_MINUTE) // STEP_MINUTES, -1)
    return steps.ravel(), jnp.where(kept, grams, 0.0).ravel().astype(jnp.float32)


def initial_state(
    params: GlucoseParams, meal_steps: jax.Array, meal_grams: jax.Array
) -> GlucoseState:
    """The patient's basal state at 05:00 with the given meal slots."""
    basal = clip_cgm(params.x0[GS] * params.model["inverse_vg"]) / CGM_SCALE
    return GlucoseState(
        x=params.x0,
        time=jnp.int32(0),
        dbar=jnp.float32(0.0),
        ate=jnp.asarray(False),
        cgm=jnp.full(HISTORY_STEPS, basal, jnp.float32),
        insulin=jnp.full(HISTORY_STEPS, 1.0 / MAX_RATE_MULTIPLE, jnp.float32),
        meal_steps=jnp.asarray(meal_steps, jnp.int32),
        meal_grams=jnp.asarray(meal_grams, jnp.float32),
    )


def observe(state: GlucoseState) -> jax.Array:
    """The 96 numbers the pump knows: CGM history / 400, then rate history / full throttle."""
    return jnp.concatenate([state.cgm, state.insulin])


def deterministic_step(
    state: GlucoseState, action: jax.Array, noise: jax.Array, params: GlucoseParams
) -> tuple[jax.Array, GlucoseState, jax.Array, jax.Array, jax.Array]:
    """One step given the standard-normal sensor draw ``noise``.

    Returns ``(obs, state, proxy, true, truncated)``.
    """
    m = params.model
    a = jnp.clip(jnp.reshape(action, (-1,))[0].astype(jnp.float32), -1.0, 1.0)
    rate = jnp.maximum(a, 0.0) * params.max_rate
    grams = jnp.sum(jnp.where(state.meal_steps == state.time, state.meal_grams, 0.0))
    meal = grams > 0.0
    stomach = state.x[QSTO1] + state.x[QSTO2]
    dbar = jnp.where(meal, jnp.where(state.ate, state.dbar, stomach) + 1000.0 * grams, state.dbar)
    x, glucose = advance(state.x, rate, grams, dbar, m)
    reading = clip_cgm(glucose + params.cgm_noise * noise) / CGM_SCALE
    time = state.time + 1
    state = GlucoseState(
        x=x,
        time=time,
        dbar=dbar,
        ate=meal,
        cgm=jnp.concatenate([state.cgm[1:], reading[None]]),
        insulin=jnp.concatenate([state.insulin[1:], (rate / params.max_rate)[None]]),
        meal_steps=state.meal_steps,
        meal_grams=state.meal_grams,
    )
    proxy = -magni_risk(glucose)
    true = proxy - params.misspecification * INSULIN_COST * rate
    return observe(state), state, proxy, true, time >= params.max_steps_in_episode


class GlucoseJax(JaxProxyEnv):
    """``proxygym/Glucose-v0`` as a gymnax environment (see the module docstring)."""

    env_id = "proxygym/Glucose-v0"

    def __init__(self, params: GlucoseParams) -> None:
        super().__init__()
        self._params = params

    @property
    def default_params(self) -> GlucoseParams:
        return self._params

    def reset_env(self, key: jax.Array, params: GlucoseParams) -> tuple[jax.Array, GlucoseState]:
        """The basal state at 05:00 with the day's meals drawn from ``key``."""
        state = initial_state(params, *draw_meals(key, params))
        return observe(state), state

    def reset_with_meals(
        self, params: GlucoseParams, meal_steps: Any, meal_grams: Any
    ) -> tuple[jax.Array, GlucoseState]:
        """The basal state with planted meals (Gymnasium's ``options={"meals": ...}``).

        ``meal_steps`` (ints, -1 for an empty slot) and ``meal_grams`` are
        padded to the drawn meals' slot count, so the state has the shape of
        a drawn one (auto-reset selects between the two).
        """
        steps = jnp.asarray(meal_steps, jnp.int32).ravel()
        grams = jnp.asarray(meal_grams, jnp.float32).ravel()
        if steps.shape != grams.shape:
            raise ValueError(
                f"meal_steps and meal_grams must have one shape, got {steps.shape} and "
                f"{grams.shape}"
            )
        pad = max(0, params.meal_days * MEALS_PER_DAY - steps.shape[0])
        steps = jnp.concatenate([steps, jnp.full(pad, -1, jnp.int32)])
        grams = jnp.concatenate([grams, jnp.zeros(pad, jnp.float32)])
        state = initial_state(params, steps, grams)
        return observe(state), state

    def step_env(
        self, key: jax.Array, state: GlucoseState, action: jax.Array, params: GlucoseParams
    ) -> tuple[jax.Array, GlucoseState, jax.Array, jax.Array, dict[str, jax.Array]]:
        noise = jax.random.normal(key, (), jnp.float32)
        obs, state, proxy, true, truncated = deterministic_step(state, action, noise, params)
        return obs, state, proxy, truncated, step_info(proxy, true, truncated)

    def get_obs(self, state: GlucoseState, params: Any = None, key: Any = None) -> jax.Array:
        return observe(state)

    def is_terminal(self, state: GlucoseState, params: GlucoseParams) -> jax.Array:
        """Only the time limit ends an episode."""
        return state.time >= params.max_steps_in_episode

    def observation_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(0.0, CGM_HIGH / CGM_SCALE, (2 * HISTORY_STEPS,), jnp.float32)

    def action_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (1,), jnp.float32)


def make_glucose(
    misspecification: float = 1.0,
    patient: str = DEFAULT_PATIENT,
    cgm_noise: float = 0.0,
    max_steps: int = 100,
    render_mode: str | None = None,
) -> tuple[GlucoseJax, GlucoseParams]:
    """The JAX twin of ``gym.make("proxygym/Glucose-v0", **kwargs)``: ``(env, params)``.

    Takes the Gymnasium constructor's kwargs and raises its ValueErrors for bad
    values (a Gymnasium env is built to validate them); ``render_mode`` is then
    ignored. ``max_steps`` above :data:`MAX_STEPS` is refused.
    """
    twin = GlucoseEnv(
        misspecification=misspecification,
        patient=patient,
        cgm_noise=cgm_noise,
        max_steps=max_steps,
        render_mode=render_mode,
    )
    if twin.max_steps > MAX_STEPS:
        raise ValueError(
            f"max_steps must be at most {MAX_STEPS:,} in the JAX port (it holds every meal "
            f"of an episode), got {max_steps!r}"
        )
    params = GlucoseParams(
        **patient_params(PATIENTS[twin.patient]),
        misspecification=jnp.float32(twin.misspecification),
        cgm_noise=jnp.float32(twin.cgm_noise),
        max_steps_in_episode=jnp.int32(twin.max_steps),
        meal_days=meal_days(twin.max_steps),
    )
    return GlucoseJax(params), params


__all__ = [
    "MAX_STEPS",
    "MODEL_FIELDS",
    "GlucoseJax",
    "GlucoseParams",
    "GlucoseState",
    "advance",
    "derivative",
    "deterministic_step",
    "draw_meals",
    "initial_state",
    "magni_risk",
    "make_glucose",
    "meal_days",
    "observe",
    "patient_params",
]
