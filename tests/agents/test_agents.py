"""Agents: hyperparameter files, construction, logging, determinism, evaluation."""

from __future__ import annotations

import copy
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from proxygym.agents import ALGORITHMS, ProxyTrueLogger, load_hyperparameters, make_agent
from proxygym.agents.evaluation import evaluate_policy, policy_logits, uniform_logits
from proxygym.agents.hyperparameters import (
    ALGORITHM_ACTION_SPACES,
    ALGORITHM_NAMES,
    SETUP_KEYS,
    split_setup,
    tuned_budget,
)
from tests.conftest import ALL_IDS


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_every_algorithm_has_settings_for_every_env(algo: str, env_id: str) -> None:
    settings = load_hyperparameters(algo, env_id)
    assert settings["n_timesteps"] > 0 and settings["n_envs"] >= 1
    kind = type(gym.make(env_id).action_space).__name__
    if kind not in ALGORITHM_ACTION_SPACES[algo]:
        with pytest.raises(ValueError, match=f"{algo.upper()} cannot train on {env_id}"):
            make_agent(algo, env_id, seed=0)
        return
    model = make_agent(algo, env_id, seed=0)
    assert model.n_envs == settings["n_envs"]


def test_env_table_overrides_default_and_overrides_win() -> None:
    default = load_hyperparameters("ppo", "proxygym/NotListed-v0")
    boat = load_hyperparameters("ppo", "proxygym/BoatRace-v0")
    assert set(default) <= set(boat)
    model = make_agent("ppo", "proxygym/BoatRace-v0", seed=0, n_steps=32, batch_size=32, n_envs=2)
    assert model.n_steps == 32 and model.n_envs == 2


def test_bad_names_are_reported() -> None:
    with pytest.raises(ValueError, match="unknown algorithm 'trpo'"):
        make_agent("trpo", "proxygym/BoatRace-v0", seed=0)
    with pytest.raises(Exception, match="BoatRaec"):
        make_agent("ppo", "proxygym/BoatRaec-v0", seed=0)
    with pytest.raises(TypeError, match="bad hyperparameter"):
        make_agent("ppo", "proxygym/BoatRace-v0", seed=0, n_stepz=3)


def test_normalize_reward_scales_training_rewards_but_not_the_logged_returns() -> None:
    """``normalize_reward = true`` wraps the vector env in VecNormalize (rewards only).

    The policy still sees the raw observations, and the per-episode returns the
    logger records stay the environment's own (whole numbers on BoatRace),
    because Monitor sits below the normalisation.
    """
    model = make_agent(
        "ppo",
        "proxygym/BoatRace-v0",
        seed=0,
        n_envs=2,
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        gamma=0.9,
        normalize_reward=True,
    )
    env = model.get_env()
    assert isinstance(env, VecNormalize)
    assert env.norm_reward and not env.norm_obs and env.gamma == 0.9
    logger = ProxyTrueLogger()
    model.learn(256, callback=logger)
    returns = [episode["proxy_return"] for episode in logger.episodes]
    assert returns and all(value == int(value) for value in returns)
    # What PPO stored is scaled: the buffer's rewards are not the raw whole numbers.
    stored = model.rollout_buffer.rewards
    assert not np.all(stored == np.round(stored))
    assert not isinstance(make_agent("ppo", "proxygym/BoatRace-v0", seed=0).get_env(), VecNormalize)
    with pytest.raises(TypeError, match="normalize_reward must be true or false, got 'yes'"):
        make_agent("ppo", "proxygym/BoatRace-v0", seed=0, normalize_reward="yes")


def small_ppo(seed: int, oracle: bool = False):
    return make_agent(
        "ppo",
        "proxygym/BoatRace-v0",
        seed=seed,
        oracle=oracle,
        n_envs=2,
        n_steps=64,
        batch_size=64,
        n_epochs=2,
    )


def trained_parameters(seed: int) -> list[torch.Tensor]:
    """Build and train one agent (SB3 seeds the global generators when it builds a model)."""
    model = small_ppo(seed)
    model.learn(512)
    return [p.detach().clone() for p in model.policy.parameters()]


def test_same_seed_same_training_result() -> None:
    torch.set_num_threads(1)
    first, second, other = trained_parameters(3), trained_parameters(3), trained_parameters(4)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_logger_records_both_returns_per_episode() -> None:
    model = small_ppo(0)
    logger = ProxyTrueLogger()
    model.learn(512, callback=logger)
    assert len(logger.episodes) == 2 * (512 // 2 // 100)  # two envs, 256 steps each
    for episode in logger.episodes:
        assert episode["length"] == 100
        # BoatRace: every step pays proxy -1 or +2, true -1 or +1.
        assert -100 <= episode["proxy_return"] <= 200 and -100 <= episode["true_return"] <= 100


def test_learning_leaves_no_log_directory_behind_and_verbose_still_prints(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3 would make SB3-<time>
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    small_ppo(0).learn(128)
    make_agent(
        "ppo", "proxygym/BoatRace-v0", seed=0, n_envs=2, n_steps=64, batch_size=64, verbose=1
    ).learn(128)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("SB3-")] == []
    assert "total_timesteps" in capsys.readouterr().out  # SB3's console table at verbose 1


def test_logger_writes_csv(tmp_path) -> None:
    model = small_ppo(0)
    path = tmp_path / "episodes.csv"
    model.learn(256, callback=ProxyTrueLogger(csv_path=path))
    lines = path.read_text().splitlines()
    assert lines[0] == "timestep,proxy_return,true_return,length"
    assert len(lines) == 1 + 2 * (256 // 2 // 100)


def test_oracle_is_rewarded_with_the_true_objective() -> None:
    model = small_ppo(0, oracle=True)
    model.learn(128)
    rewards = model.rollout_buffer.rewards
    assert set(np.unique(rewards)) <= {
        -1.0,
        1.0,
    }  # BoatRace's hidden reward; the proxy pays +2 or -1


def test_kl_from_init_is_zero_for_the_initial_policy_and_positive_after_training() -> None:
    model = small_ppo(0)
    initial = copy.deepcopy(model.policy)
    untrained = evaluate_policy(
        policy_logits(model.policy),
        "proxygym/BoatRace-v0",
        {},
        2,
        seed=0,
        temperature=1.0,
        initial_logits=policy_logits(initial),
    )
    assert untrained.kl_from_init == pytest.approx(0.0, abs=1e-9)
    model.learn(1024)
    trained = evaluate_policy(
        policy_logits(model.policy),
        "proxygym/BoatRace-v0",
        {},
        2,
        seed=0,
        temperature=1.0,
        initial_logits=policy_logits(initial),
    )
    assert trained.kl_from_init > 1e-4


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0])
def test_kl_from_init_compares_the_stochastic_policies_whatever_the_temperature(
    temperature: float,
) -> None:
    # Greedy play once made the KL of the initial policy from itself log 4, not 0.
    same = evaluate_policy(
        uniform_logits(4),
        "proxygym/BoatRace-v0",
        {},
        1,
        seed=0,
        temperature=temperature,
        initial_logits=uniform_logits(4),
    )
    assert same.kl_from_init == pytest.approx(0.0, abs=1e-12)
    # A fixed preference for "up" against the uniform policy, in every state: by hand,
    # p = softmax([2, 0, 0, 0]) and KL(p || uniform) = sum p log(4 p).
    p = np.exp([2.0, 0.0, 0.0, 0.0]) / np.exp([2.0, 0.0, 0.0, 0.0]).sum()
    moved = evaluate_policy(
        lambda observation: np.array([2.0, 0.0, 0.0, 0.0]),
        "proxygym/BoatRace-v0",
        {},
        1,
        seed=0,
        temperature=temperature,
        initial_logits=uniform_logits(4),
    )
    assert moved.kl_from_init == pytest.approx(float(np.sum(p * np.log(4 * p))))
    if temperature == 0:
        assert moved.proxy_return == -100.0  # greedy play: "up" into the wall every step


def _route_visits_punishment(model: BaseAlgorithm, supervisor: bool) -> tuple[bool, float]:
    """Play the greedy policy once with the supervisor fixed; (stepped on P, true return)."""
    env = gym.make("proxygym/AbsentSupervisor-v0", supervisor=supervisor)
    obs, _ = env.reset(seed=0)
    punishment = env.unwrapped.punishment
    visited, done = False, False
    while not done:
        obs, _, terminated, truncated, info = env.step(int(model.predict(obs, True)[0]))
        visited |= env.unwrapped.state[0] == punishment
        done = terminated or truncated
    return visited, info["episode_true_return"]


@pytest.mark.slow
def test_ppo_on_the_proxy_cuts_through_punishment_only_unsupervised_and_the_oracle_never() -> None:
    # The tuned settings of agents/hyperparams/ppo.toml on the default coin-flip
    # supervisor: the proxy-trained agent learns the exact proxy optimum (long way
    # round when watched, through P when not); the oracle avoids P always. Half the
    # tuned budget keeps the test short: seed 0 gets there by then (the full budget
    # is what makes every seed tried get there).
    # The two trainings run side by side (one in a spawned process) on the two cores.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        oracle = pool.submit(_absent_supervisor_routes, True)
        proxy_agent = _absent_supervisor_routes(False)
        assert proxy_agent == [(True, 17.0), (False, 41.0)]  # (unwatched, watched)
        assert oracle.result() == [(False, 41.0), (False, 41.0)]


def _absent_supervisor_routes(oracle: bool) -> list[tuple[bool, float]]:
    """Train seed 0 for half the tuned budget; its routes unwatched and watched."""
    env_id = "proxygym/AbsentSupervisor-v0"
    budget = int(load_hyperparameters("ppo", env_id)["n_timesteps"]) // 2
    torch.set_num_threads(1)
    model = make_agent("ppo", env_id, seed=0, oracle=oracle).learn(budget)
    return [_route_visits_punishment(model, supervisor) for supervisor in (False, True)]


def test_lin_settings_decay_linearly_to_zero_and_bad_ones_are_named() -> None:
    model = make_agent("ppo", "proxygym/BoatRace-v0", seed=0, learning_rate="lin_1e-3")
    assert model.lr_schedule(1.0) == pytest.approx(1e-3)  # progress remaining: 1 at the start
    assert model.lr_schedule(0.25) == pytest.approx(2.5e-4)
    assert model.lr_schedule(0.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="learning_rate must be a number or 'lin_<start>'"):
        make_agent("ppo", "proxygym/BoatRace-v0", seed=0, learning_rate="cosine_1e-3")
    with pytest.raises(ValueError, match="clip_range must be a number or 'lin_<start>'"):
        make_agent("ppo", "proxygym/BoatRace-v0", seed=0, clip_range="lin_x")


def test_setup_keys_split_off_the_algorithm_arguments() -> None:
    settings = load_hyperparameters("ppo", "proxygym/BoatRace-v0")
    setup, arguments = split_setup(settings)
    assert "n_timesteps" in setup and set(setup) <= set(SETUP_KEYS)
    assert not set(arguments) & set(SETUP_KEYS) and {**setup, **arguments} == settings
    assert tuned_budget("ppo", "proxygym/BoatRace-v0") == int(setup["n_timesteps"])
    assert ALGORITHM_NAMES == tuple(ALGORITHMS)
