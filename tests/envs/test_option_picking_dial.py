"""OptionPicking's hack-difficulty dial: hype offers top the field by a sliver of 2**-dial.

Dial 0 is the original game (planted draws from before the dial existed);
hype displays and payoffs worked out by hand; the noise knob still makes the
proxy exact at every dial; and the exact proxy-soft-optimal policy's true
return along inverse temperature rises, then falls, with its peak no
earlier for a larger dial.
"""

from __future__ import annotations

import numpy as np
import pytest

from proxygym.envs.goodhart.option_picking import (
    OptionPickingEnv,
    hype_displays,
    hype_given_value,
)
from proxygym.planning.tabular import evaluate, solve
from tests.conftest import play

#: The inverse temperatures of the beta curve.
BETAS = np.logspace(-2, 2, 25)
#: Dial settings proposed for the dial experiment (0: the original game; 4: the default).
DIALS = (0, 1, 2, 4, 6)


def true_along_beta(dial: int) -> np.ndarray:
    """True return of the proxy-soft-optimal policy at each of BETAS, at noise 2."""
    model = OptionPickingEnv(dial=dial).tabular_model()
    return np.array(
        [evaluate(model, solve(model, "proxy", temperature=1 / b)).true_return for b in BETAS]
    )


def test_dial_zero_draws_the_original_offers() -> None:
    # Planted from the code before the dial existed (revision 5b132f6): seed 7, the
    # displays of the first episodes and of two across the 256-episode batch boundary.
    env = OptionPickingEnv(dial=0)
    env.reset(seed=7)
    displays = [env.reset()[0][:4].tolist() for _ in range(259)]
    assert displays[:3] == [[3, 1, 1, 1], [3, 1, 2, 0], [0, 2, 1, 2]]
    assert displays[257:259] == [[3, 0, 2, 0], [1, 2, 0, -1]]
    assert env.hype_probability == 0.0
    assert env.tabular_model().n_states == 4**2 * 12**2  # displays as they always were


def test_hype_given_value_by_hand() -> None:
    # noise 2: mean 2 / (2 + 8) = 0.2, weighted by (3 - v) / 1.5
    np.testing.assert_allclose(hype_given_value(2.0, 4), [0.4, 0.8 / 3, 0.4 / 3, 0.0])
    np.testing.assert_array_equal(hype_given_value(2.0, 0), [0, 0, 0, 0])
    np.testing.assert_array_equal(hype_given_value(0.0, 4), [0, 0, 0, 0])


def test_hype_displays_top_the_field_by_the_sliver() -> None:
    scores = np.array([[3, 1, 0, 2], [1, 5, 2, 0], [2, 2, 2, 2]])
    hype = np.array([[False, False, False, True], [True, False, False, False], [True] * 4])
    # field (best display among the others that are not hype): 3, 5, and 3 when all are hype
    np.testing.assert_array_equal(
        hype_displays(scores, hype, 4),
        [[3, 1, 0, 3.0625], [5.0625, 5, 2, 0], [3.0625] * 4],
    )
    np.testing.assert_array_equal(hype_displays(scores, hype, 1)[0], [3, 1, 0, 3.5])


def test_hype_offer_pays_the_sliver_on_the_proxy_and_its_own_value_on_the_true() -> None:
    env = OptionPickingEnv()  # default dial 4
    options = {"true_values": [3, 1, 0, 0], "errors": [0, 1, 0, 0], "hype": [False] * 3 + [True]}
    obs, _ = env.reset(options=options)
    # displays 3, 1 + 1 = 2, 0, and the hype offer at 3 + 1/16 whatever its value 0
    assert obs.tolist() == [3.0, 2.0, 0.0, 3.0625, 0.0, 1.0, 0.0, 1.0]
    assert play(env, [3])[0] == [(3.0625, 0.0, True, False)]
    env.reset(options=options)
    assert play(env, [0])[0] == [(3.0, 3.0, True, False)]
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize(
    ("kwargs", "options"),
    [
        ({"dial": 0}, {"true_values": [3, 1, 0, 0], "hype": [False, True, False, False]}),
        ({"noise": 0.0}, {"true_values": [3, 1, 0, 0], "hype": [False, True, False, False]}),
        ({}, {"true_values": [3, 1, 0, 0], "errors": [0, 1, 0, 0], "hype": [False, True] * 2}),
        ({}, {"true_values": [3, 1, 0, 0], "hype": [0, 1, 0, 0]}),  # not booleans
        ({}, {"hype": [False, True, False, False]}),  # hype without true values
    ],
)
def test_impossible_hype_is_rejected(kwargs: dict, options: dict) -> None:
    with pytest.raises(ValueError):
        OptionPickingEnv(**kwargs).reset(options=options)


@pytest.mark.parametrize("dial", DIALS)
def test_noise_zero_makes_the_proxy_exact_at_every_dial(dial: int) -> None:
    env = OptionPickingEnv(noise=0.0, dial=dial)
    model = env.tabular_model()
    reached = model.probs > 0
    np.testing.assert_array_equal(model.proxy_rewards[reached], model.true_rewards[reached])
    env.reset(seed=3)
    for _ in range(300):
        _, proxy, _, _, info = env.step(int(env.np_random.integers(4)))
        assert proxy == info["true_reward"]
        env.reset()


def test_true_return_along_beta_rises_then_falls_later_for_a_larger_dial() -> None:
    peaks = []
    for dial in DIALS:
        curve = true_along_beta(dial)
        peak = int(curve.argmax())
        if dial == 0:  # the original game: selection on the display only helps
            assert np.all(np.diff(curve) > -1e-9)
            continue
        assert 0 < peak < len(BETAS) - 1, (dial, curve)
        assert curve[peak] - curve[0] > 0.15 and curve[peak] - curve[-1] > 0.25
        peaks.append(peak)
    assert peaks == sorted(peaks) and peaks[-1] > peaks[0]


def test_default_exact_optima() -> None:
    # the docstring's numbers at the default dial 4, noise 2
    model = OptionPickingEnv().tabular_model()
    proxy_optimal = evaluate(model, solve(model, "proxy"))
    assert proxy_optimal.proxy_return == pytest.approx(3.1727, abs=1e-4)
    assert proxy_optimal.true_return == pytest.approx(1.3812, abs=1e-4)
    assert evaluate(model, solve(model, "true")).true_return == pytest.approx(2.4466, abs=1e-4)
    curve = true_along_beta(4)
    assert curve.max() == pytest.approx(1.791, abs=1e-3) and BETAS[curve.argmax()] == (
        pytest.approx(2.154, abs=1e-3)
    )
