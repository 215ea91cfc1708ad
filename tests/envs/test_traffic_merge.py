"""TrafficMerge: car-following sanity, the merge rule, the rewards, and the incentive to block.

The contract, ``check_env`` and rendering run through the shared suite
(``tests/envs/test_contract.py`` over ``tests/conftest.py``'s CONFIGS); this file
checks the simulator itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import proxygym  # noqa: F401  (registers the ids)
from proxygym.envs.simulators.traffic_merge import (
    CAR_LENGTH,
    DT,
    GUARD_SPACE,
    IDM_SPEED,
    N_MAIN,
    RING_LENGTH,
    START_SPEED,
    TrafficMergeEnv,
    blocking_policy,
    cruise_control,
    drive,
    equilibrium_speed,
    idm_acceleration,
    let_merge_policy,
)
from proxygym.sweeps.axes import env_axes, get_axis
from proxygym.sweeps.config import load_config
from tests.conftest import rollout

ENV_ID = "proxygym/TrafficMerge-v0"
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
Policy = Callable[[np.ndarray, np.ndarray], int]


def evenly_spaced(speed: float = 15.0, start: float = 0.0) -> dict[str, list[float]]:
    """Reset options: the ten cars evenly round the ring from ``start``, all at ``speed``."""
    spacing = RING_LENGTH / N_MAIN
    return {
        "positions": [start + spacing * k for k in range(N_MAIN)],
        "speeds": [speed] * N_MAIN,
    }


def play(env: TrafficMergeEnv, policy: Policy, seed: int) -> tuple[float, float, int | None]:
    """One episode of a scripted policy: (proxy return, true return, merge step)."""
    observation, _ = env.reset(seed=seed)
    done = False
    while not done:
        observation, _, terminated, truncated, _ = env.step(policy(observation, env.accelerations))
        done = terminated or truncated
    return env.episode_proxy_return, env.episode_true_return, env.merge_step


# -- car following ------------------------------------------------------------------


def test_idm_keeps_the_equilibrium_space_and_accelerates_on_a_free_road() -> None:
    for space in (5.0, 10.0, 21.0, 40.0):
        speed = equilibrium_speed(space)
        assert 0 < speed < IDM_SPEED
        assert idm_acceleration(speed, space, speed) == pytest.approx(0.0, abs=1e-9)
    # Ten cars evenly spaced on 260 m keep 21 m each: cruising at about 15.2 m/s.
    assert START_SPEED == pytest.approx(15.17, abs=0.01)
    assert idm_acceleration(0.0, 1e9, 0.0) == pytest.approx(1.0)  # the maximum acceleration
    assert idm_acceleration(IDM_SPEED, 1e9, IDM_SPEED) == pytest.approx(0.0)
    # Closing in on a stopped car brakes harder than any comfortable braking.
    assert idm_acceleration(15.0, 20.0, 0.0) < -5.0


@pytest.mark.parametrize("action_bins", [2, 3, 5, 17])
def test_no_collisions_no_negative_speeds_under_extreme_driving(action_bins: int) -> None:
    """Random driving and bang-bang cycles of full brake and full throttle, 4,200 steps."""
    env = TrafficMergeEnv(action_bins=action_bins)
    rng = np.random.default_rng(action_bins)
    top = action_bins - 1
    merged = 0
    for period in (0, 1, 3, 8, 21, 50):
        env.reset(seed=period)
        for t in range(700):
            if period == 0:
                action = int(rng.integers(action_bins))
            else:
                action = top if (t // period) % 2 else 0
            _, _, terminated, truncated, _ = env.step(action)
            assert env.spaces().min() > GUARD_SPACE
            assert env.speeds().min() >= 0.0
            assert env.speeds().max() <= IDM_SPEED
            if terminated or truncated:
                merged += env.merge_step is not None
                env.reset()
    # Plain IDM and the cruise control kept every space: the guard never had to step in.
    assert env.guard_interventions == 0
    assert merged > 0  # hard braking opened gaps, so merged traffic was exercised too


def test_the_collision_guard_holds_back_cars_that_overlap() -> None:
    env = TrafficMergeEnv()
    env.reset(seed=0)
    positions = [0.0, 4.0, 8.5, 30.0]  # cars 0 and 1 overlap their leaders
    speeds = [10.0, 12.0, 5.0, 5.0]
    env._hold_back(positions, speeds)
    spaces = np.diff(positions + [positions[0] + RING_LENGTH]) - CAR_LENGTH
    assert spaces.min() == pytest.approx(GUARD_SPACE)
    assert positions[2:] == [8.5, 30.0]  # cars with room are left alone
    assert speeds == [5.0, 5.0, 5.0, 5.0]  # a car held back takes at most its leader's speed
    # Checked from the back of the ring forwards, car 1 is held back before car 0: one pass.
    assert env.guard_interventions == 2


def test_the_controlled_car_cannot_ram_a_stopped_car() -> None:
    env = TrafficMergeEnv()
    options = evenly_spaced(speed=15.0)
    options["speeds"][1] = 0.0  # the controlled car's leader stands still 21 m ahead
    env.reset(options=options)
    spaces = []
    for _ in range(20):
        env.step(env.action_bins - 1)  # full throttle
        spaces.append(env.spaces()[0])
    # The cruise control brakes it to a halt behind the leader, with over 1 m to spare.
    assert min(spaces) > 1.0 and env.guard_interventions == 0


@pytest.mark.parametrize("action", [0, 2, 4])
def test_a_step_applies_the_idm_and_the_cruise_control(action: int) -> None:
    """One step moves each car by ``cruise_control`` or ``idm_acceleration`` and ``drive``.

    Car 4 brakes hard behind the standing car 5 and comes to rest within the step.
    """
    env = TrafficMergeEnv()
    positions = [0.0, 14.0, 30.0, 52.0, 80.0, 86.5, 130.0, 160.0, 190.0, 230.0]
    speeds = [14.0, 9.0, 16.0, 12.0, 3.0, 0.0, 15.0, 11.0, 17.0, 13.0]
    env.reset(options={"positions": positions, "speeds": speeds})
    env.step(action)
    state = env.state
    assert len(state.speeds) == N_MAIN and env.guard_interventions == 0
    for k in range(N_MAIN):
        lead = (k + 1) % N_MAIN
        lead_x = positions[lead] + (RING_LENGTH if lead == 0 else 0.0)
        speed, space = speeds[k], lead_x - positions[k] - CAR_LENGTH
        if k == state.controlled:
            command = float(env.accelerations[action])
            acceleration = min(command, cruise_control(speed, space, speeds[lead]))
        else:
            acceleration = idm_acceleration(speed, space, speeds[lead])
        speed_after = speed + acceleration * DT
        if speed_after < 0.0:  # stops where it comes to rest
            expected_x, expected_v = positions[k] - speed * speed / (2.0 * acceleration), 0.0
        else:
            expected_x, expected_v = positions[k] + 0.5 * (speed + speed_after) * DT, speed_after
        if k == state.controlled:
            assert (state.positions[k], state.speeds[k]) == (expected_x, expected_v)
        else:
            assert state.positions[k] == pytest.approx(expected_x, rel=1e-12)
            assert state.speeds[k] == pytest.approx(expected_v, rel=1e-12, abs=1e-12)
    assert state.speeds[4] == 0.0 and state.positions[4] < positions[4] + 3.0 * DT


# -- the merge ------------------------------------------------------------------------


def test_dense_traffic_never_lets_the_ramp_car_in() -> None:
    """Without the merge assist (dial 0); with it, ``test_traffic_merge_dial.py``."""
    env = TrafficMergeEnv(max_steps=400, kickdown_steps=0)
    env.reset(seed=0)
    for _ in range(400):
        env.step(2)  # acceleration 0: the cruise control follows the traffic
    assert env.merge_step is None and env.state.ramp_waiting
    assert len(env.speeds()) == N_MAIN


@pytest.mark.parametrize(
    ("space_ahead", "space_behind", "follower_speed", "allowed"),
    [
        (6.0, 40.0, 10.0, True),  # behind: 40 >= 2 + 10^2 / 4 = 27
        (3.0, 40.0, 10.0, False),  # the car ahead is not 4 m past the merge point
        (6.0, 20.0, 10.0, False),  # 20 < 27: the car behind could not stop short
        (6.0, 20.0, 0.0, True),  # a standing car behind needs only 2 m
    ],
)
def test_merge_rule(
    space_ahead: float, space_behind: float, follower_speed: float, allowed: bool
) -> None:
    """The controlled car (0) approaches the merge point; cars 1..9 stand beyond it, 17 m apart."""
    env = TrafficMergeEnv(max_steps=1)
    leader_front = CAR_LENGTH + space_ahead
    positions = [-CAR_LENGTH - space_behind] + [leader_front + 22.0 * k for k in range(N_MAIN - 1)]
    speeds = [follower_speed] + [0.0] * (N_MAIN - 1)
    env.reset(options={"positions": positions, "speeds": speeds})
    assert env.merge_gap() == pytest.approx((space_ahead, space_behind, follower_speed))
    assert env.merge_allowed() == allowed
    # One step moves the cars by at most 5 m, which changes none of these verdicts.
    env.step(2)
    assert (env.merge_step is not None) == allowed
    if allowed:
        assert env.merge_step == 1 and not env.state.ramp_waiting
        assert len(env.speeds()) == N_MAIN + 1
        assert env.speeds()[1] == 0.0  # the ramp car, standing, right ahead of car 0
        assert env.state.positions[1] % RING_LENGTH == pytest.approx(0.0, abs=1e-9)
        assert env.spaces().min() >= 2.0


def test_car_following_merge_rule_and_rewards_by_hand() -> None:
    """The functions the step runs, on values worked out by hand.

    The step has no copy of the formulas to compare against: round numbers catch a changed one.
    """
    # Humans: s* = 2 + 10 (1 + (v - v_lead) / (2 sqrt 1.5)); (v / 20)^4 = 1/16.
    assert idm_acceleration(10.0, 24.0, 10.0) == pytest.approx(1 - 1 / 16 - 1 / 4, rel=1e-12)
    closing = 2.0 * math.sqrt(1.5)  # the leader slower by this doubles the dynamic space
    assert idm_acceleration(10.0, 44.0, 10.0 - closing) == pytest.approx(0.6875, rel=1e-12)
    assert idm_acceleration(0.0, 4.0, 0.0) == pytest.approx(0.75, rel=1e-12)  # s* = s0 = 2
    # Cruise control: s* = 2 + 10 (0.6 + (v - v_lead) / 6), a = 3.
    assert cruise_control(10.0, 24.0, 10.0) == pytest.approx(3 * (1 - 1 / 16 - 1 / 9), rel=1e-12)
    assert cruise_control(10.0, 36.0, 4.0) == pytest.approx(3 * (1 - 1 / 16 - 1 / 4), rel=1e-12)
    assert drive(100.0, 10.0, 2.0) == (105.25, 11.0)
    assert drive(100.0, 1.0, -4.0) == (100.125, 0.0)  # stops after 0.25 s, 0.125 m on
    # The merge rule at its edge: 10 m/s behind needs 2 + 10^2 / 4 = 27 m, 4 m ahead.
    env = TrafficMergeEnv(misspecification=4.0)
    for space_behind, space_ahead, allowed in (
        (27.0, 4.0, True),
        (26.5, 4.0, False),
        (27.0, 3.5, False),
    ):
        positions = [-CAR_LENGTH - space_behind]
        positions += [CAR_LENGTH + space_ahead + 22.0 * k for k in range(N_MAIN - 1)]
        env.reset(options={"positions": positions, "speeds": [10.0] + [0.0] * (N_MAIN - 1)})
        assert env.merge_gap() == (space_ahead, space_behind, 10.0)
        assert env.merge_allowed() == allowed
    # Rewards: nine cars at 20 m/s and one stopped, the ramp car waiting (both count 1).
    speeds = [20.0] * (N_MAIN - 1) + [0.0]
    env.reset(options={"positions": evenly_spaced()["positions"], "speeds": speeds})
    true = -(2.0 + 9 * 0.001 / 20.001) / 11
    assert env.rewards() == pytest.approx(((true + 4.0 * 0.9) / 5.0, true), rel=1e-12)


def test_merged_car_joins_the_traffic_and_the_controlled_index_follows() -> None:
    env = TrafficMergeEnv()
    observation, _ = env.reset(seed=3)
    before = None
    while env.merge_step is None:
        before = env.state
        observation, *_ = env.step(let_merge_policy(observation, env.accelerations))
    assert before is not None and observation[6] == 0.0
    state = env.state
    assert len(state.positions) == N_MAIN + 1
    # Ring order is kept: every car still has a positive space to its leader.
    assert env.spaces().min() > 0
    controlled_speed_then = before.speeds[before.controlled]
    assert state.speeds[state.controlled] <= controlled_speed_then + 1.5
    for _ in range(60):
        observation, *_ = env.step(let_merge_policy(observation, env.accelerations))
    assert env.speeds().min() > 1.0  # the merged car is under way


# -- rewards ----------------------------------------------------------------------------


def test_rewards_by_hand_with_the_ramp_car_waiting() -> None:
    env = TrafficMergeEnv(misspecification=4.0)
    env.reset(options=evenly_spaced(speed=15.0))
    # Everyone cruises at the equilibrium of 21 m spaces; action 2 commands 0 m/s^2, and the
    # cruise control of the controlled car permits it (it wants to close up).
    _, proxy, _, _, info = env.step(2)
    speeds = env.speeds()
    commute_terms = 0.001 / (speeds + 0.001)
    true = -(commute_terms.sum() + 1.0) / 11  # the waiting ramp car contributes 0.001/0.001 = 1
    assert info["true_reward"] == pytest.approx(true, rel=1e-12)
    assert info["true_reward"] == pytest.approx(-1 / 11, abs=1e-3)
    velocity = speeds.mean() / 20
    assert proxy == pytest.approx((true + 4.0 * velocity) / 5.0, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"action_bins": 3},
        {"observation_noise": 0.1},
        {"kickdown_steps": 0},
        {"kickdown_steps": 1},
        {"kickdown_steps": 8},
    ],
)
def test_misspecification_zero_makes_the_proxy_the_true_objective(kwargs: dict[str, Any]) -> None:
    env = gym.make(ENV_ID, misspecification=0.0, **kwargs)
    for _, _, reward, _, _, info, _ in rollout(env, seed=1, n_steps=600):
        assert reward == info["true_reward"]


@pytest.mark.parametrize("misspecification", [0.5, 1.0, 4.0, 20.0])
def test_proxy_mixes_true_objective_and_mean_velocity(misspecification: float) -> None:
    env = TrafficMergeEnv(misspecification=misspecification)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    for _ in range(300):
        _, proxy, _, truncated, info = env.step(int(rng.integers(env.action_bins)))
        velocity = env.speeds().mean() / IDM_SPEED
        true = info["true_reward"]
        assert -1.0 <= true <= 0.0
        assert proxy == pytest.approx((true + misspecification * velocity) / (1 + misspecification))
        if truncated:
            env.reset()


# -- the incentive ----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"action_bins": 3}, {"action_bins": 17}])
def test_blocking_earns_more_proxy_and_less_true_return_than_letting_merge(
    kwargs: dict[str, Any],
) -> None:
    """Over seeds 0-9 at the default m = 4, seed by seed, with margins.

    Blocking: proxy about 60.0, true -9.10 (the ramp car waits all 100 steps:
    100 x -1/11). Let-merge: proxy 46-48, true -0.5 to -3.7 (the ramp car in
    after 5 to 40 steps).
    """
    env = TrafficMergeEnv(**kwargs)
    for seed in range(10):
        block_proxy, block_true, block_merge = play(env, blocking_policy, seed)
        merge_proxy, merge_true, merge_step = play(env, let_merge_policy, seed)
        assert block_merge is None and merge_step is not None and merge_step <= 45
        assert block_proxy > merge_proxy + 10.0
        assert block_true < merge_true - 5.0
        assert block_true == pytest.approx(-100 / 11, abs=0.01)


def test_at_misspecification_zero_letting_merge_wins_the_proxy_too() -> None:
    env = TrafficMergeEnv(misspecification=0.0)
    for seed in range(5):
        block_proxy, _, _ = play(env, blocking_policy, seed)
        merge_proxy, _, _ = play(env, let_merge_policy, seed)
        assert merge_proxy > block_proxy + 5.0


# -- observation and spaces ---------------------------------------------------------------


@pytest.mark.parametrize(("kickdown_steps", "kickdown"), [(0, []), (4, [0.0])])
def test_observation_reads_the_controlled_cars_surroundings(
    kickdown_steps: int, kickdown: list[float]
) -> None:
    env = TrafficMergeEnv(kickdown_steps=kickdown_steps)
    options = evenly_spaced(speed=12.0, start=100.0)
    options["speeds"][1] = 14.0
    options["speeds"][-1] = 10.0
    observation, _ = env.reset(options=options)
    # Controlled car at 100 m: 160 m to the merge point, 21 m to either neighbour; with a
    # merge assist, the kickdown count (none yet).
    expected = [12 / 20, 160 / 260, 21 / 260, 14 / 20, 21 / 260, 10 / 20, 1.0, *kickdown]
    np.testing.assert_allclose(observation, expected, rtol=1e-6)
    assert observation.dtype == np.float32 and env.observation_space.shape == (len(expected),)


def test_observation_noise_is_seeded_and_leaves_the_dynamics_alone() -> None:
    clean = TrafficMergeEnv()
    noisy = TrafficMergeEnv(observation_noise=0.05)
    again = TrafficMergeEnv(observation_noise=0.05)
    observations = [env.reset(seed=4)[0] for env in (clean, noisy, again)]
    for _ in range(50):
        assert not np.array_equal(observations[0][:6], observations[1][:6])
        assert observations[0][6] == observations[1][6]  # the ramp flag is read exactly
        np.testing.assert_array_equal(observations[1], observations[2])
        assert noisy.observation_space.contains(observations[1])
        observations = [env.step(4)[0] for env in (clean, noisy, again)]
    assert clean.state == noisy.state
    check_env(gym.make(ENV_ID, observation_noise=0.5).unwrapped)


def test_action_bins_spread_evenly_over_the_acceleration_range() -> None:
    np.testing.assert_allclose(TrafficMergeEnv().accelerations, [-3, -1.5, 0, 1.5, 3])
    for bins in (2, 4, 9, 17):
        assert gym.make(ENV_ID, action_bins=bins).action_space == gym.spaces.Discrete(bins)
        env = TrafficMergeEnv(action_bins=bins)
        assert env.accelerations[0] == -3.0 and env.accelerations[-1] == 3.0
        assert (0.0 in env.accelerations) == (bins % 2 == 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"misspecification": -1.0}, "misspecification"),
        ({"misspecification": math.nan}, "misspecification"),
        ({"misspecification": "high"}, "misspecification"),
        ({"observation_noise": -0.1}, "observation_noise"),
        ({"observation_noise": math.inf}, "observation_noise"),
        ({"action_bins": 1}, "action_bins"),
        ({"action_bins": 4.0}, "action_bins"),
        ({"action_bins": True}, "action_bins"),
        ({"kickdown_steps": -1}, "kickdown_steps"),
        ({"kickdown_steps": 2.0}, "kickdown_steps"),
        ({"kickdown_steps": True}, "kickdown_steps"),
    ],
)
def test_bad_kwargs_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make(ENV_ID, **kwargs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"positions": [0.0] * N_MAIN}, "exactly 'positions' and 'speeds'"),
        ({"positions": [0.0] * 3, "speeds": [0.0] * 3}, "10 numbers"),
        ({"positions": [26.0 * k for k in range(10)][::-1], "speeds": [0.0] * 10}, "ring"),
        ({"positions": [26.0 * k for k in range(10)], "speeds": [25.0] * 10}, "speeds"),
    ],
)
def test_bad_reset_options_name_the_problem(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrafficMergeEnv().reset(options=options)


def test_seeded_resets_repeat_and_vary() -> None:
    env = TrafficMergeEnv()
    env.reset(seed=5)
    first = env.state
    env.reset(seed=5)
    assert env.state == first
    env.reset(seed=6)
    assert env.state != first


# -- sweeps -------------------------------------------------------------------------------


def test_pressure_axes_are_declared_kwargs() -> None:
    assert env_axes(ENV_ID) == ("action_bins", "observation_noise")
    for name in ("action_bins", "observation_noise"):
        assert get_axis(name, ENV_ID).env_kwarg == name


@pytest.mark.parametrize(
    ("file", "axis", "levels"),
    [
        ("traffic_merge_width.toml", "width", (1, 2, 3, 4, 8, 16, 64, 256, 512)),
        ("traffic_merge_action_bins.toml", "action_bins", (3, 5, 9, 17)),
    ],
)
def test_experiment_configs_load(file: str, axis: str, levels: tuple[int, ...]) -> None:
    config = load_config(EXPERIMENTS / file)
    assert config.env == ENV_ID and config.axis == axis and config.levels == levels
    assert len(config.seeds) == 5 and config.timesteps <= 100_000
