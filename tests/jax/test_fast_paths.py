"""The JAX engine's two speed-ups change nothing but the speed.

- Indexed input: on an environment with fewer states than a minibatch has
  samples, the network runs once per state and rows are picked
  (:func:`proxygym.jax.ppo.outputs`); outputs, gradients and whole training
  runs equal those on the observations themselves.
- Devices: :func:`proxygym.jax.ppo.train` spreads the seeds over one CPU
  device per core (:mod:`proxygym.jax.devices`); each seed's run is the one it
  has alone on one device.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from proxygym.jax import devices as jax_devices  # noqa: E402
from proxygym.jax import envs as jax_envs  # noqa: E402
from proxygym.jax.ppo import (  # noqa: E402
    EngineError,
    PPOConfig,
    Trainer,
    device_groups,
    init_params,
    outputs,
    train,
)

BOAT = "proxygym/BoatRace-v0"
TINY = {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 2}


@pytest.fixture(scope="module")
def boat() -> tuple[Any, Any]:
    return jax_envs.make(BOAT)


def _leaves(params: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(params)]


@pytest.mark.parametrize(
    "arch", [{}, {"net_arch": []}, {"net_arch": [16], "activation_fn": "relu"}]
)
def test_outputs_and_gradients_on_state_indices_equal_those_on_observations(
    boat: tuple[Any, Any], arch: dict[str, Any]
) -> None:
    _, params = boat
    config = PPOConfig.from_hyperparameters(BOAT, 1_000, {"policy_kwargs": arch})
    table = params.observations
    net = init_params(jax.random.PRNGKey(4), table.shape[1], 4, config)
    # Larger weights than at initialisation, so that every output is far from 0.
    net = jax.tree.map(lambda x: x * 5 + 0.1, net)
    index = jax.random.randint(jax.random.PRNGKey(5), (40,), 0, table.shape[0])
    by_index = outputs(net, index, config.activation, table)
    by_obs = outputs(net, table[index], config.activation)
    for got, want in zip(by_index, by_obs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    def total(net: Any, x: jax.Array, table: Any) -> jax.Array:
        logits, values = outputs(net, x, config.activation, table)
        return jnp.sum(jnp.sin(logits)) + jnp.sum(values**2)

    grads_index = jax.grad(total)(net, index, table)
    grads_obs = jax.grad(total)(net, table[index], None)
    for got, want in zip(_leaves(grads_index), _leaves(grads_obs), strict=True):
        # float32 sums over the batch in another order: equal to 1e-5 of the leaf's scale
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    assert any(np.abs(g).max() > 0.1 for g in _leaves(grads_obs))  # gradients that say something


def test_training_on_state_indices_equals_training_on_observations(boat: tuple[Any, Any]) -> None:
    env, params = boat
    config = PPOConfig.from_hyperparameters(BOAT, 128, TINY)
    by_index = Trainer(env, params, config, indexed=True)
    by_obs = Trainer(env, params, config, indexed=False)
    assert by_index != by_obs  # different programs, compiled apart
    _, runs_index = train(by_index, params, [0, 1], [64])
    _, runs_obs = train(by_obs, params, [0, 1], [64])
    assert [steps for steps, _ in runs_index] == [64, 128]
    for (_, a), (_, b) in zip(runs_index, runs_obs, strict=True):
        for x, y in zip(_leaves(a), _leaves(b), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5)
    untrained = init_params(jax.random.PRNGKey(0), 150, 4, config)
    moved = [
        np.abs(x - y).max()
        for x, y in zip(_leaves(runs_obs[-1][1][0]), _leaves(untrained), strict=True)
    ]
    assert max(moved) > 1e-3  # the runs compared did train


def test_indices_are_used_when_states_are_fewer_than_a_minibatch(boat: tuple[Any, Any]) -> None:
    env, params = boat  # 8 states
    assert Trainer(env, params, PPOConfig.from_hyperparameters(BOAT, 1_000, TINY)).indexed
    few = PPOConfig.from_hyperparameters(BOAT, 1_000, {**TINY, "batch_size": 8})
    assert not Trainer(env, params, few).indexed
    conveyor, conveyor_params = jax_envs.make("proxygym/ConveyorBelt-v0")  # 370 states
    config = PPOConfig.from_hyperparameters("proxygym/ConveyorBelt-v0", 1_000)
    assert not Trainer(conveyor, conveyor_params, config).indexed


def test_an_environment_without_a_table_cannot_be_indexed() -> None:
    env, params = jax_envs.make("proxygym/TrafficMerge-v0")
    config = PPOConfig.from_hyperparameters("proxygym/TrafficMerge-v0", 1_000)
    assert not Trainer(env, params, config).indexed
    with pytest.raises(EngineError, match="TrafficMerge.*no observation table"):
        Trainer(env, params, config, indexed=True)


@pytest.mark.parametrize("n_seeds", range(1, 10))
@pytest.mark.parametrize("n_devices", range(1, 5))
def test_device_groups_are_equal_in_size_and_keep_every_seed_once(
    n_seeds: int, n_devices: int
) -> None:
    seeds = [10 + 3 * i for i in range(n_seeds)]
    groups = device_groups(seeds, [object()] * n_devices)
    size = -(-n_seeds // n_devices)  # the fewest seeds per device there can be
    assert len(groups) <= min(n_seeds, n_devices)
    assert {len(group) for group in groups} == {size}  # one shape, one compilation
    flat = [seed for group in groups for seed in group]
    assert flat[:n_seeds] == seeds
    assert flat[n_seeds:] == [seeds[-1]] * (len(flat) - n_seeds)  # padding: the last seed
    assert len(flat) - n_seeds < size


SPREAD = """
import json, jax
import proxygym.jax
from proxygym.jax import envs as E, ppo
env, p = E.make("proxygym/BoatRace-v0")
config = ppo.PPOConfig.from_hyperparameters("proxygym/BoatRace-v0", 128, %(tiny)r)
trainer = ppo.Trainer(env, p, config)
placed = []
advance = ppo._Group.advance
def spy(self, trainer, n):
    placed.append(str(self.device))
    advance(self, trainer, n)
ppo._Group.advance = spy
_, together = ppo.train(trainer, p, [0, 1, 2], [64])
ppo._Group.advance = advance
one = jax.local_devices()[:1]
jax.local_devices = lambda: one
differences = []
for i, seed in enumerate([0, 1, 2]):
    _, alone = ppo.train(trainer, p, [seed], [64])
    for (_, a), (_, b) in zip(together, alone):
        for x, y in zip(jax.tree.leaves(a[i]), jax.tree.leaves(b[0])):
            differences.append(float(abs(x - y).max()))
print(json.dumps({"devices": sorted(set(placed)), "largest": max(differences),
                  "runs": [len(params) for _, params in together]}))
"""


def test_seeds_spread_over_two_devices_train_as_each_alone_on_one() -> None:
    env = {**os.environ, jax_devices.ENV_VAR: "2"}
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", SPREAD % {"tiny": TINY}],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(found["devices"]) == 2  # both devices trained
    assert found["runs"] == [3, 3]  # the padding's copy is dropped
    assert found["largest"] <= 1e-6  # the same runs, up to the last bit


def test_one_device_per_core_is_asked_for_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jax_devices, "_backend_started", lambda: False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    monkeypatch.delenv(jax_devices.ENV_VAR, raising=False)
    assert jax_devices.use_all_cores() == jax_devices.cores()
    assert os.environ["XLA_FLAGS"] == (
        f"--xla_cpu_enable_fast_math=false {jax_devices.FLAG}={jax_devices.cores()}"
    )
    assert jax_devices.use_all_cores() is None  # set already: left alone
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setenv(jax_devices.ENV_VAR, "3")
    assert jax_devices.use_all_cores() == 3
    assert os.environ["XLA_FLAGS"] == f"{jax_devices.FLAG}=3"
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setattr(jax_devices, "_backend_started", lambda: True)
    assert jax_devices.use_all_cores() is None  # too late: JAX has started
    assert os.environ["XLA_FLAGS"] == ""


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_device_count_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setattr(jax_devices, "_backend_started", lambda: False)
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setenv(jax_devices.ENV_VAR, value)
    with pytest.raises(
        ValueError, match=f"PROXYGYM_JAX_DEVICES must be a positive integer, got '{value}'"
    ):
        jax_devices.use_all_cores()
