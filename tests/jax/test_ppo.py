"""The JAX engine's PPO is stable-baselines3's PPO: each piece checked against SB3 itself.

The update of one minibatch, GAE, reward normalisation, the schedules, the
time-limit bootstrap, initialisation and the checkpoint positions are
compared with SB3 on the same inputs; training is deterministic per seed,
whatever other seeds share the batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402
from stable_baselines3.common.utils import LinearSchedule  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv, VecNormalize  # noqa: E402

from proxygym.agents import make_agent  # noqa: E402
from proxygym.jax import envs as jax_envs  # noqa: E402
from proxygym.jax.export import from_sb3  # noqa: E402
from proxygym.jax.ppo import (  # noqa: E402
    EngineError,
    PPOConfig,
    Rollout,
    RunState,
    Trainer,
    _adam,
    bootstrap_truncated,
    gae,
    init_params,
    logits_fn,
    progress_value,
    train,
    update_minibatch,
    value_fn,
)

BOAT = "proxygym/BoatRace-v0"


@pytest.fixture(scope="module")
def boat() -> tuple[Any, Any]:
    return jax_envs.make(BOAT)


def _sb3_model(n_envs: int = 2, n_steps: int = 16, **overrides: Any) -> Any:
    return make_agent(
        "ppo",
        BOAT,
        seed=3,
        n_envs=n_envs,
        n_steps=n_steps,
        batch_size=n_envs * n_steps,
        n_epochs=1,
        **overrides,
    )


def _fill_buffer(model: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A rollout of random data in SB3's buffer (values and log-probs from the policy itself)."""
    buffer = model.rollout_buffer
    buffer.reset()
    n_steps, n_envs = buffer.buffer_size, buffer.n_envs
    obs = (rng.random((n_steps, n_envs, 150)) < 0.1).astype(np.float32)
    actions = rng.integers(0, 4, (n_steps, n_envs))
    rewards = rng.normal(size=(n_steps, n_envs)).astype(np.float32)
    starts = rng.random((n_steps, n_envs)) < 0.15
    with torch.no_grad():
        for t in range(n_steps):
            values, log_prob, _ = model.policy.evaluate_actions(
                torch.as_tensor(obs[t]), torch.as_tensor(actions[t])
            )
            buffer.add(obs[t], actions[t][:, None], rewards[t], starts[t], values, log_prob)
    last_values = torch.as_tensor(rng.normal(size=n_envs).astype(np.float32))
    dones = rng.random(n_envs) < 0.3
    buffer.compute_returns_and_advantage(last_values, dones)
    return {
        "obs": obs,
        "actions": actions,
        "rewards": rewards,
        "starts": starts,
        "last_values": last_values.numpy(),
        "dones": dones,
    }


def _jax_rollout(model: Any, data: dict[str, np.ndarray]) -> tuple[Rollout, jax.Array]:
    """The same rollout in the JAX engine's layout (done[t]: step t ended an episode)."""
    buffer = model.rollout_buffer
    done = np.concatenate([data["starts"][1:], data["dones"][None]], axis=0).astype(np.float32)
    rollout = Rollout(
        obs=jnp.asarray(data["obs"]),
        action=jnp.asarray(data["actions"]),
        log_prob=jnp.asarray(buffer.log_probs.astype(np.float32)),
        value=jnp.asarray(buffer.values.astype(np.float32)),
        reward=jnp.asarray(data["rewards"]),
        done=jnp.asarray(done),
    )
    return rollout, jnp.asarray(data["last_values"])


def test_gae_equals_sb3s_rollout_buffer() -> None:
    model = _sb3_model(n_envs=3, n_steps=40)
    data = _fill_buffer(model, np.random.default_rng(0))
    rollout, last_value = _jax_rollout(model, data)
    advantages, returns = gae(rollout, last_value, model.gamma, model.gae_lambda)
    np.testing.assert_allclose(advantages, model.rollout_buffer.advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, model.rollout_buffer.returns, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lr", [3e-4, 1e-3])
def test_one_update_equals_sb3s_train_step(lr: float) -> None:
    """Same weights, same minibatch: SB3's ``train()`` and ``update_minibatch`` agree."""
    model = _sb3_model(learning_rate=lr, ent_coef=0.05, max_grad_norm=0.5)
    data = _fill_buffer(model, np.random.default_rng(1))
    params = from_sb3(model)
    buffer = model.rollout_buffer
    n = buffer.buffer_size * buffer.n_envs
    flat = lambda x: np.asarray(x).swapaxes(0, 1).reshape(n, *np.asarray(x).shape[2:])  # noqa: E731
    batch = {
        "obs": jnp.asarray(flat(data["obs"])),
        "action": jnp.asarray(flat(data["actions"])),
        "log_prob": jnp.asarray(flat(buffer.log_probs).astype(np.float32)),
        "advantage": jnp.asarray(flat(buffer.advantages).astype(np.float32)),
        "return": jnp.asarray(flat(buffer.returns).astype(np.float32)),
    }
    config = PPOConfig.from_hyperparameters(
        BOAT,
        10_000,
        {
            "n_envs": 2,
            "n_steps": 16,
            "batch_size": 32,
            "n_epochs": 1,
            "learning_rate": lr,
            "ent_coef": 0.05,
        },
    )
    params_j = jax.tree.map(jnp.asarray, params)
    updated, _ = update_minibatch(
        params_j, _adam().init(params_j), batch, jnp.float32(lr), jnp.float32(0.2), config
    )
    from stable_baselines3.common.logger import configure

    model.set_logger(configure(None, []))
    model._current_progress_remaining = 1.0
    model.train()  # one epoch, one minibatch holding the whole rollout
    expected = from_sb3(model)
    moved = 0.0
    for got, want, before in zip(
        jax.tree.leaves(updated), jax.tree.leaves(expected), jax.tree.leaves(params), strict=True
    ):
        np.testing.assert_allclose(np.asarray(got), want, atol=lr * 1e-2, rtol=0)
        moved = max(moved, float(np.abs(want - before).max()))
    assert moved > lr / 2  # the step really moved the weights (by about lr per weight)


class _Rewards(VecEnv):
    """A VecEnv that returns planted rewards and dones (for VecNormalize)."""

    def __init__(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        import gymnasium as gym

        super().__init__(rewards.shape[1], gym.spaces.Box(0, 1, (1,)), gym.spaces.Discrete(2))
        self.rewards, self.dones, self.t = rewards, dones, 0

    def reset(self) -> np.ndarray:
        return np.zeros((self.num_envs, 1), np.float32)

    def step_async(self, actions: np.ndarray) -> None:
        pass

    def step_wait(self) -> Any:
        t, self.t = self.t, self.t + 1
        infos = [{} for _ in range(self.num_envs)]
        return np.zeros((self.num_envs, 1), np.float32), self.rewards[t], self.dones[t], infos

    def close(self) -> None: ...
    def get_attr(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [None] * self.num_envs

    def set_attr(self, *args: Any, **kwargs: Any) -> None: ...
    def env_method(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [None] * self.num_envs

    def env_is_wrapped(self, *args: Any, **kwargs: Any) -> list[bool]:
        return [False] * self.num_envs


def test_reward_normalisation_equals_vecnormalize(boat: tuple[Any, Any]) -> None:
    rng = np.random.default_rng(2)
    rewards = (rng.normal(size=(60, 4)) * 0.1).astype(np.float32)
    rewards[40, 2] = 1_000.0  # far beyond the running spread: clipped to 10
    dones = rng.random((60, 4)) < 0.1
    venv = VecNormalize(_Rewards(rewards, dones), norm_obs=False, norm_reward=True, gamma=0.97)
    venv.reset()
    expected = [venv.step(np.zeros(4, int))[1] for _ in range(60)]
    config = PPOConfig.from_hyperparameters(
        BOAT, 10_000, {"n_envs": 4, "gamma": 0.97, "normalize_reward": True}
    )
    trainer = Trainer(*boat, config)
    run = RunState(
        params=None,
        opt_state=None,
        env_state=None,
        obs=jnp.zeros(1),
        key=jnp.zeros(2),
        iteration=jnp.zeros((), jnp.int32),
        ret=jnp.zeros(4),
        ret_mean=jnp.zeros(()),
        ret_var=jnp.ones(()),
        ret_count=jnp.asarray(1e-4),
        oracle=jnp.asarray(False),
    )
    got = []
    for t in range(60):
        run, scaled = trainer._normalize(run, jnp.asarray(rewards[t]), jnp.asarray(dones[t]))
        got.append(np.asarray(scaled))
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=2e-4, atol=1e-5)
    assert np.abs(np.array(expected)).max() == pytest.approx(10.0)  # the clip was exercised


@pytest.mark.parametrize("remaining", [1.0, 0.75, 0.1, 0.0, -0.2])
def test_linear_schedules_equal_sb3s(remaining: float) -> None:
    total = 10_000
    steps_done = jnp.asarray((1 - remaining) * total)
    want = LinearSchedule(1e-3, 0.0, end_fraction=1.0)(remaining)
    assert float(progress_value(1e-3, True, steps_done, total)) == pytest.approx(want, abs=1e-9)
    assert float(progress_value(1e-3, False, steps_done, total)) == pytest.approx(1e-3)


def test_time_limit_bootstrap_adds_the_discounted_final_value_only_on_truncation() -> None:
    reward = jnp.array([1.0, 1.0, 1.0, 1.0])
    done = jnp.array([False, True, True, False])
    truncated = jnp.array(
        [False, True, False, True]
    )  # cut by the limit; ended in the game; not done
    got = bootstrap_truncated(reward, done, truncated, jnp.array([5.0, 5.0, 5.0, 5.0]), 0.9)
    np.testing.assert_allclose(got, [1.0, 5.5, 1.0, 1.0])


@pytest.mark.parametrize("indexed", [False, True])
def test_the_environment_step_keeps_the_final_observation_and_resets(
    boat: tuple[Any, Any], indexed: bool
) -> None:
    env, params = boat
    config = PPOConfig.from_hyperparameters(BOAT, 1_000)
    trainer = Trainer(env, params, config, indexed=indexed)
    # What the network is fed, as an observation (an index stands for its table row).
    seen = (lambda x: params.observations[x]) if indexed else (lambda x: x)
    key = jax.random.PRNGKey(0)
    obs, state = env.reset_env(key, params)
    step = jax.jit(lambda k, s, a: trainer._env_step(k, s, a, params))
    for t in range(int(params.max_steps_in_episode)):
        next_obs, state_after, _, _, done, truncated, final_obs = step(
            jax.random.PRNGKey(t), state, 0
        )
        expected = env.step_env(jax.random.PRNGKey(t), state, 0, params)[0]
        if t < params.max_steps_in_episode - 1:
            assert not bool(done)
            np.testing.assert_array_equal(seen(next_obs), seen(final_obs))
            np.testing.assert_array_equal(seen(final_obs), expected)
        state = state_after
    assert bool(done) and bool(truncated)
    np.testing.assert_array_equal(seen(final_obs), expected)
    np.testing.assert_array_equal(
        seen(next_obs), env.reset_env(jax.random.split(jax.random.PRNGKey(t))[1], params)[0]
    )


def test_initialisation_is_sb3s_orthogonal_scheme() -> None:
    config = PPOConfig.from_hyperparameters(BOAT, 1_000, {"policy_kwargs": {"net_arch": [32, 16]}})
    params = init_params(jax.random.PRNGKey(0), 150, 4, config)
    model = make_agent("ppo", BOAT, seed=0, policy_kwargs={"net_arch": [32, 16]})
    reference = from_sb3(model)
    gains = {"pi": math.sqrt(2), "vf": math.sqrt(2)}
    for tower, gain in gains.items():
        for (kernel, bias), (ref_kernel, _) in zip(params[tower], reference[tower], strict=True):
            assert kernel.shape == ref_kernel.shape
            np.testing.assert_allclose(
                np.linalg.svd(np.asarray(kernel), compute_uv=False), gain, rtol=1e-4
            )
            np.testing.assert_allclose(np.linalg.svd(ref_kernel, compute_uv=False), gain, rtol=1e-4)
            assert not np.asarray(bias).any()
    for head, gain in (("action", 0.01), ("value", 1.0)):
        np.testing.assert_allclose(
            np.linalg.svd(np.asarray(params[head][0]), compute_uv=False), gain, rtol=1e-4
        )
        assert params[head][0].shape == reference[head][0].shape


def test_rollouts_and_checkpoints_fall_where_sb3s_do() -> None:
    """SB3 collects ceil(total/rollout) rollouts; a checkpoint is the next boundary at or after."""
    config = PPOConfig.from_hyperparameters(
        BOAT, 2_500, {"n_envs": 2, "n_steps": 512, "batch_size": 256}
    )
    model = make_agent("ppo", BOAT, seed=0, n_envs=2, n_steps=512, batch_size=1024, n_epochs=1)
    model.learn(2_500)
    assert config.iterations * config.rollout == model.num_timesteps == 3_072
    assert [config.iterations_for(s) * config.rollout for s in (0, 1, 1024, 1025, 2_500)] == [
        0,
        1024,
        1024,
        2048,
        3072,
    ]


def test_unsupported_settings_are_refused_by_name() -> None:
    with pytest.raises(EngineError, match="target_kl"):
        PPOConfig.from_hyperparameters(BOAT, 1_000, {"target_kl": 0.01})
    with pytest.raises(EngineError, match="use_sde"):
        PPOConfig.from_hyperparameters(BOAT, 1_000, {"use_sde": True})
    with pytest.raises(EngineError, match="batch_size"):
        PPOConfig.from_hyperparameters(BOAT, 1_000, {"n_envs": 3, "n_steps": 10, "batch_size": 7})


@pytest.fixture(scope="module")
def small_run() -> tuple[Trainer, Any]:
    """The tiny sweep of the sweep tests (tests/sweeps/helpers.TINY): they share its compilation."""
    env, params = jax_envs.make("proxygym/AbsentSupervisor-v0", {"supervisor": False})
    config = PPOConfig.from_hyperparameters(
        "proxygym/AbsentSupervisor-v0",
        256,
        {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 2},
    )
    return Trainer(env, params, config), params


def _leaves(params: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(params)]


def test_training_is_deterministic_and_a_seed_ignores_its_batch(
    small_run: tuple[Trainer, Any],
) -> None:
    trainer, params = small_run
    _, pair = train(trainer, params, [0, 1], [0, 128, 256])
    _, again = train(trainer, params, [0, 1], [0, 128, 256])
    _, alone = train(trainer, params, [1], [0, 128, 256])
    assert [steps for steps, _ in pair] == [0, 128, 256]
    for (_, a), (_, b), (_, c) in zip(pair, again, alone, strict=True):
        for x, y, z in zip(_leaves(a[1]), _leaves(b[1]), _leaves(c[0]), strict=True):
            np.testing.assert_array_equal(x, y)  # bit for bit: the same batch of seeds
            np.testing.assert_allclose(x, z, rtol=0, atol=1e-6)  # another batch: the last bit
    final, untrained = pair[-1][1], pair[0][1]
    seeds_differ = zip(_leaves(final[0]), _leaves(final[1]), strict=True)
    training_moved = zip(_leaves(final[0]), _leaves(untrained[0]), strict=True)
    assert any(not np.array_equal(x, y) for x, y in seeds_differ)
    assert any(not np.array_equal(x, y) for x, y in training_moved)


def test_logits_and_values_are_the_networks_of_sb3(boat: tuple[Any, Any]) -> None:
    model = make_agent("ppo", BOAT, seed=1)
    params = jax.tree.map(jnp.asarray, from_sb3(model))
    obs = (np.random.default_rng(0).random((50, 150)) < 0.1).astype(np.float32)
    with torch.no_grad():
        tensor = torch.as_tensor(obs)
        want_logits = model.policy.get_distribution(tensor).distribution.logits.numpy()
        want_values = model.policy.predict_values(tensor).numpy()[:, 0]
    got = jax.nn.log_softmax(logits_fn(params, jnp.asarray(obs)))
    np.testing.assert_allclose(got, want_logits, atol=1e-5)
    np.testing.assert_allclose(value_fn(params, jnp.asarray(obs)), want_values, atol=1e-5)


class _TrueIsProxyPlus1000:
    """BoatRace whose true reward is the proxy + 1000: which one a rollout trains on is plain."""

    def __init__(self, env: Any) -> None:
        self.env = env

    def reset_env(self, key: Any, params: Any) -> Any:
        return self.env.reset_env(key, params)

    def step_env(self, key: Any, state: Any, action: Any, params: Any) -> Any:
        obs, state, reward, done, info = self.env.step_env(key, state, action, params)
        return obs, state, reward, done, {**info, "true_reward": reward + 1000.0}

    def observation_space(self, params: Any) -> Any:
        return self.env.observation_space(params)

    def action_space(self, params: Any) -> Any:
        return self.env.action_space(params)


def test_an_oracle_trains_on_the_true_reward_through_the_same_code(boat: tuple[Any, Any]) -> None:
    env, params = boat
    config = PPOConfig.from_hyperparameters(
        BOAT, 1_000, {"n_envs": 2, "n_steps": 16, "batch_size": 32}
    )
    trainer = Trainer(_TrueIsProxyPlus1000(env), params, config)
    keys = jnp.stack([jax.random.PRNGKey(7)])
    collect = jax.jit(jax.vmap(trainer._collect, in_axes=(0, None)))
    agent = collect(trainer.init_batch(keys, params, jnp.asarray(False)), params)[1]
    oracle = collect(trainer.init_batch(keys, params, jnp.asarray(True)), params)[1]
    np.testing.assert_array_equal(agent.action, oracle.action)  # same run, other reward only
    np.testing.assert_allclose(oracle.reward - agent.reward, 1000.0)


REPEATED = """
from proxygym.jax import envs as E
from proxygym.jax.ppo import PPOConfig, Trainer, train
env, p = E.make("proxygym/AbsentSupervisor-v0", {"supervisor": False})
tiny = {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 2}
config = PPOConfig.from_hyperparameters("proxygym/AbsentSupervisor-v0", 256, tiny)
trainer = Trainer(env, p, config)
for _ in range(30):
    train(trainer, p, [0, 1], [0, 128, 256])
    train(trainer, p, [1], [0, 128, 256])
print("finished")
"""


@pytest.mark.slow
def test_repeated_training_in_one_process_finishes() -> None:
    """60 short runs in one process all finish (jax 0.10.2 left one waiting forever within ~10)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", REPEATED], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("finished")
