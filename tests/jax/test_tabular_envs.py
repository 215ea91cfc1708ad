"""The compiled tabular environments are their Gymnasium twins, step for step.

Every step the Gymnasium environment takes is replayed in JAX from the same
state with the same action: observations, both rewards and both end flags
must be equal (exactly, in float32). Each environment's step is jitted once
(``_twin`` caches it) and run on all recorded steps in one vmapped call.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

import pytest

jax = pytest.importorskip("jax")

import gymnasium as gym  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

import proxygym  # noqa: E402, F401  (registers the ids)
from proxygym.envs.goodhart.option_picking import Offers  # noqa: E402
from proxygym.envs.gridworlds.absent_supervisor import AbsentSupervisorEnv  # noqa: E402
from proxygym.jax.envs import UnsupportedEnvError  # noqa: E402
from proxygym.jax.envs.base import TrueReward  # noqa: E402
from proxygym.jax.envs.tabular import (  # noqa: E402
    TabularJaxEnv,
    TabularParams,
    TabularState,
    compile_tabular,
    params_from_model,
    stack_params,
)
from proxygym.model import ModelEnv, TabularModel, exact_model, model_reason  # noqa: E402

#: (name, kwargs) of every environment with an exact model, at default and non-default
#: knobs: the deterministic ones (K = 1), then OptionPicking (K = 4 random outcomes).
DETERMINISTIC: list[tuple[str, dict[str, Any]]] = [
    ("BoatRace", {}),
    ("AbsentSupervisor", {}),
    ("AbsentSupervisor", {"supervisor": True}),
    ("AbsentSupervisor", {"supervisor": False}),
    ("RocksDiamonds", {"level": 1}),
    ("IslandNavigation", {}),
    ("ConveyorBelt", {}),
    ("ConveyorBelt", {"variant": "sushi_goal"}),
    ("SideEffectsSokoban", {}),
    ("SpeedTrack", {}),
    ("SpeedTrack", {"harshness": 0.0}),
    ("SpeedTrack", {"harshness": 1.5}),
    ("SpeedTrack", {"turbo_charge": 8}),
    ("StatusLamp", {}),
    ("StatusLamp", {"lever_strength": 0.0}),
    ("StatusLamp", {"lever_strength": 1.0, "lever_distance": 0}),
    ("CobraBounty", {}),
    ("CobraBounty", {"breeding_rate": 0.0}),
    ("CobraBounty", {"breeding_rate": 2.0}),
    ("LagoonRace", {}),
    ("LagoonRace", {"target_value": 0.0}),
    ("LagoonRace", {"target_value": 3.0}),
]
STOCHASTIC: list[tuple[str, dict[str, Any]]] = [
    ("OptionPicking", {}),
    ("OptionPicking", {"noise": 0.0}),
    ("OptionPicking", {"noise": 1.0}),
]


def case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, kwargs = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def env_id(name: str) -> str:
    return f"proxygym/{name}-v0"


def model_key(state: Any) -> Any:
    """The model's state object for a Gymnasium state (OptionPicking's is what it shows)."""
    return state.displayed if isinstance(state, Offers) else state


class Twin(NamedTuple):
    env: TabularJaxEnv
    params: TabularParams
    model: TabularModel
    index: dict[Any, int]
    step: Any  # _STEPS[name]


#: One jitted, vmapped ``step_env(keys, states, actions, params)`` per environment name.
#: Knob levels differ only in params, so the first level's env steps every level's
#: params (as after :func:`stack_params`) and same-shaped levels reuse its compiled code.
_STEPS: dict[str, Any] = {}


@functools.cache
def _twin(name: str, frozen_kwargs: tuple[tuple[str, Any], ...]) -> Twin:
    kwargs = dict(frozen_kwargs)
    env, params = compile_tabular(env_id(name), kwargs)
    model = exact_model(gym.make(env_id(name), **kwargs))
    assert model is not None
    step = _STEPS.setdefault(name, jax.jit(jax.vmap(env.step_env, in_axes=(0, 0, 0, None))))
    return Twin(env, params, model, model.index, step)


def twin(name: str, kwargs: dict[str, Any]) -> Twin:
    return _twin(name, tuple(sorted(kwargs.items())))


class Played(NamedTuple):
    """Every step of some Gymnasium episodes, and the state each started in."""

    index: np.ndarray
    time: np.ndarray
    action: np.ndarray
    next_index: np.ndarray
    obs: np.ndarray
    proxy: np.ndarray
    true: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    reset_index: np.ndarray
    reset_obs: np.ndarray


def play(name: str, kwargs: dict[str, Any], index: dict[Any, int], episodes: int) -> Played:
    """Random-action episodes of the Gymnasium environment, seeded."""
    env = gym.make(env_id(name), **kwargs)
    rng = np.random.default_rng(0)
    rows: list[tuple[Any, ...]] = []
    resets: list[tuple[int, np.ndarray]] = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        resets.append((index[model_key(env.unwrapped.state)], obs))
        done = False
        while not done:
            s, t = index[model_key(env.unwrapped.state)], env.unwrapped.elapsed_steps
            action = int(rng.integers(env.action_space.n))
            obs, proxy, terminated, truncated, info = env.step(action)
            s_next = index[model_key(env.unwrapped.state)]
            true = info["true_reward"]
            rows.append((s, t, action, s_next, obs, proxy, true, terminated, truncated))
            done = terminated or truncated
    columns = [np.array(column) for column in zip(*rows, strict=True)]
    return Played(
        *columns,
        reset_index=np.array([i for i, _ in resets]),
        reset_obs=np.array([o for _, o in resets]),
    )


def replay(twin: Twin, played: Played, seed: int = 0) -> tuple[Any, ...]:
    """The JAX env stepped from every recorded state with the recorded action.

    The batch is padded to a power of two (repeating the first step) so
    episodes of different lengths reuse one compilation.
    """
    n = len(played.action)
    rows = np.concatenate([np.arange(n), np.zeros(pow2(n) - n, int)])
    states = TabularState(
        index=jnp.asarray(played.index[rows]), time=jnp.asarray(played.time[rows])
    )
    keys = jax.random.split(jax.random.key(seed), len(rows))
    obs, next_state, proxy, done, info = twin.step(
        keys, states, jnp.asarray(played.action[rows]), twin.params
    )
    out = (obs, next_state.index, next_state.time, proxy, done, info["true_reward"])
    return tuple(np.asarray(x)[:n] for x in (*out, info["truncated"]))


def pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


# -- 1. equivalence with the Gymnasium twin ---------------------------------
@pytest.mark.parametrize("case", DETERMINISTIC, ids=case_id)
def test_deterministic_steps_equal_gymnasium(case: tuple[str, dict[str, Any]]) -> None:
    name, kwargs = case
    t = twin(name, kwargs)
    assert t.params.probs.shape[2] == 1
    played = play(name, kwargs, t.index, episodes=6)
    obs, next_index, time, proxy, done, true, truncated = replay(t, played)

    assert obs.dtype == np.float32
    np.testing.assert_array_equal(obs, played.obs)
    np.testing.assert_array_equal(next_index, played.next_index)
    np.testing.assert_array_equal(time, played.time + 1)
    np.testing.assert_array_equal(proxy, played.proxy.astype(np.float32))
    np.testing.assert_array_equal(true, played.true.astype(np.float32))
    np.testing.assert_array_equal(done, played.terminated | played.truncated)
    np.testing.assert_array_equal(truncated, played.truncated)
    # Every reset state is a possible initial state, observed as Gymnasium shows it.
    initial = np.asarray(t.params.initial)
    assert (initial[played.reset_index] > 0).all()
    np.testing.assert_array_equal(
        np.asarray(t.params.observations)[played.reset_index], played.reset_obs
    )


@pytest.mark.parametrize(
    "case",
    DETERMINISTIC + STOCHASTIC,
    ids=case_id,
)
def test_spaces_and_time_limit_are_gymnasium_s(case: tuple[str, dict[str, Any]]) -> None:
    name, kwargs = case
    gym_env = gym.make(env_id(name), **kwargs)
    t = twin(name, kwargs)
    space = t.env.observation_space(t.params)
    np.testing.assert_array_equal(np.asarray(space.low), gym_env.observation_space.low)
    np.testing.assert_array_equal(np.asarray(space.high), gym_env.observation_space.high)
    assert space.shape == gym_env.observation_space.shape
    assert t.env.action_space(t.params).n == gym_env.action_space.n == t.env.num_actions
    # The time limit is the model's horizon: the game's max_steps, or the length of
    # every episode when all of them end earlier (OptionPicking: 1).
    assert int(t.params.max_steps_in_episode) == t.model.horizon
    if not t.model.terminal.all():
        assert t.model.horizon == gym_env.unwrapped.max_steps
    assert t.env.default_params is t.params
    assert t.env.env_id == t.env.name == env_id(name)


@pytest.mark.parametrize("case", STOCHASTIC, ids=case_id)
def test_option_picking_outcomes_are_model_outcomes(case: tuple[str, dict[str, Any]]) -> None:
    name, kwargs = case
    t = twin(name, kwargs)
    assert t.params.probs.shape[2] == 4
    assert int(t.params.max_steps_in_episode) == 1
    played = play(name, kwargs, t.index, episodes=200)
    probs, proxy, true = (
        np.asarray(x) for x in (t.params.probs, t.params.proxy_rewards, t.params.true_rewards)
    )
    s, a = played.index, played.action
    # Gymnasium's outcome is one the model gives positive probability.
    possible = (
        (probs[s, a] > 0)
        & (proxy[s, a] == played.proxy[:, None].astype(np.float32))
        & (true[s, a] == played.true[:, None].astype(np.float32))
    )
    assert possible.any(axis=1).all()
    np.testing.assert_array_equal(played.terminated, True)
    np.testing.assert_array_equal(
        np.asarray(t.params.observations)[played.reset_index], played.reset_obs
    )
    # JAX's outcomes are model outcomes too, and the episode ends after one step.
    obs, next_index, _, jax_proxy, done, jax_true, truncated = replay(t, played)
    np.testing.assert_array_equal(obs, played.obs)
    np.testing.assert_array_equal(next_index, played.next_index)
    assert done.all() and not truncated.any()
    drawn = (
        (probs[s, a] > 0) & (proxy[s, a] == jax_proxy[:, None]) & (true[s, a] == jax_true[:, None])
    )
    assert drawn.any(axis=1).all()


def test_option_picking_outcome_frequencies_match_probs() -> None:
    t = twin("OptionPicking", {"dial": 0})  # the original offers: a posterior with all four values
    probs = np.asarray(t.params.probs)
    # Picking the hyped offer 1 where its posterior is the most uneven with all four
    # true values possible (about 0.07, 0.17, 0.31, 0.45), so a sampler that is
    # slightly off is told apart.
    pick = probs[:, 1]
    s = int(np.argmax((pick > 0).all(axis=1) * np.ptp(pick, axis=1)))
    expected = pick[s].astype(np.float64)
    assert (expected > 0.05).all() and np.ptp(expected) > 0.3
    # Batches of 256, the size test_option_picking_outcomes_are_model_outcomes compiled.
    batch, batches = 256, 80
    n = batch * batches
    states = TabularState(index=jnp.full(batch, s), time=jnp.zeros(batch, jnp.int32))
    actions = jnp.ones(batch, jnp.int32)
    drawn = [
        t.step(jax.random.split(jax.random.key(i), batch), states, actions, t.params)[4]
        for i in range(batches)
    ]
    # The K outcomes of a pick are its true values 0..3, so the true reward names the outcome.
    true_values = np.asarray(t.params.true_rewards)[s, 1]
    outcome = np.searchsorted(true_values, np.concatenate([d["true_reward"] for d in drawn]))
    counts = np.bincount(outcome, minlength=len(expected))
    assert counts[expected == 0].sum() == 0
    positive = expected > 0
    result = stats.chisquare(counts[positive], n * expected[positive] / expected[positive].sum())
    assert result.pvalue > 1e-4, (counts, n * expected)


# -- 2. reset distribution ---------------------------------------------------
@functools.partial(jax.jit, static_argnums=(0, 2))
def reset_indices(env: TabularJaxEnv, params: TabularParams, n: int, seed: int) -> jax.Array:
    """The initial state indices of ``n`` resets."""
    keys = jax.random.split(jax.random.key(seed), n)
    return jax.vmap(env.reset_env, in_axes=(0, None))(keys, params)[1].index


def test_absent_supervisor_reset_draws_initial_distribution() -> None:
    t = twin("AbsentSupervisor", {})
    initial = np.asarray(t.params.initial)
    support = np.flatnonzero(initial)
    assert len(support) == 2 and np.allclose(initial[support], 0.5)
    supervised = {i for i, (_, present) in enumerate(t.model.states) if present}
    assert {int(i) in supervised for i in support} == {True, False}
    n = 10_000
    indices = np.asarray(reset_indices(t.env, t.params, n, 3))
    assert set(np.unique(indices)) <= set(support.tolist())
    hits = int((indices == support[0]).sum())
    assert stats.binomtest(hits, n, 0.5).pvalue > 1e-4, hits


def test_option_picking_reset_draws_initial_distribution() -> None:
    t = twin("OptionPicking", {})
    initial = np.asarray(t.params.initial, np.float64)
    n = 20_000
    indices = np.asarray(reset_indices(t.env, t.params, n, 5))
    assert (initial[indices] > 0).all()
    # The display of the hyped offer 1: its marginal under `initial` against the draws.
    shown = np.asarray(t.params.observations)[:, 1]
    values = np.unique(shown)
    expected = np.array([initial[shown == v].sum() for v in values])
    counts = np.array([(shown[indices] == v).sum() for v in values])
    result = stats.chisquare(counts, n * expected / expected.sum())
    assert result.pvalue > 1e-4, (counts, n * expected)


# -- 3. auto-reset, truncation, episode returns --------------------------------
def scan_rollout(env: TabularJaxEnv, params: TabularParams, actions: np.ndarray) -> dict[str, Any]:
    """gymnax ``env.step`` (auto-resetting) over ``actions`` in one ``lax.scan``."""

    @jax.jit
    def run(params: TabularParams, actions: jax.Array, key: jax.Array) -> Any:
        reset_key, key = jax.random.split(key)
        obs, state = env.reset(reset_key, params)

        def body(state: TabularState, xs: Any) -> Any:
            action, step_key = xs
            obs, state, reward, done, info = env.step(step_key, state, action, params)
            return state, (obs, state.time, reward, done, info)

        keys = jax.random.split(key, len(actions))
        return obs, jax.lax.scan(body, state, (actions, keys))[1]

    first_obs, (obs, time, reward, done, info) = run(
        params, jnp.asarray(actions), jax.random.key(0)
    )
    return {
        "first_obs": np.asarray(first_obs),
        "obs": np.asarray(obs),
        "time": np.asarray(time),
        "proxy": np.asarray(reward),
        "true": np.asarray(info["true_reward"]),
        "done": np.asarray(done),
        "truncated": np.asarray(info["truncated"]),
    }


def gymnasium_rollout(name: str, kwargs: dict[str, Any], actions: np.ndarray) -> dict[str, Any]:
    """The same actions in the Gymnasium environment, reset whenever an episode ends."""
    env = gym.make(env_id(name), **kwargs)
    first_obs, _ = env.reset(seed=0)
    out: dict[str, list[Any]] = {k: [] for k in ("proxy", "true", "done", "truncated", "ends")}
    for action in actions:
        _, proxy, terminated, truncated, info = env.step(int(action))
        out["proxy"].append(proxy)
        out["true"].append(info["true_reward"])
        out["done"].append(terminated or truncated)
        out["truncated"].append(truncated)
        if terminated or truncated:
            out["ends"].append((info["episode_proxy_return"], info["episode_true_return"]))
            env.reset()
    return {"first_obs": first_obs, **{k: np.array(v) for k, v in out.items()}}


ROLLOUTS = [
    # Clockwise laps that never end the game: truncated after exactly 100 steps, twice.
    ("BoatRace", {}, np.tile([3, 3, 1, 1, 2, 2, 0, 0], 32)),
    # With a 4-step limit: the goal on the 4th step (terminated, not truncated), 4 bumps
    # into the top wall (truncated), the short cut through P in 3 steps (terminated).
    (
        "AbsentSupervisor",
        {"supervisor": False, "max_steps": 4},
        np.tile([0, 1, 1, 1] + [0] * 4 + [1] * 3, 5),
    ),
]


@pytest.mark.parametrize("name, kwargs, actions", ROLLOUTS, ids=["BoatRace", "AbsentSupervisor"])
def test_scan_rollout_auto_resets_and_truncates_like_gymnasium(
    name: str, kwargs: dict[str, Any], actions: np.ndarray
) -> None:
    t = twin(name, kwargs)
    jx = scan_rollout(t.env, t.params, actions)
    gm = gymnasium_rollout(name, kwargs, actions)
    np.testing.assert_array_equal(jx["first_obs"], gm["first_obs"])
    for key in ("proxy", "true"):
        np.testing.assert_array_equal(jx[key], gm[key].astype(np.float32))
    for key in ("done", "truncated"):
        np.testing.assert_array_equal(jx[key], gm[key])
    ends = np.flatnonzero(jx["done"])
    lengths = np.diff(np.concatenate([[-1], ends]))
    if name == "BoatRace":
        np.testing.assert_array_equal(ends, [99, 199])
        assert jx["truncated"][ends].all()
    else:
        np.testing.assert_array_equal(lengths, [4, 4, 3] * 5)
        np.testing.assert_array_equal(jx["truncated"][ends], [False, True, False] * 5)
    # Auto-reset: the state after an episode's last step is a fresh one.
    np.testing.assert_array_equal(jx["time"][ends], 0)
    np.testing.assert_array_equal(
        jx["obs"][ends], np.broadcast_to(gm["first_obs"], jx["obs"][ends].shape)
    )
    # Episode returns summed from JAX's stream equal Gymnasium's episode_*_return.
    starts = np.concatenate([[0], ends[:-1] + 1])
    returns = [
        (float(jx["proxy"][a : b + 1].sum()), float(jx["true"][a : b + 1].sum()))
        for a, b in zip(starts, ends, strict=True)
    ]
    assert returns == [tuple(end) for end in gm["ends"].tolist()]
    if name == "BoatRace":
        assert returns[0] == (50.0, 100.0)


def test_time_limit_is_the_shorter_of_the_game_s_and_the_registered_one() -> None:
    _, short = compile_tabular(env_id("BoatRace"), {"max_steps": 30})
    _, long = compile_tabular(env_id("BoatRace"), {"max_steps": 200})
    assert int(short.max_steps_in_episode) == 30
    # gym.make's TimeLimit (100 steps) ends the Gymnasium episode before the game's 200.
    gym_env = gym.make(env_id("BoatRace"), max_steps=200)
    gym_env.reset(seed=0)
    steps = [gym_env.step(0)[3] for _ in range(100)]
    assert steps.index(True) == 99
    assert int(long.max_steps_in_episode) == 100


# -- 4. the true reward never reaches the observations ---------------------------
def test_observations_do_not_depend_on_true_reward(monkeypatch: pytest.MonkeyPatch) -> None:
    honest = twin("AbsentSupervisor", {}).params
    rules = AbsentSupervisorEnv._next

    def scrambled_true(self: AbsentSupervisorEnv, state: Any, action: int) -> Any:
        next_state, proxy, true, terminated = rules(self, state, action)
        return next_state, proxy, 7.0 * true + 11.0 * action + 3.0, terminated

    monkeypatch.setattr(AbsentSupervisorEnv, "_next", scrambled_true)
    _, scrambled = compile_tabular(env_id("AbsentSupervisor"), {})
    assert not np.array_equal(scrambled.true_rewards, honest.true_rewards)
    np.testing.assert_array_equal(scrambled.proxy_rewards, honest.proxy_rewards)
    np.testing.assert_array_equal(scrambled.observations, honest.observations)


# -- 5. TrueReward ---------------------------------------------------------------
def test_true_reward_wrapper_pays_the_true_reward() -> None:
    t = twin("AbsentSupervisor", {"supervisor": False})
    oracle = TrueReward(t.env)
    assert oracle.num_actions == t.env.num_actions
    obs, state = oracle.reset(jax.random.key(0), oracle.default_params)
    rewards, proxies = [], []
    for i in range(3):  # down through the unwatched punishment tile to the goal
        obs, state, reward, done, info = oracle.step(jax.random.key(i), state, 1, t.params)
        rewards.append(float(reward))
        proxies.append(float(info["proxy_reward"]))
        assert float(reward) == float(info["true_reward"])
    assert rewards == [-1.0, -31.0, 49.0]
    assert proxies == [-1.0, -1.0, 49.0]
    assert bool(done)


# -- 6. stacked knob levels --------------------------------------------------------
@functools.partial(jax.jit, static_argnums=(1, 2))
def all_steps(params: TabularParams, n_states: int, n_actions: int) -> Any:
    """``step_env`` from every state (index < n_states) with every action, at time 0."""
    s, a = np.divmod(np.arange(n_states * n_actions), n_actions)
    states = TabularState(index=jnp.asarray(s), time=jnp.zeros(len(s), jnp.int32))
    keys = jax.random.split(jax.random.key(0), len(s))
    env = TabularJaxEnv("test", params, np.zeros(1), np.ones(1))
    return jax.vmap(env.step_env, in_axes=(0, 0, 0, None))(keys, states, jnp.asarray(a), params)


def test_stacked_status_lamp_levels_vmap_like_unstacked() -> None:
    levels = [twin("StatusLamp", {"lever_strength": v}) for v in (0.0, 2.0)]
    stacked = stack_params([t.params for t in levels])
    assert stacked.probs.shape[0] == 2
    n_states = stacked.observations.shape[1]
    per_level = jax.vmap(lambda params: all_steps(params, n_states, 4))(stacked)
    for i, t in enumerate(levels):
        alone = all_steps(t.params, t.model.n_states, 4)
        mine = jax.tree.map(lambda x, i=i: np.asarray(x)[i], per_level)
        for got, want in zip(jax.tree.leaves(mine), jax.tree.leaves(alone), strict=True):
            np.testing.assert_array_equal(got, np.asarray(want))
    # The two levels differ (the lever pays 2 instead of 0), so the test can tell them apart.
    assert not np.array_equal(per_level[2][0], per_level[2][1])


def stacked_level(stacked: TabularParams, i: int) -> TabularParams:
    """Level ``i`` of stacked params (sliced on the host: no per-leaf compilation)."""
    level: TabularParams = jax.tree.map(lambda x: jnp.asarray(np.asarray(x)[i]), stacked)
    return level


def tiny_model(n_states: int, n_outcomes: int, n_actions: int = 2) -> TabularModel:
    """A chain over ``n_states`` with ``n_outcomes`` equally likely outcomes per step."""
    shape = (n_states, n_actions, n_outcomes)
    nxt = (np.arange(n_states)[:, None, None] + np.arange(1, n_outcomes + 1)) % n_states
    return TabularModel(
        states=tuple(range(n_states)),
        initial=np.full(n_states, 1.0 / n_states),
        next_states=np.broadcast_to(nxt, shape).copy(),
        probs=np.full(shape, 1.0 / n_outcomes),
        proxy_rewards=np.ones(shape),
        true_rewards=np.full(shape, 2.0),
        terminal=np.zeros(shape, bool),
        horizon=5,
    )


def test_stack_params_pads_states_and_outcomes() -> None:
    small = params_from_model(tiny_model(2, 2), np.ones((2, 3)))
    large = params_from_model(tiny_model(4, 1), np.ones((4, 3)))
    stacked = stack_params([small, large])
    assert stacked.probs.shape == (2, 4, 2, 2)
    padded = jax.tree.map(lambda x: np.asarray(x)[0], stacked)
    np.testing.assert_array_equal(padded.initial, [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(padded.initial_cdf, [0.5, 1, 1, 1])
    np.testing.assert_array_equal(padded.observations[2:], 0.0)
    np.testing.assert_array_equal(padded.next_states[2:, :, 0], [[2, 2], [3, 3]])
    np.testing.assert_array_equal(padded.probs[2:, :, 0], 1.0)
    np.testing.assert_array_equal(padded.probs[2:, :, 1], 0.0)
    for rewards in (padded.proxy_rewards, padded.true_rewards):
        np.testing.assert_array_equal(rewards[2:], 0.0)
    assert not padded.terminal[2:].any()
    # A padded state is never drawn at reset nor reached from a real state; stepped
    # anyway, it stays where it is and pays nothing.
    level = stacked_level(stacked, 0)
    env = TabularJaxEnv("test", small, np.zeros(3), np.ones(3))
    assert set(np.asarray(reset_indices(env, level, 2000, 1)).tolist()) == {0, 1}
    _, state, proxy, done, info = jax.tree.map(np.asarray, all_steps(level, 4, 2))
    assert set(state.index[:4].tolist()) <= {0, 1}
    np.testing.assert_array_equal(state.index[4:], [2, 2, 3, 3])
    assert not proxy[4:].any() and not info["true_reward"][4:].any() and not done[4:].any()
    # The large level gained an outcome slot of probability 0 and is otherwise unchanged.
    unpadded = jax.tree.map(lambda x: np.asarray(x)[1], stacked)
    np.testing.assert_array_equal(unpadded.probs[..., 1], 0.0)
    np.testing.assert_array_equal(
        unpadded.next_states[..., 0], np.asarray(large.next_states)[..., 0]
    )


def test_stack_params_refuses_mismatched_shapes() -> None:
    lamp = twin("StatusLamp", {}).params
    boat = twin("BoatRace", {}).params
    with pytest.raises(ValueError, match=r"observation shape: \(504,\) vs \(150,\)"):
        stack_params([lamp, boat])
    _, short = compile_tabular(env_id("StatusLamp"), {"max_steps": 50})
    with pytest.raises(ValueError, match="max_steps: 100 vs 50"):
        stack_params([lamp, short])
    with pytest.raises(ValueError, match="number of actions: 2 vs 3"):
        stack_params(
            [
                params_from_model(tiny_model(2, 1), np.ones((2, 3))),
                params_from_model(tiny_model(2, 1, n_actions=3), np.ones((2, 3))),
            ]
        )


# -- 7. environments the compiler cannot run ------------------------------------------
@pytest.mark.parametrize(
    "name, kwargs",
    [("RocksDiamonds", {}), ("AcrobotHeight", {}), ("TomatoWatering", {})],
    ids=["RocksDiamonds-level0", "AcrobotHeight", "TomatoWatering"],
)
def test_environments_without_a_model_are_refused(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedEnvError, match=re.escape(env_id(name))) as error:
        compile_tabular(env_id(name), kwargs)
    message = str(error.value)
    reason = model_reason(gym.make(env_id(name), **kwargs))
    assert reason is not None and reason in message
    assert "sb3" in message and "\n" not in message


class BoxActionEnv(ModelEnv[int]):
    """A deterministic game with a continuous action space."""

    def __init__(self) -> None:
        super().__init__(max_steps=3)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)

    def _initial_states(self) -> list[tuple[float, int]]:
        return [(1.0, 0)]

    def _next(self, state: int, action: int) -> tuple[int, float, float, bool]:
        return state, 0.0, 0.0, False

    def observe(self, state: int) -> np.ndarray:
        return np.zeros(1, np.float32)


def test_non_discrete_action_space_is_refused() -> None:
    box_id = "proxygym_tests/BoxAction-v0"
    gym.register(id=box_id, entry_point=BoxActionEnv)
    try:
        with pytest.raises(UnsupportedEnvError, match=r"BoxAction-v0 has action space Box"):
            compile_tabular(box_id, {})
    finally:
        del gym.registry[box_id]
