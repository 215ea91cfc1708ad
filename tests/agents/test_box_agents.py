"""Box (continuous) actions: PPO, A2C, SAC and TD3 policies as distributions, evaluated.

Each SB3 policy's distribution must act as SB3's own ``predict`` does at
temperature 0, carry the model's spread, and measure 0 from itself; the
random reference plays exactly the uniform draws of its generator.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise

from proxygym.agents import KLPenalty, TrueLabelEarlyStopping, make_agent
from proxygym.agents.distributions import (
    DeterministicActor,
    DiagGaussian,
    SquashedDiagGaussian,
    gaussian_kl,
)
from proxygym.agents.evaluation import (
    agent_distribution,
    evaluate_policy,
    policy_distribution,
    policy_logits,
    random_distribution,
    snapshot_policy,
)
from proxygym.agents.policies import detect_algo, load_agent

PENDULUM = "proxygym/PendulumNoTorqueCost-v0"
#: Small off-policy settings: learning starts early, the buffer is small.
OFF_POLICY = {"learning_starts": 32, "batch_size": 32, "buffer_size": 1000}
SMALL: dict[str, dict[str, Any]] = {
    "ppo": {"n_envs": 2, "n_steps": 32, "batch_size": 64, "n_epochs": 1},
    "a2c": {"n_envs": 2, "n_steps": 8},
    "sac": OFF_POLICY,
    "td3": OFF_POLICY,
}
KINDS = {
    "ppo": DiagGaussian,
    "a2c": DiagGaussian,
    "sac": SquashedDiagGaussian,
    "td3": DeterministicActor,
}


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def pendulum_agent(algo: str, seed: int = 0, **overrides: Any) -> BaseAlgorithm:
    return make_agent(algo, PENDULUM, seed=seed, **{**SMALL[algo], **overrides})


def pendulum_observations(n: int = 50) -> list[np.ndarray]:
    """Observations of a seeded random walk on the pendulum."""
    env = gym.make(PENDULUM)
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=0)
    observations = []
    for _ in range(n):
        observations.append(observation)
        observation, _, terminated, truncated, _ = env.step(rng.uniform(-2, 2, size=1))
        if terminated or truncated:
            observation, _ = env.reset()
    return observations


@pytest.mark.parametrize("algo", ["ppo", "a2c", "sac", "td3"])
def test_greedy_action_is_sb3s_deterministic_predict(algo: str) -> None:
    model = pendulum_agent(algo)
    model.learn(64)  # move away from the initial weights
    policy = agent_distribution(model)
    for observation in pendulum_observations():
        dist = policy(observation)
        assert type(dist) is KINDS[algo]
        expected, _ = model.predict(observation, deterministic=True)
        np.testing.assert_allclose(dist.greedy(), expected, rtol=1e-5, atol=1e-6)


def test_ppo_spread_is_its_log_std_and_temperature_scales_it() -> None:
    model = pendulum_agent("ppo", use_sde=False, policy_kwargs={"log_std_init": -1.0})
    dist = policy_distribution(model.policy)(pendulum_observations(1)[0])
    assert isinstance(dist, DiagGaussian)
    np.testing.assert_allclose(dist.std, [np.exp(-1.0)], rtol=1e-6)
    np.testing.assert_allclose(dist.low, [-2.0]) and np.testing.assert_allclose(dist.high, [2.0])


def test_td3_noise_is_read_from_the_model_or_defaults_to_a_tenth_of_the_half_range() -> None:
    observation = pendulum_observations(1)[0]
    noisy = pendulum_agent("td3", noise_std=0.3)
    assert isinstance(noisy.action_noise, NormalActionNoise)
    np.testing.assert_allclose(agent_distribution(noisy)(observation).std, [0.3 * 2.0])
    np.testing.assert_allclose(policy_distribution(noisy.policy)(observation).std, [0.1 * 2.0])


def test_noise_std_must_be_positive() -> None:
    with pytest.raises(ValueError, match="noise_std must be a number > 0, got 0"):
        pendulum_agent("td3", noise_std=0)


def kl_from_snapshot(model: Any, initial: Any) -> float | None:
    """``kl_from_init`` of ``model`` from its ``initial`` snapshot on one seeded episode."""
    return evaluate_policy(
        agent_distribution(model),
        PENDULUM,
        {},
        1,
        seed=3,
        temperature=1.0,
        initial_logits=agent_distribution(model, initial),
    ).kl_from_init


@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_untrained_policy_is_at_kl_zero_from_its_snapshot(algo: str) -> None:
    model = pendulum_agent(algo)
    initial = snapshot_policy(model.policy)
    assert kl_from_snapshot(model, initial) == 0.0
    model.learn(96)
    moved = kl_from_snapshot(model, initial)
    assert moved is not None and moved > 0.0


def test_kl_from_init_is_the_closed_form_gaussian_kl_on_every_state() -> None:
    """A planted pair: mean 1 vs mean 0, both of spread 1: KL 1/2 in every state."""
    moved = DiagGaussian(np.array([1.0]), np.array([1.0]), -2.0, 2.0)
    start = DiagGaussian(np.array([0.0]), np.array([1.0]), -2.0, 2.0)
    result = evaluate_policy(
        lambda observation: moved,
        PENDULUM,
        {},
        2,
        seed=0,
        temperature=0.0,
        initial_logits=lambda observation: start,
    )
    assert result.kl_from_init == pytest.approx(0.5)


def test_snapshot_copies_a_gsde_policy_that_deepcopy_refuses_and_draws_no_randomness() -> None:
    model = pendulum_agent("ppo", use_sde=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(model.policy)
    state = torch.random.get_rng_state()
    snapshot = snapshot_policy(model.policy)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(p.requires_grad is False for p in snapshot.parameters())
    for name, value in model.policy.state_dict().items():
        assert torch.equal(snapshot.state_dict()[name], value), name
    observation = pendulum_observations(1)[0]
    ours, theirs = (
        policy_distribution(snapshot)(observation),
        policy_distribution(model.policy)(observation),
    )
    assert ours.kl(theirs) == 0.0


def test_random_reference_plays_the_generators_uniform_draws() -> None:
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    result = evaluate_policy(random_distribution(space), PENDULUM, {}, 2, seed=7, temperature=1.0)
    env, rng = gym.make(PENDULUM), np.random.default_rng(7)
    returns = []
    for episode in range(2):
        env.reset(seed=7 + episode)
        done = False
        while not done:
            action = rng.uniform(np.array([-2.0]), np.array([2.0])).astype(np.float32)
            _, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        returns.append(info["episode_proxy_return"])
    assert result.proxy_return == float(np.mean(returns))


def test_logits_are_refused_for_box_actions_with_the_way_out() -> None:
    with pytest.raises(TypeError, match="use policy_distribution for continuous"):
        policy_logits(pendulum_agent("sac").policy)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "sac", "td3"])
def test_saved_models_are_recognised_by_their_algorithm(algo: str, tmp_path: Path) -> None:
    env_id = "proxygym/BoatRace-v0" if algo == "dqn" else PENDULUM
    model = make_agent(algo, env_id, seed=0, **({} if algo == "dqn" else SMALL[algo]))
    path = tmp_path / f"{algo}.zip"
    model.save(path)
    assert detect_algo(path) == algo
    assert type(load_agent(path)) is type(model)


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_a_saved_model_keeps_its_distribution_and_noise(algo: str, tmp_path: Path) -> None:
    model = pendulum_agent(algo, noise_std=0.2)
    model.save(tmp_path / "model.zip")
    loaded = load_agent(tmp_path / "model.zip")
    observation = pendulum_observations(1)[0]
    before, after = agent_distribution(model)(observation), agent_distribution(loaded)(observation)
    np.testing.assert_allclose(after.std, before.std, rtol=1e-6)
    np.testing.assert_allclose(after.mean, before.mean, rtol=1e-6)


def linear_sizes(module: torch.nn.Module) -> list[int]:
    return [m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)]


def test_width_override_builds_sac_and_td3_actor_and_critic_networks() -> None:
    from proxygym.sweeps.axes import net_arch

    assert net_arch("sac", 8, 2) == {"pi": [8, 8], "qf": [8, 8]}
    assert net_arch("ppo", 8, 2) == {"pi": [8, 8], "vf": [8, 8]}
    assert net_arch("dqn", 8, 2) == [8, 8]
    sac = pendulum_agent("sac", policy_kwargs={"net_arch": net_arch("sac", 8, 2)})
    td3 = pendulum_agent("td3", policy_kwargs={"net_arch": net_arch("td3", 8, 2)})
    assert linear_sizes(sac.actor.latent_pi) == [8, 8]
    assert linear_sizes(td3.actor.mu) == [8, 8, 1]
    assert linear_sizes(sac.critic.qf0) == linear_sizes(td3.critic.qf0) == [8, 8, 1]


# -- mitigations on Box actions ----------------------------------------------------------------


def test_kl_penalty_measures_the_closed_form_gaussian_kl() -> None:
    model = pendulum_agent("ppo", use_sde=False)
    initial = snapshot_policy(model.policy)
    penalty = KLPenalty(0.1)
    model.learn(128, callback=penalty)
    observations = np.array(pendulum_observations(20))
    exact = penalty.kl_from_initial(observations)
    current, start = policy_distribution(model.policy), policy_distribution(initial)
    expected = [
        gaussian_kl(current(o).mean, current(o).std, start(o).mean, start(o).std)
        for o in observations
    ]
    # torch computes in float32: KLs of 1e-6 keep about three digits.
    np.testing.assert_allclose(exact, expected, rtol=1e-3, atol=1e-7)
    assert len(penalty.rollout_kl) == 2 and penalty.rollout_kl[-1] > 0


def test_kl_penalty_subtracts_the_sampled_gaussian_log_ratio() -> None:
    """On the first rollout the policy is still the initial one: the penalty is 0 (to float32
    rounding of the batched recomputation); after an update it is not."""
    rewards: list[np.ndarray] = []

    class Spy(KLPenalty):
        def _on_rollout_end(self) -> None:
            before = self.locals["rollout_buffer"].rewards.copy()
            super()._on_rollout_end()
            rewards.append(self.locals["rollout_buffer"].rewards - before)

    model = pendulum_agent("ppo", use_sde=True)
    model.learn(128, callback=Spy(1.0))
    assert np.abs(rewards[0]).max() < 1e-5
    assert np.abs(rewards[1]).max() > 1e-3


def test_early_stopping_checks_box_policies() -> None:
    model = pendulum_agent("sac")
    stopping = TrueLabelEarlyStopping(
        PENDULUM, check_every=50, episodes_per_check=1, patience=None, temperature=1.0
    )
    model.learn(100, callback=stopping)
    assert [check.timestep for check in stopping.checks] == [50, 100]
    assert stopping.labels_used == 200  # two checks of one 100-step episode
