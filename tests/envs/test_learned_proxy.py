"""Learned reward-model proxies: rollouts, labels, fitting, ensembles, wrapper, environment."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch

import proxygym
from proxygym.envs.learned_proxy import (
    Comparisons,
    LearnedRewardProxy,
    MLPWeights,
    RewardEnsemble,
    Segments,
    collect_segments,
    collect_trajectories,
    draw_labels,
    label_pairs,
    preference_probability,
    step_features,
)
from proxygym.envs.learned_proxy import ensemble as ensemble_module
from proxygym.envs.learned_proxy.env import LearnedProxyEnv, fitted_reward_model
from proxygym.envs.learned_proxy.model import fit_ensemble, fit_reward_model
from proxygym.planning.best_of_n import (
    best_of_n_curve,
    trajectory_scores,
)
from proxygym.sweeps.axes import get_axis

TOMATO = "proxygym/TomatoWatering-v0"
LEARNED = "proxygym/LearnedProxy-v0"
TOMATO_OBS = 5 * 7 * 9
TOMATO_FEATURES = TOMATO_OBS + 4


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation: Pearson correlation of the (average) ranks."""
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


def actions_of(features: np.ndarray, n_actions: int) -> list[int]:
    """The actions encoded in the one-hot tail of step features."""
    return [int(a) for a in np.argmax(features[:, -n_actions:], axis=1)]


def linear_segments(n: int, length: int, weights: np.ndarray, seed: int) -> Segments:
    """Random-feature segments whose true return is the sum over steps of ``weights . x``."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, length, weights.size)).astype(np.float32)
    true_returns = (features.astype(np.float64) @ weights).sum(axis=1)
    return Segments(features, true_returns, np.zeros(n))


@pytest.fixture(scope="module")
def tomato_segments() -> Segments:
    return collect_segments(TOMATO, None, 300, 20, seed=0)


@pytest.fixture(scope="module")
def tomato_ensemble(tomato_segments: Segments) -> RewardEnsemble:
    temperature = float(tomato_segments.true_returns.std())
    comparisons = label_pairs(tomato_segments, 200, temperature, 0.0, np.random.default_rng(0))
    return fit_ensemble(tomato_segments, comparisons, members=3, width=16, seed=0)


# -- rollouts -----------------------------------------------------------------


def test_step_features_are_the_flat_observation_then_the_one_hot_action() -> None:
    observation = np.arange(6, dtype=np.float64).reshape(2, 3)
    features = step_features(observation, 2, n_actions=4)
    assert features.dtype == np.float32
    np.testing.assert_array_equal(features, [0, 1, 2, 3, 4, 5, 0, 0, 1, 0])


def test_trajectories_replay_exactly_through_gym_make() -> None:
    trajectories = collect_trajectories(TOMATO, None, 2, seed=5)
    assert len(trajectories) == 2 and list(trajectories.lengths) == [100, 100]
    env = gym.make(TOMATO)
    for index in range(2):
        steps = trajectories.episode(index)
        observation, _ = env.reset(seed=5 + index)
        true_return = proxy_return = 0.0
        for features, action in zip(steps, actions_of(steps, 4), strict=True):
            np.testing.assert_array_equal(features, step_features(observation, action, 4))
            observation, reward, _, _, info = env.step(action)
            true_return += info["true_reward"]
            proxy_return += float(reward)
        assert trajectories.true_returns[index] == pytest.approx(true_return)
        assert trajectories.proxy_returns[index] == pytest.approx(proxy_return)


def test_segments_cut_episodes_and_drop_the_tail() -> None:
    trajectories = collect_trajectories(TOMATO, None, 2, seed=3)
    segments = collect_segments(TOMATO, None, 6, 30, seed=3)  # 3 per 100-step episode
    assert segments.features.shape == (6, 30, TOMATO_FEATURES)
    for index in range(6):
        episode, start = divmod(index, 3)
        expected = trajectories.episode(episode)[start * 30 : (start + 1) * 30]
        np.testing.assert_array_equal(segments.features[index], expected)
    again = collect_segments(TOMATO, None, 6, 30, seed=3)
    np.testing.assert_array_equal(again.features, segments.features)
    np.testing.assert_array_equal(again.true_returns, segments.true_returns)


def test_segment_returns_sum_the_steps_rewards() -> None:
    trajectories = collect_trajectories(TOMATO, None, 1, seed=0)
    segments = collect_segments(TOMATO, None, 5, 20, seed=0)
    assert segments.true_returns.sum() == pytest.approx(trajectories.true_returns[0])
    assert segments.proxy_returns.sum() == pytest.approx(trajectories.proxy_returns[0])


def test_keys_identify_identical_trajectories() -> None:
    always_right = lambda observation: np.array([0.0, 0.0, 0.0, 1.0])  # noqa: E731
    kwargs = {"dry_probability": 0.0}
    same = collect_trajectories(TOMATO, kwargs, 3, seed=0, behaviour=always_right, temperature=0)
    assert len(set(same.keys)) == 1
    random = collect_trajectories(TOMATO, None, 20, seed=0)
    assert len(set(random.keys)) == 20


def test_behaviour_policy_is_sampled_at_its_temperature() -> None:
    prefers_two = lambda observation: np.array([0.0, 0.0, 2.0, 0.0])  # noqa: E731
    greedy = collect_segments(TOMATO, None, 5, 20, seed=0, behaviour=prefers_two, temperature=0)
    assert set(actions_of(greedy.features.reshape(-1, TOMATO_FEATURES), 4)) == {2}
    sampled = collect_segments(TOMATO, None, 100, 20, seed=0, behaviour=prefers_two)
    share = np.mean(np.array(actions_of(sampled.features.reshape(-1, TOMATO_FEATURES), 4)) == 2)
    expected = np.exp(2) / (np.exp(2) + 3)
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / 2000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_segments": 0}, "n_segments"),
        ({"length": 0}, "length"),
        ({"length": 101}, "length"),
        ({"temperature": -1.0}, "temperature"),
        ({"env_id": "proxygym/PendulumNoTorqueCost-v0"}, "Discrete"),
    ],
)
def test_bad_rollout_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "env_id": TOMATO,
        "env_kwargs": None,
        "n_segments": 2,
        "length": 20,
        "seed": 0,
    }
    with pytest.raises(ValueError, match=message):
        collect_segments(**{**arguments, **kwargs})


# -- Bradley-Terry labels ----------------------------------------------------


def test_preference_probability_is_the_sigmoid_of_the_scaled_gap() -> None:
    gaps = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    for temperature in (0.5, 2.0):
        expected = 1 / (1 + np.exp(-gaps / temperature))
        np.testing.assert_allclose(preference_probability(gaps, 0.0, temperature), expected)
    np.testing.assert_array_equal(preference_probability(gaps, 0.0, 0.0), [0, 0, 0.5, 1, 1])
    assert preference_probability(1e6, 0.0, 1e-3) == 1.0  # no overflow
    with pytest.raises(ValueError, match="temperature"):
        preference_probability(1.0, 0.0, -1.0)


@pytest.mark.parametrize(("temperature", "flip"), [(1.0, 0.0), (0.7, 0.2), (0.0, 0.1)])
def test_label_frequencies_match_their_probabilities(temperature: float, flip: float) -> None:
    gaps = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    draws = 20_000
    probability = preference_probability(np.repeat(gaps, draws), 0.0, temperature)
    labels = draw_labels(probability, flip, np.random.default_rng(1)).reshape(gaps.size, draws)
    expected = flip + (1 - 2 * flip) * preference_probability(gaps, 0.0, temperature)
    band = 4 * np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(labels.mean(axis=1) - expected) <= band + 1e-12)


def test_noiseless_zero_temperature_labels_are_deterministic_except_ties() -> None:
    gaps = np.array([-1.0, 1e-9, 0.0])
    probability = preference_probability(np.repeat(gaps, 4000), 0.0, 0.0)
    labels = draw_labels(probability, 0.0, np.random.default_rng(0)).reshape(3, 4000)
    assert np.all(labels[0] == 0) and np.all(labels[1] == 1)
    assert abs(labels[2].mean() - 0.5) < 4 * np.sqrt(0.25 / 4000)


def test_label_pairs_draws_distinct_segments_and_labels_by_true_return() -> None:
    returns = np.arange(10, dtype=float)
    segments = Segments(np.zeros((10, 1, 1), np.float32), returns, np.zeros(10))
    comparisons = label_pairs(segments, 5000, 0.0, 0.0, np.random.default_rng(0))
    assert isinstance(comparisons, Comparisons) and len(comparisons) == 5000
    assert np.all(comparisons.index_a != comparisons.index_b)
    assert set(comparisons.index_a) == set(comparisons.index_b) == set(range(10))
    np.testing.assert_array_equal(
        comparisons.label, (returns[comparisons.index_a] > returns[comparisons.index_b])
    )
    np.testing.assert_array_equal(comparisons.probability, comparisons.label)
    for kwargs, message in (({"m": 0}, "m must"), ({"flip_probability": 1.5}, "flip")):
        arguments: dict[str, Any] = {"m": 3, "temperature": 1.0, "flip_probability": 0.0}
        with pytest.raises(ValueError, match=message):
            label_pairs(segments, **{**arguments, **kwargs}, rng=np.random.default_rng(0))


# -- fitting -------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1])
def test_a_known_linear_reward_is_learned_from_noiseless_comparisons(depth: int) -> None:
    weights = np.random.default_rng(7).normal(size=8)
    train = linear_segments(500, 20, weights, seed=1)
    heldout = linear_segments(500, 20, weights, seed=2)
    comparisons = label_pairs(train, 1000, 0.0, 0.0, np.random.default_rng(3))
    model = fit_reward_model(train, comparisons, depth=depth, seed=0)
    predicted = RewardEnsemble([model.to_numpy()]).predict(heldout.features).sum(axis=1)
    assert spearman(predicted, heldout.true_returns) >= 0.95


def test_fitting_is_deterministic_and_leaves_torch_state_alone() -> None:
    train = linear_segments(200, 10, np.ones(5), seed=0)
    comparisons = label_pairs(train, 300, 1.0, 0.1, np.random.default_rng(0))
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    first = fit_reward_model(train, comparisons, seed=4)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    second = fit_reward_model(train, comparisons, seed=4)
    other = fit_reward_model(train, comparisons, seed=5)
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name
    assert not torch.equal(first.state_dict()["net.0.weight"], other.state_dict()["net.0.weight"])
    np.testing.assert_array_equal(
        RewardEnsemble([first.to_numpy()]).predict(train.features),
        RewardEnsemble([second.to_numpy()]).predict(train.features),
    )


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_numpy_predictions_agree_with_torch(depth: int) -> None:
    train = linear_segments(100, 10, np.arange(6.0), seed=0)
    comparisons = label_pairs(train, 200, 1.0, 0.0, np.random.default_rng(0))
    model = fit_reward_model(train, comparisons, width=16, depth=depth, epochs=30)
    with torch.no_grad():
        expected = model(torch.from_numpy(train.features)).numpy()
    predicted = RewardEnsemble([model.to_numpy()]).predict(train.features)
    assert predicted.shape == (100, 10)
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)


def test_constant_features_are_dropped_and_the_model_is_centred() -> None:
    train = linear_segments(200, 10, np.array([1.0, -1.0, 0.5, 0.0]), seed=0)
    train.features[..., 3] = 3.0  # constant over training: no division by zero, weight 0
    comparisons = label_pairs(train, 300, 0.0, 0.0, np.random.default_rng(0))
    model = fit_reward_model(train, comparisons, seed=0)
    assert model.active.tolist() == [0, 1, 2]
    ensemble = RewardEnsemble([model.to_numpy()])
    predicted = ensemble.predict(train.features)
    assert np.all(np.isfinite(predicted))
    assert abs(predicted.mean()) < 1e-5
    shifted = train.features.copy()
    shifted[..., 3] = -50.0
    np.testing.assert_array_equal(ensemble.predict(shifted), predicted)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "width"),
        ({"depth": -1}, "depth"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_bad_fit_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    train = linear_segments(10, 2, np.ones(2), seed=0)
    comparisons = label_pairs(train, 10, 1.0, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        fit_reward_model(train, comparisons, **kwargs)


# -- ensembles -----------------------------------------------------------------


def test_ensemble_aggregates(tomato_segments: Segments, tomato_ensemble: RewardEnsemble) -> None:
    features = tomato_segments.features[:50]
    members = tomato_ensemble.predict_members(features)
    assert members.shape == (3, 50, 20)
    assert not np.array_equal(members[0], members[1])  # bootstrap + own seeds
    mean = tomato_ensemble.with_aggregate("mean").predict(features)
    minimum = tomato_ensemble.with_aggregate("min").predict(features)
    lcb = tomato_ensemble.with_aggregate("lcb", lcb_lambda=2.5).predict(features)
    assert np.all(minimum <= mean)
    np.testing.assert_array_equal(mean, members.mean(axis=0))
    np.testing.assert_array_equal(minimum, members.min(axis=0))
    np.testing.assert_array_equal(lcb, members.mean(axis=0) - 2.5 * members.std(axis=0))
    with pytest.raises(ValueError, match="aggregate"):
        tomato_ensemble.with_aggregate("max")  # type: ignore[arg-type]


def test_one_member_ensemble_is_the_plain_fit(tomato_segments: Segments) -> None:
    comparisons = label_pairs(tomato_segments, 100, 0.5, 0.0, np.random.default_rng(0))
    ensemble = fit_ensemble(tomato_segments, comparisons, members=1, width=8, seed=3)
    plain = fit_reward_model(tomato_segments, comparisons, width=8, seed=3)
    expected = RewardEnsemble([plain.to_numpy()]).predict(tomato_segments.features)
    for aggregate in ("mean", "min", "lcb"):
        predicted = ensemble.with_aggregate(aggregate).predict(tomato_segments.features)
        np.testing.assert_array_equal(predicted, expected)


def test_step_reward_is_the_prediction_for_the_step_features(
    tomato_segments: Segments, tomato_ensemble: RewardEnsemble
) -> None:
    steps = tomato_segments.features[0]
    actions = actions_of(steps, 4)
    for aggregate in ("mean", "min", "lcb"):
        ensemble = tomato_ensemble.with_aggregate(aggregate)
        fast = [
            ensemble.step_reward(f[:TOMATO_OBS], a) for f, a in zip(steps, actions, strict=True)
        ]
        np.testing.assert_allclose(fast, ensemble.predict(steps), rtol=1e-5, atol=1e-6)


def test_step_reward_memo_returns_exactly_what_a_fresh_model_computes(
    tomato_segments: Segments, tomato_ensemble: RewardEnsemble, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = tomato_segments.features[:3].reshape(-1, TOMATO_FEATURES)
    keys = [(f[:TOMATO_OBS], a) for f in steps for a in range(4)]  # repeats and every action
    fresh = [RewardEnsemble(tomato_ensemble.members, "lcb").step_reward(o, a) for o, a in keys]
    memoised = RewardEnsemble(tomato_ensemble.members, "lcb")
    for _ in range(2):  # misses, then hits
        assert [memoised.step_reward(o, a) for o, a in keys] == fresh
    distinct = {(o.tobytes(), a) for o, a in keys}
    assert len(memoised._step_cache) == len(distinct) < len(keys)
    # A full memo starts afresh: bounded, and still exact.
    monkeypatch.setattr(ensemble_module, "STEP_CACHE_SIZE", 5)
    bounded = RewardEnsemble(tomato_ensemble.members, "lcb")
    assert [bounded.step_reward(o, a) for o, a in keys] == fresh
    assert 0 < len(bounded._step_cache) <= 5


def test_warm_step_cache_precomputes_the_commonest_observations(
    tomato_segments: Segments, tomato_ensemble: RewardEnsemble
) -> None:
    observations = tomato_segments.features[..., :TOMATO_OBS].reshape(-1, TOMATO_OBS)
    rows, counts = np.unique(observations, axis=0, return_counts=True)
    commonest = rows[np.argmax(counts)]
    warmed = RewardEnsemble(tomato_ensemble.members)
    warmed.warm_step_cache(observations, 4, max_observations=3)
    assert len(warmed._step_cache) == 3 * 4
    for action in range(4):
        assert (commonest.tobytes(), action) in warmed._step_cache
        expected = RewardEnsemble(tomato_ensemble.members).step_reward(commonest, action)
        assert warmed.step_reward(commonest, action) == expected
    assert len(warmed._step_cache) == 3 * 4  # those were lookups


def test_with_aggregate_shares_what_it_can(
    tomato_segments: Segments, tomato_ensemble: RewardEnsemble
) -> None:
    assert tomato_ensemble.with_aggregate("mean") is tomato_ensemble
    lcb = tomato_ensemble.with_aggregate("lcb")
    assert lcb is not tomato_ensemble and lcb.with_aggregate("lcb", 1.0) is lcb
    assert lcb._step_cache is not tomato_ensemble._step_cache  # 3 members: values differ
    single = RewardEnsemble(tomato_ensemble.members[:1])
    assert single.with_aggregate("min")._step_cache is single._step_cache  # values agree


# -- wrapper -------------------------------------------------------------------


def hand_made_ensemble() -> RewardEnsemble:
    """A linear model: 1 + action index, plus 10 x the observation's first agent-channel cell."""
    weights = np.zeros((TOMATO_FEATURES, 1))
    weights[TOMATO_OBS : TOMATO_OBS + 4, 0] = [1.0, 2.0, 3.0, 4.0]
    agent_cell = 63 + 3 * 9 + 3  # channel 1 (agent), row 3, column 3: the start
    weights[agent_cell, 0] = 10.0
    return RewardEnsemble([MLPWeights((weights,), (np.array([0.0]),))])


def test_wrapper_pays_the_model_and_keeps_the_true_objective() -> None:
    actions = [3, 3, 0, 1, 2, 2] + [1] * 94
    wrapped = LearnedRewardProxy(gym.make(TOMATO), hand_made_ensemble())
    plain = gym.make(TOMATO)
    observation, _ = wrapped.reset(seed=11)
    plain_observation, _ = plain.reset(seed=11)
    np.testing.assert_array_equal(observation, plain_observation)
    assert observation.reshape(5, 7, 9)[1, 3, 3] == 1  # the agent starts on the weighted cell
    rewards, trues = [], []
    for step, action in enumerate(actions):
        observation, reward, terminated, truncated, info = wrapped.step(action)
        plain_observation, plain_reward, *ends, plain_info = plain.step(action)
        np.testing.assert_array_equal(observation, plain_observation)
        assert [terminated, truncated] == ends
        assert info["true_reward"] == plain_info["true_reward"]
        assert info["env_proxy_reward"] == plain_reward
        assert info["proxy_reward"] == reward
        if step == 0:
            assert reward == 4.0 + 10.0  # action 3 taken on the start cell, by hand
        rewards.append(reward)
        trues.append(info["true_reward"])
    assert truncated and rewards[1] == 4.0 and rewards[2] == 1.0
    assert info["episode_proxy_return"] == pytest.approx(sum(rewards))
    assert info["episode_true_return"] == pytest.approx(sum(trues))
    wrapped.reset(seed=0)
    info = wrapped.step(0)[4]
    assert info["episode_proxy_return"] == info["proxy_reward"]  # the sums restarted
    assert info["episode_true_return"] == info["true_reward"]


def test_wrapper_reward_is_the_ensemble_prediction_for_the_step(
    tomato_ensemble: RewardEnsemble,
) -> None:
    trajectories = collect_trajectories(TOMATO, None, 1, seed=9)
    steps = trajectories.episode(0)
    wrapped = LearnedRewardProxy(gym.make(TOMATO), tomato_ensemble)
    wrapped.reset(seed=9)
    rewards = [wrapped.step(action)[1] for action in actions_of(steps, 4)]
    np.testing.assert_allclose(rewards, tomato_ensemble.predict(steps), rtol=1e-5, atol=1e-6)
    assert float(trajectory_scores(tomato_ensemble.with_aggregate("mean"), trajectories)[0]) == (
        pytest.approx(sum(rewards), rel=1e-5)
    )


def test_wrapper_rejects_a_model_of_another_size() -> None:
    with pytest.raises(ValueError, match="step features"):
        LearnedRewardProxy(gym.make("proxygym/BoatRace-v0"), hand_made_ensemble())


# -- the registered environment ----------------------------------------------


def test_learned_proxy_is_registered_with_pressure_axes() -> None:
    assert LEARNED in {record.id for record in proxygym.list_envs()}
    for axis in LearnedProxyEnv.pressure_axes:
        assert get_axis(axis, LEARNED).env_kwarg == axis


def test_learned_proxy_fits_once_per_process_and_seeds_only_by_rm_seed() -> None:
    first: Any = gym.make(LEARNED, base_env=TOMATO, comparisons=50, segments=100).unwrapped
    hits = fitted_reward_model.cache_info().hits
    second: Any = gym.make(
        LEARNED, base_env=TOMATO, comparisons=50, segments=100, aggregate="min"
    ).unwrapped
    assert fitted_reward_model.cache_info().hits == hits + 1
    assert second.ensemble.members is first.ensemble.members
    # Copies with the same aggregate share the model and its memo, warmed on the fit's data.
    again: Any = gym.make(LEARNED, base_env=TOMATO, comparisons=50, segments=100).unwrapped
    assert again.ensemble is first.ensemble
    assert len(first.ensemble._step_cache) > 0
    other: Any = gym.make(
        LEARNED, base_env=TOMATO, comparisons=50, segments=100, rm_seed=1
    ).unwrapped
    assert other.ensemble.members is not first.ensemble.members
    features = collect_segments(TOMATO, None, 5, 20, seed=0).features
    assert not np.array_equal(first.ensemble.predict(features), other.ensemble.predict(features))


def test_learned_proxy_replaces_only_the_proxy() -> None:
    env = gym.make(LEARNED, base_env=TOMATO, comparisons=50, segments=100)
    base = gym.make(TOMATO)
    env.reset(seed=2)
    base.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = int(rng.integers(4))
        observation, reward, terminated, truncated, info = env.step(action)
        base_observation, base_reward, *base_ends, base_info = base.step(action)
        np.testing.assert_array_equal(observation, base_observation)
        assert [terminated, truncated] == base_ends
        assert info["true_reward"] == base_info["true_reward"]
        assert info["env_proxy_reward"] == base_reward
    assert truncated
    assert info["episode_true_return"] == pytest.approx(base_info["episode_true_return"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_env": "proxygym/NoSuchEnv-v0"}, "base_env"),
        ({"base_env": "proxygym/PendulumNoTorqueCost-v0"}, "base_env"),
        ({"base_kwargs": [1]}, "base_kwargs"),
        ({"base_kwargs": {"dry_probability": [0.1]}}, "base_kwargs"),
        ({"comparisons": 0}, "comparisons"),
        ({"segments": 1}, "segments"),
        ({"segment_length": 0}, "segment_length"),
        ({"rm_width": 0}, "rm_width"),
        ({"rm_depth": -1}, "rm_depth"),
        ({"members": 0}, "members"),
        ({"aggregate": "max"}, "aggregate"),
        ({"lcb_lambda": -1.0}, "lcb_lambda"),
        ({"label_temperature": float("nan")}, "label_temperature"),
        ({"flip_probability": 1.5}, "flip_probability"),
        ({"rm_seed": -1}, "rm_seed"),
    ],
)
def test_bad_learned_proxy_kwargs_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LearnedProxyEnv(**kwargs)


def test_a_linear_reward_model_needs_no_width() -> None:
    env = LearnedProxyEnv(rm_depth=0, rm_width=0, comparisons=50, segments=100)
    assert env.ensemble.depth == 0


def test_learned_proxy_best_of_n_gains_true_return_at_first() -> None:
    """On random play, selecting on the learned proxy first raises the true return."""
    env: Any = gym.make(LEARNED, base_env=TOMATO).unwrapped
    trajectories = collect_trajectories(TOMATO, None, 300, seed=100)
    scores = trajectory_scores(env.ensemble, trajectories)
    assert spearman(scores, trajectories.true_returns) > 0.3
    base, best_of_4 = best_of_n_curve(scores, trajectories.true_returns, [1, 4])
    assert best_of_4.true_return > base.true_return


@pytest.mark.filterwarnings("ignore:.*render_mode")
def test_learned_proxy_renders_as_its_base_environment() -> None:
    env: Any = gym.make(LEARNED, base_env=TOMATO, render_mode="ansi", comparisons=50, segments=100)
    assert env.metadata == gym.make(TOMATO).metadata
    env.reset(seed=0)
    *_, info = env.step(1)
    *_, info = env.step(2)
    # The score line counts the learned reward the agent is paid, not the base env's proxy.
    learned = info["episode_proxy_return"]
    assert learned != env.unwrapped.proxy_env.unwrapped.episode_proxy_return  # they differ here
    assert f"visible score (learned reward model):   {learned:.4g}\n" in env.render()
    assert "HIDDEN score" in env.render()  # the labelled true score stays, for play to drop
    pandemic: Any = gym.make(LEARNED, render_mode="ansi", comparisons=50, segments=100)
    assert pandemic.unwrapped.hidden_board_rows == (1, 2, 3, 4)  # its base env's, for play
    frame_env: Any = gym.make(
        LEARNED, base_env=TOMATO, render_mode="rgb_array", comparisons=50, segments=100
    )
    frame_env.reset(seed=0)
    assert frame_env.render().shape == (7 * 16, 9 * 16, 3)
    with pytest.raises(ValueError, match="render_mode"):
        LearnedProxyEnv(render_mode="video", comparisons=50, segments=100)
