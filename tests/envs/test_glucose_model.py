"""The UVa/Padova patient model and the risk functions behind Glucose, against published values.

Sources and tolerances, test by test:

- basal steady state: every patient's table (simglucose's ``vpatient_params.csv``,
  from the UVa/Padova simulator) lists its basal state, at which the basal rate
  ``u2ss BW / 6000`` holds glucose at ``Gb``: within 0.001 mg/dL over a day;
- a published trajectory: simglucose's stored two-day simulation of
  ``adolescent#001`` (``tests/sim_results.csv`` in github.com/jxx123/simglucose,
  MIT: random meals of seed 1, its basal-bolus controller, 3-minute samples),
  replayed with its logged insulin and meals: within 0.05 mg/dL at every
  sample below (we measured 0.008 at most);
- the integrator: RK4 at one-minute steps against scipy's DOP853 at tolerance
  1e-11 over a day of meals and varying infusions: within 0.01 mg/dL;
- the risks: Magni et al.'s (2007) and Kovatchev et al.'s (1997) formulas
  written out as Pan et al.'s code has them, and their published landmarks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from proxygym.envs.simulators.glucose_meals import daily_carbs, meal_schedule
from proxygym.envs.simulators.glucose_model import (
    PMOL_PER_UNIT,
    PatientModel,
    kovatchev_risk,
    magni_risk,
)
from proxygym.envs.simulators.glucose_patients import PATIENTS


def pan_magni_reward(bg: float) -> float:
    """Pan et al.'s ``magni_reward``, line by line (``glucose/bgp/rl/reward_functions.py``)."""
    bg = max(1, bg)
    f_bg = 3.5506 * (np.log(bg) ** 0.8353 - 3.7932)
    risk = 10 * (f_bg) ** 2
    return float(-1 * risk)


@pytest.mark.parametrize(
    ("glucose", "risk"),
    [(70.0, 25.0048), (138.56, 0.00029377), (200.0, 6.8316), (300.0, 30.0919), (0.5, 1813.9069)],
)
def test_magni_risk_at_hand_computed_levels(glucose: float, risk: float) -> None:
    assert magni_risk(glucose) == pytest.approx(risk, rel=1e-4)
    assert -magni_risk(glucose) == pytest.approx(pan_magni_reward(glucose), rel=1e-12)


def test_magni_risk_is_zero_at_its_minimum_near_139() -> None:
    """The minimum solves ln g ^ 0.8353 = 3.7932: g = exp(3.7932 ^ (1 / 0.8353)) = 138.89."""
    minimum = math.exp(3.7932 ** (1 / 0.8353))
    assert minimum == pytest.approx(138.8897, abs=1e-3)
    assert magni_risk(minimum) == pytest.approx(0.0, abs=1e-20)
    assert magni_risk(minimum - 1) > 0 and magni_risk(minimum + 1) > 0


def test_kovatchev_risk_published_landmarks() -> None:
    """Kovatchev et al. (1997): 0 at 112.5 mg/dL, 100 at 20 and 600, 70 and 180 alike."""
    assert kovatchev_risk(112.5) == pytest.approx(0.0, abs=1e-5)
    assert kovatchev_risk(20.0) == pytest.approx(100.0, abs=0.1)
    assert kovatchev_risk(600.0) == pytest.approx(100.0, abs=0.1)
    assert kovatchev_risk(70.0) == pytest.approx(kovatchev_risk(180.0), abs=0.03)


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_basal_insulin_holds_every_patient_at_its_basal_glucose(name: str) -> None:
    patient = PATIENTS[name]
    model = PatientModel(patient)
    state = list(patient.x0)
    assert model.glucose(state) == pytest.approx(patient.Gb, abs=1e-6)
    for _ in range(24):  # a day, an hour at a time
        state, mean_glucose = model.advance(state, patient.basal_rate, 0.0, 0.0, 60)
        assert mean_glucose == pytest.approx(patient.Gb, abs=1e-3)


#: simglucose's stored run: the sample index and U/min of every infusion other than the pump's
#: basal 0.0139333 U/min (its controller's boluses, a sample after each meal)...
SIMGLUCOSE_BASAL = 0.013933333333333336
SIMGLUCOSE_BOLUSES = {
    173: 1.5694916666666665,
    215: 1.9488750000000004,
    292: 0.3750416666666667,
    370: 2.208375,
    639: 1.5139333333333334,
    670: 0.5439666666666667,
    710: 1.7639333333333336,
    785: 0.23615833333333336,
    829: 2.0417083333333332,
}
#: ...the meals of its RandomScenario(seed=1) (minute: grams), eaten at 5 g/min...
SIMGLUCOSE_MEALS = {
    517: 56, 644: 59, 873: 13, 1109: 79,
    1915: 54, 2007: 7, 2129: 63, 2353: 8, 2484: 73,
}  # fmt: skip
#: ...and its blood glucose (mg/dL) at some samples: every 3 hours, its peak (197), its low (330).
SIMGLUCOSE_GLUCOSE = {
    0: 149.02, 60: 149.0229, 120: 149.03, 180: 149.707, 197: 160.5958, 240: 138.7545,
    300: 96.7077, 330: 86.0820, 360: 95.0486, 420: 113.2915, 480: 99.1679, 540: 111.2382,
    600: 133.2121, 660: 154.8559, 720: 112.8632, 780: 98.0292, 840: 98.709, 900: 102.9063,
    960: 97.2044,
}  # fmt: skip


def test_replays_simglucose_published_two_day_trajectory() -> None:
    """adolescent#001 under simglucose's basal-bolus controller, replayed minute by minute.

    simglucose eats an announced meal at 5 g/min; the scale of gastric
    emptying is the stomach's content when eating starts plus what has been
    eaten since. A sample's glucose is the mean at the ends of its 3 minutes.
    """
    patient = PATIENTS["adolescent#001"]
    model = PatientModel(patient)
    state = list(patient.x0)
    to_eat = stomach_at_start = eaten = 0.0
    previous = 0.0
    glucose = {0: model.glucose(state)}
    for sample in range(960):
        insulin = SIMGLUCOSE_BOLUSES.get(sample, SIMGLUCOSE_BASAL)
        total = 0.0
        for minute in range(3 * sample, 3 * sample + 3):
            to_eat += SIMGLUCOSE_MEALS.get(minute, 0)
            carbs = min(5.0, to_eat)
            to_eat -= carbs
            if carbs > 0 and previous <= 0:
                stomach_at_start, eaten = state[0] + state[1], 0.0
            eaten += carbs
            previous = carbs
            dbar = stomach_at_start + 1000 * eaten
            state, minute_glucose = model.advance(state, insulin, carbs, dbar, 1)
            total += minute_glucose
        glucose[sample + 1] = total / 3
    for sample, expected in SIMGLUCOSE_GLUCOSE.items():
        assert glucose[sample] == pytest.approx(expected, abs=0.05), f"sample {sample}"


def test_rk4_matches_an_adaptive_solver_over_a_day_of_meals() -> None:
    integrate = pytest.importorskip("scipy.integrate")
    patient = PATIENTS["adult#001"]
    model = PatientModel(patient)
    rng = np.random.default_rng(0)
    meals = {24: 70.0, 84: 80.0, 156: 95.0}
    state, reference, dbar = list(patient.x0), np.array(patient.x0), 0.0
    worst = 0.0
    for step in range(288):  # a day of 5-minute steps
        rate = patient.basal_rate * float(rng.uniform(0.0, 3.0))
        grams = meals.get(step, 0.0)
        if grams:
            dbar = state[0] + state[1] + 1000 * grams
        state, _ = model.advance(state, rate, grams / 5, dbar, 5)
        infusion = rate * PMOL_PER_UNIT / patient.BW

        def rhs(_: float, y: np.ndarray, inputs: tuple = (infusion, 200.0 * grams, dbar)) -> tuple:
            return model.derivative(list(y), *inputs)

        solution = integrate.solve_ivp(
            rhs, (0.0, 5.0), reference, method="DOP853", rtol=1e-11, atol=1e-9
        )
        reference = solution.y[:, -1]
        worst = max(worst, abs(model.glucose(state) - reference[12] / patient.Vg))
    assert 60.0 < model.glucose(state) < 400.0  # the day stayed physiological
    assert worst < 0.01


def test_harris_benedict_carbohydrates_of_adult_001() -> None:
    """45 % of 1.2 x BMR at 4 kcal/g; BMR = 66.5 + 13.75 W + 5.003 H - 6.755 A (W 102.32 kg)."""
    bmr = 66.5 + 13.75 * 102.32 + 5.003 * 177 - 6.755 * 45
    assert bmr == pytest.approx(2054.956)
    assert daily_carbs(PATIENTS["adult#001"]) == pytest.approx(1.2 * bmr * 0.45 / 4)  # 277.4 g


def test_meal_schedule_is_seeded_and_places_meals_in_their_steps() -> None:
    patient = PATIENTS["adult#001"]

    def schedule(seed: int) -> dict[int, float]:
        return meal_schedule(np.random.default_rng(seed), patient, 300, 100, 5)

    assert schedule(3) == schedule(3)
    assert schedule(3) != schedule(4)
    firsts = [min(schedule(seed).items()) for seed in range(200)]
    # Breakfast (p 0.95) falls between 05:00 and 09:00, steps 0-47 of an episode from 05:00;
    # without it the first meal is the 09:00-10:00 snack or lunch.
    breakfasts = [grams for step, grams in firsts if step < 48]
    assert 180 <= len(breakfasts) <= 198
    assert np.mean(breakfasts) == pytest.approx(277.41906 * 1.1 / 4.4, rel=0.05)  # 69.4 g
