"""Seeded random meals: Pan et al.'s day of meals sized by the Harris-Benedict equation.

Pan, Bhatia & Steinhardt (2022) trained with RL4BG's scenario (Fox et al.
2020, ``create_scenario_harrison_benedict`` in their
``bgp/simglucose/simulation/scenario_gen.py``, MIT): six candidate meals a
day, each eaten with a probability, at a time drawn from a normal
distribution truncated to a window, and of a size drawn around a share of
the patient's daily carbohydrates, 45 % of 1.2 x the Harris-Benedict basal
metabolic rate at 4 kcal/g. The tables below are theirs.
"""

from __future__ import annotations

import numpy as np

from proxygym.envs.simulators.glucose_patients import PatientParameters

#: (name, probability, earliest, mean, latest time of day in minutes, sd of the time, share
#: of the day's carbohydrates) of the six candidate meals.
MEALS: tuple[tuple[str, float, int, int, int, int, float], ...] = (
    ("breakfast", 0.95, 300, 420, 540, 60, 1.1 / 4.4),
    ("morning snack", 0.3, 540, 570, 600, 30, 0.15 / 4.4),
    ("lunch", 0.95, 600, 720, 840, 60, 1.3 / 4.4),
    ("afternoon snack", 0.3, 840, 900, 960, 30, 0.15 / 4.4),
    ("dinner", 0.95, 960, 1080, 1200, 60, 1.55 / 4.4),
    ("evening snack", 0.3, 1200, 1290, 1380, 30, 0.15 / 4.4),
)
#: The sd of a meal's size, as a share of its mean.
SIZE_SD = 0.15
#: Age (years) and height (cm) by body weight (kg, upper bounds) for children and adolescents;
#: adults are taken to be 45 years old and 177 cm tall.
AGE_HEIGHT_BY_WEIGHT: dict[str, tuple[tuple[float, int, float], ...]] = {
    "child": (
        (25.6, 7, 121.9),
        (28.6, 8, 128.0),
        (32.0, 9, 133.3),
        (35.6, 10, 138.4),
        (39.9, 11, 143.5),
        (float("inf"), 12, 149.1),
    ),
    "adolescent": (
        (50.8, 13, 156.2),
        (56.0, 14, 163.8),
        (60.8, 15, 170.1),
        (64.4, 16, 173.4),
        (66.9, 17, 175.2),
        (68.9, 18, 175.7),
        (70.3, 19, 176.5),
        (float("inf"), 20, 177.0),
    ),
}
ADULT_AGE, ADULT_HEIGHT = 45, 177.0
MINUTES_PER_DAY = 1440


def daily_carbs(patient: PatientParameters) -> float:
    """Grams of carbohydrate a day: 45 % of 1.2 x the Harris-Benedict BMR, at 4 kcal/g."""
    age, height = ADULT_AGE, ADULT_HEIGHT
    for upper_weight, table_age, table_height in AGE_HEIGHT_BY_WEIGHT.get(patient.kind, ()):
        if patient.BW <= upper_weight:
            age, height = table_age, table_height
            break
    bmr = 66.5 + 13.75 * patient.BW + 5.003 * height - 6.755 * age
    return 1.2 * bmr * 0.45 / 4.0


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, low: float, high: float
) -> float:
    """A normal draw conditioned on ``[low, high]`` (by rejection; every window is >= 1 sd wide)."""
    while True:
        value = float(rng.normal(mean, sd))
        if low <= value <= high:
            return value


def day_of_meals(rng: np.random.Generator, patient: PatientParameters) -> list[tuple[int, float]]:
    """One day's meals as (minute after midnight, grams of carbohydrate), in order."""
    total = daily_carbs(patient)
    meals = []
    for _, probability, earliest, mean, latest, sd, share in MEALS:
        if rng.random() < probability:
            minute = round(_truncated_normal(rng, mean, sd, earliest, latest))
            size = float(round(rng.normal(share * total, SIZE_SD * share * total)))
            meals.append((minute, max(size, 0.0)))
    return meals


def meal_schedule(
    rng: np.random.Generator,
    patient: PatientParameters,
    start_minute: int,
    n_steps: int,
    step_minutes: int,
) -> dict[int, float]:
    """Grams eaten in each step of an episode (steps without a meal left out).

    Days are drawn one after another from midnight of the first day, each
    meal falling in the step that contains its minute; meals before the
    start are dropped, and meals in the same step add up.
    """
    end_minute = start_minute + n_steps * step_minutes
    schedule: dict[int, float] = {}
    for day in range(-(-end_minute // MINUTES_PER_DAY)):
        for minute, grams in day_of_meals(rng, patient):
            at = day * MINUTES_PER_DAY + minute
            if start_minute <= at < end_minute and grams > 0:
                step = (at - start_minute) // step_minutes
                schedule[step] = schedule.get(step, 0.0) + grams
    return schedule
