"""OptionPicking: one pick among audited and hyped offers, by hand and with the exact solver.

Offers and payoffs worked out by hand from the rules in its docstring, the
error distribution and a two-offer optimum solved by hand, the tabular model
against simulation, seeding, and the number of offers as a pressure axis. The
knob tests and the exact solver's table for the default four offers are in
test_goodhart_knobs.py and test_goodhart_exact_optima.py.

Conventions: a step is summarised as (proxy, true, terminated, truncated).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from proxygym.envs.goodhart.option_picking import OptionPickingEnv, error_distribution
from proxygym.planning.tabular import evaluate, solve
from proxygym.sweeps.axes import get_axis
from tests.conftest import play
from tests.envs.helpers import make, optima

# ---------------------------------------------------------------------------
# OptionPicking
# Four offers by default: 0 and 2 audited (display = true value), 1 and 3 hyped
# (display = true value + error). One pick per episode.
# ---------------------------------------------------------------------------


def test_option_picking_one_pick_pays_display_and_true_value() -> None:
    env = OptionPickingEnv()
    obs, _ = env.reset(seed=0, options={"true_values": [3, 1, 0, 2], "errors": [0, 3, 0, -2]})
    # displays: 3, 1 + 3 = 4, 0, 2 - 2 = 0; flags: hyped at 1 and 3
    assert obs.tolist() == [3.0, 4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    # picking the highest display (offer 1) pays 4 visible, 1 hidden, and ends the episode
    assert play(env, [1])[0] == [(4.0, 1.0, True, False)]
    env.reset(options={"true_values": [3, 1, 0, 2], "errors": [0, 3, 0, -2]})
    assert play(env, [0])[0] == [(3.0, 3.0, True, False)]
    env.reset(options={"true_values": [3, 1, 0, 2], "errors": [0, 3, 0, -2]})
    assert play(env, [3])[0] == [(0.0, 2.0, True, False)]
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def test_option_picking_hides_the_true_values() -> None:
    env = OptionPickingEnv()
    # true values 3, 1 with errors 0, +2 and 3, 3 with errors 0, 0 look the same: 3, 3
    first, _ = env.reset(options={"true_values": [3, 1, 0, 0], "errors": [0, 2, 0, 0]})
    second, _ = env.reset(options={"true_values": [3, 3, 0, 0], "errors": [0, 0, 0, 0]})
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("kwargs", "options"),
    [
        ({}, {"true_values": [3, 1, 0, 0], "errors": [1, 0, 0, 0]}),  # audited offer with error
        ({}, {"true_values": [3, 1, 0, 0], "errors": [0, 5, 0, 0]}),  # error beyond 4
        ({}, {"true_values": [4, 1, 0, 0]}),  # no such true value
        ({}, {"true_values": [3, 1, 0]}),  # too few offers
        ({}, {"errors": [0, 1, 0, 0]}),  # errors alone
        ({"noise": 0.0}, {"true_values": [3, 1, 0, 0], "errors": [0, 1, 0, 0]}),
    ],
)
def test_option_picking_rejects_impossible_offers(
    kwargs: dict[str, Any], options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        OptionPickingEnv(**kwargs).reset(options=options)


def test_option_picking_error_distribution_by_hand() -> None:
    # noise 2: weights exp(-e^2 / 8) for e = -4..4
    weights = [math.exp(-(e**2) / 8) for e in range(-4, 5)]
    np.testing.assert_allclose(error_distribution(2.0), np.array(weights) / sum(weights))
    np.testing.assert_array_equal(error_distribution(0.0), [0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(error_distribution(1e9), np.full(9, 1 / 9))
    assert error_distribution(1e-300)[4] == 1.0  # no nan from 0 / 0


def test_option_picking_two_offers_solved_by_hand() -> None:
    """Audited A (value a) against hyped H (value v, display d = v + e), errors uniform.

    With noise 1e9 the errors are uniform on -4..4, so d has 36 equally likely
    (v, e) pairs; P(d) = #v / 36 with #v = 1, 2, 3, 4, 4, 4, 4, 4, 4, 3, 2, 1 for
    d = -4 .. 7. Given d, v is uniform on the values within 4 of d, so its
    posterior mean m(d) is 0, .5, 1, then 1.5 for d = -1..4, then 2, 2.5, 3.

    True optimum, E[max(a, m(d))] with a uniform on 0..3: the average over a of
    max(a, m) is 1.5, 1.625, 1.75, 2, 2.25, 2.625, 3 for m = 0, .5, 1, 1.5, 2,
    2.5, 3; weighted: (1.5 + 2(1.625) + 3(1.75) + 24(2) + 3(2.25) + 2(2.625) + 3) / 36
    = 73 / 36.

    Proxy optimum, pick H when d > a, split ties: it gets a when a > d, m(d) when
    d > a, (a + m(d)) / 2 on a tie. Averages over a: 1.5 for d <= -1 (weight 10)
    and d = 4; for d = 0..3: 6.75/4, 7.75/4, 7.75/4, 6.75/4; then 2, 2.5, 3.
    True return (15 + 6.75 + 7.75 + 7.75 + 6.75 + 6 + 6 + 5 + 3) / 36 = 64 / 36.
    Proxy return E[max(a, d)] = (15 + 6 + 7 + 9 + 12 + 16 + 15 + 12 + 7) / 36 = 99 / 36.
    """
    proxy_of_proxy_optimum, true_of_proxy_optimum, true_optimum = optima(
        OptionPickingEnv(noise=1e9, n_options=2, dial=0).tabular_model()
    )
    assert proxy_of_proxy_optimum == pytest.approx(99 / 36)
    assert true_of_proxy_optimum == pytest.approx(64 / 36)
    assert true_optimum == pytest.approx(73 / 36)
    # noise 0: both pick max(a, v), E = sum_k P(max > k) = 15/16 + 12/16 + 7/16
    assert optima(
        OptionPickingEnv(noise=0.0, n_options=2, dial=0).tabular_model()
    ) == pytest.approx((34 / 16,) * 3)


@pytest.mark.parametrize("dial", [0, 4])
def test_option_picking_model_matches_simulation(dial: int) -> None:
    env = OptionPickingEnv(dial=dial)
    model = env.tabular_model()
    assert model.initial.sum() == pytest.approx(1.0)
    assert model.probs.sum(axis=2) == pytest.approx(1.0)
    index = model.index
    policy = solve(model, "proxy")
    rng = np.random.default_rng(0)
    proxy_returns, true_returns = [], []
    env.reset(seed=0)
    for _ in range(20_000):
        state = index[env.state.displayed]
        assert model.initial[state] > 0
        action = policy.act(0, state, rng)
        _, proxy, terminated, _, info = env.step(action)
        assert terminated and proxy == model.proxy_rewards[state, action, 0]
        proxy_returns.append(proxy)
        true_returns.append(info["true_reward"])
        env.reset()
    exact = evaluate(model, policy)
    for simulated, expected in (
        (proxy_returns, exact.proxy_return),
        (true_returns, exact.true_return),
    ):
        assert abs(np.mean(simulated) - expected) <= 4 * np.std(simulated) / np.sqrt(20_000)


def test_option_picking_offers_are_seeded() -> None:
    env = OptionPickingEnv()
    first = [env.reset(seed=s)[0] for s in (1, 1, 2)]
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.array_equal(first[0], first[2])
    # a seeded reset after unseeded ones starts the same sequence again
    env.reset(seed=5)
    sequence = [env.reset()[0] for _ in range(300)]
    env.reset(seed=5)
    np.testing.assert_array_equal(sequence, [env.reset()[0] for _ in range(300)])


def test_option_picking_declares_the_number_of_offers_as_a_pressure_axis() -> None:
    assert OptionPickingEnv.pressure_axes == ("n_options",)
    axis = get_axis("n_options", "proxygym/OptionPicking-v0")
    assert axis.env_kwarg == "n_options" and not axis.shared_run
    env = make("proxygym/OptionPicking-v0", n_options=6, dial=0)
    assert env.action_space.n == 6 and env.observation_space.shape == (12,)
    assert env.unwrapped.tabular_model().n_states == 4**3 * 12**3
    with pytest.raises(NotImplementedError, match="no tabular model: 7 offers"):
        OptionPickingEnv(n_options=7, dial=0).tabular_model()
    # with hype (dial >= 1): 8**3 * 40**3 combinations of values, errors and hype at 6 offers
    assert OptionPickingEnv(n_options=5).tabular_reason() is None
    with pytest.raises(NotImplementedError, match="no tabular model: 6 offers with hype"):
        OptionPickingEnv(n_options=6).tabular_model()


@pytest.mark.parametrize("n_options", [1, 0, 2.5, True, "4"])
def test_option_picking_rejects_bad_numbers_of_offers(n_options: Any) -> None:
    with pytest.raises(ValueError, match="n_options must be an integer >= 2"):
        OptionPickingEnv(n_options=n_options)
