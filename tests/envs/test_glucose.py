"""Glucose's own rules: Pan et al.'s rewards, the knob, the patient's responses, the pump's view.

The contract every environment follows is checked in ``tests/envs/test_contract.py``
(over ``tests/conftest.py``'s CONFIGS); the model against published values in
``tests/envs/test_glucose_model.py``.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401  (registers the ids)
from proxygym.envs.simulators.glucose import HISTORY_STEPS, GlucoseEnv

ID = "proxygym/Glucose-v0"
#: adult#001's basal glucose (mg/dL) and rate (U/min), from the UVa/Padova parameter table.
GB, BASAL = 138.56, 1.2386244136 * 102.32 / 6000
#: The action that sets the basal rate: full throttle is 43.2 x basal.
BASAL_ACTION = 1 / 43.2


def pan_magni_risk(bg: float) -> float:
    """Magni's risk as Pan et al.'s ``magni_reward`` computes it (negated there)."""
    bg = max(1.0, bg)
    return 10 * (3.5506 * (math.log(bg) ** 0.8353 - 3.7932)) ** 2


def make(**kwargs: Any) -> GlucoseEnv:
    env: GlucoseEnv = gym.make(ID, **kwargs).unwrapped
    return env


def step(env: GlucoseEnv, action: float) -> tuple[np.ndarray, float, float]:
    """(observation, proxy, true) after ``action``."""
    observation, proxy, _, _, info = env.step(np.array([action], np.float32))
    return observation, proxy, info["true_reward"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knob_zero_makes_the_proxy_the_true_objective_on_every_step(seed: int) -> None:
    """At misspecification 0, proxy == 1 x true + 0 on every step of random play (3 episodes)."""
    env = make(misspecification=0.0)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    steps = 0
    for _ in range(300):
        _, proxy, terminated, truncated, info = env.step(rng.uniform(-1, 1, 1).astype(np.float32))
        assert info["true_reward"] == proxy
        steps += 1
        if terminated or truncated:
            env.reset()
    assert steps == 300


@pytest.mark.parametrize("misspecification", [1.0, 3.5])
def test_rewards_are_pan_et_al_formulas_on_every_step(misspecification: float) -> None:
    """proxy = -risk(BG) (magni_reward), true = proxy - m x 25 x U/min (magni_bg_insulin_true)."""
    env = make(misspecification=misspecification)
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(100):
        action = float(np.float32(rng.uniform(-1, 0.5)))
        _, proxy, true = step(env, action)
        glucose = env.glucose_trace[-1]
        rate = max(action, 0.0) * 43.2 * BASAL
        assert env.insulin_trace[-1] == pytest.approx(rate, rel=1e-6)
        assert proxy == pytest.approx(-pan_magni_risk(glucose), rel=1e-12, abs=1e-12)
        assert true == pytest.approx(proxy - misspecification * 25 * rate, rel=1e-9, abs=1e-12)
    assert min(env.glucose_trace) < 110 < 200 < max(env.glucose_trace)  # a range of levels


def test_basal_rate_holds_the_basal_glucose_with_no_meals() -> None:
    """Basal insulin, no meals: glucose stays at Gb = 138.56 mg/dL (risk 0.00029 a step)."""
    env = make()
    env.reset(seed=0, options={"meals": []})
    for _ in range(100):
        observation, proxy, true = step(env, BASAL_ACTION)
        assert observation[:HISTORY_STEPS] == pytest.approx(GB / 400, abs=1e-6)
        assert proxy == pytest.approx(-0.00029377, rel=1e-3)
        assert true == pytest.approx(proxy - 25 * BASAL, rel=1e-6)  # 0.528 for the insulin
    assert env.glucose_trace == pytest.approx([GB] * 100, abs=1e-3)


def final_glucose(action: float, meals: list[tuple[int, float]], steps: int = 60) -> list[float]:
    env = make()
    env.reset(seed=0, options={"meals": meals})
    for _ in range(steps):
        step(env, action)
    return env.glucose_trace


def test_more_insulin_lowers_glucose() -> None:
    """Pump off > basal > twice basal > four times basal, an hour on and at the end (5 h)."""
    traces = [final_glucose(multiple * BASAL_ACTION, []) for multiple in (0, 1, 2, 4)]
    for hour_later in (12, 59):
        levels = [trace[hour_later] for trace in traces]
        assert levels == sorted(levels, reverse=True)
        assert levels[0] - levels[-1] > 20 if hour_later == 59 else levels[0] > levels[-1]
    assert traces[0][-1] > GB + 30 and traces[3][-1] < GB - 30


def test_meals_raise_glucose_and_bigger_meals_raise_it_more() -> None:
    fasting, small, large = (final_glucose(BASAL_ACTION, m) for m in ([], [(6, 30)], [(6, 90)]))
    assert fasting[:6] == small[:6] == large[:6]  # nothing happens before the meal (step 6)
    assert max(fasting) < max(small) < max(large)
    assert max(large) > GB + 100  # 90 g on basal insulin: past 240 mg/dL
    assert np.argmax(large) > 6


def test_a_meal_bolus_flattens_the_rise() -> None:
    """90 g with an insulin bolus of 90 / CR = 9 U (adult#001's CR is 10 g/U) peaks lower."""
    env = make()
    env.reset(seed=0, options={"meals": [(0, 90)]})
    bolus = (BASAL + 9 / 5) / (43.2 * BASAL)  # 9 U over the first step, then basal
    step(env, min(bolus, 1.0))
    for _ in range(59):
        step(env, BASAL_ACTION)
    assert max(env.glucose_trace) < max(final_glucose(BASAL_ACTION, [(0, 90)])) - 40


def test_same_seed_same_episode_and_seeds_draw_different_meals() -> None:
    def episode(seed: int) -> tuple[list[float], tuple[Any, ...]]:
        env = make(cgm_noise=5.0)
        env.reset(seed=seed)
        rng = np.random.default_rng(0)
        rewards = [step(env, float(rng.uniform(-1, 0.5)))[1] for _ in range(100)]
        return rewards, env.state.meals

    assert episode(7) == episode(7)
    assert episode(7)[1] != episode(8)[1]


def test_cgm_noise_moves_the_readings_not_the_patient() -> None:
    clean, noisy = make(), make(cgm_noise=10.0)
    readings = []
    for env in (clean, noisy):
        env.reset(seed=3)
        for _ in range(20):
            observation, _, _ = step(env, BASAL_ACTION)
        readings.append(observation[:HISTORY_STEPS] * 400)
    assert clean.glucose_trace == noisy.glucose_trace
    errors = readings[1][-20:] - readings[0][-20:]
    assert 4 < np.std(errors) < 16


def test_observation_is_the_pumps_memory_of_cgm_and_insulin() -> None:
    env = make()
    observation, _ = env.reset(seed=0, options={"meals": []})
    assert observation.shape == (96,) and env.observation_space.contains(observation)
    assert observation[:HISTORY_STEPS] == pytest.approx(GB / 400)
    assert observation[HISTORY_STEPS:] == pytest.approx(1 / 43.2)
    observation, _, _ = step(env, 0.5)
    assert observation[-1] == pytest.approx(0.5)  # the newest rate, as a share of full throttle
    assert observation[HISTORY_STEPS - 1] == pytest.approx(env.glucose_trace[-1] / 400)
    observation, _, _ = step(env, -0.7)
    assert observation[-2:] == pytest.approx([0.5, 0.0])  # a <= 0 switches the pump off


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"misspecification": -1.0}, "misspecification"),
        ({"misspecification": "high"}, "misspecification"),
        ({"cgm_noise": float("nan")}, "cgm_noise"),
        ({"patient": "adult#011"}, "patient"),
        ({"patient": 1}, "patient"),
        ({"max_steps": 0}, "max_steps"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_kwargs_are_refused_in_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        GlucoseEnv(**kwargs)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "action",
    [np.array([1.5], np.float32), np.array([np.nan]), np.zeros(2), 0.5, [2.0], ["a"], None],
)
def test_bad_actions_are_refused_in_one_line(action: Any) -> None:
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action") as error:
        env.step(action)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("meals", [[(-1, 20)], [(3, -5)], [(1.5, 20)], "lunch", [(1, 2, 3)]])
def test_bad_meal_options_are_refused(meals: Any) -> None:
    with pytest.raises(ValueError, match="options\\['meals'\\]"):
        make().reset(seed=0, options={"meals": meals})


def test_views_draw_the_trace_and_label_what_is_hidden() -> None:
    env = make(render_mode="rgb_array")
    env.reset(seed=0, options={"meals": [(2, 60)]})
    for _ in range(30):
        step(env, BASAL_ACTION)
    frame = env.render()
    assert frame.shape == (160, 400, 3) and frame.dtype == np.uint8
    # Steps 0-29 drawn 4 pixels apart; past step 29 the chart is empty background.
    drawn = (frame[:128, :120] < 100).all(axis=2).any(axis=0)
    assert drawn.all() and not (frame[:128, 124:] < 100).all(axis=2).any()
    assert (frame[:6, 8:12] == (235, 140, 30)).all()  # the meal's tick at step 2
    text_env = make(render_mode="ansi")
    text_env.reset(seed=0)
    step(text_env, BASAL_ACTION)
    text = text_env.render()
    assert "visible score" in text and "HIDDEN score" in text
    assert "patient (hidden): glucose 139 mg/dL" in text
    assert text.count("*") == HISTORY_STEPS  # one reading a column
