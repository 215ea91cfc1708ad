"""A JAX-trained policy saved as an SB3 PPO model acts exactly as the JAX network does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

from proxygym.agents.policies import resolve_policy  # noqa: E402
from proxygym.jax.export import from_sb3, numpy_logits, to_sb3  # noqa: E402
from proxygym.jax.ppo import PPOConfig, init_params, logits_fn  # noqa: E402

BOAT = "proxygym/BoatRace-v0"


def _random_params(config: PPOConfig, seed: int = 0) -> Any:
    """An untrained network with every weight moved, so no layer is left at its initial value."""
    params = init_params(jax.random.PRNGKey(seed), 150, 4, config)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(leaves))
    moved = [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    return jax.tree.unflatten(tree, moved)


def _observations(n: int) -> np.ndarray:
    return (np.random.default_rng(0).random((n, 150)) < 0.15).astype(np.float32)


@pytest.mark.parametrize("overrides", [{}, {"policy_kwargs": {"net_arch": [32, 16, 8]}}])
def test_a_saved_model_loads_in_sb3_with_the_jax_action_probabilities(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    config = PPOConfig.from_hyperparameters(BOAT, 50_000, overrides)
    params = _random_params(config)
    model = to_sb3(params, config, BOAT, seed=0, num_timesteps=51_200, overrides=overrides)
    model.save(tmp_path / "agent.zip")
    loaded = PPO.load(tmp_path / "agent.zip", device="cpu")
    assert loaded.num_timesteps == 51_200
    obs = _observations(1_000)
    with torch.no_grad():
        probs = loaded.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.numpy()
    want = np.asarray(jax.nn.softmax(logits_fn(params, jnp.asarray(obs)), axis=-1))
    np.testing.assert_allclose(probs, want, atol=1e-5)
    assert np.abs(want - 0.25).max() > 0.05  # not a uniform policy: the comparison has teeth
    # numpy_logits (what evaluation uses) is the same network too
    logits = numpy_logits(params)
    np.testing.assert_allclose(
        np.array([logits(o) for o in obs[:100]]),
        np.asarray(logits_fn(params, jnp.asarray(obs[:100]))),
        atol=1e-5,
    )


def test_from_sb3_inverts_to_sb3() -> None:
    config = PPOConfig.from_hyperparameters(BOAT, 10_000)
    params = _random_params(config, seed=3)
    back = from_sb3(to_sb3(params, config, BOAT, seed=1))
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(back), strict=True):
        np.testing.assert_array_equal(np.asarray(a, np.float32), b)


def test_a_saved_jax_agent_is_a_policy_every_tool_resolves(tmp_path: Path) -> None:
    """play, render and detect resolve a policy from a model path: the JAX agent acts as trained."""
    import gymnasium as gym

    config = PPOConfig.from_hyperparameters(BOAT, 10_000)
    params = _random_params(config, seed=4)
    path = tmp_path / "agent.zip"
    to_sb3(params, config, BOAT, seed=0).save(path)
    with gym.make(BOAT) as env:
        policy = resolve_policy(str(path), env, BOAT, seed=0)
        obs = _observations(200)
        got = [policy(o) for o in obs]
    want = np.argmax(np.asarray(logits_fn(params, jnp.asarray(obs))), axis=1)
    assert got == want.tolist()
    assert len(set(got)) > 1


def test_a_network_of_another_shape_is_refused() -> None:
    config = PPOConfig.from_hyperparameters(BOAT, 10_000)
    params = _random_params(config)
    with pytest.raises(ValueError, match="hidden layers"):
        to_sb3(params, config, BOAT, seed=0, overrides={"policy_kwargs": {"net_arch": [64]}})
