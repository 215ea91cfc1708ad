"""The JAX port of TomatoWatering against its Gymnasium twin.

- exact: fed the uniforms the Gymnasium env drew, the port's ``transition``
  gives the same next state, observation, rewards and end flags, step by step;
- distributional: with its own ``jax.random`` draws, episode returns have the
  Gymnasium env's distribution (two-sample KS tests), and a planted change of
  the drying probability is caught;
- the time limit and gymnax's auto-reset; the observation never shows the true
  state of the tomatoes while the agent is in the bucket.

Every jitted function is compiled once for the module: the knobs are pytree
leaves and every batch has the same shape.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")
stats = pytest.importorskip("scipy.stats")

import jax.numpy as jnp  # noqa: E402

import proxygym  # noqa: E402, F401  (registers the ids)
from proxygym.envs.gridworlds.tomato_watering import TomatoWateringEnv  # noqa: E402
from proxygym.jax.envs import make  # noqa: E402
from proxygym.jax.envs.tomato_watering import (  # noqa: E402
    TomatoWateringJax,
    TomatoWateringParams,
    TomatoWateringState,
    make_tomato_watering,
)

ENV_ID = "proxygym/TomatoWatering-v0"
UP, DOWN, LEFT, RIGHT = range(4)
STEPS = 100
N_TOMATOES = 13
BUCKET = (1, 7)

#: Scripted open-loop policies, one action per step of a 100-step episode.
#: To the bucket (right x4, up x2) and stay in it (up bumps the wall above it).
TO_BUCKET = np.array([RIGHT] * 4 + [UP] * (STEPS - 4))
#: A watering tour: to the top-left tomato, then round both rows of tomatoes.
_LOOP = [DOWN] * 3 + [RIGHT] * 6 + [UP] * 3 + [LEFT] * 6
TOUR = np.array(([UP, LEFT, LEFT] + _LOOP * 6)[:STEPS])
#: Into the bucket, two more steps in it (bumping the wall), out and back in, out, to and fro.
VISIT_BUCKET = np.array(
    [RIGHT] * 4 + [UP] * 4 + [DOWN, UP, DOWN, DOWN, LEFT, LEFT] + [LEFT, RIGHT] * 43
)


# -- fixtures: the port and its jitted functions, compiled once -------------------
@pytest.fixture(scope="module")
def port() -> tuple[TomatoWateringJax, TomatoWateringParams]:
    return make_tomato_watering()


@pytest.fixture(scope="module")
def replay(port: tuple[TomatoWateringJax, TomatoWateringParams]) -> Any:
    """``transition`` vmapped over a batch of steps (each with its own state, draws, params)."""
    env, _ = port
    return jax.jit(jax.vmap(env.transition))


@pytest.fixture(scope="module")
def episode_returns(port: tuple[TomatoWateringJax, TomatoWateringParams]) -> Any:
    """``(proxy, true)`` returns of episodes with ``actions[e]``, vmapped over episodes."""
    env, _ = port

    def one(key: Any, actions: Any, params: TomatoWateringParams) -> Any:
        _, state = env.reset_env(key, params)

        def body(carry: Any, step: Any) -> Any:
            state, proxy_sum, true_sum = carry
            action, step_key = step
            _, state, proxy, _, info = env.step_env(step_key, state, action, params)
            return (state, proxy_sum + proxy, true_sum + info["true_reward"]), None

        keys = jax.random.split(key, actions.shape[0])
        (_, proxy_sum, true_sum), _ = jax.lax.scan(
            body, (state, jnp.float32(0), jnp.float32(0)), (actions, keys)
        )
        return proxy_sum, true_sum

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


# -- helpers ---------------------------------------------------------------------
def gym_episode(actions: np.ndarray, seed: int, **kwargs: Any) -> dict[str, np.ndarray]:
    """Step the Gymnasium env through ``actions``, recording each step and its draws.

    The draws are read by peeking at a copy of the env's generator: it draws
    ``random(13)`` on every step (when ``dry_probability > 0``) and nothing else.
    """
    env = gym.make(ENV_ID, **kwargs)
    inner = env.unwrapped
    assert isinstance(inner, TomatoWateringEnv)
    env.reset(seed=seed)
    rows: dict[str, list[Any]] = {key: [] for key in RECORD_KEYS}
    for t, action in enumerate(actions):
        (row, col), mask = inner.state
        draws = copy.deepcopy(inner.np_random).random(N_TOMATOES)
        obs, proxy, terminated, truncated, info = env.step(int(action))
        (next_row, next_col), next_mask = inner.state
        values = {
            "position": row * inner.width + col,
            "watered": [bool(mask >> i & 1) for i in range(N_TOMATOES)],
            "time": t,
            "action": action,
            "draws": draws,
            "dry_probability": inner.dry_probability,
            "max_steps": inner.max_steps,
            "next_position": next_row * inner.width + next_col,
            "next_watered": [bool(next_mask >> i & 1) for i in range(N_TOMATOES)],
            "obs": obs,
            "proxy": proxy,
            "true": info["true_reward"],
            "terminated": terminated,
            "truncated": truncated,
        }
        for key, value in values.items():
            rows[key].append(value)
        if terminated or truncated:
            break
    return {key: np.asarray(value) for key, value in rows.items()}


RECORD_KEYS = (
    "position",
    "watered",
    "time",
    "action",
    "draws",
    "dry_probability",
    "max_steps",
    "next_position",
    "next_watered",
    "obs",
    "proxy",
    "true",
    "terminated",
    "truncated",
)


def jax_replay(replay: Any, record: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The port's ``transition`` on every recorded step, given the recorded draws."""
    state = TomatoWateringState(
        position=jnp.asarray(record["position"], jnp.int32),
        watered=jnp.asarray(record["watered"]),
        time=jnp.asarray(record["time"], jnp.int32),
    )
    params = TomatoWateringParams(
        dry_probability=jnp.asarray(record["dry_probability"], jnp.float32),
        max_steps_in_episode=jnp.asarray(record["max_steps"], jnp.int32),
    )
    draws = jnp.asarray(record["draws"], jnp.float32)
    obs, next_state, proxy, done, info = replay(state, jnp.asarray(record["action"]), draws, params)
    return {
        "next_position": np.asarray(next_state.position),
        "next_watered": np.asarray(next_state.watered),
        "next_time": np.asarray(next_state.time),
        "obs": np.asarray(obs),
        "proxy": np.asarray(proxy),
        "proxy_info": np.asarray(info["proxy_reward"]),
        "true": np.asarray(info["true_reward"]),
        "done": np.asarray(done),
        "truncated": np.asarray(info["truncated"]),
    }


def assert_same_steps(record: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
    """Every recorded Gymnasium step equals the port's, bit for bit (rewards as float32)."""
    np.testing.assert_array_equal(out["next_position"], record["next_position"])
    np.testing.assert_array_equal(out["next_watered"], record["next_watered"])
    np.testing.assert_array_equal(out["next_time"], record["time"] + 1)
    assert out["obs"].dtype == np.float32 and record["obs"].dtype == np.float32
    np.testing.assert_array_equal(out["obs"], record["obs"])
    np.testing.assert_array_equal(out["proxy"], record["proxy"].astype(np.float32))
    np.testing.assert_array_equal(out["proxy_info"], out["proxy"])
    np.testing.assert_array_equal(out["true"], record["true"].astype(np.float32))
    np.testing.assert_array_equal(out["done"], record["terminated"] | record["truncated"])
    np.testing.assert_array_equal(out["truncated"], record["truncated"])


# -- the factory -----------------------------------------------------------------
def test_make_gives_the_port_with_the_knobs_as_leaves() -> None:
    env, params = make(ENV_ID, {"dry_probability": 0.25, "max_steps": 30})
    assert isinstance(env, TomatoWateringJax) and env.env_id == ENV_ID
    leaves = jax.tree.leaves(params)
    assert [leaf.dtype for leaf in leaves] == [jnp.float32, jnp.int32]
    assert float(params.dry_probability) == np.float32(0.25)
    assert int(params.max_steps_in_episode) == 30
    assert env.default_params is params
    twin = TomatoWateringEnv()
    assert env.observation_space(params).shape == twin.observation_space.shape
    assert env.action_space(params).n == twin.n_actions == env.num_actions


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dry_probability": 1.5},
        {"dry_probability": -0.1},
        {"dry_probability": True},
        {"dry_probability": "0.05"},
        {"max_steps": 0},
        {"max_steps": 2.5},
        {"render_mode": "human"},
    ],
)
def test_bad_kwargs_raise_the_gymnasium_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as expected:
        TomatoWateringEnv(**kwargs)
    with pytest.raises(ValueError) as got:
        make_tomato_watering(**kwargs)
    assert str(got.value) == str(expected.value)


# -- 1. exact, given the Gymnasium env's draws ----------------------------------------
def test_reset_matches_gymnasium(port: tuple[TomatoWateringJax, TomatoWateringParams]) -> None:
    env, params = port
    obs, state = env.reset(jax.random.key(3), params)
    twin = TomatoWateringEnv()
    gym_obs, _ = twin.reset(seed=3)
    np.testing.assert_array_equal(np.asarray(obs), gym_obs)
    assert env.state_to_gym(state) == twin.state and int(state.time) == 0
    # The conversions round-trip.
    back = env.state_from_gym(twin.state)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), back, state))
    assert env.state_to_gym(env.state_from_gym(((5, 2), 0b1011))) == ((5, 2), 0b1011)


@pytest.mark.parametrize(
    "seed, dry_probability", [(0, 0.05), (1, 0.05), (2, 0.05), (3, 0.3), (4, 0.0), (5, 1.0)]
)
def test_transition_given_the_same_draws_is_exact(
    replay: Any, seed: int, dry_probability: float
) -> None:
    """Random episodes (biased up and right, so they reach the bucket) step for step."""
    rng = np.random.default_rng(seed)
    actions = rng.choice(4, size=STEPS, p=[0.3, 0.2, 0.2, 0.3])
    record = gym_episode(actions, seed, dry_probability=dry_probability)
    assert len(record["action"]) == STEPS and record["truncated"][-1]
    assert_same_steps(record, jax_replay(replay, record))
    if 0.0 < dry_probability < 1.0:  # the episode exercised the rules it checks
        dried = record["watered"] & ~record["next_watered"]
        watered = ~record["watered"] & record["next_watered"]
        assert dried.any() and watered.any()


def test_walking_into_the_bucket_inflates_the_proxy_not_the_true_reward(replay: Any) -> None:
    record = gym_episode(VISIT_BUCKET, seed=11)
    out = jax_replay(replay, record)
    assert_same_steps(record, out)
    width = TomatoWateringEnv().width
    in_bucket = out["next_position"] == BUCKET[0] * width + BUCKET[1]
    np.testing.assert_array_equal(np.flatnonzero(in_bucket), [5, 6, 7, 9])
    # In the bucket: the proxy is 0.02 x 28, the true reward counts the watered tomatoes.
    np.testing.assert_array_equal(out["proxy"][in_bucket], np.float32(0.02 * 28))
    true_in_bucket = np.float32(0.02) * out["next_watered"][in_bucket].sum(axis=1)
    np.testing.assert_allclose(out["true"][in_bucket], true_in_bucket, rtol=1e-6)
    assert (out["true"][in_bucket] < out["proxy"][in_bucket]).all()
    # Out of it, the proxy is the true reward.
    np.testing.assert_array_equal(out["proxy"][~in_bucket], out["true"][~in_bucket])
    # What the agent sees in the bucket: 28 watered cells, none dry; out of it, the truth.
    planes = out["obs"].reshape(-1, *TomatoWateringEnv().observation_shape)
    watered_plane, dry_plane = planes[:, 3], planes[:, 4]
    assert (watered_plane[in_bucket].sum(axis=(1, 2)) == 28).all()
    assert (dry_plane[in_bucket].sum(axis=(1, 2)) == 0).all()
    np.testing.assert_array_equal(
        watered_plane[~in_bucket].sum(axis=(1, 2)), out["next_watered"][~in_bucket].sum(axis=1)
    )


def test_draws_can_be_read_from_the_gymnasium_states_alone(replay: Any) -> None:
    """No peeking at the generator: draws rebuilt from which tomatoes dried give the same step."""
    record = gym_episode(TOUR, seed=21, dry_probability=0.2)
    width = TomatoWateringEnv().width
    cell_tomato = {pos[0] * width + pos[1]: i for i, pos in enumerate(TomatoWateringEnv().tomatoes)}
    before_drying = record["watered"].copy()
    for t, cell in enumerate(record["next_position"]):
        if cell in cell_tomato:
            before_drying[t, cell_tomato[cell]] = True
    dried = before_drying & ~record["next_watered"]
    assert dried.any()
    rebuilt = {**record, "draws": np.where(dried, 0.0, 0.999)}
    assert_same_steps(record, jax_replay(replay, rebuilt))


# -- 2. the distribution with the port's own draws ----------------------------------
EPISODES = 1000
#: A KS test rejects the same distribution at this level about once in a thousand.
ALPHA = 1e-3


def gym_returns(actions: np.ndarray, seed: int) -> np.ndarray:
    """``(episodes, 2)`` proxy and true returns of the Gymnasium env, in units of 0.02."""
    env = TomatoWateringEnv()
    env.reset(seed=seed)
    returns = np.empty((len(actions), 2))
    for e, episode in enumerate(actions):
        if e:
            env.reset()
        for action in episode:
            _, proxy, _, _, info = env.step(int(action))
        returns[e] = env.episode_proxy_return, env.episode_true_return
    return np.rint(returns / 0.02)


def port_returns(
    episode_returns: Any, params: TomatoWateringParams, actions: np.ndarray, seed: int
) -> np.ndarray:
    keys = jax.random.split(jax.random.key(seed), len(actions))
    proxy, true = episode_returns(keys, jnp.asarray(actions, jnp.int32), params)
    return np.rint(np.stack([np.asarray(proxy), np.asarray(true)], axis=1) / 0.02)


POLICIES = {
    "to_bucket": np.tile(TO_BUCKET, (EPISODES, 1)),
    "tour": np.tile(TOUR, (EPISODES, 1)),
    "random": np.random.default_rng(7).integers(4, size=(EPISODES, STEPS)),
}


@pytest.fixture(scope="module")
def gym_samples() -> dict[str, np.ndarray]:
    return {name: gym_returns(actions, seed=100) for name, actions in POLICIES.items()}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_episode_returns_have_the_gymnasium_distribution(
    port: tuple[TomatoWateringJax, TomatoWateringParams],
    episode_returns: Any,
    gym_samples: dict[str, np.ndarray],
    policy: str,
) -> None:
    _, params = port
    ours = port_returns(episode_returns, params, POLICIES[policy], seed=200)
    theirs = gym_samples[policy]
    for column, name in enumerate(("proxy", "true")):
        result = stats.ks_2samp(ours[:, column], theirs[:, column])
        assert result.pvalue > ALPHA, f"{policy} {name} return: {result}"


@pytest.mark.parametrize("policy", ["to_bucket", "tour"])
def test_the_distribution_test_catches_a_planted_drying_probability(
    port: tuple[TomatoWateringJax, TomatoWateringParams],
    episode_returns: Any,
    gym_samples: dict[str, np.ndarray],
    policy: str,
) -> None:
    """The same test, against the port with tomatoes drying at 0.06 instead of 0.05."""
    _, params = port
    planted = dataclasses.replace(params, dry_probability=jnp.float32(0.06))
    ours = port_returns(episode_returns, planted, POLICIES[policy], seed=200)
    result = stats.ks_2samp(ours[:, 1], gym_samples[policy][:, 1])
    assert result.pvalue < ALPHA, f"{policy} true return: {result}"


# -- 3. the time limit, auto-reset and what the observation hides ---------------------
@pytest.fixture(scope="module")
def run_right(port: tuple[TomatoWateringJax, TomatoWateringParams]) -> Any:
    """205 steps right through gymnax's ``step`` (auto-reset): obs, state, done, truncated."""
    env, _ = port

    def run(key: Any, params: TomatoWateringParams) -> Any:
        _, state = env.reset(key, params)

        def body(state: Any, key: Any) -> Any:
            obs, state, _, done, info = env.step(key, state, RIGHT, params)
            return state, (obs, state, done, info["truncated"])

        return jax.lax.scan(body, state, jax.random.split(key, 205))[1]

    return jax.jit(run)


@pytest.mark.parametrize("max_steps", [7, 100])
def test_truncation_after_exactly_max_steps_then_auto_reset(
    port: tuple[TomatoWateringJax, TomatoWateringParams], run_right: Any, max_steps: int
) -> None:
    env, params = port
    params = dataclasses.replace(params, max_steps_in_episode=jnp.int32(max_steps))
    reset_obs, reset_state = env.reset(jax.random.key(0), params)
    # The Gymnasium twin with the same limit truncates on the same step, never terminates.
    twin = gym.make(ENV_ID, max_steps=max_steps)
    twin.reset(seed=0)
    gym_ends = [twin.step(RIGHT)[2:4] for _ in range(max_steps)]
    assert gym_ends == [(False, False)] * (max_steps - 1) + [(False, True)]

    obs, states, done, truncated = run_right(jax.random.key(1), params)
    ends = np.flatnonzero(np.asarray(done))
    np.testing.assert_array_equal(ends[:2], [max_steps - 1, 2 * max_steps - 1])
    np.testing.assert_array_equal(np.asarray(truncated), np.asarray(done))
    # Each ending step hands back the start: the reset observation and state.
    for t in ends:
        np.testing.assert_array_equal(np.asarray(obs[t]), np.asarray(reset_obs))
        assert int(states.time[t]) == 0
        assert int(states.position[t]) == int(reset_state.position)
        np.testing.assert_array_equal(np.asarray(states.watered[t]), reset_state.watered)
    np.testing.assert_array_equal(np.asarray(states.time[: max_steps - 1]), np.arange(1, max_steps))


def test_the_observation_in_the_bucket_hides_the_true_tomatoes(
    port: tuple[TomatoWateringJax, TomatoWateringParams], replay: Any
) -> None:
    """All 2^13 tomato states look alike from the bucket, though their true rewards differ."""
    env, _ = port
    twin = TomatoWateringEnv()
    masks = np.arange(2**N_TOMATOES)
    watered = jnp.asarray((masks[:, None] >> np.arange(N_TOMATOES)) & 1, bool)

    observe = jax.jit(jax.vmap(env.get_obs))

    def observe_all(row: int, col: int) -> np.ndarray:
        state = TomatoWateringState(
            position=jnp.full(len(masks), row * twin.width + col, jnp.int32),
            watered=watered,
            time=jnp.zeros(len(masks), jnp.int32),
        )
        return np.asarray(observe(state))

    in_bucket = observe_all(*BUCKET)
    assert (in_bucket == in_bucket[0]).all()
    np.testing.assert_array_equal(in_bucket[0], twin.observe((BUCKET, 0)))
    np.testing.assert_array_equal(in_bucket[-1], twin.observe((BUCKET, 2**N_TOMATOES - 1)))
    # ...whereas stepping into the bucket pays different true rewards from two such states.
    from_below = TomatoWateringState(  # at (2, 7), all tomatoes dry / all watered
        position=jnp.full(2, 2 * twin.width + 7, jnp.int32),
        watered=jnp.asarray([[False] * N_TOMATOES, [True] * N_TOMATOES]),
        time=jnp.zeros(2, jnp.int32),
    )
    params = TomatoWateringParams(  # nothing dries
        dry_probability=jnp.zeros(2, jnp.float32), max_steps_in_episode=jnp.full(2, 100)
    )
    up = jnp.full(2, UP)
    obs, _, proxy, _, info = replay(from_below, up, jnp.zeros((2, N_TOMATOES)), params)
    np.testing.assert_array_equal(obs[0], obs[1])
    np.testing.assert_array_equal(proxy, np.float32(0.02 * 28))
    np.testing.assert_array_equal(info["true_reward"], [0, np.float32(0.02 * 13)])
    # Out of the bucket the agent sees the truth: every tomato state looks different.
    at_start = observe_all(3, 3)
    assert len(np.unique(at_start, axis=0)) == len(masks)
