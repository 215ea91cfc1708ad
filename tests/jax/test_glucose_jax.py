"""The JAX port of Glucose against its Gymnasium twin.

- replay (float32 against the float64 Gymnasium code): three patients (a
  child, an adolescent, an adult) through a 100-step episode with planted
  meals and a fixed action sequence (pump off, basal, three times basal, full
  throttle, negative actions): observations to :data:`OBS_ATOL`, both rewards
  to :data:`REWARD_TOL`, truncation exactly, on every step; the same with the
  Gymnasium env's own sensor noise fed to the port, and with two meals in one
  step (they add up);
- misspecification 0 makes the true reward the proxy (exactly);
- the meal draw: slots, timing windows, integer grams, eating frequencies and
  the distributions of times and sizes against ``glucose_meals.meal_schedule``
  (two-sample KS tests);
- bad kwargs refused with the Gymnasium env's messages; gymnax's ``step``
  truncating on step 100 and resetting.

Every patient and setting runs through one jitted, vmapped rollout (the
params are pytree leaves), compiled once for the module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
stats = pytest.importorskip("scipy.stats")

import jax.numpy as jnp  # noqa: E402
from gymnasium.utils import seeding  # noqa: E402

from proxygym.envs.simulators.glucose import MAX_RATE_MULTIPLE, GlucoseEnv  # noqa: E402
from proxygym.envs.simulators.glucose_meals import MEALS, daily_carbs, meal_schedule  # noqa: E402
from proxygym.envs.simulators.glucose_patients import PATIENTS  # noqa: E402
from proxygym.jax.envs.glucose import (  # noqa: E402
    MAX_STEPS,
    GlucoseJax,
    GlucoseParams,
    deterministic_step,
    draw_meals,
    make_glucose,
)

PATIENT_NAMES = ("child#003", "adolescent#005", "adult#001")
HORIZON = 100
#: Measured: observations agree to 5e-7, rewards to 1.5e-4 (float32 against float64).
OBS_ATOL = 2e-6
REWARD_TOL: dict[str, float] = {"atol": 1e-3, "rtol": 1e-5}
BASAL = 1.0 / MAX_RATE_MULTIPLE
#: Pump off, basal, three times basal, full throttle (glucose falls to 12-30 mg/dL), a
#: negative action (off), then basal again: 100 actions.
ACTIONS = np.array(
    [0.0] * 10 + [BASAL] * 20 + [3 * BASAL] * 10 + [1.0] * 14 + [-0.5] * 6 + [3 * BASAL] * 20
    + [0.3] * 5 + [BASAL] * 15,
    np.float32,
)  # fmt: skip
#: Breakfast, a meal that goes on into the next step, a snack, lunch ((step, grams)).
MEALS_PLANTED = ((5, 60.0), (6, 10.0), (40, 9.0), (70, 80.0))
DRAWS = 4000
ALPHA = 1e-3


def _stack(params: list[GlucoseParams]) -> GlucoseParams:
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *params)


@jax.jit
def _rollouts(
    params: GlucoseParams, steps: jax.Array, grams: jax.Array, actions: jax.Array, noise: jax.Array
) -> tuple[jax.Array, ...]:
    """Per params row: the reset obs, then every step's obs, proxy, true and truncation."""

    def one(
        p: GlucoseParams, steps: jax.Array, grams: jax.Array, noise: jax.Array
    ) -> tuple[jax.Array, ...]:
        env = GlucoseJax(p)
        obs0, state = env.reset_with_meals(p, steps, grams)

        def body(state: Any, inputs: tuple[jax.Array, jax.Array]) -> tuple[Any, tuple]:
            action, draw = inputs
            obs, state, proxy, true, truncated = deterministic_step(state, action, draw, p)
            return state, (obs, proxy, true, truncated)

        _, out = jax.lax.scan(body, state, (actions[:, None], noise))
        return (obs0, *out)

    return jax.vmap(one)(params, steps, grams, noise)


def _gym_episode(
    patient: str, meals: list[tuple[int, float]], misspecification: float, cgm_noise: float
) -> tuple[np.ndarray, ...]:
    """The Gymnasium env's reset obs, obs, proxy, true and truncation under :data:`ACTIONS`."""
    env = GlucoseEnv(misspecification=misspecification, patient=patient, cgm_noise=cgm_noise)
    obs0, _ = env.reset(seed=7, options={"meals": meals})
    rows = []
    for action in ACTIONS:
        obs, proxy, terminated, truncated, info = env.step(np.array([action], np.float32))
        assert not terminated
        rows.append((obs, proxy, info["true_reward"], truncated))
    obs, proxy, true, truncated = (np.array(column) for column in zip(*rows, strict=True))
    return obs0, obs, proxy, true, truncated


def _gym_noise(seed: int) -> np.ndarray:
    """The standard normals Gymnasium's sensor draws after ``reset(seed=seed, options=meals)``."""
    rng, _ = seeding.np_random(seed)
    return rng.standard_normal(HORIZON).astype(np.float32)


#: (patient, misspecification, cgm_noise, planted meals) of each replayed episode.
CASES: tuple[tuple[str, float, float, tuple[tuple[int, float], ...]], ...] = (
    *((name, 1.0, 0.0, MEALS_PLANTED) for name in PATIENT_NAMES),
    ("adult#001", 0.0, 0.0, MEALS_PLANTED),
    ("adolescent#005", 4.0, 5.0, MEALS_PLANTED),
    ("child#003", 1.0, 0.0, ((5, 30.0), (5, 30.0), (6, 10.0), (40, 9.0), (70, 80.0))),
)


@pytest.fixture(scope="module")
def replays() -> list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]:
    """(JAX, Gymnasium) episodes of every case, the JAX ones from one vmapped call."""
    params, steps, grams, noise = [], [], [], []
    for name, misspecification, cgm_noise, meals in CASES:
        params.append(
            make_glucose(misspecification=misspecification, patient=name, cgm_noise=cgm_noise)[1]
        )
        padded = list(meals) + [(-1, 0.0)] * (6 - len(meals))
        steps.append([step for step, _ in padded])
        grams.append([gram for _, gram in padded])
        noise.append(_gym_noise(7))
    out = _rollouts(
        _stack(params), jnp.array(steps), jnp.array(grams), jnp.asarray(ACTIONS), jnp.array(noise)
    )
    jax_rows = [tuple(np.asarray(column[i]) for column in out) for i in range(len(CASES))]
    gym_rows = []
    for name, misspecification, cgm_noise, meals in CASES:
        merged: dict[int, float] = {}
        for step, gram in meals:
            merged[step] = merged.get(step, 0.0) + gram
        gym_rows.append(_gym_episode(name, sorted(merged.items()), misspecification, cgm_noise))
    return list(zip(jax_rows, gym_rows, strict=True))


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-m{c[1]}-n{c[2]}" for c in CASES])
def test_replay_matches_gymnasium_every_step(replays: list, case: int) -> None:
    (obs0, obs, proxy, true, truncated), (g_obs0, g_obs, g_proxy, g_true, g_trunc) = replays[case]
    assert obs0.dtype == np.float32 and obs.shape == (HORIZON, 96)
    np.testing.assert_allclose(obs0, g_obs0, rtol=0, atol=OBS_ATOL)
    np.testing.assert_allclose(obs, g_obs, rtol=0, atol=OBS_ATOL)
    np.testing.assert_allclose(proxy, g_proxy, **REWARD_TOL)
    np.testing.assert_allclose(true, g_true, **REWARD_TOL)
    np.testing.assert_array_equal(truncated, g_trunc)
    assert truncated[-1] and not truncated[:-1].any()


def test_replay_reaches_every_regime(replays: list) -> None:
    """The episodes are a real test: high and hypoglycaemic glucose, a dose priced."""
    (_, obs, proxy, true, _), _ = replays[0]
    glucose = 400.0 * obs[:, 47]
    assert glucose.max() > 300 and glucose.min() < 70
    assert (proxy < -100).any() and (true < proxy).any()


def test_misspecification_zero_makes_true_the_proxy(replays: list) -> None:
    (_, _, proxy, true, _), (_, _, g_proxy, g_true, _) = replays[3]
    np.testing.assert_array_equal(true, proxy)
    np.testing.assert_array_equal(g_true, g_proxy)
    # ... and the knob moves only the true reward, never what the agent sees.
    (_, obs_m1, proxy_m1, true_m1, _), _ = replays[2]
    np.testing.assert_array_equal(proxy_m1, proxy)
    (_, obs_m0, _, _, _), _ = replays[3]
    np.testing.assert_array_equal(obs_m1, obs_m0)
    assert (true_m1 < true).sum() > 50


def test_true_reward_is_proxy_minus_priced_insulin(replays: list) -> None:
    """At misspecification 4 the gap is 4 x 25 x the rate, by hand from the action."""
    (_, _, proxy, true, _), _ = replays[4]
    rate = np.maximum(ACTIONS, 0.0) * MAX_RATE_MULTIPLE * PATIENTS["adolescent#005"].basal_rate
    np.testing.assert_allclose(proxy - true, 4.0 * 25.0 * rate, rtol=1e-5, atol=1e-5)


# -- the meal draw ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn() -> tuple[np.ndarray, np.ndarray]:
    """:data:`DRAWS` days of meals for adult#001 (slots per candidate meal)."""
    _, params = make_glucose(patient="adult#001")
    keys = jax.random.split(jax.random.key(0), DRAWS)
    steps, grams = jax.jit(jax.vmap(draw_meals, in_axes=(0, None)))(keys, params)
    return np.asarray(steps), np.asarray(grams)


def _numpy_schedules() -> list[dict[int, float]]:
    rng = np.random.default_rng(0)
    return [meal_schedule(rng, PATIENTS["adult#001"], 300, HORIZON, 5) for _ in range(DRAWS)]


def test_meal_slots_lie_in_their_windows(drawn: tuple[np.ndarray, np.ndarray]) -> None:
    steps, grams = drawn
    assert steps.shape == grams.shape == (DRAWS, len(MEALS))  # one day spans 100 steps
    kept = steps >= 0
    assert ((steps < HORIZON) | ~kept).all()
    assert (grams[~kept] == 0).all() and (grams[kept] > 0).all()
    assert (grams == np.round(grams)).all()
    # minute = 300 + 5 step + (0..4): breakfast in 300-540, the morning snack in 540-600,
    # lunch from 600 (and before the episode's end at 800); later meals never in the episode.
    for slot, (lo, hi) in enumerate(((0, 48), (48, 60), (60, 99))):
        in_slot = steps[:, slot][kept[:, slot]]
        assert in_slot.min() >= lo and in_slot.max() <= hi
    assert not kept[:, 3:].any()


def test_meal_frequencies_and_sizes_match_numpy(drawn: tuple[np.ndarray, np.ndarray]) -> None:
    steps, grams = drawn
    schedules = _numpy_schedules()
    total = daily_carbs(PATIENTS["adult#001"])
    for slot, (lo, hi) in enumerate(((0, 48), (48, 60), (60, 100))):
        kept = steps[:, slot] >= 0
        share = MEALS[slot][6]
        # numpy's meals in this slot's step window (the windows do not overlap)
        theirs = [(s, g) for sch in schedules for s, g in sch.items() if lo <= s < hi]
        n_ours, n_theirs = kept.sum(), len(theirs)
        p = (n_ours + n_theirs) / (2 * DRAWS)
        assert abs(n_ours - n_theirs) < 5 * math.sqrt(2 * DRAWS * p * (1 - p))
        if slot == 0:
            assert abs(n_ours / DRAWS - 0.95) < 0.02
        if slot == 1:
            assert abs(n_ours / DRAWS - 0.3) < 0.04
        our_grams = grams[:, slot][kept]
        assert abs(our_grams.mean() - share * total) < 0.05 * share * total
        for ours, their in (
            (steps[:, slot][kept], [s for s, _ in theirs]),
            (our_grams, [g for _, g in theirs]),
        ):
            assert stats.ks_2samp(ours, their).pvalue > ALPHA


def test_planted_meals_replace_the_draw() -> None:
    env, params = make_glucose()
    _, state = env.reset_with_meals(params, [3], [50.0])
    assert state.meal_steps.shape == (6,)
    np.testing.assert_array_equal(np.asarray(state.meal_steps), [3, -1, -1, -1, -1, -1])
    with pytest.raises(ValueError, match="one shape"):
        env.reset_with_meals(params, [3, 4], [50.0])


# -- kwargs, spaces, auto-reset -----------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"misspecification": -1.0},
        {"misspecification": float("nan")},
        {"patient": "adult#011"},
        {"patient": 1},
        {"cgm_noise": -0.5},
        {"max_steps": 0},
        {"max_steps": 2.5},
        {"render_mode": "human"},
    ],
)
def test_bad_kwargs_are_refused_with_gymnasium_messages(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as expected:
        GlucoseEnv(**kwargs)
    with pytest.raises(ValueError) as got:
        make_glucose(**kwargs)
    assert str(got.value) == str(expected.value) and "\n" not in str(got.value)


def test_unknown_kwargs_and_huge_limits_are_refused() -> None:
    with pytest.raises(TypeError, match="observation_noise"):
        make_glucose(observation_noise=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_steps must be at most"):
        make_glucose(max_steps=MAX_STEPS + 1)


def test_spaces_and_long_episodes_hold_every_day_of_meals() -> None:
    env, params = make_glucose(max_steps=600)  # 05:00 + 50 h: three days from midnight
    assert params.meal_days == 3
    assert env.action_space(params).shape == (1,)
    assert env.observation_space(params).shape == (96,)
    steps, _ = draw_meals(jax.random.key(0), params)
    assert steps.shape == (18,) and int(steps.max()) < 600
    # day d's meals (05:00-23:00 of that day) fall in steps 288 d .. 288 d + 216
    for day, row in enumerate(np.asarray(steps).reshape(3, 6)):
        kept = row[row >= 0]
        assert kept.size > 0 and (kept >= 288 * day).all() and (kept <= 288 * day + 216).all()
    assert (np.asarray(steps)[12:] >= 576).sum() == 1  # this key's third-day breakfast


def test_gymnax_step_truncates_on_max_steps_and_resets() -> None:
    env, params = make_glucose(max_steps=5)
    obs, state = env.reset(jax.random.key(0), params)
    basal = np.asarray(obs)
    for t in range(1, 6):
        obs, state, reward, done, info = env.step(
            jax.random.key(t), state, jnp.array([BASAL]), params
        )
        assert bool(done) == bool(info["truncated"]) == (t == 5)
        assert set(info) == {"proxy_reward", "true_reward", "truncated"}
        assert float(info["proxy_reward"]) == float(reward)
    assert int(state.time) == 0
    np.testing.assert_allclose(np.asarray(obs), basal, atol=OBS_ATOL)
