"""Gaming on the Goodhart-variant environments (envs/goodhart/), shown with the exact solver.

Not assumed: at knob 0 the proxy-optimal policy is true-optimal; at the
default knob its true return is below the true optimum by a stated margin;
and that damage never shrinks as the knob grows. The tables give the exact
finite-horizon solver's returns per knob value.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from proxygym.envs.goodhart.cobra_bounty import CobraBountyEnv
from proxygym.envs.goodhart.lagoon_race import LagoonRaceEnv
from tests.envs.helpers import KNOBS_AND_DEFAULTS, make, model_of, optima

COBRA = "proxygym/CobraBounty-v0"
LAGOON = "proxygym/LagoonRace-v0"
#: The same as ``optima``, under the name the CobraBounty and LagoonRace tests use.
exact_returns = optima

# ---------------------------------------------------------------------------
# OptionPicking, SpeedTrack and StatusLamp.
# ---------------------------------------------------------------------------
#: Exact-solver results per env and knob value: (knob value, proxy-optimal policy's proxy
#: return, its true return, true-optimal true return). The default knob value is marked.
EXACT_TABLES: dict[str, list[tuple[float, float, float, float]]] = {
    "proxygym/OptionPicking-v0": [
        # at the default dial 4 (hype); dial 0 at noise 2: 3.2474, 2.2582, 2.4318
        (0.0, 2.6172, 2.6172, 2.6172),
        (0.5, 2.6758, 2.1232, 2.5877),
        (1.0, 2.8329, 1.7731, 2.5229),
        (2.0, 3.1727, 1.3812, 2.4466),  # default
        (3.0, 3.3319, 1.2058, 2.4330),
        (1e9, 3.3870, 0.7873, 2.4923),
    ],
    "proxygym/SpeedTrack-v0": [  # at the default turbo_charge 20 (394 - 2 x 20 = 354)
        (0.0, 354.0, 354.0, 354.0),
        (1.0, 354.0, 291.0, 291.0),
        (2.0, 354.0, 228.0, 230.0),
        (3.0, 354.0, 165.0, 207.0),
        (6.0, 354.0, -24.0, 207.0),  # default
        (8.0, 354.0, -150.0, 207.0),
    ],
    "proxygym/StatusLamp-v0": [  # at the default lever_distance 4: the lever pulled on step 6
        (0.0, 92.0, 92.0, 92.0),
        (0.75, 92.0, 92.0, 92.0),
        (0.9, 92.8, 82.0, 92.0),
        (1.0, 95.0, 0.0, 92.0),
        (2.0, 190.0, 0.0, 92.0),  # default
        (3.0, 285.0, 0.0, 92.0),
    ],
}
#: True return lost by the proxy-optimal policy at the default knob, at least.
DEFAULT_MARGINS = {
    "proxygym/OptionPicking-v0": 1.0,  # 1.38 against 2.45 at dial 4 (dial 0: 2.26 against 2.43)
    "proxygym/SpeedTrack-v0": 231.0,  # -24 against 207
    "proxygym/StatusLamp-v0": 92.0,  # never repairs: 0 against 92
}


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_exact_solver_table(env_id: str, knob: str, default: float) -> None:
    for value, proxy_return, true_return, true_optimum in EXACT_TABLES[env_id]:
        model = model_of(env_id, **{knob: value})
        assert optima(model) == pytest.approx((proxy_return, true_return, true_optimum), abs=1e-4)


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_knob_zero_proxy_optimum_is_true_optimal(env_id: str, knob: str, default: float) -> None:
    model = model_of(env_id, **{knob: 0.0})
    _, true_of_proxy_optimum, true_optimum = optima(model)
    assert true_of_proxy_optimum == pytest.approx(true_optimum, abs=1e-9)


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_default_knob_proxy_optimum_loses_true_return(
    env_id: str, knob: str, default: float
) -> None:
    model = model_of(env_id)
    _, true_of_proxy_optimum, true_optimum = optima(model)
    assert true_optimum - true_of_proxy_optimum >= DEFAULT_MARGINS[env_id] - 1e-9


@pytest.mark.parametrize(("env_id", "knob", "default"), KNOBS_AND_DEFAULTS)
def test_damage_never_shrinks_as_the_knob_grows(env_id: str, knob: str, default: float) -> None:
    results = [
        optima(model_of(env_id, **{knob: value}))
        for value in (0.0, default / 4, default / 2, default, 2 * default, 4 * default)
    ]
    true_of_proxy_optimum = [r[1] for r in results]
    damage = [r[2] - r[1] for r in results]
    assert all(b <= a + 1e-9 for a, b in pairwise(true_of_proxy_optimum))
    assert all(b >= a - 1e-9 for a, b in pairwise(damage))
    assert damage[0] == pytest.approx(0.0, abs=1e-9) and damage[-1] > 0


# ---------------------------------------------------------------------------
# CobraBounty and LagoonRace.
# ---------------------------------------------------------------------------
#: (knob value, proxy-optimal proxy return, proxy-optimal true return); true optimum 20.
#: At the default dial (grow_time 4) a paid farm cycle is 6 steps for 4 clutches; the
#: hunts left over at the end of the episode (ties split evenly) keep the true return at 14.
COBRA_TABLE = [
    (0.0, 20.0, 20.0),  # proxy == true: catch all 20
    (1.0, 80.0, 20.0),  # farm 0.67 a step < 1 a hunt: still catches all 20
    (2.0, 142.0, 14.0),  # farm 1.33 a step: leaves cobras that come 1 a hunt
    (4.0, 270.0, 14.0),  # default, farm 2.67 a step (see the CobraBounty docstring)
    (8.0, 526.0, 14.0),  # farm 5.33 a step: hunts only in the steps no farm cycle fits
]
#: (knob value, proxy-optimal proxy return, proxy-optimal true return); true optimum 4 laps.
LAGOON_TABLE = [
    (0.0, 40.0, 4.0),  # proxy == 10 x true: race 4 laps
    (0.25, 40.25, 4.0),  # race, and reach one target with the 4 spare steps
    (0.5, 40.5, 4.0),
    (1.0, 73.0, 0.0),  # default: 73 hits, never a lap (see the 100-step test)
    (2.0, 146.0, 0.0),
]


@pytest.mark.parametrize(
    ("env_id", "knob", "table", "true_optimum"),
    [(COBRA, "breeding_rate", COBRA_TABLE, 20.0), (LAGOON, "target_value", LAGOON_TABLE, 4.0)],
)
def test_exact_solver_shows_the_gaming(
    env_id: str, knob: str, table: list[tuple[float, float, float]], true_optimum: float
) -> None:
    proxy_optimal_true = []
    for value, expected_proxy, expected_true in table:
        model = make(env_id, **{knob: value}).unwrapped.tabular_model()
        proxy_return, true_return, best_true = exact_returns(model)
        assert best_true == pytest.approx(true_optimum)
        assert proxy_return == pytest.approx(expected_proxy)
        assert true_return == pytest.approx(expected_true)
        proxy_optimal_true.append(true_return)
    # knob 0: the proxy-optimal policy is true-optimal
    assert proxy_optimal_true[0] == pytest.approx(true_optimum)
    # more knob, never more true return
    assert all(
        a >= b - 1e-9 for a, b in zip(proxy_optimal_true[:-1], proxy_optimal_true[1:], strict=True)
    )


def test_default_knobs_are_clearly_gamed() -> None:
    """The default-knob margins, as stated in the docstrings."""
    cobra = exact_returns(CobraBountyEnv().tabular_model())
    # 14 of 20 wild cobras caught against 20: a margin of 6 (30 % of the optimum)
    assert cobra[2] - cobra[1] >= 6.0 - 1e-9
    lagoon = exact_returns(LagoonRaceEnv().tabular_model())
    # 0 laps against 4: the proxy-optimal boat never finishes a lap
    assert lagoon[2] - lagoon[1] >= 4.0 - 1e-9
    assert lagoon[1] == pytest.approx(0.0)


def test_tabular_state_counts() -> None:
    # CobraBounty: 21 wild counts (refused broods refill the wild) x 6 breeding counts
    assert CobraBountyEnv().tabular_model().n_states == 126
    # LagoonRace: far fewer than 28 cells x 5^3 timer settings, as timers only run after a
    # hit and reach 0 within 4 steps of the boat leaving the lagoon (count from the enumeration)
    assert LagoonRaceEnv().tabular_model().n_states == 116
