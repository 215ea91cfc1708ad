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
        (0.0, 2.6172, 2.6172, 2.6172),
        (0.5, 2.6701, 2.5813, 2.5917),
        (1.0, 2.8373, 2.4719, 2.5267),
        (2.0, 3.2474, 2.2582, 2.4318),  # default
        (3.0, 3.4763, 2.1620, 2.4145),
        (1e9, 3.7164, 2.0729, 2.4073),
    ],
    "proxygym/SpeedTrack-v0": [
        (0.0, 394.0, 394.0, 394.0),
        (1.0, 394.0, 315.0, 315.0),
        (2.0, 394.0, 236.0, 257.0),
        (3.0, 394.0, 157.0, 247.0),  # default
        (5.0, 394.0, -1.0, 247.0),
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
    "proxygym/OptionPicking-v0": 0.17,  # 7 % of the true optimum 2.43
    "proxygym/SpeedTrack-v0": 90.0,  # 157 against 247
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
COBRA_TABLE = [
    (0.0, 20.0, 20.0),  # proxy == true: catch all 20
    (1.0, 92.0, 20.0),  # farm 0.8 a step < 1 a hunt: still catches all 20
    (2.0, 168.0, 16.0),  # farm 1.6 a step: stops at the 4 cobras that come 1 a hunt
    (4.0, 321.0, 9.0),  # default, farm 3.2 a step: stops at 11 (see the plan test)
    (8.0, 640.0, 0.0),  # farm 6.4 a step beats even the first hunt of 5
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
    # 9 of 20 wild cobras caught against 20: a margin of 11 (55 % of the optimum)
    assert cobra[2] - cobra[1] >= 11.0 - 1e-9
    lagoon = exact_returns(LagoonRaceEnv().tabular_model())
    # 0 laps against 4: the proxy-optimal boat never finishes a lap
    assert lagoon[2] - lagoon[1] >= 4.0 - 1e-9
    assert lagoon[1] == pytest.approx(0.0)


def test_tabular_state_counts() -> None:
    # CobraBounty: 10 reachable wild counts (20, 15, 11, 8, 6, 4, 3, 2, 1, 0) x 5 pen levels
    assert CobraBountyEnv().tabular_model().n_states == 50
    # LagoonRace: far fewer than 28 cells x 5^3 timer settings, as timers only run after a
    # hit and reach 0 within 4 steps of the boat leaving the lagoon (count from the enumeration)
    assert LagoonRaceEnv().tabular_model().n_states == 116
