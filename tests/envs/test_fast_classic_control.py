"""The plain-float Acrobot and Pendulum equal Gymnasium's, and our two ids step as before.

Each test steps Gymnasium's own environment and the fast one side by side,
through resets, and compares everything a step returns and the state it
leaves. Where numpy's float64 ``sin``/``cos`` are the C library's (checked
below) the two must agree bit for bit. Where numpy uses its own SIMD versions
(AVX-512 builds, numpy#23523), which differ in the last bit, the original is
put back on the fast one's state before every step, so that the chaotic
dynamics cannot amplify those bits, and each step must agree to 1e-12
(float64 state) or to float32 precision (observations and what is computed
from them).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.acrobot import AcrobotEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv

import proxygym  # noqa: F401 (registers the ids)
from proxygym.envs.wrapped._fast_classic_control import FastAcrobotEnv, FastPendulumEnv
from proxygym.proxy_reward import ProxyReward, Term, Transition

N_STEPS = 300


def numpy_trig_is_libm() -> bool:
    """Whether numpy's float64 scalar sin and cos give exactly :mod:`math`'s on this machine."""
    probe = np.random.default_rng(0).uniform(-10.0, 10.0, 2000).tolist()
    return all(
        float(np.sin(np.float64(x))) == math.sin(x) and float(np.cos(np.float64(x))) == math.cos(x)
        for x in probe
    )


EXACT = numpy_trig_is_libm()
#: Per-step tolerances when not EXACT: float64 state and rewards, and anything float32.
STATE_TOL, FLOAT32_TOL = (0.0, 0.0) if EXACT else (1e-12, 1e-6)


def assert_close(got: Any, expected: Any, tol: float, what: str) -> None:
    """``got == expected`` (values, and dtype for arrays) if ``tol`` is 0, else to ``tol``."""
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype, what
    if tol == 0.0:
        np.testing.assert_array_equal(got, expected, err_msg=what)
    else:
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=what)


def assert_same_step(
    expected: tuple[Any, ...], got: tuple[Any, ...], reward_tol: float, step: int
) -> None:
    """Equal observations, rewards, terminated, truncated and info, to the tolerances above."""
    assert_close(got[0], expected[0], FLOAT32_TOL, f"observation at step {step}")
    assert_close(got[1], expected[1], reward_tol, f"reward at step {step}")
    assert got[2:4] == expected[2:4], f"step {step}: (terminated, truncated)"
    assert got[4].keys() == expected[4].keys(), f"info keys at step {step}"
    for key, value in expected[4].items():
        assert_close(got[4][key], value, reward_tol, f"info[{key!r}] at step {step}")


def pump(observation: np.ndarray) -> int:
    """Torque with the elbow's motion: swings the acrobot up, so episodes do reach the line."""
    return 2 if observation[5] > 0 else 0


def acrobot_action(observation: np.ndarray, rng: np.random.Generator) -> int:
    """Mostly pumping, sometimes random: both terminations and varied states."""
    return pump(observation) if rng.random() < 0.9 else int(rng.integers(3))


def pendulum_action(rng: np.random.Generator, step: int) -> Any:
    """Torques in and out of [-2, 2], as float32 arrays (SB3's), float64 arrays and lists."""
    kind = step % 10
    if kind == 7:
        return rng.uniform(-4.0, 4.0, 1)  # float64
    if kind == 8:
        return [float(rng.uniform(-4.0, 4.0))]
    if kind == 9:
        return np.array([(2.0, -2.0, 0.0, -0.0, 2.5)[step // 10 % 5]], np.float32)
    return rng.uniform(-4.0, 4.0, 1).astype(np.float32)


def step_both(original: Any, fast: Any, action: Any, step: int) -> tuple[Any, Any]:
    """Step Gymnasium's env and the fast one alike; check the results and states agree."""
    if not EXACT:  # see the module docstring
        original.state = fast.state.copy()
    expected, got = original.step(action), fast.step(action)
    assert_same_step(expected, got, STATE_TOL, step)
    assert_close(fast.state, original.state, STATE_TOL, f"state after step {step}")
    return expected, got


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"book_or_nips": "nips"},
        {"torque_noise_max": 0.3},
        {"dt": 0.1, "LINK_MASS_2": 1.5},
    ],
    ids=["book", "nips", "torque-noise", "dt-mass"],
)
def test_fast_acrobot_equals_gymnasiums(settings: dict[str, Any]) -> None:
    terminations = 0
    for seed in (0, 1, 2):
        original, fast = AcrobotEnv(), FastAcrobotEnv()
        for env in (original, fast):
            for name, value in settings.items():
                setattr(env, name, value)
        options = {"low": -0.3, "high": 0.3} if seed == 2 else None
        expected = original.reset(seed=seed, options=options)
        got = fast.reset(seed=seed, options=options)
        np.testing.assert_array_equal(got[0], expected[0])
        rng = np.random.default_rng(seed)
        observation = got[0]
        for step in range(N_STEPS):
            action = acrobot_action(observation, rng)
            expected, got = step_both(original, fast, action, step)
            observation = got[0]
            if got[2]:
                terminations += 1
                expected, got = original.reset(), fast.reset()
                np.testing.assert_array_equal(got[0], expected[0])
                observation = got[0]
    assert terminations >= 2  # the comparison covers terminal steps and resets too


@pytest.mark.parametrize(
    ("g", "settings"),
    [(10.0, {}), (9.81, {"max_speed": 3.0, "dt": 0.1})],
    ids=["default", "g-speed-dt"],
)
def test_fast_pendulum_equals_gymnasiums(g: float, settings: dict[str, Any]) -> None:
    clipped_speeds = 0
    for seed in (0, 1, 2):
        original, fast = PendulumEnv(g=g), FastPendulumEnv(g=g)
        for env in (original, fast):
            for name, value in settings.items():
                setattr(env, name, value)
        options = {"x_init": 1.0, "y_init": 0.5} if seed == 2 else None
        expected = original.reset(seed=seed, options=options)
        got = fast.reset(seed=seed, options=options)
        np.testing.assert_array_equal(got[0], expected[0])
        rng = np.random.default_rng(seed)
        for step in range(N_STEPS):
            action = pendulum_action(rng, step)
            expected, got = step_both(original, fast, action, step)
            assert fast.last_u == original.last_u  # the clipped torque, before any sine
            assert type(fast.last_u) is type(original.last_u)  # float32 for float32 actions
            clipped_speeds += abs(float(fast.state[1])) == fast.max_speed
            if step % 100 == 99:
                expected, got = original.reset(), fast.reset()
                np.testing.assert_array_equal(got[0], expected[0])
    if settings:
        assert clipped_speeds > 0  # the comparison covers the speed clip too


# The two examples as proxy_examples.py built them before the fast envs, term functions included.


def old_tip_height(transition: Transition) -> float:
    cos1, sin1, cos2, sin2 = (float(x) for x in transition.next_observation[:4])
    return (2.0 - cos1 - (cos1 * cos2 - sin1 * sin2)) / 4.0


def old_torque_cost(transition: Transition) -> float:
    torque = float(np.asarray(transition.action, dtype=np.float64).reshape(-1)[0])
    return 0.001 * min(max(torque, -2.0), 2.0) ** 2


def old_acrobot_height(render_mode: str | None = None) -> gym.Env:
    return ProxyReward(
        gym.make("Acrobot-v1", render_mode=render_mode),
        proxy={Term.fn("tip_height", old_tip_height): 1.0},
    )


def old_pendulum_no_torque_cost(render_mode: str | None = None) -> gym.Env:
    return ProxyReward(
        gym.make("Pendulum-v1", render_mode=render_mode),
        proxy={"reward": 1.0, Term.fn("torque_cost", old_torque_cost): 1.0},
    )


@pytest.mark.parametrize(
    ("env_id", "old_factory", "fast_class"),
    [
        ("proxygym/AcrobotHeight-v0", old_acrobot_height, FastAcrobotEnv),
        ("proxygym/PendulumNoTorqueCost-v0", old_pendulum_no_torque_cost, FastPendulumEnv),
    ],
    ids=["AcrobotHeight", "PendulumNoTorqueCost"],
)
def test_registered_ids_step_as_before(env_id: str, old_factory: Any, fast_class: type) -> None:
    """Same observations, proxy and true rewards, episode ends and info, through ``gym.make``."""
    new = gym.make(env_id)
    # The registered spec (100-step limit, checker, order enforcing), old entry point.
    old = gym.make(dataclasses.replace(gym.spec(env_id), entry_point=old_factory))
    assert isinstance(new.unwrapped, fast_class)
    assert not isinstance(old.unwrapped, fast_class)
    ends = {"terminated": 0, "truncated": 0}
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        expected, got = old.reset(seed=seed), new.reset(seed=seed)
        np.testing.assert_array_equal(got[0], expected[0])
        observation = got[0]
        for step in range(N_STEPS):
            if isinstance(new.action_space, gym.spaces.Discrete):
                action: Any = acrobot_action(observation, rng)
            else:
                action = pendulum_action(rng, step)
            if not EXACT:  # see the module docstring
                old.unwrapped.state = new.unwrapped.state.copy()
            expected, got = old.step(action), new.step(action)
            # Proxies are computed from float32 observations, summed over up to 100 steps.
            assert_same_step(expected, got, 100 * FLOAT32_TOL, step)
            state = new.unwrapped.state
            assert_close(state, old.unwrapped.state, STATE_TOL, f"state after step {step}")
            observation = got[0]
            if got[2] or got[3]:
                ends["terminated" if got[2] else "truncated"] += 1
                expected, got = old.reset(), new.reset()
                np.testing.assert_array_equal(got[0], expected[0])
                observation = got[0]
    assert ends["truncated"] >= 2  # at the registered 100-step limit
    if env_id == "proxygym/AcrobotHeight-v0":
        assert ends["terminated"] >= 2


@pytest.mark.parametrize("fast_class", [FastAcrobotEnv, FastPendulumEnv])
def test_stepping_before_reset_raises_reset_needed(fast_class: type) -> None:
    env = fast_class()
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("fast_class", [FastAcrobotEnv, FastPendulumEnv])
def test_unknown_render_mode_is_named(fast_class: type) -> None:
    with pytest.raises(ValueError, match="'video'"):
        fast_class(render_mode="video")


def test_fast_acrobot_follows_constants_changed_mid_episode() -> None:
    """Link constants, ``book_or_nips`` and ``dt`` are read on every step, as Gymnasium does."""
    changes: dict[int, dict[str, Any]] = {
        40: {"LINK_MASS_1": 1.3},
        80: {"book_or_nips": "nips"},
        120: {"dt": 0.1, "LINK_MOI": 1},  # an int: a new object of equal value
        160: {"LINK_MOI": 1.0, "LINK_COM_POS_2": 0.4},
        200: {"book_or_nips": "book", "dt": 0.2},
    }
    original, fast = AcrobotEnv(), FastAcrobotEnv()
    expected, got = original.reset(seed=0), fast.reset(seed=0)
    rng = np.random.default_rng(0)
    observation = got[0]
    for step in range(N_STEPS):
        for env in (original, fast):
            for name, value in changes.get(step, {}).items():
                setattr(env, name, value)
        action = acrobot_action(observation, rng)
        expected, got = step_both(original, fast, action, step)
        observation = got[0]
        if got[2]:
            _, got = original.reset(), fast.reset()
            observation = got[0]


@pytest.mark.parametrize("fast_class", [FastAcrobotEnv, FastPendulumEnv])
def test_steps_are_the_same_whether_or_not_state_is_read(fast_class: type) -> None:
    """``state`` is built only when read; reading, editing or assigning it changes nothing else.

    ``reference`` gets its state assigned back as an array before every step,
    so it always steps from an array, as Gymnasium's do; ``lazy`` has its
    state read only now and then, so it mostly steps from its own floats.
    """
    reference, lazy = fast_class(), fast_class()
    observation = reference.reset(seed=0)[0]
    lazy.reset(seed=0)
    rng = np.random.default_rng(0)
    for step in range(N_STEPS):
        if fast_class is FastAcrobotEnv:
            action: Any = acrobot_action(observation, rng)
        else:
            action = pendulum_action(rng, step)
        before = reference.state = np.array(reference.state, dtype=np.float64)
        expected, got = reference.step(action), lazy.step(action)
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(b, a, err_msg=f"step {step}")
        assert type(got[1]) is type(expected[1])
        state = reference.state
        assert state is reference.state and state is not before  # one new array a step
        assert type(state) is np.ndarray and state.dtype == np.float64
        observation = got[0]
        if step % 10 == 9:  # now and then the lazy one's state is read, edited, assigned
            np.testing.assert_array_equal(lazy.state, state, err_msg=f"state after step {step}")
            assert type(lazy.state) is np.ndarray and lazy.state.dtype == np.float64
            if step % 30 == 9:
                for env in (reference, lazy):
                    env.state[-1] *= 0.5  # in place: the next step starts from it
            elif step % 30 == 19:
                lazy.state = lazy.state.tolist()  # kept as assigned, as in Gymnasium
                assert type(lazy.state) is list
        if got[2]:
            observation = reference.reset()[0]
            lazy.reset()


@pytest.mark.parametrize(
    "make",
    [
        FastAcrobotEnv,
        FastPendulumEnv,
        lambda: gym.make("proxygym/AcrobotHeight-v0"),
        lambda: gym.make("proxygym/PendulumNoTorqueCost-v0"),
    ],
    ids=["FastAcrobotEnv", "FastPendulumEnv", "AcrobotHeight", "PendulumNoTorqueCost"],
)
def test_pickled_and_copied_envs_step_on_alike(make: Any) -> None:
    """Caches of local functions (acrobot's accelerations, ProxyReward's terms) are rebuilt."""
    env = make()
    env.reset(seed=0)
    action = env.action_space.sample()
    env.step(action)
    for duplicate in (lambda env: pickle.loads(pickle.dumps(env)), copy.deepcopy):
        clone = duplicate(env)
        for step in range(20):
            expected, got = env.step(action), clone.step(action)
            for a, b in zip(expected, got, strict=True):
                np.testing.assert_array_equal(b, a, err_msg=f"step {step}")
