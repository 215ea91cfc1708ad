"""The JAX port of TrafficMerge against its Gymnasium twin.

- exact (float32 against the float64 Gymnasium code, rtol 1e-5 / atol 1e-5;
  discrete outcomes exactly): the IDM and the cruise control on a grid, the
  ballistic update, the collision guard on crowded roads, the merge rule and
  the insertion of the ramp car, the rewards at every misspecification the
  repository uses, the start given Gymnasium's draws, and whole steps from
  Gymnasium states fed the Gymnasium env's observation noise, without the
  merge assist (dial 0) and with it (the kickdown count and the assist's
  braking included);
- distributional: with its own ``jax.random`` draws, the first observation and
  the episode returns (proxy and true) of three scripted policies over 1,000
  episodes each have the Gymnasium env's distributions (two-sample KS tests),
  and planted changes of the start are caught;
- the time limit and gymnax's auto-reset, the observation never showing the
  true reward, params of two knob settings stacked and vmapped.

Every jitted function is compiled once for the module per dial setting (the
dial is static: it sets the observation's size): the knobs are pytree leaves
and every batch is padded to one shape. The rollouts run at the default dial.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import signal
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
stats = pytest.importorskip("scipy.stats")

import jax.numpy as jnp  # noqa: E402
from gymnasium.utils import seeding  # noqa: E402

from proxygym.envs.simulators.traffic_merge import (  # noqa: E402
    CAR_LENGTH,
    CRUISE,
    DEFAULT_KICKDOWN_STEPS,
    GUARD_SPACE,
    HUMAN,
    IDM_SPEED,
    N_MAIN,
    RING_LENGTH,
    START_SPEED,
    TrafficMergeEnv,
    drive,
    idm_acceleration,
    let_merge_policy,
)
from proxygym.jax.envs import make  # noqa: E402
from proxygym.jax.envs import traffic_merge as port  # noqa: E402
from proxygym.jax.envs.traffic_merge import (  # noqa: E402
    MAX_CARS,
    TrafficMergeJax,
    TrafficMergeParams,
    TrafficMergeState,
    make_traffic_merge,
)

ENV_ID = "proxygym/TrafficMerge-v0"
TOL: dict[str, Any] = {"rtol": 1e-5, "atol": 1e-5}
#: Every misspecification the repository uses (tests, configs, the knob surface's 0-8).
MISSPECIFICATIONS = (0.0, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 20.0)
#: Steps fed to the vmapped ``deterministic_step`` are padded to this many (one compilation).
STEP_BATCH = 1024
#: Episodes per policy in the distribution tests, and their length.
EPISODES = 1000
HORIZON = 100
#: Significance level of the two-sample tests.
ALPHA = 1e-3
#: A hand-made crowded start on which Gymnasium's ``_hold_back`` loops forever (on step 1
#: the guard sets a car 0.5 m behind its leader and ``lead - ((lead - 5) - 0.5) - 5`` rounds
#: to just under 0.5 again, so every pass "changes" it).
LOOPING_START = {
    "positions": [
        -48.055640825820774,
        -42.555640825820774,
        -37.055640825820774,
        -31.555640825820774,
        -26.055640825820774,
        -20.555640825820774,
        22.562426198927,
        69.41523375648777,
        85.00213404346437,
        124.06675036752472,
    ],
    "speeds": [
        10.81947246512696,
        0.0,
        1.9252006518760267,
        4.90195808122521,
        17.81525762208433,
        0.0,
        1.590538886744406,
        4.894603465631004,
        0.0,
        7.699804142639389,
    ],
}


# -- helpers ---------------------------------------------------------------------------------------
def padded(values: Any, fill: float = 0.0) -> np.ndarray:
    """A car list padded to MAX_CARS slots."""
    values = np.asarray(values, np.float64)
    return np.concatenate([values, np.full(MAX_CARS - len(values), fill)])


def stack(trees: list[Any]) -> Any:
    """States or params stacked along a new first axis (numpy leaves: quick for many)."""
    return jax.tree.map(lambda *leaves: np.stack([np.asarray(leaf) for leaf in leaves]), *trees)


def round_to_float32(env: TrafficMergeEnv) -> None:
    """Round the Gymnasium env's positions and speeds to float32 values (in place).

    Both implementations then start the step from the same numbers, and what
    differs is only float32 arithmetic against float64 (positions of a few
    hundred metres are otherwise 3e-5 m apart before anything is computed).
    """
    env._positions = np.float32(env._positions).astype(float).tolist()
    env._speeds = np.float32(env._speeds).astype(float).tolist()


def gym_state(env: TrafficMergeEnv) -> TrafficMergeState:
    """The JAX state (numpy leaves) of a Gymnasium env's current state."""
    state = env.state
    assert state.controlled == 0  # the port keeps the controlled car in slot 0
    leaves: dict[str, Any] = {
        "positions": padded(state.positions).astype(np.float32),
        "speeds": padded(state.speeds).astype(np.float32),
        "ramp_waiting": np.bool_(state.ramp_waiting),
        "merge_step": np.int32(-1 if env.merge_step is None else env.merge_step),
        "time": np.int32(env.elapsed_steps),
        "kickdown": np.int32(state.kickdown),
    }
    return TrafficMergeState(**leaves)


def last_noise(env: TrafficMergeEnv) -> np.ndarray:
    """The six standard normals the Gymnasium env's last observation drew (zeros if none)."""
    if env.observation_noise == 0:
        return np.zeros(6, np.float32)
    return np.asarray(env._noise[env._noise_next - 1], np.float32)


@pytest.fixture
def no_endless_loops() -> Iterator[None]:
    """Fail a test whose Gymnasium code runs for 20 s instead of hanging (SIGALRM)."""

    def timeout(*_: Any) -> None:
        raise AssertionError("the Gymnasium code did not finish (an endless _hold_back?)")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 20.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def hold_back_until_still(
    self: TrafficMergeEnv, positions: list[float], speeds: list[float]
) -> None:
    """Gymnasium's ``_hold_back`` with one change: a pass that moves no car ends the loop.

    (The original counts a car set to the position it already has as a change.)
    """
    n = len(positions)
    changed = True
    while changed:
        changed = False
        for k in range(n - 1, -1, -1):
            lead = k + 1 if k + 1 < n else 0
            lead_x = positions[lead] + (RING_LENGTH if lead == 0 else 0.0)
            if lead_x - positions[k] - CAR_LENGTH < GUARD_SPACE:
                new = (lead_x - CAR_LENGTH - GUARD_SPACE, min(speeds[k], speeds[lead]))
                changed = changed or new != (positions[k], speeds[k])
                positions[k], speeds[k] = new


# -- fixtures: the port and its jitted functions, compiled once ------------------------------------
@pytest.fixture(scope="module")
def default() -> tuple[TrafficMergeJax, TrafficMergeParams]:
    return make_traffic_merge()


@pytest.fixture(scope="module")
def run_steps() -> Callable[..., tuple[np.ndarray, ...]]:
    """``deterministic_step`` vmapped over steps (each with its own state, action, noise, params).

    Batches are padded to STEP_BATCH, so it compiles once; returns numpy arrays
    ``(obs, state, proxy, true, truncated)`` of the given steps.
    """
    step = jax.jit(jax.vmap(port.deterministic_step))

    def run(
        states: TrafficMergeState, actions: Any, noises: Any, params: TrafficMergeParams
    ) -> tuple[Any, ...]:
        n = len(np.asarray(actions))
        assert n <= STEP_BATCH

        def pad(leaf: Any) -> np.ndarray:  # in numpy: no compilation per shape
            leaf = np.asarray(leaf)
            return np.concatenate([leaf, np.repeat(leaf[:1], STEP_BATCH - n, axis=0)])

        out = step(*jax.tree.map(pad, (states, np.asarray(actions, np.int32), noises, params)))
        return jax.tree.map(lambda leaf: np.asarray(leaf)[:n], out)

    return run


@pytest.fixture(scope="module")
def rollout(
    default: tuple[TrafficMergeJax, TrafficMergeParams],
) -> Callable[..., dict[str, np.ndarray]]:
    """EPISODES environments stepped HORIZON times by gymnax's ``step`` (auto-reset).

    ``rollout(key, schedule, closed_loop, params, plant=0)``: the actions are
    ``schedule[t]`` (open loop) or, if ``closed_loop``, the let-merge policy of
    the observation. ``plant`` (tests of the tests) changes the start: 1
    doubles the spread of the initial speeds (+-1 m/s instead of +-0.5), 2
    starts every car 1 m/s faster.
    """
    env, _ = default
    accelerations = jnp.asarray(port.commands(5))

    def let_merge(obs: Any) -> Any:
        speed = obs[0] * IDM_SPEED
        distance = obs[1] * RING_LENGTH
        approaching = (obs[6] > 0.5) & (10.0 < distance) & (distance < 90.0)
        target = jnp.sqrt(jnp.maximum(2.0 * 1.5 * (distance - 10.0), 0.0))
        closest = jnp.argmin(jnp.abs(accelerations - (target - speed) / 0.5))
        return jnp.where(approaching, closest, 4)

    def start(key: Any, params: TrafficMergeParams, plant: Any) -> Any:
        obs, state = env.reset_env(key, params)
        cars = jnp.arange(MAX_CARS) < N_MAIN
        speeds = jnp.where(plant == 1, START_SPEED + 2.0 * (state.speeds - START_SPEED), 0.0)
        speeds = jnp.where(plant == 2, state.speeds + 1.0, speeds)
        planted = dataclasses.replace(state, speeds=jnp.where(cars, speeds, 0.0))
        planted_obs = port.observe(
            planted,
            port.sample_draws(jax.random.fold_in(key, 1)),
            params.observation_noise,
            params.kickdown_steps,
        )
        keep = plant == 0
        return jnp.where(keep, obs, planted_obs), jax.tree.map(
            lambda a, b: jnp.where(keep, a, b), state, planted
        )

    # The rollout is only sampled from, so LLVM's cheaper optimisation level will do: it
    # halves the compilation (about 6 s of CPU time to 3.5) and runs as fast here.
    @functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 1})
    def run(
        key: Any,
        schedule: Any,
        closed_loop: Any,
        params: TrafficMergeParams,
        plant: Any,
    ) -> dict[str, Any]:
        reset_key, step_key = jax.random.split(key)
        obs, state = jax.vmap(start, in_axes=(0, None, None))(
            jax.random.split(reset_key, EPISODES), params, plant
        )

        def body(carry: Any, t: Any) -> Any:
            obs, state = carry
            actions = jnp.where(closed_loop, jax.vmap(let_merge)(obs), schedule[t])
            keys = jax.random.split(jax.random.fold_in(step_key, t), EPISODES)
            obs, state, reward, done, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                keys, state, actions, params
            )
            record = {
                "proxy": reward,
                "true": info["true_reward"],
                "info_proxy": info["proxy_reward"],
                "done": done,
                "truncated": info["truncated"],
                "obs": obs,
                "time": state.time,
                "waiting": state.ramp_waiting,
                "merge_step": state.merge_step,
                "first_space": state.positions[:, 1] - state.positions[:, 0] - CAR_LENGTH,
            }
            return (obs, state), record

        _, records = jax.lax.scan(body, (obs, state), jnp.arange(HORIZON))
        records["initial_obs"] = obs
        return records

    def call(
        key: int,
        schedule: Any,
        closed_loop: bool,
        params: TrafficMergeParams,
        plant: int = 0,
    ) -> dict[str, np.ndarray]:
        assert len(schedule) >= HORIZON
        out = run(
            jax.random.PRNGKey(key),
            jnp.asarray(schedule[:HORIZON], jnp.int32),
            jnp.asarray(closed_loop),
            params,
            jnp.int32(plant),
        )
        return {name: np.asarray(value) for name, value in out.items()}

    return call


# -- the API ---------------------------------------------------------------------------------------
def test_make_gives_the_port_with_the_gymnasium_defaults() -> None:
    env, params = make(ENV_ID, {"misspecification": 8, "observation_noise": 0.25})
    assert isinstance(env, TrafficMergeJax) and env.name == ENV_ID
    assert env.default_params is params and env.num_actions == 5
    assert float(params.misspecification) == 8.0 and float(params.observation_noise) == 0.25
    assert int(params.max_steps_in_episode) == 100 and params.action_bins == 5
    assert params.kickdown_steps == TrafficMergeEnv().kickdown_steps == DEFAULT_KICKDOWN_STEPS > 0
    assert env.action_space(params).n == 5
    space = env.observation_space(params)
    assert space.shape == (8,) and space.dtype == jnp.float32  # with the kickdown reading
    assert (float(space.low), float(space.high)) == (-1.0, 2.0)
    env, params = make(ENV_ID, {"kickdown_steps": 0})
    assert params.kickdown_steps == 0 and env.observation_space(params).shape == (7,)
    _, params = make_traffic_merge(action_bins=17, max_steps=7)
    assert params.action_bins == 17 and int(params.max_steps_in_episode) == 7
    for bins in range(2, 18):
        np.testing.assert_array_equal(
            port.commands(bins), TrafficMergeEnv(action_bins=bins).accelerations.astype(np.float32)
        )
    with pytest.raises(TypeError):
        make_traffic_merge(lanes=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"misspecification": -1.0},
        {"misspecification": math.nan},
        {"misspecification": "high"},
        {"observation_noise": -0.1},
        {"observation_noise": math.inf},
        {"action_bins": 1},
        {"action_bins": 4.0},
        {"action_bins": True},
        {"kickdown_steps": -1},
        {"kickdown_steps": 1.5},
        {"max_steps": 0},
        {"render_mode": "human"},
    ],
)
def test_bad_kwargs_raise_the_gymnasium_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as expected:
        TrafficMergeEnv(**kwargs)
    message = str(expected.value)
    assert "\n" not in message and next(iter(kwargs)) in message
    with pytest.raises(ValueError) as got:
        make_traffic_merge(**kwargs)
    assert str(got.value) == message


# -- exact: the deterministic pieces ---------------------------------------------------------------
@pytest.mark.parametrize("driver", ["human", "cruise"])
def test_idm_and_cruise_control_match_on_a_grid(driver: str) -> None:
    speeds, spaces, leader_speeds = np.meshgrid(
        np.linspace(0.0, 20.0, 21),
        np.concatenate([[0.5, 0.8, 1.0, 2.0, 3.5, 5.0], np.geomspace(7.0, 300.0, 14)]),
        np.linspace(0.0, 20.0, 21),
        indexing="ij",
    )
    params = HUMAN if driver == "human" else CRUISE
    expected = np.vectorize(lambda v, s, u: idm_acceleration(v, s, u, params))(
        speeds, spaces, leader_speeds
    )
    if driver == "human":
        got = jax.jit(port.idm_acceleration)(
            *(jnp.asarray(a, jnp.float32) for a in (speeds, spaces, leader_speeds))
        )
    else:
        got = jax.jit(port.cruise_control)(
            *(jnp.asarray(a, jnp.float32) for a in (speeds, spaces, leader_speeds))
        )
    np.testing.assert_allclose(np.asarray(got), expected, **TOL)
    assert expected.min() < -1e4 and expected.max() > 0.9  # hard braking and free road


def test_ballistic_update_matches() -> None:
    positions, speeds, accelerations = np.meshgrid(
        np.array([-3.5, 0.0, 123.25, 517.0]),
        np.linspace(0.0, 20.0, 9),
        np.concatenate([[-5e4, -40.0, -7.5], np.linspace(-3.0, 3.0, 13)]),
        indexing="ij",
    )
    expected = np.vectorize(drive)(positions, speeds, accelerations)
    got = jax.jit(port.drive)(
        *(jnp.asarray(a, jnp.float32) for a in (positions, speeds, accelerations))
    )
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e, **TOL)
    assert (expected[1] == 0).any() and (expected[1] > 0).any()  # cars that stop within the step


def crowded_road(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in ring order, some cars overlapping or too close) and speeds of n cars.

    The spaces are rotated at random, so that the crowd is as often at the end
    of the car list (the last car's leader is car 0, a lap ahead) as anywhere.
    """
    while True:
        spaces = np.where(rng.random(n) < 0.4, rng.uniform(-4, 0.5, n), rng.uniform(0.5, 30, n))
        spaces[-1] = RING_LENGTH - CAR_LENGTH * n - spaces[:-1].sum()
        if spaces[-1] > -4:
            break
    spaces = np.roll(spaces, rng.integers(n))
    positions = rng.uniform(0, 600) + np.concatenate([[0], np.cumsum(spaces[:-1] + CAR_LENGTH)])
    return positions, rng.uniform(0, 20, n)


def test_collision_guard_matches_on_crowded_roads(no_endless_loops: None) -> None:
    """The port's guard against Gymnasium's ``_hold_back``, 10 and 11 cars."""
    rng = np.random.default_rng(7)
    env = TrafficMergeEnv()
    cases = []
    for trial in range(600):
        n = N_MAIN if trial % 2 else MAX_CARS
        positions, speeds = crowded_road(rng, n)
        held_x, held_v = positions.tolist(), speeds.tolist()
        env._hold_back(held_x, held_v)
        cases.append((n, positions, speeds, np.array(held_x), np.array(held_v)))
    n_cars = np.array([case[0] for case in cases])
    got_x, got_v = jax.jit(jax.vmap(port.hold_back))(
        jnp.asarray(np.stack([padded(case[1]) for case in cases]), jnp.float32),
        jnp.asarray(np.stack([padded(case[2]) for case in cases]), jnp.float32),
        jnp.asarray(n_cars),
    )
    got_x, got_v = np.asarray(got_x), np.asarray(got_v)
    held = round_the_end = 0
    for k, (n, positions, _, held_x, held_v) in enumerate(cases):
        np.testing.assert_allclose(got_x[k, :n], held_x, **TOL)
        np.testing.assert_array_equal(got_x[k, n:], 0.0)  # padding comes back as it went in
        # Speeds are mins of the given ones: equal to Gymnasium's rounded to float32, exactly.
        np.testing.assert_array_equal(got_v[k, :n], held_v.astype(np.float32))
        # Who is held back is the same.
        np.testing.assert_array_equal(
            got_x[k, :n] != positions.astype(np.float32), held_x != positions
        )
        held += int((held_x != positions).sum())
        round_the_end += bool(held_x[-1] != positions[-1] and held_x[0] != positions[0])
        spaces = np.diff(np.append(got_x[k, :n], got_x[k, 0] + RING_LENGTH)) - CAR_LENGTH
        assert spaces.min() >= GUARD_SPACE - 1e-4
    assert held > 2000 and round_the_end > 50  # chains of held cars, some round the end


def test_collision_guard_ends_where_gymnasium_loops_forever(
    run_steps: Callable[..., tuple[Any, ...]],
    default: tuple[TrafficMergeJax, TrafficMergeParams],
    monkeypatch: pytest.MonkeyPatch,
    no_endless_loops: None,
) -> None:
    """A step from LOOPING_START ends, and matches a Gymnasium guard that stops when still."""
    _, params = default
    env = TrafficMergeEnv()
    env.reset(options=LOOPING_START)
    state = port.state_from_traffic(LOOPING_START["positions"], LOOPING_START["speeds"])
    jax.tree.map(np.testing.assert_array_equal, state, gym_state(env))
    interventions = []

    def counting(self: TrafficMergeEnv, positions: list[float], speeds: list[float]) -> None:
        before = list(positions)
        hold_back_until_still(self, positions, speeds)
        interventions.append(sum(a != b for a, b in zip(before, positions, strict=True)))

    monkeypatch.setattr(TrafficMergeEnv, "_hold_back", counting)
    obs, proxy, _, _, info = env.step(2)
    assert interventions[0] > 0
    # The quirk: a car the guard set 0.5 m behind its leader still reads as too close, so
    # the original loop, which counts setting it again as a change, would never end.
    x = env.state.positions
    n = len(x)
    assert n == MAX_CARS  # the guard opened a gap at the merge point: the ramp car is in
    too_close = [
        x[(k + 1) % n] + (RING_LENGTH if k == n - 1 else 0.0) - x[k] - CAR_LENGTH < GUARD_SPACE
        for k in range(n)
    ]
    assert any(too_close)
    got_obs, got, got_proxy, got_true, _ = run_steps(
        stack([state]), [2], np.zeros((1, 6), np.float32), stack([params])
    )
    assert not got.ramp_waiting[0] and got.merge_step[0] == env.merge_step == 1
    np.testing.assert_allclose(got.positions[0], env.state.positions, **TOL)
    np.testing.assert_allclose(got.speeds[0], env.state.speeds, **TOL)
    np.testing.assert_allclose(got_obs[0], obs, **TOL)
    np.testing.assert_allclose([got_proxy[0], got_true[0]], [proxy, info["true_reward"]], **TOL)


def random_road(rng: np.random.Generator) -> dict[str, list[float]]:
    """Reset options: ten cars with random spaces (some gaps wide enough to merge into)."""
    spaces = 0.5 + rng.dirichlet(np.full(N_MAIN, 0.7)) * (RING_LENGTH - 5.5 * N_MAIN)
    positions = rng.uniform(-300, 700) + np.concatenate([[0], np.cumsum(spaces[:-1] + 5)])
    speeds = np.where(rng.random(N_MAIN) < 0.2, 0.0, rng.uniform(0, 20, N_MAIN))
    return {
        "positions": positions.astype(np.float32).astype(float).tolist(),
        "speeds": speeds.astype(np.float32).astype(float).tolist(),
    }


def test_merge_rule_and_insertion_match() -> None:
    """The gap at the merge point, the rule, and the road with the ramp car inserted."""
    rng = np.random.default_rng(3)
    env = TrafficMergeEnv()
    roads = [random_road(rng) for _ in range(400)]  # float32 numbers, as the port reads them
    # The rule at its edge (Gymnasium's own test): 10 m/s behind needs 27 m, and 4 m ahead.
    for behind, ahead in ((27.0, 4.0), (26.5, 4.0), (27.0, 3.5), (27.0, 9.0)):
        positions = [-CAR_LENGTH - behind]
        positions += [CAR_LENGTH + ahead + 22.0 * k for k in range(N_MAIN - 1)]
        roads.append({"positions": positions, "speeds": [10.0] + [0.0] * (N_MAIN - 1)})
    expected_gaps, allowed, merged = [], [], []
    for road in roads:
        env.reset(options=road)
        expected_gaps.append(env.merge_gap())
        allowed.append(env.merge_allowed())
        env._merge()
        merged.append((env.state.positions, env.state.speeds, env._merged))
    road_x = jnp.asarray(np.stack([padded(r["positions"]) for r in roads]), jnp.float32)
    road_v = jnp.asarray(np.stack([padded(r["speeds"]) for r in roads]), jnp.float32)

    @jax.jit
    @jax.vmap
    def gap_rule_merge(x: Any, v: Any) -> Any:
        ahead, behind, speed, follower = port.merge_gap(x, v)
        return (
            ahead,
            behind,
            speed,
            port.merge_allowed(ahead, behind, speed),
            port.merge(x, v, follower),
        )

    ahead, behind, speed, got_allowed, (got_x, got_v) = jax.tree.map(
        np.asarray, gap_rule_merge(road_x, road_v)
    )
    np.testing.assert_allclose(np.stack([ahead, behind, speed], 1), expected_gaps, **TOL)
    np.testing.assert_array_equal(got_allowed, allowed)
    assert 20 < sum(allowed) < len(roads) - 20
    assert list(got_allowed[-4:]) == [True, False, False, True]
    for k, (x, v, at) in enumerate(merged):
        np.testing.assert_allclose(got_x[k], x, **TOL)
        np.testing.assert_array_equal(got_v[k], np.float32(v))
        wrapped = got_x[k, at] % RING_LENGTH  # the ramp car stands at the merge point
        assert got_v[k, at] == 0.0 and min(wrapped, RING_LENGTH - wrapped) < 1e-3


@pytest.mark.parametrize("ramp_waiting", [True, False])
def test_rewards_match_at_every_misspecification(ramp_waiting: bool) -> None:
    rng = np.random.default_rng(int(ramp_waiting))
    n = N_MAIN if ramp_waiting else MAX_CARS
    speeds = rng.uniform(0, 20, (200, n)) * (rng.random((200, n)) > 0.1)  # some stopped cars
    speeds[0] = 0.0
    speeds[1] = IDM_SPEED
    env = TrafficMergeEnv()
    env.reset(seed=0)
    env._ramp_waiting = ramp_waiting
    expected = []
    for m in MISSPECIFICATIONS:
        env.misspecification = m
        for row in speeds:
            env._speeds = row.tolist()
            expected.append(env.rewards())
    rewards = jax.jit(jax.vmap(port.rewards, in_axes=(0, None, 0)))
    all_speeds = np.tile(np.stack([padded(row, fill=7.0) for row in speeds]), (8, 1))
    knob = np.repeat(np.asarray(MISSPECIFICATIONS, np.float32), len(speeds))
    proxy, true = rewards(jnp.asarray(all_speeds, jnp.float32), jnp.asarray(ramp_waiting), knob)
    np.testing.assert_allclose(np.stack([proxy, true], 1), expected, **TOL)
    # At misspecification 0 the proxy is the true reward, bit for bit.
    np.testing.assert_array_equal(np.asarray(proxy)[knob == 0], np.asarray(true)[knob == 0])


def test_start_matches_given_the_gymnasium_draws() -> None:
    """``initial_state`` and ``observe`` fed the uniforms and normals of ``reset(seed=...)``."""
    env = TrafficMergeEnv(observation_noise=0.3)
    starts, jitters, noises, expected_states, expected_obs = [], [], [], [], []
    for seed in range(40):
        obs, _ = env.reset(seed=seed)
        rng, _ = seeding.np_random(seed)
        starts.append(rng.uniform(0.0, RING_LENGTH))
        jitters.append(rng.uniform(-1.0, 1.0, (2, N_MAIN)))
        noises.append(last_noise(env))
        expected_states.append(env.state)
        expected_obs.append(obs)

    @jax.jit
    @jax.vmap
    def start(start: Any, jitter: Any, noise: Any) -> Any:
        state = port.initial_state(start, jitter)
        return state, port.observe(state, noise, jnp.float32(0.3), env.kickdown_steps)

    state, obs = start(
        jnp.asarray(starts, jnp.float32), jnp.asarray(jitters, jnp.float32), jnp.asarray(noises)
    )
    for k, expected in enumerate(expected_states):
        np.testing.assert_allclose(
            np.asarray(state.positions[k, :N_MAIN]), expected.positions, **TOL
        )
        np.testing.assert_allclose(np.asarray(state.speeds[k, :N_MAIN]), expected.speeds, **TOL)
    np.testing.assert_allclose(np.asarray(obs), np.stack(expected_obs), **TOL)
    assert np.asarray(state.ramp_waiting).all() and (np.asarray(state.time) == 0).all()
    assert (np.asarray(state.merge_step) == -1).all() and (np.asarray(state.kickdown) == 0).all()


# -- exact: whole steps from Gymnasium states ------------------------------------------------------
#: Action probabilities of the replayed episodes: mostly braking and idling, so that gaps
#: open and the ramp car merges without an assist. With one, the action is held for a
#: while (STICKY) so that kickdowns happen, and the assist also opens gaps.
REPLAY_ACTIONS = [0.3, 0.2, 0.2, 0.1, 0.2]
STICKY = 0.7


@pytest.mark.parametrize("kickdown_steps", [0, 1, 4])
def test_steps_match_gymnasium_given_its_noise(
    kickdown_steps: int, run_steps: Callable[..., tuple[Any, ...]], no_endless_loops: None
) -> None:
    """Eight seeded Gymnasium episodes (random actions, every misspecification, noise on and off).

    Each step is replayed from the Gymnasium state before it with the noise the
    Gymnasium env drew; everything after it must match, the kickdown count and
    the merge assist included.
    """
    states, actions, noises, params, expected = [], [], [], [], []
    sticky = STICKY if kickdown_steps else 0.0
    for episode, m in enumerate(MISSPECIFICATIONS):
        noise = 0.2 if episode % 2 else 0.0
        kwargs = {"misspecification": m, "observation_noise": noise}
        env = TrafficMergeEnv(kickdown_steps=kickdown_steps, **kwargs)
        _, episode_params = make_traffic_merge(kickdown_steps=kickdown_steps, **kwargs)
        rng = np.random.default_rng(episode)
        env.reset(seed=100 + episode)
        done = False
        action = 0
        while not done:
            round_to_float32(env)
            states.append(gym_state(env))
            if rng.random() >= sticky:
                action = int(rng.choice(5, p=REPLAY_ACTIONS))
            obs, proxy, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            actions.append(action)
            noises.append(last_noise(env))
            params.append(episode_params)
            expected.append(
                (env.state, env.merge_step, obs, proxy, info["true_reward"], terminated, truncated)
            )
    obs, state, proxy, true, truncated = run_steps(
        stack(states), actions, np.stack(noises), stack(params)
    )
    merges = switched_off = 0
    for k, (after, merge_step, e_obs, e_proxy, e_true, e_terminated, e_truncated) in enumerate(
        expected
    ):
        n = len(after.positions)
        assert state.kickdown[k] == after.kickdown
        switched_off += bool(kickdown_steps) and after.kickdown == kickdown_steps
        assert bool(state.ramp_waiting[k]) == after.ramp_waiting
        assert state.merge_step[k] == (-1 if merge_step is None else merge_step)
        assert state.time[k] == states[k].time + 1
        assert bool(truncated[k]) == (e_truncated or e_terminated) and not e_terminated
        merges += bool(states[k].ramp_waiting) and not after.ramp_waiting
        # Positions are kept within a lap (Gymnasium's grow): compare modulo whole laps.
        laps = np.round((after.positions[0] - state.positions[k, 0]) / RING_LENGTH)
        np.testing.assert_allclose(
            state.positions[k, :n] + laps * RING_LENGTH, after.positions, **TOL
        )
        spaces = np.diff(np.append(after.positions, after.positions[0] + RING_LENGTH))
        got_spaces = np.diff(np.append(state.positions[k, :n], state.positions[k, 0] + RING_LENGTH))
        np.testing.assert_allclose(got_spaces, spaces, rtol=0, atol=1e-4)
        assert 0.0 <= state.positions[k, 0] < RING_LENGTH + 1.0
        np.testing.assert_array_equal(state.positions[k, n:], 0.0)
        np.testing.assert_allclose(state.speeds[k, :n], after.speeds, **TOL)
        np.testing.assert_allclose(obs[k], e_obs, **TOL)
        np.testing.assert_allclose([proxy[k], true[k]], [e_proxy, e_true], **TOL)
    assert len(expected) == 800 and merges >= 4  # the ramp car merged in most episodes
    # With an assist, the kickdown switched it off on some steps and not on others.
    assert (switched_off > 20 and switched_off < 700) if kickdown_steps else switched_off == 0


def test_stacked_params_of_two_misspecifications_vmap(
    run_steps: Callable[..., tuple[Any, ...]],
) -> None:
    """One state stepped under m = 0 and m = 8 at once: same dynamics, obs and true reward."""
    env = TrafficMergeEnv()
    env.reset(seed=11)
    round_to_float32(env)
    state = gym_state(env)
    params = stack([make_traffic_merge(misspecification=m)[1] for m in (0.0, 8.0)])
    assert params.misspecification.shape == (2,) and params.action_bins == 5
    obs, after, proxy, true, _ = run_steps(
        stack([state, state]), [1, 1], np.zeros((2, 6), np.float32), params
    )
    np.testing.assert_array_equal(obs[0], obs[1])
    np.testing.assert_array_equal(after.positions[0], after.positions[1])
    assert true[0] == true[1] == proxy[0] and proxy[1] > 0.5  # m = 0: the proxy is the true reward
    for m, expected in ((0.0, proxy[0]), (8.0, proxy[1])):
        gym_env = TrafficMergeEnv(misspecification=m)
        gym_env.reset(seed=11)
        round_to_float32(gym_env)
        assert gym_env.step(1)[1] == pytest.approx(expected, rel=1e-5, abs=1e-5)


# -- distributional: the randomness ----------------------------------------------------------------
#: Scripted policies: (open-loop schedule or None for the let-merge policy, observation noise,
#: episode length). Let-merge reads noisy observations, so its returns depend on the noise.
POLICIES: dict[str, tuple[list[int] | None, float, int]] = {
    "brake": ([0] * HORIZON, 0.0, HORIZON),  # always full braking
    "cycle": ([4, 4, 4, 4, 0, 0, 0, 0] * 13, 0.0, HORIZON),  # 2 s throttle, 2 s brake
    "let_merge": (None, 0.1, 50),  # closed loop, noisy sensors, 25 s episodes
}


@pytest.fixture(scope="module")
def gym_samples() -> dict[str, dict[str, np.ndarray]]:
    """First observations and returns of EPISODES Gymnasium episodes per policy (seeds 0-999)."""
    samples = {}
    accelerations = np.linspace(-3.0, 3.0, 5)
    for name, (schedule, noise, steps) in POLICIES.items():
        env = TrafficMergeEnv(observation_noise=noise, max_steps=steps)
        first, proxy, true = [], [], []
        for seed in range(EPISODES):
            obs, _ = env.reset(seed=seed)
            first.append(obs)
            for t in range(steps):
                action = let_merge_policy(obs, accelerations) if schedule is None else schedule[t]
                obs, *_ = env.step(action)
            proxy.append(env.episode_proxy_return)
            true.append(env.episode_true_return)
        samples[name] = {
            "initial_obs": np.stack(first),
            "proxy": np.array(proxy),
            "true": np.array(true),
        }
    return samples


def jax_samples(
    rollout: Callable[..., dict[str, np.ndarray]], name: str, key: int, plant: int = 0
) -> dict[str, np.ndarray]:
    """First observations and returns of the port's EPISODES episodes of policy ``name``."""
    schedule, noise, steps = POLICIES[name]
    _, params = make_traffic_merge(observation_noise=noise, max_steps=steps)
    out = rollout(key, schedule or [0] * HORIZON, schedule is None, params, plant)
    assert out["done"][steps - 1].all() and not out["done"][: steps - 1].any()
    return {
        "initial_obs": out["initial_obs"],
        # Summed in float64, as the Gymnasium env sums its float rewards.
        "proxy": out["proxy"][:steps].astype(np.float64).sum(0),
        "true": out["true"][:steps].astype(np.float64).sum(0),
    }


def p_values(gym: dict[str, np.ndarray], port_: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sample KS p-values: both returns and the six readings of the first observation."""
    values = {kind: stats.ks_2samp(gym[kind], port_[kind]).pvalue for kind in ("proxy", "true")}
    for reading in range(6):
        values[f"obs[{reading}]"] = stats.ks_2samp(
            gym["initial_obs"][:, reading], port_["initial_obs"][:, reading]
        ).pvalue
    return values


@pytest.mark.parametrize("name", list(POLICIES))
def test_returns_and_first_observations_have_the_gymnasium_distribution(
    name: str,
    gym_samples: dict[str, dict[str, np.ndarray]],
    rollout: Callable[..., dict[str, np.ndarray]],
) -> None:
    gym, ours = gym_samples[name], jax_samples(rollout, name, key=list(POLICIES).index(name))
    assert len(gym["proxy"]) == len(ours["proxy"]) == EPISODES
    assert np.unique(gym["proxy"]).size > EPISODES // 2  # a continuous distribution to compare
    values = p_values(gym, ours)
    assert min(values.values()) > ALPHA, values
    # The means agree to a few standard errors as well.
    for kind in ("proxy", "true"):
        error = np.hypot(gym[kind].std(), ours[kind].std()) / math.sqrt(EPISODES)
        assert abs(gym[kind].mean() - ours[kind].mean()) < 5 * error + 1e-9


@pytest.mark.parametrize(
    ("plant", "caught_by"),
    [(1, ("obs[0]", "true")), (2, ("proxy", "true"))],
    ids=["wider-speeds", "faster-speeds"],
)
def test_the_distribution_test_catches_a_planted_change(
    plant: int,
    caught_by: tuple[str, ...],
    gym_samples: dict[str, dict[str, np.ndarray]],
    rollout: Callable[..., dict[str, np.ndarray]],
) -> None:
    """Initial speeds spread +-1 m/s (plant 1) or 1 m/s faster (plant 2): p < ALPHA.

    Both show in the returns of the braking policy, not only in the first
    observation (p about 2e-4 for plant 1's true return, below 1e-10 for
    plant 2's proxy and true returns; above 0.1 for every statistic unplanted).
    """
    values = p_values(gym_samples["brake"], jax_samples(rollout, "brake", key=0, plant=plant))
    for kind in caught_by:
        assert values[kind] < ALPHA, values


# -- the episode: time limit, auto-reset, what the agent sees --------------------------------------
def test_truncation_after_max_steps_and_auto_reset(
    rollout: Callable[..., dict[str, np.ndarray]],
) -> None:
    _, params = make_traffic_merge(max_steps=7)
    out = rollout(5, [3, 0, 1] * 34, False, params)
    steps = np.arange(1, HORIZON + 1)[:, None]
    expected_done = np.broadcast_to(steps % 7 == 0, out["done"].shape)
    np.testing.assert_array_equal(out["done"], expected_done)
    np.testing.assert_array_equal(out["truncated"], out["done"])  # never terminated: the limit
    # After the last step of an episode the environment starts the next one.
    np.testing.assert_array_equal(out["time"], np.broadcast_to(steps % 7, out["time"].shape))
    done = out["done"]
    assert out["waiting"][done].all() and (out["merge_step"][done] == -1).all()
    assert (out["obs"][done][:, 6] == 1.0).all()
    assert (np.abs(out["first_space"][done] - (RING_LENGTH / N_MAIN - CAR_LENGTH)) < 2.0).all()
    # And the Gymnasium env truncates on the same step.
    env = TrafficMergeEnv(max_steps=7)
    env.reset(seed=0)
    assert [env.step(0)[3] for _ in range(7)] == [False] * 6 + [True]


def test_the_observation_never_shows_the_true_reward(
    rollout: Callable[..., dict[str, np.ndarray]],
) -> None:
    """Observations do not depend on the misspecification and never hold the true reward."""
    observed = {}
    for m in (0.0, 8.0):
        _, params = make_traffic_merge(misspecification=m, observation_noise=0.05)
        out = rollout(9, [1, 4, 0, 2] * 25, False, params)
        np.testing.assert_array_equal(out["info_proxy"], out["proxy"])
        observed[m] = out
    np.testing.assert_array_equal(observed[0.0]["obs"], observed[8.0]["obs"])
    np.testing.assert_array_equal(observed[0.0]["true"], observed[8.0]["true"])
    np.testing.assert_array_equal(observed[0.0]["proxy"], observed[0.0]["true"])
    out = observed[8.0]
    assert out["obs"].shape == (HORIZON, EPISODES, 8) and out["obs"].dtype == np.float32
    assert (out["obs"] >= -1).all() and (out["obs"] <= 2).all()
    assert not (out["obs"] == out["true"][..., None]).any()
    assert not (out["obs"] == out["proxy"][..., None]).any()
