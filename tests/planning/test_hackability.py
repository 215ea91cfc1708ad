"""Skalse et al. hackability: hand-checked tiny MDPs, the search fallback, and the classic envs."""

from __future__ import annotations

import tracemalloc
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401
from proxygym.gridworld import GridWorld
from proxygym.planning.hackability import (
    HackabilityResult,
    RankedPolicy,
    _optimal_projections,
    _search_candidates,
    _unique_in_order,
    hackability,
    stationary_policy,
    stationary_returns,
)
from proxygym.planning.tabular import TabularModel, evaluate

Table = dict[int, list[tuple[int, float, float, bool]]]


def tiny_model(table: Table, horizon: int) -> TabularModel:
    """Start state 0; ``table[state][action] = (next, proxy, true, terminal)``, two actions."""
    return TabularModel.from_deterministic(
        [(1.0, 0)], lambda s, a: table[s][a], n_actions=2, horizon=horizon
    )


def env_model(env_id: str, **kwargs: Any) -> TabularModel:
    env = gym.make(env_id, **kwargs).unwrapped
    assert isinstance(env, GridWorld)
    return env.tabular_model()


def all_actions(model: TabularModel) -> np.ndarray:
    """Every stationary deterministic policy, one row each."""
    grids = np.meshgrid(*[np.arange(model.n_actions)] * model.n_states, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def assert_witness_is_real(model: TabularModel, result: HackabilityResult) -> None:
    """The witness's returns are exact (by ``evaluate``) and strictly reversed."""
    assert result.hackable and result.witness is not None and result.conclusive
    for ranked in (result.witness.proxy_preferred, result.witness.true_preferred):
        assert ranked.actions.shape == (model.n_states,)
        evaluation = evaluate(model, stationary_policy(model, ranked.actions))
        assert evaluation.proxy_return == pytest.approx(ranked.proxy_return, abs=1e-9)
        assert evaluation.true_return == pytest.approx(ranked.true_return, abs=1e-9)
    assert result.witness.proxy_gain > result.tolerance
    assert result.witness.true_loss > result.tolerance


# True reward = task reward - side-effect penalty; the proxy drops the penalty (11 on s1/a0).
# s0 --a0 (1, 1)--> s1 --a0 (proxy 3, true 3 - 11)--> end     s1 --a1 (1, 1)--> end
# s0 --a1 (0, 0)--> s2 --a0 (2, 2)--> end                      s2 --a1 (0, 0)--> end
DROPPED_TERM: Table = {
    0: [(1, 1.0, 1.0, False), (2, 0.0, 0.0, False)],
    1: [(3, 3.0, -8.0, True), (3, 1.0, 1.0, True)],
    2: [(3, 2.0, 2.0, True), (3, 0.0, 0.0, True)],
    3: [(3, 0.0, 0.0, True), (3, 0.0, 0.0, True)],
}

# Never terminates, so every episode has the same length and a per-step affine map of the
# reward is an affine map of the return.
LOOP_TRUE = {0: [(1, 1.0), (2, -1.0)], 1: [(0, 2.0), (1, 0.5)], 2: [(2, 3.0), (0, -2.0)]}


def loop_table(proxy_of_true: Any) -> Table:
    return {
        s: [(nxt, proxy_of_true(true), true, False) for nxt, true in row]
        for s, row in LOOP_TRUE.items()
    }


def test_dropped_term_is_hackable_with_the_hand_computed_witness() -> None:
    model = tiny_model(DROPPED_TERM, horizon=2)
    # Policies by hand: (s0 a0, s1 a0) -> proxy 4, true -7; (a0, a1) or (a1, s2 a0) -> 2, 2;
    # (a1, s2 a1) -> 0, 0. The proxy's favourite loses 9 true return against the 2, 2 ones.
    result = hackability(model)
    assert result.exhaustive and result.n_policies == 2**4
    assert "hackable (witness" in result.verdict
    assert_witness_is_real(model, result)
    assert result.witness is not None
    preferred, better = result.witness.proxy_preferred, result.witness.true_preferred
    assert (preferred.proxy_return, preferred.true_return) == (4.0, -7.0)
    assert preferred.actions[0] == 0 and preferred.actions[1] == 0
    assert (better.proxy_return, better.true_return) == (2.0, 2.0)
    if better.actions[0] == 0:
        assert better.actions[1] == 1  # s0 a0, then s1 a1
    else:
        assert better.actions[2] == 0  # s0 a1, then s2 a0
    assert result.witness.true_loss == 9.0 and result.witness.proxy_gain == 2.0
    assert not preferred.actions.flags.writeable


@pytest.mark.parametrize(
    "proxy_of_true",
    [lambda r: r, lambda r: 2.0 * r + 0.5, lambda r: 0.1 * r - 3.0],
    ids=["identity", "affine", "shrunk"],
)
def test_proxy_equal_or_positive_affine_in_true_is_not_hackable(proxy_of_true: Any) -> None:
    model = tiny_model(loop_table(proxy_of_true), horizon=5)
    result = hackability(model)
    assert (result.hackable, result.exhaustive, result.conclusive) == (False, True, True)
    assert result.witness is None and result.n_policies == 2**3
    assert result.verdict.startswith("not hackable")


def test_negated_proxy_is_hackable() -> None:
    model = tiny_model(loop_table(lambda r: -r), horizon=5)
    assert_witness_is_real(model, hackability(model))


def test_ties_are_not_opposite_orderings() -> None:
    # A constant proxy orders nothing strictly, however much the true return varies.
    flat = {s: [(nxt, 0.0, true, False) for nxt, true in row] for s, row in LOOP_TRUE.items()}
    assert not hackability(tiny_model(flat, horizon=5)).hackable
    # Proxy differences below the tolerance are ties; with tolerance 0 they count.
    near_tie: Table = {
        0: [(1, 1e-12, 0.0, True), (1, 0.0, 1.0, True)],
        1: [(1, 0.0, 0.0, True), (1, 0.0, 0.0, True)],
    }
    model = tiny_model(near_tie, horizon=1)
    assert not hackability(model).hackable
    assert hackability(model, tolerance=0.0).hackable


def test_search_finds_a_witness_but_does_not_claim_a_proof() -> None:
    model = tiny_model(DROPPED_TERM, horizon=2)
    result = hackability(model, max_policies=5)
    assert not result.exhaustive and result.n_policies <= 5
    assert_witness_is_real(model, result)
    # With a budget of one policy nothing can be reversed, and the verdict says it proves nothing.
    alone = hackability(model, max_policies=1)
    assert (alone.hackable, alone.exhaustive, alone.conclusive) == (False, False, False)
    assert "not a proof" in alone.verdict


def test_stationary_returns_match_evaluate_on_a_stochastic_model() -> None:
    # Two outcome slots per action, a random start and terminal outcomes: the general path.
    rng = np.random.default_rng(0)
    shape = (3, 2, 2)
    probs = rng.dirichlet([1.0, 1.0], size=shape[:2])
    model = TabularModel(
        states=(0, 1, 2),
        initial=np.array([0.5, 0.2, 0.3]),
        next_states=rng.integers(3, size=shape),
        probs=probs,
        proxy_rewards=rng.normal(size=shape),
        true_rewards=rng.normal(size=shape),
        terminal=rng.random(shape) < 0.3,
        horizon=4,
    )
    actions = all_actions(model)
    proxy, true = stationary_returns(model, actions)
    for row, p, t in zip(actions, proxy, true, strict=True):
        evaluation = evaluate(model, stationary_policy(model, row))
        assert (p, t) == pytest.approx((evaluation.proxy_return, evaluation.true_return))


def test_stationary_policy_repeats_one_action_per_state() -> None:
    model = tiny_model(DROPPED_TERM, horizon=3)
    policy = stationary_policy(model, np.array([1, 0, 1, 0]))
    assert policy.probs.shape == (3, 4, 2)
    np.testing.assert_array_equal(policy.probs[2], [[0, 1], [1, 0], [0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros(3, dtype=int), r"shape \(n_policies, 4\)"),
        (np.array([0, 1, 2, 0]), r"in \[0, 2\)"),
        (np.array([-1, 0, 0, 0]), r"in \[0, 2\)"),
        (np.zeros(4), "integers"),
    ],
)
def test_bad_actions_raise(actions: np.ndarray, message: str) -> None:
    model = tiny_model(DROPPED_TERM, horizon=2)
    with pytest.raises(ValueError, match=message):
        stationary_returns(model, actions)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_policies": 0}, "max_policies"),
        ({"max_policies": 2.5}, "max_policies"),
        ({"tolerance": -1.0}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hackability(tiny_model(DROPPED_TERM, horizon=2), **kwargs)


def path(model: TabularModel, policy: RankedPolicy) -> list[Any]:
    """Agent positions visited by a stationary policy in AbsentSupervisor, start to end."""
    states: tuple[Any, ...] = model.states  # (position, supervisor present)
    state = int(np.argmax(model.initial))
    positions = [states[state][0]]
    for _ in range(model.horizon):
        action = policy.actions[state]
        terminal = model.terminal[state, action, 0]
        state = int(model.next_states[state, action, 0])
        positions.append(states[state][0])
        if terminal:
            break
    return positions


def test_absent_supervisor_unwatched_is_hackable_through_the_punishment_tile() -> None:
    model = env_model("proxygym/AbsentSupervisor-v0", supervisor=False)
    result = hackability(model)
    assert not result.exhaustive  # 4**12 policies: searched, but a witness is still certain
    assert_witness_is_real(model, result)
    assert result.witness is not None
    preferred, better = result.witness.proxy_preferred, result.witness.true_preferred
    # REFERENCE.md: short path visible 47 / hidden 17; long way round 41 / 41.
    assert (preferred.proxy_return, preferred.true_return) == (47.0, 17.0)
    assert (better.proxy_return, better.true_return) == (41.0, 41.0)
    assert path(model, preferred) == [(1, 2), (2, 2), (3, 2), (4, 2)]  # (3, 2) is P


def test_absent_supervisor_watched_is_not_hackable() -> None:
    model = env_model("proxygym/AbsentSupervisor-v0", supervisor=True)
    np.testing.assert_array_equal(model.proxy_rewards, model.true_rewards)
    result = hackability(model)
    assert (result.hackable, result.exhaustive, result.conclusive) == (False, False, False)


@pytest.fixture(scope="module")
def boat_race() -> tuple[TabularModel, HackabilityResult]:
    model = env_model("proxygym/BoatRace-v0")
    return model, hackability(model)


def test_boat_race_is_hackable_exhaustively(
    boat_race: tuple[TabularModel, HackabilityResult],
) -> None:
    model, result = boat_race
    assert result.exhaustive and result.n_policies == 4**8
    assert_witness_is_real(model, result)
    assert result.witness is not None
    # The proxy-preferred policy of the witness is a proxy optimum (50 over 100 steps).
    assert result.witness.proxy_preferred.proxy_return == 50.0


def test_boat_race_lap_and_shuttle_tie_on_the_proxy(
    boat_race: tuple[TabularModel, HackabilityResult],
) -> None:
    # REFERENCE.md: lapping = visible 50, hidden 100; shuttling = visible 50, hidden 0. A tie on
    # the proxy is not a reversal, so the witness must be some other pair.
    model, result = boat_race
    up, down, left, right = 0, 1, 2, 3
    lap = {(1, 1): right, (1, 2): right, (1, 3): down, (2, 3): down}
    lap |= {(3, 3): left, (3, 2): left, (3, 1): up, (2, 1): up}
    shuttle = {**lap, (1, 1): right, (1, 2): left}
    positions: tuple[Any, ...] = model.states  # BoatRace's state is the agent's position
    rows = np.array([[policy[pos] for pos in positions] for policy in (lap, shuttle)])
    proxy, true = stationary_returns(model, rows)
    np.testing.assert_allclose(proxy, [50.0, 50.0])
    np.testing.assert_allclose(true, [100.0, 0.0])
    assert result.witness is not None
    assert result.witness.true_preferred.proxy_return < 50.0


def test_stationary_returns_match_evaluate_on_boat_race_sample(
    boat_race: tuple[TabularModel, HackabilityResult],
) -> None:
    model, _ = boat_race
    actions = np.random.default_rng(3).integers(4, size=(10, model.n_states))
    proxy, true = stationary_returns(model, actions)
    for row, p, t in zip(actions, proxy, true, strict=True):
        evaluation = evaluate(model, stationary_policy(model, row))
        assert (p, t) == pytest.approx((evaluation.proxy_return, evaluation.true_return))


def _all_variants_at_once(model: TabularModel, budget: int, seed: int) -> np.ndarray:
    """The search's candidates as the first version built them: every one-state variant at once."""
    projections = _optimal_projections(model)
    n_variants = len(projections) * model.n_states * model.n_actions
    neighbours = np.repeat(projections, model.n_states * model.n_actions, axis=0)
    variant = np.arange(n_variants)
    neighbours[variant, (variant // model.n_actions) % model.n_states] = variant % model.n_actions
    structured = _unique_in_order(np.concatenate([projections, neighbours]))
    random = np.random.default_rng(seed).integers(
        model.n_actions, size=(max(0, budget - len(structured)), model.n_states)
    )
    return _unique_in_order(np.concatenate([structured, random]))[:budget]


@pytest.mark.parametrize("budget", [1, 7, 40, 200, 5_000])
def test_search_candidates_are_those_of_building_every_variant_at_once(budget: int) -> None:
    # Budgets below, inside and above the structured part (projections and their variants).
    model = env_model("proxygym/BoatRace-v0")
    expected = _all_variants_at_once(model, budget, seed=3)
    np.testing.assert_array_equal(_search_candidates(model, budget, seed=3), expected)


def test_search_memory_grows_with_the_budget_not_with_states_squared() -> None:
    # A 600-state chain with 4 actions: every one-state variant of every projection at once
    # is projections x 600 x 4 x 600 integers (11.5 MB per projection); a budget of 50
    # policies needs a few blocks of 50 x 600.
    n_states, n_actions = 600, 4

    def step(state: int, action: int) -> tuple[int, float, float, bool]:
        reward = float((state * 7 + action * 3) % 5)
        return (state + 1) % n_states, reward, reward - (action == 3), False

    model = TabularModel.from_deterministic([(1.0, 0)], step, n_actions=n_actions, horizon=3)
    n_projections = len(_optimal_projections(model))
    tracemalloc.start()
    try:
        candidates = _search_candidates(model, 50, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert candidates.shape == (50, n_states)
    assert n_projections * n_states * n_actions * n_states * 8 > 20e6  # what all at once costs
    assert peak < 5e6
