"""TrafficMerge's hack-difficulty dial ``kickdown_steps``: the merge assist and the kickdown.

At dial 0 the environment is the one before the dial, trajectory for
trajectory (digests recorded from it). Above 0 a merge assist lets the ramp
car in on the controlled car's first approach unless the driver has switched
it off with ``kickdown_steps`` top-acceleration commands in a row; a braking
command switches it back on. Checked by hand on single steps and on planted
action sequences, and as the property the dial is for: a driver who never
brakes but picks its non-braking commands at random closes the door less
often the larger the dial.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import pytest

from proxygym.envs.simulators.traffic_merge import (
    DEFAULT_KICKDOWN_STEPS,
    DT,
    LET_MERGE_BRAKING,
    LET_MERGE_STOP,
    N_MAIN,
    RING_LENGTH,
    TrafficMergeEnv,
    cruise_control,
    let_merge_policy,
)

#: Digests of seeded random-action episodes of the environment before the dial (commit
#: 5b132f6), with the step the ramp car merged at: (kwargs, seed) -> (digest, merge step).
BEFORE_THE_DIAL: dict[tuple[str, int], tuple[str, int]] = {
    ("default", 0): ("a09e0e58e8c14a7c", 47),
    ("default", 1): ("9acc8f5a8db9733b", 50),
    ("default", 2): ("2752e2eae0d3fc2a", 24),
    ("noisy-3-bins", 0): ("26fa22910fe1d037", 11),
    ("noisy-3-bins", 1): ("67c3de4a67fd1a1c", 52),
    ("noisy-3-bins", 2): ("ccd8c54c1c01f433", 24),
}
KWARGS: dict[str, dict[str, Any]] = {
    "default": {},
    "noisy-3-bins": {"observation_noise": 0.1, "action_bins": 3},
}
#: Coast: command 0 m/s^2 (the cruise control follows the traffic). Top: 3 m/s^2, the kickdown.
COAST, TOP, BRAKE = 2, 4, 0


def digest(env: TrafficMergeEnv, seed: int) -> tuple[str, int | None]:
    """sha256 (16 hex digits) of a seeded random-action episode's observations and rewards."""
    observation, _ = env.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, env.action_space.n, env.max_steps)
    hashed = hashlib.sha256(observation.tobytes())
    for action in actions:
        observation, proxy, _, _, info = env.step(int(action))
        hashed.update(observation.tobytes())
        hashed.update(np.float64([proxy, info["true_reward"]]).tobytes())
    return hashed.hexdigest()[:16], env.merge_step


def evenly_spaced(controlled_at: float, speed: float = 15.0) -> dict[str, list[float]]:
    """Reset options: the ten cars 26 m apart at ``speed``, the controlled car first."""
    spacing = RING_LENGTH / N_MAIN
    return {
        "positions": [controlled_at + spacing * k for k in range(N_MAIN)],
        "speeds": [speed] * N_MAIN,
    }


def drive_far_from_the_merge(env: TrafficMergeEnv, actions: list[int]) -> list[int]:
    """The kickdown count after each of ``actions``, from a start 260 m before the merge point."""
    env.reset(options=evenly_spaced(controlled_at=0.0))
    counts = []
    for action in actions:
        observation, *_ = env.step(action)
        counts.append(env.state.kickdown)
        assert observation[7] == pytest.approx(env.state.kickdown / env.kickdown_steps)
    return counts


# -- dial 0 is the environment before the dial -------------------------------------------------
@pytest.mark.parametrize(("kwargs", "seed"), list(BEFORE_THE_DIAL))
def test_dial_zero_repeats_the_episodes_of_before_the_dial(kwargs: str, seed: int) -> None:
    env = TrafficMergeEnv(kickdown_steps=0, **KWARGS[kwargs])
    assert env.observation_space.shape == (7,)
    assert digest(env, seed) == BEFORE_THE_DIAL[kwargs, seed]
    # The digest tells the dial apart: the default's assist changes the same episode.
    assert digest(TrafficMergeEnv(**KWARGS[kwargs]), seed) != BEFORE_THE_DIAL[kwargs, seed]


# -- the kickdown count and the assist, by hand -------------------------------------------------
def test_the_kickdown_counts_top_commands_in_a_row_and_a_brake_resets_it() -> None:
    env = TrafficMergeEnv(kickdown_steps=3)
    actions = [TOP, TOP, COAST, TOP, TOP, TOP, COAST, 3, TOP, BRAKE, TOP, 1]
    # Short of 3, any other command starts again; at 3 only braking (actions 0 and 1) does.
    assert drive_far_from_the_merge(env, actions) == [1, 2, 0, 1, 2, 3, 3, 3, 3, 0, 1, 0]
    assert drive_far_from_the_merge(TrafficMergeEnv(kickdown_steps=1), [COAST, TOP, 3]) == [0, 1, 1]


def test_dial_zero_never_counts_and_never_assists() -> None:
    env = TrafficMergeEnv(kickdown_steps=0)
    env.reset(options=evenly_spaced(controlled_at=200.0))
    for action in [TOP, TOP, COAST, TOP]:
        observation, *_ = env.step(action)
        assert env.state.kickdown == 0 and not env.assist_on() and observation.shape == (7,)


def test_the_assist_brakes_onto_the_let_merge_curve_until_the_kickdown_completes() -> None:
    """60 m before the merge point at 15 m/s: the curve's speed is sqrt(2 * 1.5 * 50) = 12.2 m/s.

    Reaching it in one 0.5 s step would take -5.5 m/s^2; the assist brakes at
    its limit, 3 m/s^2, whatever the command (here the top one, the first of
    two kickdown commands). On the second the assist is off, and the cruise
    control alone limits the command.
    """
    env = TrafficMergeEnv(kickdown_steps=2)
    env.reset(options=evenly_spaced(controlled_at=RING_LENGTH - 60.0))
    assert env.assist_on()
    assert math.sqrt(2 * LET_MERGE_BRAKING * (60.0 - LET_MERGE_STOP)) - 15.0 < -3.0 * DT
    env.step(TOP)
    state = env.state
    assert state.kickdown == 1 and env.assist_on()
    assert state.speeds[0] == 15.0 - 3.0 * DT
    assert state.positions[0] == RING_LENGTH - 60.0 + 0.5 * (15.0 + 13.5) * DT
    space = state.positions[1] - state.positions[0] - 5.0
    expected = 13.5 + min(3.0, cruise_control(13.5, space, state.speeds[1])) * DT
    env.step(TOP)
    assert env.state.kickdown == 2 and not env.assist_on()
    assert env.state.speeds[0] == expected > 13.5


def test_coasting_lets_the_ramp_car_in_on_the_first_approach() -> None:
    """Without an assist dense traffic never opens a gap; with one, the first approach does.

    Coasting (command 0) never kicks down, so the assist holds the car back on
    its first approach, as the let-merge policy would, and the ramp car is in
    within a step or five of when the let-merge policy lets it in.
    """
    for seed in range(10):
        merges = []
        for kickdown_steps, policy in ((4, COAST), (0, None)):
            env = TrafficMergeEnv(kickdown_steps=kickdown_steps)
            observation, _ = env.reset(seed=seed)
            for _ in range(100):
                action = (
                    let_merge_policy(observation, env.accelerations) if policy is None else COAST
                )
                observation, *_ = env.step(action)
            merges.append(env.merge_step)
        coasting, letting = merges
        assert coasting is not None and letting is not None
        assert letting <= coasting <= letting + 5


@pytest.mark.parametrize("kickdown_steps", [1, 2, DEFAULT_KICKDOWN_STEPS, 6])
def test_the_kickdown_closes_the_door_and_braking_opens_it(kickdown_steps: int) -> None:
    """From 260 m before the merge point: k top commands then coasting keep the ramp car out
    for 300 steps (about five laps); k - 1 do not; k and one brake on the far side of the ring
    do not either."""
    for kicks, brake_at, blocked in (
        (kickdown_steps, None, True),
        (kickdown_steps - 1, None, False),
        (kickdown_steps, 20, False),
    ):
        env = TrafficMergeEnv(kickdown_steps=kickdown_steps, max_steps=300)
        env.reset(options=evenly_spaced(controlled_at=0.0))
        for t in range(300):
            env.step(TOP if t < kicks else BRAKE if t == brake_at else COAST)
        assert (env.merge_step is None) == blocked, (kicks, brake_at)
        assert env.guard_interventions == 0


# -- the property the dial is for ----------------------------------------------------------------
def test_a_larger_dial_closes_the_door_less_often_for_a_driver_who_never_brakes() -> None:
    """Commands drawn uniformly from 0, 1.5 and 3 m/s^2, 40 seeded episodes per dial setting.

    Never braking is all it takes to block at dial 0 (and at 1, where one top
    command is a kickdown); the runs of top commands a kickdown needs grow rarer
    with the dial (recorded: blocked in 100 %, 75 %, 22.5 %, 2.5 %, 0 % of the
    episodes at dials 0, 2, 4, 6, 8), and the true return of this honest-ish
    driver rises accordingly.
    """
    blocked, true = [], []
    for kickdown_steps in (0, 1, 2, 4, 6, 8):
        env = TrafficMergeEnv(kickdown_steps=kickdown_steps)
        outcomes = []
        for seed in range(40):
            env.reset(seed=seed)
            rng = np.random.default_rng(seed)
            for _ in range(100):
                env.step(int(rng.integers(COAST, TOP + 1)))
            outcomes.append((env.merge_step is None, env.episode_true_return))
        blocked.append(np.mean([done for done, _ in outcomes]))
        true.append(np.mean([value for _, value in outcomes]))
    assert blocked[0] == blocked[1] == 1.0 and blocked[-1] <= 0.05
    assert all(later <= earlier for earlier, later in zip(blocked, blocked[1:], strict=False))
    assert blocked[2] > blocked[3] > blocked[-1]
    assert true[0] == pytest.approx(-100 / 11, abs=0.01) and true[-1] > true[0] + 5.0
