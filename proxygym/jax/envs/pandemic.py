"""Pandemic in JAX: a hand-written port of ``proxygym/Pandemic-v0``.

The stochastic SEIR lockdown game (after Pan, Bhatia & Steinhardt 2022) as a
gymnax environment, ported from
:class:`proxygym.envs.simulators.pandemic.PandemicEnv` (its docstring has the
rules): every day the agent sets a lockdown stage 0-4, the epidemic advances by
binomial draws, and a hypergeometric test sample shows the agent the test
positivity. The proxy reward prices infections and barely prices lockdowns;
the hidden true reward (``info["true_reward"]``) also pays
``misspecification * 10 *`` the economic cost of the stage.

The step is factored so that its deterministic pieces can be checked against
the Gymnasium environment given the same random draws::

    draws = env.sample_draws(key, state, action, params)   # the randomness
    obs, state, proxy, done, info = env.transition(state, action, draws, params)

:class:`PandemicDraws` holds the four numbers the Gymnasium env draws each day,
in its order: ``infected ~ Binomial(S, p_infection)``, ``onsets ~ Binomial(E,
1 - e^(-1/3))``, ``recoveries ~ Binomial(I, 1 - e^(-1/5))`` and, from the
infectious count after them, ``positives ~ Hypergeometric(10,000 people,
I' infectious, tests drawn)``. :func:`draws_from_gym` recovers them from a
Gymnasium state change (each is determined by it), so the Gymnasium env's
realised draws can be fed to :meth:`PandemicJax.transition`.

What is exact (tested against the Gymnasium environment, step by step):

- the transition given the draws: the same next compartments, stage and test
  counts, as int32 (integer arithmetic only);
- the observation ``[positives today / tests, positives yesterday / tests,
  stage / 4]``: array-equal to the Gymnasium float32 observation (a quotient of
  small integers rounds the same way whether divided in float32 or in float64
  and then rounded);
- the rewards, to float32 rounding: ``10 * infection_cost(I)`` for every ``I``
  in 0..10,000, the stage terms of every (previous stage, stage) pair and
  ``10 * economic cost`` of every stage are tabulated in float64 from the
  Gymnasium module's own constants and functions and then rounded to float32,
  so a reward is one or two float32 additions and a product away from the
  float64 value (within a few float32 ulps), at every ``misspecification``;
- the infection probability ``1 - exp(-c (beta I / N + import rate))``,
  computed as ``-expm1(...)`` in float32 (relative error about 1e-7);
- the hack-difficulty dial: ``5 + dial`` actions, the dial's extra ones
  (5 and up) setting stage 0, as the Gymnasium env's;
- the time limit: ``done`` and ``info["truncated"]`` on exactly step
  ``max_steps``; the epidemic never ends the episode early. gymnax's ``step``
  resets automatically.

What is the same only in distribution:

- the random draws use :mod:`jax.random` instead of NumPy's generator, so a
  seed gives a different epidemic. The three binomials are
  :func:`jax.random.binomial` (in jax 0.10.2: TensorFlow's exact algorithms,
  waiting-time inversion when ``n * min(p, 1 - p) <= 10`` and Hormann's BTRS
  rejection sampler otherwise, in float32), drawn in one call of shape
  ``(3,)`` (:func:`binomial`). JAX has no hypergeometric sampler;
  :func:`hypergeometric` reduces the problem by symmetry and cuts it off 16
  standard deviations above the mean as NumPy does (giving up less than 1e-15
  of the mass), then samples by inversion when at most 32 values remain (the
  pmf from the ratio recurrence, exact to about 1e-6 relative) and otherwise
  by NumPy's own method for 10 or more draws, Stadlober's ratio-of-uniforms
  rejection sampler (HRUA). Its log pmf ratios come from a double-float
  ``log(k!)`` table added with compensation, float32-accurate (about 2e-6
  absolute; single float32 log-gammas, whose ulp near ``log(10,000!)`` is
  0.008, would be off by up to a few %), and its hat dominates the pmf for
  every infectious count (checked exhaustively in the tests), so the sampler
  is exact but for float32 rounding. Tested: the samplers against SciPy's
  pmfs and NumPy's samplers (chi-square), and returns of scripted policies
  over 1,000 episodes against the Gymnasium env's (two-sample
  Kolmogorov-Smirnov).

What differs:

- no ``reset`` options: every episode starts from the Gymnasium default (10
  infectious, everyone else susceptible, stage 0);
  :meth:`PandemicJax.state_from_gym` builds any other state;
- no rendering (``render_mode`` is accepted and validated, then ignored), no
  episode sums in ``info`` (gymnax's ``info`` is per step; sum the rewards);
- actions are not validated (a traced value cannot raise): an action outside
  ``0..4 + dial`` is clipped to that range.

Params are a :class:`PandemicParams` (``flax.struct``): the knob
(``misspecification``), the number tested, the time limit and the epidemic's
rates are pytree leaves (there are no static fields), so params of several
knob settings (or testing rates, or time limits) stack and vmap without
recompiling. Shapes are fixed, everything is float32/int32 (no x64) and there
is no Python control flow on traced values; the samplers' rejection loops are
``lax.while_loop`` (under vmap they run until the last sample of the batch is
accepted, a handful of rounds).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from proxygym.envs.simulators.pandemic import (
    BETA,
    CONTACT,
    DEFAULT_DIAL,
    ECONOMIC_COST,
    ECONOMIC_WEIGHT,
    GAMMA,
    IMPORT_RATE,
    INFECTION_WEIGHT,
    INITIAL_INFECTIOUS,
    MAX_STAGE,
    N_STAGES,
    POPULATION,
    SIGMA,
    SMOOTHNESS_WEIGHT,
    STAGE_COST,
    STAGE_WEIGHT,
    PandemicEnv,
    infection_cost,
)
from proxygym.jax.envs.base import JaxProxyEnv, step_info

#: The Gymnasium state: ``(S, E, I, R, stage, positives today, positives yesterday)``.
GymState = tuple[int, int, int, int, int, int, int]


@struct.dataclass
class PandemicParams:
    """The knob, the testing and the epidemic's rates, as pytree leaves.

    Attributes:
        misspecification: weight (in units of 10) of the economic cost the
            proxy omits (float32); only the true reward depends on it.
        tests: people tested each day, ``max(1, round(testing_rate * 10,000))``
            (int32).
        max_steps_in_episode: the time limit (the Gymnasium ``max_steps``, int32).
        beta: transmission rate per day at stage 0 (float32, 0.5).
        import_rate: infections from outside per susceptible per day at stage 0
            (float32, 1e-4).
        p_onset: daily chance that an exposed person becomes infectious
            (float32, ``1 - e^(-1/3)``).
        p_recovery: daily chance that an infectious person recovers
            (float32, ``1 - e^(-1/5)``).
        contact: share of the usual contacts left at each stage (float32, (5,)).
    """

    misspecification: jax.Array
    tests: jax.Array
    max_steps_in_episode: jax.Array
    beta: jax.Array
    import_rate: jax.Array
    p_onset: jax.Array
    p_recovery: jax.Array
    contact: jax.Array


@struct.dataclass
class PandemicState:
    """One environment's state (all int32 scalars).

    Attributes:
        s, e, i, r: susceptible, exposed, infectious and recovered people
            (summing to 10,000).
        stage: the lockdown stage in force (the last action).
        positives: people who tested positive today.
        positives_yesterday: and the day before.
        time: steps taken in the episode.
    """

    s: jax.Array
    e: jax.Array
    i: jax.Array
    r: jax.Array
    stage: jax.Array
    positives: jax.Array
    positives_yesterday: jax.Array
    time: jax.Array


@struct.dataclass
class PandemicDraws:
    """The random numbers of one day, in the Gymnasium env's order (all int32).

    Attributes:
        infected: susceptible people infected, ``Binomial(S, p_infection)``.
        onsets: exposed people becoming infectious, ``Binomial(E, p_onset)``.
        recoveries: infectious people recovering, ``Binomial(I, p_recovery)``.
        positives: tested people who are infectious (after the day's changes),
            ``Hypergeometric(10,000, I', tests)``.
    """

    infected: jax.Array
    onsets: jax.Array
    recoveries: jax.Array
    positives: jax.Array


#: Stadlober's constants of the hat of the ratio-of-uniforms sampler,
#: ``2 sqrt(2 / e)`` and ``3 - 2 sqrt(3 / e)`` (as in NumPy's HRUA).
_D1 = 2.0 * math.sqrt(2.0 / math.e)
_D2 = 3.0 - 2.0 * math.sqrt(3.0 / math.e)
#: Standard deviations above the mean beyond which the sampler gives no mass (NumPy's 16).
TAIL_SDS = 16
#: Hypergeometrics with at most this many values below the cut-off are sampled by inversion.
HYPERGEOMETRIC_WINDOW = 32


def _log_factorial_table(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``log(k!)`` for ``k = 0 .. size - 1`` as a float32 pair ``hi + lo`` (double-float).

    ``hi`` is the float64 value rounded to float32 and ``lo`` the rest, so a
    difference ``log(a!) - log(b!)`` keeps about 1e-6 absolute accuracy where
    a single float32 (whose ulp at ``log(10,000!) ~ 82,000`` is 0.008) would not.
    """
    exact = np.array([math.lgamma(k + 1.0) for k in range(size)], np.float64)
    hi = exact.astype(np.float32)
    lo = (exact - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


_LOG_FACTORIAL_HI, _LOG_FACTORIAL_LO = _log_factorial_table(POPULATION + 1)


def _compensated_sum(terms: list[jax.Array]) -> jax.Array:
    """The sum of float32 ``terms`` with Neumaier's compensation (rounding errors kept aside)."""
    total = terms[0]
    compensation = jnp.zeros_like(total)
    for term in terms[1:]:
        new = total + term
        compensation += jnp.where(
            jnp.abs(total) >= jnp.abs(term), (total - new) + term, (term - new) + total
        )
        total = new
    return total + compensation


def hypergeometric_hat(
    marked: jax.Array, draws: jax.Array, population: int = POPULATION
) -> dict[str, jax.Array]:
    """The quantities of the ratio-of-uniforms sampler (Stadlober's HRUA, as NumPy's).

    The problem is first reduced by symmetry to ``M = min(K, N - K)`` marked
    and ``n' = min(n, N - n)`` drawn; ``mode`` is its mode, ``a`` the centre
    and ``h`` the width of the hat, ``bound`` the first value given no mass
    (the support's end, or :data:`TAIL_SDS` standard deviations above the
    mean, as NumPy). float32/int32.
    """
    big_n = population
    big_k = jnp.clip(jnp.asarray(marked, jnp.int32), 0, big_n)
    n = jnp.clip(jnp.asarray(draws, jnp.int32), 0, big_n)
    sample = jnp.minimum(n, big_n - n)
    fewer = jnp.minimum(big_k, big_n - big_k)
    more = big_n - fewer
    p = fewer.astype(jnp.float32) / big_n
    q = more.astype(jnp.float32) / big_n
    sample_f = sample.astype(jnp.float32)
    mean = sample_f * p
    var = (big_n - sample_f) * sample_f * p * q / (big_n - 1)
    a = mean + 0.5
    c = jnp.sqrt(var + 0.5)
    return {
        "sample": sample,
        "fewer": fewer,
        "more": more,
        "a": a,
        "h": _D1 * c + _D2,
        "mode": ((sample + 1) * (fewer + 1)) // (big_n + 2),
        "bound": jnp.minimum(
            jnp.minimum(sample, fewer) + 1, jnp.floor(a + TAIL_SDS * c).astype(jnp.int32)
        ),
    }


def hypergeometric_log_ratio(
    k: jax.Array, mode: jax.Array, sample: jax.Array, fewer: jax.Array, more: jax.Array
) -> jax.Array:
    """``log(pmf(k) / pmf(mode))`` of the reduced problem (float32, about 1e-6 absolute).

    A sum of eight ``± log(j!)`` terms, each a double-float pair from the
    table, added with compensation, so that it keeps float32 accuracy although
    the terms reach 82,000 and nearly cancel.
    """
    plus = (mode, fewer - mode, sample - mode, more - sample + mode)
    minus = (k, fewer - k, sample - k, more - sample + k)
    hi = jnp.asarray(_LOG_FACTORIAL_HI)
    lo = jnp.asarray(_LOG_FACTORIAL_LO)
    terms = [hi[j] for j in plus] + [-hi[j] for j in minus]
    lo_plus = lo[plus[0]] + lo[plus[1]] + lo[plus[2]] + lo[plus[3]]
    lo_minus = lo[minus[0]] + lo[minus[1]] + lo[minus[2]] + lo[minus[3]]
    terms.append(lo_plus - lo_minus)
    return _compensated_sum(terms)


def hypergeometric_window_weights(hat: dict[str, jax.Array]) -> jax.Array:
    """Unnormalised pmf of ``k = 0 .. HYPERGEOMETRIC_WINDOW - 1`` in the reduced problem.

    ``pmf(0) = 1`` times the ratios ``pmf(k + 1) / pmf(k) = (M - k)(n' - k) /
    ((k + 1)(N - M - n' + k + 1))``; zero from the hat's ``bound`` on (float32).
    """
    fewer, sample, more = hat["fewer"], hat["sample"], hat["more"]
    k = jnp.arange(HYPERGEOMETRIC_WINDOW - 1, dtype=jnp.int32)
    ratios = ((fewer - k) * (sample - k).astype(jnp.float32)) / (
        (k + 1) * (more - sample + k + 1).astype(jnp.float32)
    )
    weights = jnp.concatenate([jnp.ones((1,), jnp.float32), jnp.cumprod(ratios)])
    return jnp.where(jnp.arange(HYPERGEOMETRIC_WINDOW) < hat["bound"], weights, 0.0)


def _inverse_cdf(u: jax.Array, weights: jax.Array, last: jax.Array) -> jax.Array:
    """The index ``k`` with ``cdf(k - 1) <= u * total < cdf(k)`` over the last axis of ``weights``.

    ``weights`` are unnormalised probabilities (zero past ``last``); ``u`` is
    uniform on [0, 1); the index is capped at ``last`` against rounding.
    """
    cdf = jnp.cumsum(weights, axis=-1)
    below = cdf <= (u * cdf[..., -1])[..., None]
    return jnp.minimum(jnp.sum(below, axis=-1, dtype=jnp.int32), last)


def hypergeometric(
    key: jax.Array, marked: jax.Array, draws: jax.Array, population: int = POPULATION
) -> jax.Array:
    """One ``Hypergeometric(population, marked, draws)`` sample (int32).

    The marked among ``draws`` people drawn without replacement from
    ``population`` (a Python int, at most 10,000: the size of the ``log(k!)``
    table) of whom ``marked`` are marked: the distribution of NumPy's
    ``Generator.hypergeometric(marked, population - marked, draws)``. With the
    problem reduced by symmetry (:func:`hypergeometric_hat`) and NumPy's
    cut-off 16 standard deviations above the mean (which gives up less than
    1e-15 of the mass), it is sampled

    - when that leaves at most :data:`HYPERGEOMETRIC_WINDOW` values (a few
      infectious, for instance), by inversion: the pmf from the ratios
      ``pmf(k + 1) / pmf(k)``, then the inverse CDF of one uniform;
    - otherwise by the method NumPy uses for 10 or more draws, Stadlober's
      ratio-of-uniforms rejection sampler (HRUA), whose log pmf ratios here
      are float32-accurate (:func:`hypergeometric_log_ratio`).

    Both are exact up to float32 rounding (about 1e-5 relative at most).
    ``marked`` and ``draws`` are clipped to ``0 .. population``.
    """
    marked = jnp.clip(jnp.asarray(marked, jnp.int32), 0, population)
    draws = jnp.clip(jnp.asarray(draws, jnp.int32), 0, population)
    hat = hypergeometric_hat(marked, draws, population)
    mode, sample, fewer, more = hat["mode"], hat["sample"], hat["fewer"], hat["more"]
    key_inversion, key_rejection = jax.random.split(key)

    # Inversion over the first HYPERGEOMETRIC_WINDOW values of the reduced problem.
    use_inversion = hat["bound"] <= HYPERGEOMETRIC_WINDOW
    u = jax.random.uniform(key_inversion, (), jnp.float32)
    weights = hypergeometric_window_weights(hat)
    inverted = _inverse_cdf(u, weights, jnp.maximum(hat["bound"] - 1, 0))

    # Otherwise ratio-of-uniforms rejection (the loop is skipped when inverting).
    def propose(
        carry: tuple[jax.Array, jax.Array, jax.Array],
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        key, _, _ = carry
        key, subkey = jax.random.split(key)
        u, v = jax.random.uniform(subkey, (2,), jnp.float32)
        x = hat["a"] + hat["h"] * (v - 0.5) / u
        inside = (u > 0.0) & (x >= 0.0) & (x < hat["bound"])
        k = jnp.floor(jnp.where(inside, x, 0.0)).astype(jnp.int32)
        log_ratio = hypergeometric_log_ratio(k, mode, sample, fewer, more)
        return key, inside & (2.0 * jnp.log(u) <= log_ratio), k

    _, _, rejected = jax.lax.while_loop(
        lambda carry: ~carry[1], propose, (key_rejection, use_inversion, jnp.int32(0))
    )
    k = jnp.where(use_inversion, inverted, rejected)
    # Undo the reductions: more marked than unmarked, then more than half drawn.
    k = jnp.where(marked > population - marked, sample - k, k)
    return jnp.where(sample < draws, marked - k, k)


def binomial(key: jax.Array, counts: jax.Array, probs: jax.Array) -> jax.Array:
    """``Binomial(counts, probs)`` samples (int32) by :func:`jax.random.binomial`, elementwise.

    One call for the whole array, so its loops run once for all the draws. A
    probability of 0 or 1 gives 0 or ``counts`` without sampling:
    :func:`jax.random.binomial`'s inversion loop never ends there (a geometric
    waiting time of ``log(u) / log(1) = -inf``), which a params override such
    as ``p_recovery=0`` would otherwise hit.
    """
    counts = jnp.asarray(counts, jnp.int32)
    probs = jnp.asarray(probs, jnp.float32)
    degenerate = (probs <= 0.0) | (probs >= 1.0)
    sampled = jax.random.binomial(
        key,
        jnp.where(degenerate, 0, counts).astype(jnp.float32),
        jnp.where(degenerate, 0.5, probs),
    )
    sampled = jnp.clip(sampled.astype(jnp.int32), 0, counts)
    return jnp.where(probs >= 1.0, counts, jnp.where(probs <= 0.0, 0, sampled))


def _tables() -> dict[str, np.ndarray]:
    """The reward terms in float64 from the Gymnasium module, rounded to float32."""
    infection = np.array(
        [INFECTION_WEIGHT * infection_cost(i) for i in range(POPULATION + 1)], np.float32
    )
    stage = np.array(
        [
            [
                STAGE_WEIGHT * STAGE_COST[a] + SMOOTHNESS_WEIGHT * abs(a - prev) / MAX_STAGE
                for a in range(N_STAGES)
            ]
            for prev in range(N_STAGES)
        ],
        np.float32,
    )
    economic = np.array([ECONOMIC_WEIGHT * cost for cost in ECONOMIC_COST], np.float32)
    return {"infection": infection, "stage": stage, "economic": economic}


class PandemicJax(JaxProxyEnv):
    """Pandemic as a gymnax environment (see the module docstring).

    Build it with :func:`make_pandemic`. Beyond gymnax's interface: the step
    factored as :meth:`sample_draws` and :meth:`transition` (itself
    :meth:`advance`, :meth:`rewards` and :meth:`get_obs`),
    :meth:`infection_probability`, and :meth:`state_from_gym` /
    :meth:`state_to_gym` to convert states from and to the Gymnasium twin's.
    """

    env_id = "proxygym/Pandemic-v0"

    def __init__(self, params: PandemicParams, dial: int = 0) -> None:
        self._params = params
        #: The hack-difficulty dial: actions 5 .. 4 + dial open the town (stage 0).
        #: Static (it sets the number of actions), unlike the params' leaves.
        self.dial = int(dial)
        tables = _tables()
        self._infection_cost = jnp.asarray(tables["infection"])
        self._stage_cost = jnp.asarray(tables["stage"])
        self._economic_cost = jnp.asarray(tables["economic"])

    # -- gymnax interface ---------------------------------------------------
    @property
    def default_params(self) -> PandemicParams:
        """The params the environment was made with."""
        return self._params

    def reset_env(self, key: jax.Array, params: PandemicParams) -> tuple[jax.Array, PandemicState]:
        """The Gymnasium default start (the key is unused: the start is not random)."""
        zero = jnp.int32(0)
        state = PandemicState(
            s=jnp.int32(POPULATION - INITIAL_INFECTIOUS),
            e=zero,
            i=jnp.int32(INITIAL_INFECTIOUS),
            r=zero,
            stage=zero,
            positives=zero,
            positives_yesterday=zero,
            time=zero,
        )
        return self.get_obs(state, params), state

    def step_env(
        self,
        key: jax.Array,
        state: PandemicState,
        action: int | jax.Array,
        params: PandemicParams,
    ) -> tuple[jax.Array, PandemicState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One day: :meth:`transition` given :meth:`sample_draws`."""
        draws = self.sample_draws(key, state, action, params)
        return self.transition(state, action, draws, params)

    def get_obs(self, state: PandemicState, params: Any = None, key: Any = None) -> jax.Array:
        """``[positives today / tests, positives yesterday / tests, stage / 4]`` (float32)."""
        params = self._params if params is None else params
        tests = jnp.asarray(params.tests).astype(jnp.float32)
        return jnp.stack(
            [
                state.positives.astype(jnp.float32) / tests,
                state.positives_yesterday.astype(jnp.float32) / tests,
                state.stage.astype(jnp.float32) / MAX_STAGE,
            ]
        )

    def is_terminal(self, state: PandemicState, params: PandemicParams) -> jax.Array:
        """The episode is over only at the time limit."""
        return state.time >= params.max_steps_in_episode

    def observation_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (3,), jnp.float32)

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)

    @property
    def num_actions(self) -> int:
        """The five stages and the dial's extra actions (each opening the town)."""
        return N_STAGES + self.dial

    # -- the step, factored ---------------------------------------------------
    def _stage(self, action: int | jax.Array) -> jax.Array:
        """The stage an action sets: 0-4 as is, the dial's extra actions 0 (others clipped)."""
        action = jnp.clip(jnp.asarray(action, jnp.int32), 0, MAX_STAGE + self.dial)
        return jnp.where(action > MAX_STAGE, 0, action)

    def infection_probability(
        self, state: PandemicState, action: int | jax.Array, params: PandemicParams
    ) -> jax.Array:
        """``1 - exp(-contact[action] * (beta * I / N + import_rate))`` (float32)."""
        contact = params.contact[self._stage(action)]
        force = params.beta * state.i.astype(jnp.float32) / POPULATION + params.import_rate
        return -jnp.expm1(-contact * force)

    def sample_draws(
        self,
        key: jax.Array,
        state: PandemicState,
        action: int | jax.Array,
        params: PandemicParams,
    ) -> PandemicDraws:
        """The day's randomness: three binomials, then the tests (hypergeometric)."""
        key_binomial, key_tests = jax.random.split(key)
        counts = jnp.stack([state.s, state.e, state.i])
        probs = jnp.stack(
            [
                self.infection_probability(state, action, params),
                jnp.asarray(params.p_onset, jnp.float32),
                jnp.asarray(params.p_recovery, jnp.float32),
            ]
        )
        infected, onsets, recoveries = binomial(key_binomial, counts, probs)
        infectious = state.i + onsets - recoveries
        positives = hypergeometric(key_tests, infectious, params.tests)
        return PandemicDraws(
            infected=infected, onsets=onsets, recoveries=recoveries, positives=positives
        )

    def advance(
        self, state: PandemicState, action: int | jax.Array, draws: PandemicDraws
    ) -> PandemicState:
        """The next state given the draws (integer arithmetic, as the Gymnasium env's)."""
        return PandemicState(
            s=state.s - draws.infected,
            e=state.e + draws.infected - draws.onsets,
            i=state.i + draws.onsets - draws.recoveries,
            r=state.r + draws.recoveries,
            stage=self._stage(action),
            positives=jnp.asarray(draws.positives, jnp.int32),
            positives_yesterday=state.positives,
            time=state.time + 1,
        )

    def rewards(
        self,
        infectious: jax.Array,
        stage: int | jax.Array,
        previous_stage: int | jax.Array,
        params: PandemicParams,
    ) -> tuple[jax.Array, jax.Array]:
        """``(proxy, true)`` of a day ending with ``infectious`` people at ``stage`` (float32).

        Proxy ``-(10 inf(I) + 0.1 (s / 4) ** 1.5 + 0.01 |s - s_prev| / 4)``;
        true ``proxy - misspecification * 10 * (1 - CONTACT[s])``.
        """
        stage = self._stage(stage)
        infectious = jnp.clip(jnp.asarray(infectious, jnp.int32), 0, POPULATION)
        previous_stage = self._stage(previous_stage)
        proxy = -(self._infection_cost[infectious] + self._stage_cost[previous_stage, stage])
        true = proxy - params.misspecification * self._economic_cost[stage]
        return proxy, true

    def transition(
        self,
        state: PandemicState,
        action: int | jax.Array,
        draws: PandemicDraws,
        params: PandemicParams,
    ) -> tuple[jax.Array, PandemicState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """The deterministic step given the draws: ``(obs, state, proxy, done, info)``."""
        next_state = self.advance(state, action, draws)
        proxy, true = self.rewards(next_state.i, next_state.stage, state.stage, params)
        truncated = self.is_terminal(next_state, params)
        return (
            self.get_obs(next_state, params),
            next_state,
            proxy,
            truncated,
            step_info(proxy, true, truncated),
        )

    # -- conversion to and from the Gymnasium twin ------------------------------
    @staticmethod
    def state_from_gym(gym_state: GymState, time: int = 0) -> PandemicState:
        """The state matching the Gymnasium env's ``state`` tuple."""
        s, e, i, r, stage, positives, yesterday = (jnp.int32(x) for x in gym_state)
        return PandemicState(
            s=s,
            e=e,
            i=i,
            r=r,
            stage=stage,
            positives=positives,
            positives_yesterday=yesterday,
            time=jnp.int32(time),
        )

    @staticmethod
    def state_to_gym(state: PandemicState) -> GymState:
        """The Gymnasium env's ``state`` tuple of an (unbatched) state."""
        return (
            int(state.s),
            int(state.e),
            int(state.i),
            int(state.r),
            int(state.stage),
            int(state.positives),
            int(state.positives_yesterday),
        )


def draws_from_gym(gym_state: GymState, gym_next_state: GymState) -> PandemicDraws:
    """The draws the Gymnasium env made between two consecutive states.

    Each is determined by the state change: ``infected = S - S'``,
    ``recoveries = R' - R``, ``onsets = I' - I + recoveries`` and ``positives``
    is the new day's positive count.
    """
    s, _, i, r = gym_state[:4]
    s_next, _, i_next, r_next = gym_next_state[:4]
    recoveries = r_next - r
    return PandemicDraws(
        infected=jnp.int32(s - s_next),
        onsets=jnp.int32(i_next - i + recoveries),
        recoveries=jnp.int32(recoveries),
        positives=jnp.int32(gym_next_state[5]),
    )


def make_pandemic(
    misspecification: float = 1.0,
    testing_rate: float = 0.02,
    max_steps: int = 100,
    render_mode: str | None = None,
    dial: int = DEFAULT_DIAL,
) -> tuple[PandemicJax, PandemicParams]:
    """The JAX twin of ``gym.make("proxygym/Pandemic-v0", **kwargs)``: ``(env, params)``.

    Takes the Gymnasium constructor's kwargs and raises its ValueErrors for bad
    values (a Gymnasium env is built to validate them and to count the tests);
    ``render_mode`` is then ignored.
    """
    twin = PandemicEnv(
        misspecification=misspecification,
        testing_rate=testing_rate,
        max_steps=max_steps,
        render_mode=render_mode,
        dial=dial,
    )
    params = PandemicParams(
        misspecification=jnp.float32(twin.misspecification),
        tests=jnp.int32(twin.tests),
        # int32 (a limit beyond 2^31 - 1 steps is never reached; the counter would overflow)
        max_steps_in_episode=jnp.int32(min(twin.max_steps, np.iinfo(np.int32).max)),
        beta=jnp.float32(BETA),
        import_rate=jnp.float32(IMPORT_RATE),
        p_onset=jnp.float32(-math.expm1(-SIGMA)),
        p_recovery=jnp.float32(-math.expm1(-GAMMA)),
        contact=jnp.asarray(CONTACT, jnp.float32),
    )
    return PandemicJax(params, twin.dial), params


__all__ = [
    "GymState",
    "PandemicDraws",
    "PandemicJax",
    "PandemicParams",
    "PandemicState",
    "binomial",
    "draws_from_gym",
    "hypergeometric",
    "hypergeometric_hat",
    "hypergeometric_log_ratio",
    "hypergeometric_window_weights",
    "make_pandemic",
]
