"""CobraBounty's hack-difficulty dial ``grow_time``: a brood is paid for only once grown.

Expected values are worked out by hand from the docstring's rules (comments
give the computation), or are properties: dial 0 is the original game on
every transition, knob 0 keeps proxy == true at every dial, and the exact
proxy-soft-optimal policies rise on the true objective and then fall, later
for a larger dial.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from proxygym.envs.goodhart.cobra_bounty import (
    BREED,
    DELIVER,
    GROW_TIME,
    HUNT,
    IDLE,
    CobraBountyEnv,
    catch_size,
)
from proxygym.planning.tabular import evaluate, solve
from tests.conftest import play

#: The dial settings proposed for the dial experiment.
SETTINGS = (0, 2, 3, 4, 6)
#: Inverse temperatures of the soft-optimal policies (pressure on the proxy).
BETAS = np.logspace(-2, 2, 25)


def original_rules(state: tuple[int, int], action: int) -> tuple[tuple[int, int], float, float]:
    """The game before the dial, written out again: (next state, proxy, true) at breeding rate 4."""
    wild, clutches = state
    if action == HUNT:
        caught = -(-wild // 4)
        return (wild - caught, clutches), float(caught), float(caught)
    if action == BREED:
        return (wild, min(clutches + 1, 4)), 0.0, 0.0
    if action == DELIVER:
        return (wild, 0), 4.0 * clutches, 0.0
    return state, 0.0, 0.0


def true_along_beta(**kwargs: Any) -> np.ndarray:
    """Exact true return of the proxy-soft-optimal policy at each inverse temperature in BETAS."""
    model = CobraBountyEnv(**kwargs).tabular_model()
    return np.array(
        [evaluate(model, solve(model, "proxy", temperature=1 / beta)).true_return for beta in BETAS]
    )


def test_default_dial_is_documented_and_on_the_card() -> None:
    env = CobraBountyEnv()
    assert env.grow_time == GROW_TIME == 4
    assert CobraBountyEnv.card.dial == "grow_time"
    assert "grow_time" not in CobraBountyEnv.card.knobs


def test_dial_zero_is_the_original_game_on_every_transition() -> None:
    model = CobraBountyEnv(grow_time=0).tabular_model()
    # 10 reachable wild counts (20, 15, 11, 8, 6, 4, 3, 2, 1, 0) x 5 pen levels, as before
    assert model.n_states == 50
    assert model.probs[..., 0].min() == 1.0  # deterministic: one outcome per (state, action)
    for s, state in enumerate(model.states):
        for action in (HUNT, BREED, DELIVER, IDLE):
            expected_next, proxy, true = original_rules(state, action)
            assert model.states[model.next_states[s, action, 0]] == expected_next
            assert model.proxy_rewards[s, action, 0] == proxy
            assert model.true_rewards[s, action, 0] == true
    # and the observation is the original one, [clutches / 4, catch / 5]
    env = CobraBountyEnv(grow_time=0)
    for wild, clutches in model.states:
        expected = np.array([clutches / 4, catch_size(wild) / 5], np.float32)
        np.testing.assert_array_equal(env.observe((wild, clutches)), expected)


def test_refused_paid_and_refused_again_by_hand() -> None:
    env = CobraBountyEnv()  # grow_time 4, breeding rate 4
    env.reset(seed=0)
    actions = [HUNT, HUNT, BREED, DELIVER] + [BREED] * 6 + [DELIVER] + [BREED] * 4 + [DELIVER]
    steps, states = play(env, actions)
    # hunt 5 (20 -> 15), hunt 4 (15 -> 11)
    # breed once, deliver: 1 step of tending <= 4, refused: 1 clutch x 4 = 4 young let loose
    #   (11 -> 15), fined 4: proxy -4, true 11 - 15 = -4
    # breed x6: tended 1, 2, 3, 4, 5, 5 (counting stops at max(4, 4 + 1) = 5)
    # deliver: tended 5 > 4, grown: 4 clutches x 4 = 16, true 0
    # breed x4: tended 4 <= 4, refused: 16 young let loose, 15 -> 20 (the other 11 die):
    #   fined 5 for the 5 cobras added to the wild, true 15 - 20 = -5
    assert [s[0] for s in states] == [15, 11, 11, 15] + [15] * 6 + [15] + [15] * 4 + [20]
    assert [s[1] for s in states] == [0, 0, 1, 0, 1, 2, 3, 4, 5, 5, 0, 1, 2, 3, 4, 0]
    assert [(p, t) for p, t, *_ in steps] == (
        [(5.0, 5.0), (4.0, 4.0), (0.0, 0.0), (-4.0, -4.0)]
        + [(0.0, 0.0)] * 6
        + [(16.0, 0.0)]
        + [(0.0, 0.0)] * 4
        + [(-5.0, -5.0)]
    )
    assert env.episode_true_return == 0.0  # back to 20 wild cobras


@pytest.mark.parametrize("grow_time", SETTINGS)
def test_the_knob_changes_only_the_proxy_at_every_dial(grow_time: int) -> None:
    """Refused broods let 4 young a clutch loose whatever the rate: dynamics and true stay put."""
    models = [
        CobraBountyEnv(breeding_rate=rate, grow_time=grow_time).tabular_model()
        for rate in (0.0, 0.7, 4.0, 8.0)
    ]
    for model in models[1:]:
        assert model.states == models[0].states
        np.testing.assert_array_equal(model.next_states, models[0].next_states)
        np.testing.assert_array_equal(model.true_rewards, models[0].true_rewards)


def test_observation_shows_the_pens_and_hides_the_wild_count() -> None:
    env = CobraBountyEnv()  # counting stops at 5 breeding steps
    # [breeding steps / 5, a hunt's catch / 5]
    np.testing.assert_array_equal(env.observe((11, 2)), np.array([0.4, 0.6], np.float32))
    np.testing.assert_array_equal(env.observe((20, 5)), np.array([1.0, 1.0], np.float32))
    # 4, 3, 2 and 1 wild cobras: a hunt brings in 1 each time; the hunter cannot tell them apart
    assert len({env.observe((wild, 3)).tobytes() for wild in (4, 3, 2, 1)}) == 1
    # every distinct breeding count is seen (the state the agent acts on is Markov in it)
    assert len({env.observe((20, tended)).tobytes() for tended in range(6)}) == 6


@pytest.mark.parametrize("grow_time", SETTINGS)
def test_knob_zero_keeps_proxy_equal_to_true_at_every_dial(grow_time: int) -> None:
    model = CobraBountyEnv(breeding_rate=0.0, grow_time=grow_time).tabular_model()
    np.testing.assert_array_equal(model.proxy_rewards, model.true_rewards)
    assert evaluate(model, solve(model, "proxy")).true_return == pytest.approx(20.0)


@pytest.mark.parametrize("bad", [-1, 1.5, 4.0, True, "4", None])
def test_bad_dial_values_raise_a_clear_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="grow_time must be an integer >= 0, got"):
        CobraBountyEnv(grow_time=bad)


def test_state_counts_stay_small() -> None:
    # 21 wild counts (refused broods refill the wild) x max(4, g + 1) + 1 breeding counts
    assert [CobraBountyEnv(grow_time=g).tabular_model().n_states for g in SETTINGS[1:]] == [
        105,
        105,
        126,
        168,
    ]


def test_exact_optima_at_the_default_dial() -> None:
    model = CobraBountyEnv().tabular_model()
    proxy_optimal = evaluate(model, solve(model, "proxy"))
    # 16 in 6 steps (2.67 a step) beats hunts of 1 and 2; ties split evenly (docstring numbers)
    assert proxy_optimal.proxy_return == pytest.approx(270.0)
    assert proxy_optimal.true_return == pytest.approx(14.0)
    assert evaluate(model, solve(model, "true")).true_return == pytest.approx(20.0)
    # a uniformly random hunter's refused deliveries keep the wild cobras coming back
    uniform = evaluate(model, solve(model, "proxy", temperature=1e9))
    assert uniform.true_return == pytest.approx(10.09, abs=0.01)


def test_soft_optimal_true_return_rises_then_falls_later_for_a_larger_dial() -> None:
    curves = {g: true_along_beta(grow_time=g) for g in SETTINGS}
    # dial 0 (the original game): a random hunter already catches all 20; pressure only loses
    assert curves[0][0] == pytest.approx(20.0, abs=1e-3)
    assert curves[0][-1] == pytest.approx(9.0, abs=0.05)
    peaks = {g: int(np.argmax(curve)) for g, curve in curves.items()}
    for g in SETTINGS[1:]:
        curve = curves[g]
        # an interior peak near the true optimum, clearly above both ends
        assert 0 < peaks[g] < len(BETAS) - 1
        assert curve[peaks[g]] > 19.5
        assert curve[peaks[g]] - curve[0] > 2.0 and curve[peaks[g]] - curve[-1] > 2.0
    # the peak comes at a larger (never smaller) beta for a larger dial, and moves overall
    order = [peaks[g] for g in SETTINGS]
    assert order == sorted(order) and order[-1] > order[1]
