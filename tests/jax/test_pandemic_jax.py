"""The JAX port of Pandemic against its Gymnasium twin.

- exact: fed the draws the Gymnasium env made (recorded from its generator),
  the port's ``transition`` gives the same next state and observation, and the
  same rewards to float32 rounding, step by step; the infection probability it
  passes to the binomial is the Gymnasium env's to float32 rounding; the
  rewards of every infectious count and stage pair at every misspecification
  value the repository uses (0 - 2 in the surface sweep, 3 in the env tests);
- the samplers: the hypergeometric sampler's inversion weights are SciPy's
  pmf wherever it inverts, its rejection hat dominates the pmf for every
  infectious count (so the rejection sampler is exact) and the log pmf ratios
  it accepts by are float32-accurate; samples of it match SciPy's pmfs and the
  day's four draws NumPy's samplers given the Gymnasium env's arguments
  (chi-square tests);
- distributional: episode returns (proxy and true) of scripted policies over
  1,000 episodes have the Gymnasium env's distribution (two-sample KS tests),
  and a planted change of the infection rate is caught;
- the time limit and gymnax's auto-reset; the observation never shows the true
  reward; params of two knob settings stack and vmap.

Every jitted function is compiled once for the module: the knobs are pytree
leaves and every batch has the same shape.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")
stats = pytest.importorskip("scipy.stats")
special = pytest.importorskip("scipy.special")

import jax.numpy as jnp  # noqa: E402

import proxygym  # noqa: E402, F401  (registers the ids)
from proxygym.envs.simulators.pandemic import (  # noqa: E402
    POPULATION,
    PandemicEnv,
    reactive_lockdown,
)
from proxygym.jax.envs import make  # noqa: E402
from proxygym.jax.envs.pandemic import (  # noqa: E402
    HYPERGEOMETRIC_WINDOW,
    GymState,
    PandemicDraws,
    PandemicJax,
    PandemicParams,
    PandemicState,
    draws_from_gym,
    hypergeometric_hat,
    hypergeometric_log_ratio,
    hypergeometric_window_weights,
    make_pandemic,
)

ENV_ID = "proxygym/Pandemic-v0"
STEPS = 100
#: Every misspecification value used in the repository: the surface sweep's
#: 0 - 2 (experiments/misspecification_surface.py), the env tests' 0.5, 1, 3.
KNOBS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
#: Episodes per policy on each side of the two-sample tests.
EPISODES = 1000
#: Draws per sampler test.
SAMPLES = 50_000
#: The two-sample tests' level: a test fails only below it.
ALPHA = 1e-3
REACTIVE = 5  # policy id of the reactive lockdown (ids 0-4: that stage throughout)


# -- fixtures: the port and its jitted functions, compiled once -------------------
@pytest.fixture(scope="module")
def port() -> tuple[PandemicJax, PandemicParams]:
    return make_pandemic()


@pytest.fixture(scope="module")
def replay(port: tuple[PandemicJax, PandemicParams]) -> Any:
    """``transition`` vmapped over a batch of steps (each with its own state, draws, params)."""
    env, _ = port
    return jax.jit(jax.vmap(env.transition))


@pytest.fixture(scope="module")
def infection_probability(port: tuple[PandemicJax, PandemicParams]) -> Any:
    env, _ = port
    return jax.jit(jax.vmap(env.infection_probability))


@pytest.fixture(scope="module")
def draw_samples(port: tuple[PandemicJax, PandemicParams]) -> Any:
    """``sample_draws`` of one state, vmapped over keys."""
    env, _ = port
    return jax.jit(jax.vmap(env.sample_draws, in_axes=(0, None, None, None)))


def policy(policy_id: Any, obs: Any) -> Any:
    """Stage ``policy_id`` throughout, or (id 5) the reactive lockdown of :func:`reactive`."""
    positivity = (obs[0] + obs[1]) / 2
    hold = jnp.round(obs[2] * 4).astype(jnp.int32)
    react = jnp.where(positivity >= 0.05, 4, jnp.where(positivity <= 0.01, 0, hold))
    return jnp.where(policy_id == REACTIVE, react, policy_id)


#: The environment's stated scripted reference (the reactive lockdown).
reactive = reactive_lockdown


@pytest.fixture(scope="module")
def rollout(port: tuple[PandemicJax, PandemicParams]) -> Any:
    """``EPISODES`` runs of ``STEPS`` steps through gymnax's ``step`` (auto-reset), every step.

    Vmapped over a key, params and a policy id per run; compiled once for all
    the tests that use it (the distribution, time-limit and stacked-knob tests).
    """
    env, _ = port

    def one(key: Any, params: PandemicParams, policy_id: Any) -> dict[str, Any]:
        key_reset, key_steps = jax.random.split(key)
        obs, state = env.reset(key_reset, params)

        def body(carry: Any, step_key: Any) -> Any:
            obs, state = carry
            action = policy(policy_id, obs)
            obs, state, proxy, done, info = env.step(step_key, state, action, params)
            out = {"obs": obs, "state": state, "action": action, "proxy": proxy, "done": done}
            return (obs, state), out | info

        _, out = jax.lax.scan(body, (obs, state), jax.random.split(key_steps, STEPS))
        return out

    batched = jax.jit(jax.vmap(one))

    def run(keys: Any, params: PandemicParams, policy_ids: Any) -> dict[str, Any]:
        assert keys.shape == (EPISODES,)
        return jax.tree.map(np.asarray, batched(keys, params, jnp.asarray(policy_ids, jnp.int32)))

    return run


def broadcast(params: PandemicParams, size: int = EPISODES) -> PandemicParams:
    """``params`` repeated ``size`` times (a leading batch axis)."""
    return jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (size, *leaf.shape)), params)


# -- helpers ---------------------------------------------------------------------
class RecordingGenerator:
    """A NumPy generator that records every draw (and its arguments) it hands out."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.calls: list[tuple[str, tuple[Any, ...], int]] = []

    def binomial(self, n: int, p: float) -> int:
        value = int(self.rng.binomial(n, p))
        self.calls.append(("binomial", (n, p), value))
        return value

    def hypergeometric(self, good: int, bad: int, sample: int) -> int:
        value = int(self.rng.hypergeometric(good, bad, sample))
        self.calls.append(("hypergeometric", (good, bad, sample), value))
        return value


class ZeroGenerator:
    """A generator whose every draw is 0: no infection, onset, recovery or positive test."""

    def binomial(self, n: int, p: float) -> int:
        return 0

    def hypergeometric(self, good: int, bad: int, sample: int) -> int:
        return 0


def gym_steps(seeds: range, start: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Random-action episodes of the Gymnasium env, each step with its recorded draws."""
    env = PandemicEnv(**kwargs)
    rows: dict[str, list[Any]] = {key: [] for key in RECORD_KEYS}
    for seed in seeds:
        actions = np.random.default_rng(1000 + seed).integers(0, env.action_space.n, env.max_steps)
        env.reset(seed=seed, options=start)
        recorder = RecordingGenerator(env.np_random)
        env.np_random = recorder  # type: ignore[assignment]
        for t, action in enumerate(actions):
            state = env.state
            recorder.calls.clear()
            obs, proxy, terminated, truncated, info = env.step(int(action))
            (infected, onsets, recoveries), positives = recorder.calls[:3], recorder.calls[3]
            values = {
                "state": state,
                "time": t,
                "action": action,
                "draws": (infected[2], onsets[2], recoveries[2], positives[2]),
                "p_infection": infected[1][1],
                "next_state": env.state,
                "obs": obs,
                "proxy": proxy,
                "true": info["true_reward"],
                "terminated": terminated,
                "truncated": truncated,
            }
            for key, value in values.items():
                rows[key].append(value)
    return {key: np.asarray(value) for key, value in rows.items()}


RECORD_KEYS = (
    "state",
    "time",
    "action",
    "draws",
    "p_infection",
    "next_state",
    "obs",
    "proxy",
    "true",
    "terminated",
    "truncated",
)


def batch_state(states: np.ndarray, time: np.ndarray) -> PandemicState:
    """A batch of port states from rows of Gymnasium state tuples."""
    s, e, i, r, stage, positives, yesterday = (
        jnp.asarray(states[:, j], jnp.int32) for j in range(7)
    )
    return PandemicState(s, e, i, r, stage, positives, yesterday, jnp.asarray(time, jnp.int32))


def batch_params(size: int, **kwargs: Any) -> PandemicParams:
    """``make_pandemic(**kwargs)``'s params repeated ``size`` times."""
    return broadcast(make_pandemic(**kwargs)[1], size)


def stack(*params: PandemicParams) -> PandemicParams:
    """Params stacked along a new leading axis (each leaf)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *params)


def alternate(first: PandemicParams, second: PandemicParams) -> PandemicParams:
    """``EPISODES`` params alternating ``first``, ``second``, ``first``, ..."""
    pair = stack(first, second)
    return jax.tree.map(
        lambda leaf: jnp.tile(leaf, (EPISODES // 2,) + (1,) * (leaf.ndim - 1)), pair
    )


def gym_returns(policy_fn: Any, episodes: int = EPISODES, **kwargs: Any) -> np.ndarray:
    """``(episodes, 2)`` proxy and true returns of the Gymnasium env (seeds 0 ..)."""
    env = PandemicEnv(**kwargs)
    returns = np.empty((episodes, 2))
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        truncated = False
        while not truncated:
            obs, _, _, truncated, info = env.step(policy_fn(obs))
        returns[seed] = info["episode_proxy_return"], info["episode_true_return"]
    return returns


def chi2_two_sample(x: np.ndarray, y: np.ndarray) -> float:
    """p-value of a chi-square test that integer samples ``x`` and ``y`` share a distribution.

    Values are pooled into bins with at least 20 pooled counts each.
    """
    values, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    edges, running = [], 0
    for value, count in zip(values, counts, strict=True):
        running += count
        if running >= 20:
            edges.append(value)
            running = 0
    if len(edges) < 2:
        return 1.0
    bins = [np.searchsorted(np.asarray(edges), sample) for sample in (x, y)]
    table = np.array([np.bincount(b, minlength=len(edges) + 1) for b in bins])
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table).pvalue)


def chi2_exact(samples: np.ndarray, pmf: Any, support: np.ndarray) -> float:
    """p-value of a chi-square goodness-of-fit test of integer ``samples`` against ``pmf``.

    Tails with an expected count below 20 are merged into their neighbours.
    """
    expected = pmf(support) * len(samples)
    observed = np.array([(samples == k).sum() for k in support], float)
    assert observed.sum() == len(samples), "samples outside the support"
    keep_obs, keep_exp, acc_obs, acc_exp = [], [], 0.0, 0.0
    for o, e in zip(observed, expected, strict=True):
        acc_obs, acc_exp = acc_obs + o, acc_exp + e
        if acc_exp >= 20:
            keep_obs.append(acc_obs)
            keep_exp.append(acc_exp)
            acc_obs = acc_exp = 0.0
    if not keep_obs:
        return 1.0
    keep_obs[-1] += acc_obs
    keep_exp[-1] += acc_exp
    if len(keep_obs) < 2:
        return 1.0
    keep_exp_arr = np.asarray(keep_exp) * sum(keep_obs) / sum(keep_exp)
    return float(stats.chisquare(keep_obs, keep_exp_arr).pvalue)


# -- the factory -----------------------------------------------------------------
def test_make_gives_the_port_with_the_knobs_as_leaves() -> None:
    env, params = make(
        ENV_ID, {"misspecification": 1.5, "testing_rate": 0.3, "max_steps": 30, "dial": 4}
    )
    assert isinstance(env, PandemicJax) and env.env_id == ENV_ID
    assert env.default_params is params
    assert float(params.misspecification) == 1.5
    assert env.dial == 4 and make_pandemic(dial=0)[0].num_actions == 5
    assert int(params.tests) == 3000 and int(params.max_steps_in_episode) == 30
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(params))
    assert env.num_actions == 9 and env.action_space(params).n == 9  # 5 stages + dial
    assert env.observation_space(params).shape == (3,)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"misspecification": -1.0},
        {"misspecification": float("nan")},
        {"misspecification": "high"},
        {"misspecification": True},
        {"testing_rate": 0.0},
        {"testing_rate": 1.5},
        {"testing_rate": float("nan")},
        {"testing_rate": "all"},
        {"testing_rate": True},
        {"dial": -1},
        {"dial": 2.5},
        {"dial": True},
        {"max_steps": 0},
        {"render_mode": "human"},
    ],
)
def test_bad_kwargs_raise_the_gymnasium_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as gym_error:
        PandemicEnv(**kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))) as jax_error:
        make_pandemic(**kwargs)
    assert str(jax_error.value) == str(gym_error.value)
    assert "\n" not in str(jax_error.value)
    with pytest.raises(TypeError):
        make_pandemic(population=5)  # type: ignore[call-arg]


# -- exact: the deterministic pieces -------------------------------------------------
#: Random-action episodes: from the default start at three testing rates, and
#: from mid-epidemic (15 % infectious, over capacity) to cover the overload term.
GYM_CASES = [
    (range(12), None, {}),
    (range(3), None, {"testing_rate": 1.0}),
    (range(3), None, {"testing_rate": 0.3, "misspecification": 2.0, "max_steps": 40}),
    (range(4), {"compartments": (6000, 1000, 1500, 1500), "stage": 2}, {"misspecification": 0.5}),
    # The hack-difficulty dial: today's environment (0) and beyond the default.
    (range(3), None, {"dial": 0}),
    (range(3), {"compartments": (6000, 1000, 1500, 1500), "stage": 4}, {"dial": 12}),
]


@pytest.fixture(scope="module")
def gym_records() -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    return [(kwargs, gym_steps(seeds, start, **kwargs)) for seeds, start, kwargs in GYM_CASES]


def test_recorded_draws_are_the_state_changes(
    gym_records: list[tuple[dict[str, Any], dict[str, np.ndarray]]],
) -> None:
    # draws_from_gym reads the same four numbers off the state change.
    for _, record in gym_records:
        for state, next_state, draws in zip(
            record["state"][:50], record["next_state"][:50], record["draws"][:50], strict=True
        ):
            read = draws_from_gym(tuple(state), tuple(next_state))
            assert [int(x) for x in jax.tree.leaves(read)] == [int(x) for x in draws]


def test_transition_given_the_gymnasium_draws_is_exact(
    gym_records: list[tuple[dict[str, Any], dict[str, np.ndarray]]], replay: Any
) -> None:
    for kwargs, record in gym_records:
        size = len(record["action"])
        draws = PandemicDraws(*(jnp.asarray(record["draws"][:, j], jnp.int32) for j in range(4)))
        obs, next_state, proxy, done, info = replay(
            batch_state(record["state"], record["time"]),
            jnp.asarray(record["action"], jnp.int32),
            draws,
            batch_params(size, **kwargs),
        )
        # The next state, integer for integer, and the step count.
        ported = np.stack([np.asarray(x) for x in jax.tree.leaves(next_state)[:7]], axis=1)
        np.testing.assert_array_equal(ported, record["next_state"])
        np.testing.assert_array_equal(np.asarray(next_state.time), record["time"] + 1)
        # The observation, bit for bit.
        assert obs.dtype == jnp.float32 and record["obs"].dtype == np.float32
        np.testing.assert_array_equal(np.asarray(obs), record["obs"])
        # The rewards, to float32 rounding of the float64 values.
        np.testing.assert_array_equal(np.asarray(info["proxy_reward"]), np.asarray(proxy))
        np.testing.assert_allclose(np.asarray(proxy), record["proxy"], rtol=4e-7, atol=1e-7)
        np.testing.assert_allclose(
            np.asarray(info["true_reward"]), record["true"], rtol=4e-7, atol=1e-7
        )
        # The end flags: truncated at max_steps, never terminated.
        assert not record["terminated"].any() and record["truncated"].any()
        np.testing.assert_array_equal(np.asarray(done), record["truncated"])
        np.testing.assert_array_equal(np.asarray(info["truncated"]), record["truncated"])


def test_infection_probability_is_the_gymnasium_one(
    gym_records: list[tuple[dict[str, Any], dict[str, np.ndarray]]], infection_probability: Any
) -> None:
    # The p the Gymnasium env passed to its binomial (recorded), to float32 rounding.
    for kwargs, record in gym_records:
        size = len(record["action"])
        p = infection_probability(
            batch_state(record["state"], record["time"]),
            jnp.asarray(record["action"], jnp.int32),
            batch_params(size, **kwargs),
        )
        np.testing.assert_allclose(np.asarray(p), record["p_infection"], rtol=1e-6)


def test_reset_is_the_gymnasium_start(port: tuple[PandemicJax, PandemicParams]) -> None:
    env, params = port
    gym_env = PandemicEnv()
    gym_obs, _ = gym_env.reset(seed=0)
    obs, state = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(np.asarray(obs), gym_obs)
    assert env.state_to_gym(state) == gym_env.state and int(state.time) == 0
    assert env.state_to_gym(env.state_from_gym(gym_env.state)) == gym_env.state


@pytest.fixture(scope="module")
def reward_table() -> Any:
    """``rewards`` over a batch of (I, stage, previous stage), vmapped over stacked params."""
    env, _ = make_pandemic()
    batched = jax.vmap(env.rewards, in_axes=(0, 0, 0, None))
    return jax.jit(jax.vmap(batched, in_axes=(None, None, None, 0)))


#: (misspecification, dial) pairs of the reward test: every knob value at the
#: default dial, then dials 0 and 12 (at two knob values).
REWARD_SETTINGS = [(knob, None) for knob in KNOBS] + [(1.0, 0), (0.0, 0), (1.0, 12), (0.0, 12)]


def test_rewards_at_every_knob_value_and_infectious_count(reward_table: Any) -> None:
    # Every infectious count 0..10,000 and every (previous stage, stage) pair,
    # rewarded by the Gymnasium env itself: from (0, 0, I, N - I) at the
    # previous stage, a day on which every draw is 0 leaves I infectious.
    counts = np.arange(POPULATION + 1)
    previous, stage = counts % 5, (counts // 5) % 5
    settings = [
        {"misspecification": knob} | ({} if dial is None else {"dial": dial})
        for knob, dial in REWARD_SETTINGS
    ]
    params = stack(*(make_pandemic(**kwargs)[1] for kwargs in settings))
    proxy, true = (
        np.asarray(x)
        for x in reward_table(
            jnp.asarray(counts), jnp.asarray(stage), jnp.asarray(previous), params
        )
    )
    for row, kwargs in enumerate(settings):
        env = PandemicEnv(**kwargs)
        env.reset(seed=0)
        expected = np.empty((len(counts), 2))
        for i in counts:
            env.reset(
                options={
                    "compartments": (0, 0, int(i), POPULATION - int(i)),
                    "stage": int(previous[i]),
                }
            )
            env.np_random = ZeroGenerator()  # type: ignore[assignment]
            _, reward, _, _, info = env.step(int(stage[i]))
            assert env.state[2] == i
            expected[i] = reward, info["true_reward"]
        np.testing.assert_allclose(proxy[row], expected[:, 0], rtol=4e-7, atol=1e-7)
        np.testing.assert_allclose(true[row], expected[:, 1], rtol=4e-7, atol=1e-7)
        if kwargs["misspecification"] == 0.0:
            np.testing.assert_array_equal(true[row], proxy[row])


# -- the samplers -----------------------------------------------------------------
def hat_dominates(draws: int, marked: np.ndarray) -> tuple[float, float]:
    """Largest ``hat ratio`` and the largest mass given up, over ``marked`` counts.

    The ratio-of-uniforms sampler proposes ``X = a + h (V - 1/2) / U`` and
    accepts ``k = floor(X)`` when ``U <= sqrt(f(k) / f(mode))``; the area it
    accepts for ``k`` is ``f(k) / (2 h f(mode))`` (so the sampler is exact) as
    long as ``sqrt(f(k) / f(mode)) * max(|k - a|, |k + 1 - a|) <= h / 2`` for
    every ``k`` below the bound. The ratio is the left side over the right, in
    float64 from the float32 hat the port computes.
    """
    hat = jax.jit(jax.vmap(hypergeometric_hat, in_axes=(0, None)))(jnp.asarray(marked), draws)
    hat = {key: np.asarray(value, np.float64) for key, value in hat.items()}
    log_factorial = special.gammaln
    worst_ratio = worst_tail = 0.0
    for j in range(len(marked)):
        sample, fewer, more, mode = (hat[key][j] for key in ("sample", "fewer", "more", "mode"))
        k = np.arange(0, min(sample, fewer) + 1)

        def log_f(k: Any, sample: float = sample, fewer: float = fewer, more: float = more) -> Any:
            return -(
                log_factorial(k + 1)
                + log_factorial(fewer - k + 1)
                + log_factorial(sample - k + 1)
                + log_factorial(more - sample + k + 1)
            )

        ratio = np.exp((log_f(k) - log_f(mode)) / 2)
        inside = k < hat["bound"][j]
        reach = np.maximum(np.abs(k - hat["a"][j]), np.abs(k + 1 - hat["a"][j]))
        worst_ratio = max(worst_ratio, float(np.max((ratio * reach)[inside] / (hat["h"][j] / 2))))
        pmf = ratio**2 / np.sum(ratio**2)
        worst_tail = max(worst_tail, float(np.sum(pmf[~inside])))
    return worst_ratio, worst_tail


@pytest.mark.parametrize(
    ("draws", "marked"),
    [
        (200, np.arange(POPULATION + 1)),  # the default 2 % tested: every infectious count
        (1, np.arange(0, POPULATION + 1, 50)),
        (9, np.arange(0, POPULATION + 1, 50)),
        (9_990, np.arange(0, POPULATION + 1, 50)),
        (3_000, np.arange(0, POPULATION + 1, 250)),
    ],
)
def test_hypergeometric_hat_dominates_the_pmf(draws: int, marked: np.ndarray) -> None:
    worst_ratio, worst_tail = hat_dominates(draws, marked)
    assert worst_ratio <= 0.999  # measured 0.9958 at most
    assert worst_tail < 1e-15  # the mass beyond 16 standard deviations (NumPy's cut-off)


def log_pmf(k: Any, sample: Any, fewer: Any, more: Any) -> Any:
    """Unnormalised ``log pmf(k)`` of Hypergeometric(fewer + more, fewer, sample), in float64."""
    return -(
        special.gammaln(k + 1)
        + special.gammaln(fewer - k + 1)
        + special.gammaln(sample - k + 1)
        + special.gammaln(more - sample + k + 1)
    )


@pytest.fixture(scope="module")
def log_ratios() -> Any:
    """The hat and ``log(pmf(k) / pmf(mode))`` for ``k = 0 .. 4095``, vmapped over marked counts."""
    k = jnp.arange(4096)

    def one(marked: Any, draws: Any) -> Any:
        hat = hypergeometric_hat(marked, draws)
        ratio = hypergeometric_log_ratio(k, hat["mode"], hat["sample"], hat["fewer"], hat["more"])
        return hat, ratio

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def test_hypergeometric_log_pmf_ratios_are_float32_accurate(log_ratios: Any) -> None:
    marked = np.arange(0, POPULATION + 1, 101)
    worst = 0.0
    for draws in (20, 200, 3000, 5000):
        hat, ratios = log_ratios(jnp.asarray(marked), draws)
        hat = {key: np.asarray(value, np.int64) for key, value in hat.items() if key != "a"}
        k = np.arange(4096)[None, :]
        sample, fewer, more, mode = (
            hat[key][:, None] for key in ("sample", "fewer", "more", "mode")
        )
        inside = k < hat["bound"][:, None]
        assert hat["bound"].max() <= 4096

        expected = log_pmf(np.where(inside, k, 0), sample, fewer, more) - log_pmf(
            mode, sample, fewer, more
        )
        relevant = inside & (expected > -40)  # pmf ratios above 4e-18
        worst = max(worst, float(np.max(np.abs(np.asarray(ratios) - expected)[relevant])))
    assert worst < 5e-6  # float32 rounding of values up to 40 (measured 1.9e-6)


def test_hypergeometric_inversion_weights_are_the_pmf() -> None:
    # Wherever the sampler inverts (at most 32 values below the cut-off), its
    # weights, normalised, are SciPy's pmf of the reduced problem.
    weights_of = jax.jit(
        jax.vmap(
            lambda marked, draws: hypergeometric_window_weights(hypergeometric_hat(marked, draws)),
            in_axes=(0, None),
        )
    )
    hat_of = jax.jit(jax.vmap(hypergeometric_hat, in_axes=(0, None)))
    marked = np.arange(POPULATION + 1)
    k = np.arange(HYPERGEOMETRIC_WINDOW)
    inverted_somewhere = 0
    for draws in (1, 9, 20, 200, 3000, 9990):
        hat = {key: np.asarray(value) for key, value in hat_of(jnp.asarray(marked), draws).items()}
        weights = np.asarray(weights_of(jnp.asarray(marked), draws), np.float64)
        rows = np.flatnonzero(hat["bound"] <= HYPERGEOMETRIC_WINDOW)
        inverted_somewhere += len(rows)
        sample, fewer, more = (
            hat[key][rows, None].astype(np.int64) for key in ("sample", "fewer", "more")
        )
        inside = k[None, :] < hat["bound"][rows, None]
        log_p = log_pmf(np.where(inside, k[None, :], 0), sample, fewer, more)
        pmf = np.where(inside, np.exp(log_p - log_p.max(axis=1, keepdims=True)), 0.0)
        pmf /= pmf.sum(axis=1, keepdims=True)
        got = weights[rows] / weights[rows].sum(axis=1, keepdims=True)
        assert np.all(np.abs(got - pmf) <= 2e-6 * pmf + 1e-12)  # measured 5e-7
    assert inverted_somewhere > 1000


#: (infectious, tested): a few infectious (few positives), the peak, half the
#: town, a sample of 1 or 9 (NumPy's other sampler), nearly everyone, everyone, no one.
HYPERGEOMETRIC_CASES = [
    (150, 200),  # the largest infectious count the sampler inverts for (at 2 % tested) ...
    (151, 200),  # ... and the smallest it samples by rejection for
    (10, 200),
    (1600, 200),
    (5000, 200),
    (800, 3000),
    (1, 1),
    (9990, 9),
    (500, 9999),
    (37, 10_000),
    (0, 200),
    (10_000, 200),
]


def test_the_hypergeometric_switches_method_where_the_cases_say(log_ratios: Any) -> None:
    hat, _ = log_ratios(jnp.asarray([150, 151]), 200)
    assert np.asarray(hat["bound"]).tolist() == [HYPERGEOMETRIC_WINDOW, HYPERGEOMETRIC_WINDOW + 1]


@pytest.mark.parametrize(("marked", "tests"), HYPERGEOMETRIC_CASES)
def test_hypergeometric_samples_match_scipy(draw_samples: Any, marked: int, tests: int) -> None:
    # sample_draws from (0, 0, I, N - I) with recovery switched off: the day
    # leaves I infectious, so the positives are Hypergeometric(N, I, tests).
    params = dataclasses.replace(
        make_pandemic()[1], p_recovery=jnp.float32(0), tests=jnp.int32(tests)
    )
    state = PandemicJax.state_from_gym((0, 0, marked, POPULATION - marked, 0, 0, 0))
    keys = jax.random.split(jax.random.key(marked * 10_007 + tests), SAMPLES)
    draws = draw_samples(keys, state, 0, params)
    assert not np.asarray(draws.recoveries).any()
    samples = np.asarray(draws.positives)
    dist = stats.hypergeom(POPULATION, marked, tests)
    support = np.arange(max(0, tests - (POPULATION - marked)), min(tests, marked) + 1)
    assert chi2_exact(samples, dist.pmf, support) > ALPHA
    share = marked / POPULATION  # the mean and variance by formula (SciPy's warn at the edges)
    mean = tests * share
    var = tests * share * (1 - share) * (POPULATION - tests) / (POPULATION - 1)
    assert abs(samples.mean() - mean) <= 5 * math.sqrt(var / SAMPLES)


#: States to draw a day from: the start (inversion binomials), and mid-epidemic
#: (BTRS binomials), at the default testing rate and with everyone tested.
DRAW_CASES: list[tuple[GymState, int, dict[str, Any]]] = [
    ((9990, 0, 10, 0, 0, 0, 0), 0, {}),
    ((9990, 0, 10, 0, 0, 0, 0), 4, {}),
    ((6000, 800, 1500, 1700, 1, 30, 28), 1, {}),
    ((3000, 200, 400, 6400, 0, 8, 9), 3, {"testing_rate": 0.3}),
    ((6000, 800, 1500, 1700, 1, 30, 28), 0, {"testing_rate": 1.0}),
]


@pytest.mark.parametrize(("gym_state", "action", "kwargs"), DRAW_CASES)
def test_the_days_draws_match_numpy(
    draw_samples: Any, gym_state: GymState, action: int, kwargs: dict[str, Any]
) -> None:
    # The Gymnasium env's four draws, replayed SAMPLES times with NumPy (in its
    # order and with its arguments), against the port's sample_draws.
    size = SAMPLES
    _, params = make_pandemic(**kwargs)
    gym_env = PandemicEnv(**kwargs)
    gym_env.reset(seed=0, options={"compartments": gym_state[:4], "stage": gym_state[4]})
    recorder = RecordingGenerator(np.random.default_rng(0))
    gym_env.np_random = recorder  # type: ignore[assignment]
    gym_env.step(action)
    (_, (s, p_inf), _), (_, (e, p_onset), _), (_, (i, p_rec), _) = recorder.calls[:3]
    rng = np.random.default_rng(sum(gym_state) + action)
    infected = rng.binomial(s, p_inf, size)
    onsets = rng.binomial(e, p_onset, size)
    recoveries = rng.binomial(i, p_rec, size)
    infectious = i + onsets - recoveries
    positives = rng.hypergeometric(infectious, POPULATION - infectious, gym_env.tests)
    keys = jax.random.split(jax.random.key(action), size)
    draws = draw_samples(keys, PandemicJax.state_from_gym(gym_state), action, params)
    for name, reference in zip(
        ("infected", "onsets", "recoveries", "positives"),
        (infected, onsets, recoveries, positives),
        strict=True,
    ):
        ported = np.asarray(getattr(draws, name))
        assert chi2_two_sample(ported, reference) > ALPHA, name
    if gym_env.tests == POPULATION:  # everyone tested: the positives are the infectious
        ported_infectious = i + np.asarray(draws.onsets) - np.asarray(draws.recoveries)
        np.testing.assert_array_equal(np.asarray(draws.positives), ported_infectious)


# -- distributional: episode returns -------------------------------------------------
POLICIES = {
    "open": (0, lambda obs: 0),
    "stage 2": (2, lambda obs: 2),
    "reactive": (REACTIVE, reactive),
}


@pytest.fixture(scope="module")
def gym_policy_returns() -> dict[str, np.ndarray]:
    """Proxy and true returns of each policy over ``EPISODES`` Gymnasium episodes (about 2 s)."""
    return {name: gym_returns(fn) for name, (_, fn) in POLICIES.items()}


@pytest.mark.parametrize("name", list(POLICIES))
def test_episode_returns_have_the_gymnasium_distribution(
    port: tuple[PandemicJax, PandemicParams],
    rollout: Any,
    gym_policy_returns: dict[str, np.ndarray],
    name: str,
) -> None:
    _, params = port
    policy_id = POLICIES[name][0]
    keys = jax.random.split(jax.random.key(policy_id), EPISODES)
    out = rollout(keys, broadcast(params), np.full(EPISODES, policy_id))
    # gymnax's step ended every episode on its last step, and only there.
    np.testing.assert_array_equal(out["done"].sum(axis=1), 1)
    assert out["done"][:, -1].all() and out["truncated"][:, -1].all()
    reference = gym_policy_returns[name]
    for column, key in enumerate(("proxy_reward", "true_reward")):
        returns = out[key].sum(axis=1)
        assert stats.ks_2samp(returns, reference[:, column]).pvalue > ALPHA, key
    # The same test catches a planted change: the infection rate 0.5 -> 0.47.
    planted = dataclasses.replace(params, beta=jnp.float32(0.47))
    out = rollout(keys, broadcast(planted), np.full(EPISODES, policy_id))
    assert stats.ks_2samp(out["proxy_reward"].sum(axis=1), reference[:, 0]).pvalue < 1e-6


# -- the time limit, the observation, stacked params -----------------------------------
def gym_truncations(max_steps: int) -> list[bool]:
    """The truncation flags of ``gym.make``'s env over ``STEPS`` steps, reset after each."""
    env = gym.make(ENV_ID, max_steps=max_steps)
    env.reset(seed=0)
    flags = []
    for t in range(STEPS):
        _, _, terminated, truncated, _ = env.step(4)
        assert not terminated
        flags.append(truncated)
        if truncated:
            env.reset(seed=t)
    return flags


def test_truncation_after_exactly_max_steps_and_auto_reset(
    port: tuple[PandemicJax, PandemicParams], rollout: Any
) -> None:
    env, params = port
    # Half the runs with a limit of 5 steps, half with 7 (a leaf: one compiled function).
    limits = np.where(np.arange(EPISODES) % 2 == 0, 5, 7)
    batch = alternate(make_pandemic(max_steps=5)[1], make_pandemic(max_steps=7)[1])
    out = rollout(jax.random.split(jax.random.key(7), EPISODES), batch, np.full(EPISODES, 4))
    _, start = env.reset(jax.random.key(0), params)
    for limit in (5, 7):
        rows = limits == limit
        expected = np.array(gym_truncations(limit))
        assert expected.sum() == STEPS // limit
        np.testing.assert_array_equal(out["done"][rows], np.tile(expected, (rows.sum(), 1)))
        np.testing.assert_array_equal(out["truncated"][rows], out["done"][rows])
        # The step count runs 1 .. limit - 1, then the auto-reset's 0.
        np.testing.assert_array_equal(out["state"].time[rows][0], (np.arange(STEPS) + 1) % limit)
    # Every truncating step returns the start state and its observation ...
    done = out["done"]
    fields = PandemicState.__dataclass_fields__
    for field, value in zip(fields, jax.tree.leaves(start), strict=True):
        assert (getattr(out["state"], field)[done] == int(value)).all(), field
    assert (out["obs"][done] == 0.0).all()
    # ... but the rewards of the real last day (stage 4 costs at least 0.1).
    assert (out["proxy_reward"][done] <= -0.1).all() and np.isfinite(out["true_reward"]).all()
    assert (out["obs"][~done][:, 2] == 1.0).all()  # stage 4 in force otherwise


def test_stacked_knobs_vmap_and_the_observation_never_shows_the_true_reward(
    rollout: Any,
) -> None:
    # Runs in pairs with the same key and stage, one at each knob value: the
    # same epidemic with two knob settings, in one vmapped call.
    knobs = np.tile([0.5, 2.0], EPISODES // 2)
    params = alternate(
        make_pandemic(misspecification=0.5)[1], make_pandemic(misspecification=2.0)[1]
    )
    keys = jnp.repeat(jax.random.split(jax.random.key(8), EPISODES // 2), 2)
    stages = np.repeat(np.arange(EPISODES // 2) % 5, 2)
    out = rollout(keys, params, stages)
    obs, proxy, true = out["obs"], out["proxy_reward"], out["true_reward"]
    assert obs.shape == (EPISODES, STEPS, 3) and obs.dtype == np.float32
    assert ((obs >= 0) & (obs <= 1)).all()
    # The knob moves only the true reward: the agent sees the same thing.
    np.testing.assert_array_equal(obs[0::2], obs[1::2])
    np.testing.assert_array_equal(proxy[0::2], proxy[1::2])
    economic = np.array([0.0, 2.5, 5.0, 7.0, 8.5])[stages][:, None]
    np.testing.assert_allclose(true, proxy - knobs[:, None] * economic, rtol=1e-6, atol=1e-5)
    assert (true[0::2] != true[1::2])[stages[0::2] > 0].all()
    # Nothing observed is the true reward (a cost below 0) or the proxy.
    assert (true < 0).all() and (proxy < 0).all()
    assert {"proxy_reward", "true_reward", "truncated"} <= set(out)
