"""PPO in JAX with stable-baselines3's semantics, trained for many seeds in one compiled call.

Why not a library: rejax 0.1.3's PPO (which trains on these environments as
they are, being gymnax environments) differs from SB3's in ways that change
what a run measures: it clips the value loss, clips actor and critic
gradients separately, uses Adam's default epsilon, has no learning-rate or
clip-range schedules, initialises layers as flax does, treats a time-limit
truncation as a terminal state, and does not clip normalised rewards. The
project's hyperparameter tables were tuned for SB3, and the engines must
agree, so this module is SB3's ``PPO`` with ``MlpPolicy`` written in
PureJaxRL's style, each piece tested against SB3 itself
(``tests/jax/test_ppo.py``):

- the network: separate policy and value MLPs (``net_arch`` pi / vf, tanh by
  default), orthogonal initialisation with gains sqrt(2), 0.01 (action head)
  and 1 (value head), zero biases;
- a rollout of ``n_steps`` on each of ``n_envs`` environments; a step that
  ends an episode by the time limit adds ``gamma * V(final observation)`` to
  its reward (SB3's bootstrap on ``TimeLimit.truncated``);
- rewards optionally scaled as SB3's ``VecNormalize(norm_obs=False)`` does
  (running variance of the discounted return, epsilon 1e-8, clipped to +-10);
- GAE(lambda) as SB3's ``RolloutBuffer``;
- ``n_epochs`` passes over the rollout in shuffled minibatches of
  ``batch_size``; per minibatch: advantages normalised with the unbiased
  standard deviation, the clipped surrogate, the unclipped value MSE times
  ``vf_coef``, the entropy bonus; one Adam step (epsilon 1e-5) after scaling
  all gradients together to norm ``max_grad_norm`` as ``clip_grad_norm_``;
- ``"lin_<start>"`` learning rate and clip range decay linearly to 0 with the
  progress SB3 computes after each rollout.

:func:`train` runs one configuration for a batch of seeds (``jax.vmap``,
the seeds spread over one CPU device per core) and returns the parameters at
each requested checkpoint, which the engine evaluates and exports as SB3
models (:mod:`proxygym.jax.export`).

Two things make it fast without changing what it computes (both tested to
give the same runs, ``tests/jax/test_fast_paths.py``): on an environment with
fewer states than a minibatch has samples, the network runs once per state
and each sample picks its state's row (:func:`outputs`); and the groups of
seeds on different devices compute side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from proxygym.jax.ppo_config import (
    ACTIVATION_NAMES,
    NEUTRAL,
    SB3_DEFAULTS,
    EngineError,
    PPOConfig,
)

__all__ = ["NEUTRAL", "SB3_DEFAULTS", "EngineError", "PPOConfig"]  # re-exported for callers

#: Network parameters: a dict of ``pi`` / ``vf`` lists of (kernel, bias), and
#: the ``action`` and ``value`` heads, kernels shaped (inputs, outputs).
Params = dict[str, Any]

#: The activation functions of :data:`proxygym.jax.ppo_config.ACTIVATION_NAMES`.
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
}
assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)

#: XLA options of the training programs. Optimisation level 1 of 3 halves their
#: compilation (4-5 s to 2.5-3 s per program on 2 cores) and trains as fast
#: (``benchmarks/engine_speed.py``, measured both ways side by side).
COMPILER_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 1}


# -- the network ---------------------------------------------------------------
def _dense(key: jax.Array, n_in: int, n_out: int, gain: float) -> tuple[jax.Array, jax.Array]:
    kernel = jax.nn.initializers.orthogonal(gain)(key, (n_in, n_out), jnp.float32)
    return kernel, jnp.zeros((n_out,), jnp.float32)


def init_params(key: jax.Array, obs_dim: int, n_actions: int, config: PPOConfig) -> Params:
    """A freshly initialised network (SB3's orthogonal initialisation, zero biases)."""
    keys = iter(jax.random.split(key, len(config.pi_arch) + len(config.vf_arch) + 2))

    def tower(sizes: tuple[int, ...]) -> list[tuple[jax.Array, jax.Array]]:
        layers, n_in = [], obs_dim
        for size in sizes:
            layers.append(_dense(next(keys), n_in, size, math.sqrt(2)))
            n_in = size
        return layers

    pi, vf = tower(config.pi_arch), tower(config.vf_arch)
    return {
        "pi": pi,
        "vf": vf,
        "action": _dense(next(keys), config.pi_arch[-1] if pi else obs_dim, n_actions, 0.01),
        "value": _dense(next(keys), config.vf_arch[-1] if vf else obs_dim, 1, 1.0),
    }


def _tower(layers: list[tuple[jax.Array, jax.Array]], x: jax.Array, activation: str) -> jax.Array:
    act = ACTIVATIONS[activation]
    for kernel, bias in layers:
        x = act(x @ kernel + bias)
    return x


def logits_fn(params: Params, obs: jax.Array, activation: str = "tanh") -> jax.Array:
    """Action logits (the policy's categorical distribution) for a batch of observations."""
    kernel, bias = params["action"]
    return _tower(params["pi"], obs, activation) @ kernel + bias


def value_fn(params: Params, obs: jax.Array, activation: str = "tanh") -> jax.Array:
    """State values for a batch of observations."""
    kernel, bias = params["value"]
    return (_tower(params["vf"], obs, activation) @ kernel + bias)[..., 0]


def outputs(
    params: Params, obs: jax.Array, activation: str, table: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """(logits, values) for a batch of observations, or of state indices into ``table``.

    With ``table[i]`` the observation of state ``i``, the network's outputs on
    state ``i`` are row ``i`` of its outputs on the table: when an
    environment has fewer states than a batch has samples, running the
    network once per state and picking rows is the same network at a
    fraction of the work (and gradients flow back through the picked rows).
    """
    if table is None:
        return logits_fn(params, obs, activation), value_fn(params, obs, activation)
    return logits_fn(params, table, activation)[obs], value_fn(params, table, activation)[obs]


# -- the training state ----------------------------------------------------------
class RunState(struct.PyTreeNode):
    """One seed's training: network, optimiser, environments and reward statistics."""

    params: Any
    opt_state: Any
    env_state: Any
    obs: jax.Array
    key: jax.Array
    iteration: jax.Array
    ret: jax.Array  # VecNormalize's running discounted return per environment
    ret_mean: jax.Array
    ret_var: jax.Array
    ret_count: jax.Array
    oracle: jax.Array  # trains on info["true_reward"]: traced, so agents and oracles share code


class Rollout(struct.PyTreeNode):
    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array


def _adam() -> optax.GradientTransformation:
    return optax.inject_hyperparams(optax.adam)(learning_rate=0.0, eps=1e-5)


def clip_grad_norm(grads: Any, max_norm: float) -> Any:
    """torch's ``clip_grad_norm_``: scale all gradients by ``max_norm / (norm + 1e-6)`` if < 1."""
    norm = optax.tree.norm(grads)
    scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
    return jax.tree.map(lambda g: g * scale, grads)


def progress_value(start: float, linear: bool, steps_done: jax.Array, total: int) -> jax.Array:
    """A setting's value once ``steps_done`` of ``total`` are collected (SB3's LinearSchedule)."""
    if not linear:
        return jnp.asarray(start, jnp.float32)
    remaining = 1.0 - steps_done / total
    return jnp.where(remaining < 0.0, 0.0, start * remaining).astype(jnp.float32)


def gae(
    rollout: Rollout, last_value: jax.Array, gamma: float, lam: float
) -> tuple[jax.Array, jax.Array]:
    """(advantages, returns) of a rollout as SB3's ``RolloutBuffer.compute_returns_and_advantage``.

    ``rollout.done[t]`` is true when step t ended an episode (its successor is
    a new episode's first observation); ``last_value`` is V of the
    observation after the last step.
    """

    def back(
        carry: tuple[jax.Array, jax.Array], t: Rollout
    ) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
        advantage, next_value = carry
        not_done = 1.0 - t.done
        delta = t.reward + gamma * next_value * not_done - t.value
        advantage = delta + gamma * lam * not_done * advantage
        return (advantage, t.value), advantage

    _, advantages = jax.lax.scan(
        back, (jnp.zeros_like(last_value), last_value), rollout, reverse=True
    )
    return advantages, advantages + rollout.value


def bootstrap_truncated(
    reward: jax.Array, done: jax.Array, truncated: jax.Array, final_value: jax.Array, gamma: float
) -> jax.Array:
    """SB3's bootstrap of an episode cut by the time limit: add ``gamma * V(final observation)``.

    The episode did not end in the game, so the return it would have had
    beyond the limit is estimated by the value of the observation it was cut at.
    """
    return jnp.where(truncated & done, reward + gamma * final_value, reward)


def _log_softmax(logits: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(logits, axis=-1)


def ppo_loss(
    params: Params,
    batch: dict[str, jax.Array],
    clip_range: jax.Array,
    config: PPOConfig,
    table: jax.Array | None = None,
) -> jax.Array:
    """SB3's PPO loss on one minibatch: clipped surrogate + vf_coef * MSE - ent_coef * entropy.

    With a ``table``, ``batch["obs"]`` holds state indices into it (see :func:`outputs`).
    """
    logits, values = outputs(params, batch["obs"], config.activation, table)
    log_probs = _log_softmax(logits)
    log_prob = jnp.take_along_axis(log_probs, batch["action"][:, None], axis=1)[:, 0]
    entropy = -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
    advantages = batch["advantage"]
    if advantages.shape[0] > 1:  # SB3 normalises when the minibatch has more than one sample
        advantages = (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)
    ratio = jnp.exp(log_prob - batch["log_prob"])
    surrogate = jnp.minimum(
        advantages * ratio, advantages * jnp.clip(ratio, 1 - clip_range, 1 + clip_range)
    )
    policy_loss = -surrogate.mean()
    value_loss = jnp.mean((batch["return"] - values) ** 2)
    return policy_loss + config.ent_coef * -entropy.mean() + config.vf_coef * value_loss


def update_minibatch(
    params: Params,
    opt_state: Any,
    batch: dict[str, jax.Array],
    learning_rate: jax.Array,
    clip_range: jax.Array,
    config: PPOConfig,
    table: jax.Array | None = None,
) -> tuple[Params, Any]:
    """One gradient step of SB3's PPO on ``batch`` (clip all gradients together, then Adam).

    ``table``: as in :func:`ppo_loss`, the observations when the batch holds state indices.
    """
    grads = jax.grad(ppo_loss)(params, batch, clip_range, config, table)
    grads = clip_grad_norm(grads, config.max_grad_norm)
    opt_state = opt_state._replace(
        hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate}
    )
    updates, opt_state = _adam().update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


class Trainer:
    """PPO for one environment (a gymnax-style JAX env) and one config.

    The environment's params are an argument of the compiled functions, not a
    constant in them, so knob levels with arrays of one shape share a compilation.
    A trainer is a static argument of ``jax.jit``: equal trainers (the same
    environment object, config and input mode) share compiled code.

    Indexed input: an environment that reads its observations from a table of
    its states (``observation_table(params)``, ``observation_index(state)``:
    the compiled tabular environments) and has fewer states than a minibatch
    has samples is trained on state indices, the network's first layer
    run once per state (:func:`outputs`), which is the same network at a
    fraction of the work. ``indexed`` forces the choice (``None``: automatic).
    """

    def __init__(
        self, env: Any, env_params: Any, config: PPOConfig, indexed: bool | None = None
    ) -> None:
        self.env, self.config = env, config
        self.obs_dim = int(np.prod(env.observation_space(env_params).shape))
        self.n_actions = int(env.action_space(env_params).n)
        has_table = hasattr(env, "observation_table") and hasattr(env, "observation_index")
        if indexed and not has_table:
            raise EngineError(f"{env.name} has no observation table to index")
        if indexed is None:
            n_states = env.observation_table(env_params).shape[-2] if has_table else 0
            indexed = has_table and n_states < config.batch_size
        self.indexed = bool(indexed)

    def __hash__(self) -> int:
        return hash((id(self.env), self.config, self.indexed))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Trainer)
            and self.env is other.env
            and self.config == other.config
            and self.indexed == other.indexed
        )

    def _table(self, env_params: Any) -> jax.Array | None:
        """The observation of each state when training on indices, else None."""
        return self.env.observation_table(env_params) if self.indexed else None

    def _observe(self, obs: jax.Array, state: Any) -> jax.Array:
        """What the network is fed: the observation, or the state's index into the table."""
        if self.indexed:
            return jnp.asarray(self.env.observation_index(state), jnp.int32)
        return obs.astype(jnp.float32)

    # -- one seed ------------------------------------------------------------------
    def init(self, key: jax.Array, env_params: Any, oracle: jax.Array) -> RunState:
        """A seed's untrained network and reset environments (``oracle``: train on the true one)."""
        key_params, key_reset, key_run = jax.random.split(key, 3)
        params = init_params(key_params, self.obs_dim, self.n_actions, self.config)
        obs, env_state = jax.vmap(self.env.reset_env, in_axes=(0, None))(
            jax.random.split(key_reset, self.config.n_envs), env_params
        )
        obs = jax.vmap(self._observe)(obs, env_state)
        n = self.config.n_envs
        return RunState(
            params=params,
            opt_state=_adam().init(params),
            env_state=env_state,
            obs=obs,
            key=key_run,
            iteration=jnp.zeros((), jnp.int32),
            ret=jnp.zeros((n,), jnp.float32),
            ret_mean=jnp.zeros((), jnp.float32),
            ret_var=jnp.ones((), jnp.float32),
            ret_count=jnp.asarray(1e-4, jnp.float32),
            oracle=jnp.asarray(oracle, bool),
        )

    def _env_step(
        self, key: jax.Array, env_state: Any, action: jax.Array, env_params: Any
    ) -> tuple[Any, ...]:
        """Step one environment; reset it when the episode ends (keeping the final observation).

        Observations are what the network is fed (:meth:`_observe`).
        """
        key_step, key_reset = jax.random.split(key)
        obs, state, reward, done, info = self.env.step_env(key_step, env_state, action, env_params)
        obs_reset, state_reset = self.env.reset_env(key_reset, env_params)
        final_obs = self._observe(obs, state)
        obs_reset = self._observe(obs_reset, state_reset)
        state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state_reset, state)
        next_obs = jnp.where(done, obs_reset, final_obs)
        return (next_obs, state, reward, info["true_reward"], done, info["truncated"], final_obs)

    def _normalize(
        self, run: RunState, reward: jax.Array, done: jax.Array
    ) -> tuple[RunState, jax.Array]:
        """VecNormalize(norm_obs=False): reward / running std of the discounted return, clip 10."""
        ret, mean, var, total = running_return(
            run.ret, run.ret_mean, run.ret_var, run.ret_count, reward, done, self.config.gamma
        )
        run = run.replace(ret=ret, ret_mean=mean, ret_var=var, ret_count=total)
        return run, scale_reward(reward, var)

    def _collect(self, run: RunState, env_params: Any) -> tuple[RunState, Rollout, jax.Array]:
        config = self.config
        table = self._table(env_params)
        if table is None:

            def network(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
                return outputs(run.params, obs, config.activation)

        else:  # the parameters do not change during a rollout: every state's outputs once
            logits_table, values_table = outputs(
                run.params, jnp.arange(table.shape[0]), config.activation, table
            )

            def network(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
                return logits_table[obs], values_table[obs]

        def step(run: RunState, _: None) -> tuple[RunState, Rollout]:
            key, key_action, key_env = jax.random.split(run.key, 3)
            logits, value = network(run.obs)
            action = jax.random.categorical(key_action, logits)
            log_prob = jnp.take_along_axis(_log_softmax(logits), action[:, None], axis=1)[:, 0]
            next_obs, env_state, proxy, true, done, truncated, final_obs = jax.vmap(
                self._env_step, in_axes=(0, 0, 0, None)
            )(jax.random.split(key_env, config.n_envs), run.env_state, action, env_params)
            reward = jnp.where(run.oracle, true, proxy).astype(jnp.float32)
            run = run.replace(key=key)
            if config.normalize_reward:
                run, reward = self._normalize(run, reward, done)
            final_value = network(final_obs)[1]
            reward = bootstrap_truncated(reward, done, truncated, final_value, config.gamma)
            transition = Rollout(run.obs, action, log_prob, value, reward, done.astype(jnp.float32))
            return run.replace(env_state=env_state, obs=next_obs), transition

        run, rollout = jax.lax.scan(step, run, None, config.n_steps)
        last_value = network(run.obs)[1]
        return run, rollout, last_value

    def _learn(
        self, run: RunState, rollout: Rollout, last_value: jax.Array, env_params: Any
    ) -> RunState:
        """SB3's ``train()`` on one rollout: ``n_epochs`` passes of shuffled minibatches."""
        config = self.config
        table = self._table(env_params)
        advantages, returns = gae(rollout, last_value, config.gamma, config.gae_lambda)
        steps_done = (run.iteration + 1) * config.rollout
        learning_rate = progress_value(
            config.learning_rate, config.lr_linear, steps_done, config.total_timesteps
        )
        clip_range = progress_value(
            config.clip_range, config.clip_linear, steps_done, config.total_timesteps
        )
        flat = {
            "obs": rollout.obs.reshape(config.rollout, *rollout.obs.shape[2:]),
            "action": rollout.action.reshape(config.rollout),
            "log_prob": rollout.log_prob.reshape(config.rollout),
            "advantage": advantages.reshape(config.rollout),
            "return": returns.reshape(config.rollout),
        }

        def epoch(
            carry: tuple[Params, Any, jax.Array], _: None
        ) -> tuple[tuple[Params, Any, jax.Array], None]:
            params, opt_state, key = carry
            key, key_perm = jax.random.split(key)
            order = jax.random.permutation(key_perm, config.rollout)
            batches = jax.tree.map(
                lambda x: x[order].reshape(config.n_minibatches, config.batch_size, *x.shape[1:]),
                flat,
            )

            def minibatch(
                state: tuple[Params, Any], batch: dict[str, jax.Array]
            ) -> tuple[tuple[Params, Any], None]:
                updated = update_minibatch(*state, batch, learning_rate, clip_range, config, table)
                return updated, None

            (params, opt_state), _ = jax.lax.scan(minibatch, (params, opt_state), batches)
            return (params, opt_state, key), None

        key, key_epochs = jax.random.split(run.key)
        (params, opt_state, _), _ = jax.lax.scan(
            epoch, (run.params, run.opt_state, key_epochs), None, config.n_epochs
        )
        return run.replace(params=params, opt_state=opt_state, key=key, iteration=run.iteration + 1)

    # -- many seeds ----------------------------------------------------------------
    @partial(jax.jit, static_argnums=0, compiler_options=COMPILER_OPTIONS)
    def init_batch(self, keys: jax.Array, env_params: Any, oracle: jax.Array) -> RunState:
        """Untrained runs, one per key."""
        return jax.vmap(self.init, in_axes=(0, None, None))(keys, env_params, oracle)

    @partial(jax.jit, static_argnums=0, compiler_options=COMPILER_OPTIONS)
    def advance_batch(self, runs: RunState, n_iterations: jax.Array, env_params: Any) -> RunState:
        """Every run ``n_iterations`` further.

        Rollouts are collected for all runs at once (``vmap``: many tiny steps
        batched together), but each run's updates go one run after another
        (``lax.map``): on one CPU thread, which is what a device computes
        on, XLA's plain matrix products beat products batched over runs.
        """

        def iteration(_: jax.Array, runs: RunState) -> RunState:
            runs, rollouts, last_values = jax.vmap(self._collect, in_axes=(0, None))(
                runs, env_params
            )

            def learn(batch: tuple[RunState, Rollout, jax.Array]) -> RunState:
                return self._learn(*batch, env_params)

            return jax.lax.map(learn, (runs, rollouts, last_values))

        return jax.lax.fori_loop(0, n_iterations, iteration, runs)


def running_return(
    ret: jax.Array,
    mean: jax.Array,
    var: jax.Array,
    count: jax.Array,
    reward: jax.Array,
    done: jax.Array,
    gamma: float,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One step of SB3's ``VecNormalize`` reward statistics: ``(ret, mean, var, count)`` after it.

    ``ret`` (one per environment) is the discounted return so far, reset to 0
    where the episode ended; ``mean``, ``var`` and ``count`` are its running
    moments (``RunningMeanStd``, updated with this step's returns as one batch).
    """
    ret = ret * gamma + reward
    batch_mean, batch_var, batch_count = ret.mean(), ret.var(), ret.size
    delta = batch_mean - mean
    total = count + batch_count
    new_mean = mean + delta * batch_count / total
    m2 = var * count + batch_var * batch_count + delta**2 * count * batch_count / total
    return jnp.where(done, 0.0, ret), new_mean, m2 / total, total


def scale_reward(reward: jax.Array, var: jax.Array) -> jax.Array:
    """SB3's ``VecNormalize.normalize_reward``: reward / sqrt(var + 1e-8), clipped to +-10."""
    return jnp.clip(reward / jnp.sqrt(var + 1e-8), -10.0, 10.0)


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One PRNG key per seed (a seed's key does not depend on the other seeds of the batch).

    The run is then the same whatever seeds share the batch, up to the last bit
    of the floats (about 1e-7: XLA may order a batched reduction differently);
    bit for bit, a run is reproduced by the same batch of seeds on as many devices
    (:func:`device_groups` splits the batch by device).
    """
    return jnp.stack([jax.random.PRNGKey(int(seed)) for seed in seeds])


def device_groups(seeds: Sequence[int], devices: Sequence[Any] | None = None) -> list[list[int]]:
    """``seeds`` in equal groups, one per device (at most one device per seed).

    The last group is padded with copies of its last seed so that all groups
    have one shape and share one compilation; the copies' results are dropped.
    """
    n_devices = len(jax.local_devices() if devices is None else devices)
    n_groups = max(1, min(n_devices, len(seeds)))
    size = math.ceil(len(seeds) / n_groups)
    groups = [list(seeds[i * size : (i + 1) * size]) for i in range(n_groups)]
    groups = [group for group in groups if group]
    groups[-1] += [groups[-1][-1]] * (size - len(groups[-1]))
    return groups


class _Group:
    """The runs of one group of seeds, placed on one device."""

    def __init__(self, runs: RunState, device: Any, env_params: Any) -> None:
        self.device = device
        self.env_params = jax.device_put(env_params, device)
        self.runs = jax.device_put(runs, device)

    def advance(self, trainer: Trainer, n: int) -> None:
        """``n`` iterations further (returns once dispatched, or compiled on the first call).

        Every input is put on the group's own device from the host: an array
        made on another device would wait for that device's queue, and the
        groups would run one after another instead of side by side.
        """
        count = jax.device_put(np.int32(n), self.device)
        self.runs = trainer.advance_batch(self.runs, count, self.env_params)


def train(
    trainer: Trainer,
    env_params: Any,
    seeds: Sequence[int],
    checkpoints: Sequence[int],
    on_progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
    oracle: bool = False,
) -> tuple[list[Params], list[tuple[int, list[Params]]]]:
    """Train one run per seed; the parameters before training and at each checkpoint.

    The seeds are spread over the local devices (:func:`device_groups`; on a
    CPU, :mod:`proxygym.jax` makes one device per core), each group vmapped
    in one compiled call, the groups computing side by side.

    Args:
        oracle: train on the true reward (``info["true_reward"]``) instead of
            the proxy: the reference agent, compiled once with the agents.
        checkpoints: step counts; each is reached as SB3 reaches it (the first
            rollout boundary at or after it) and the final one is the budget.
        on_progress: called with the steps trained so far (per seed).
        chunk: at most this many iterations per compiled call (finer progress).

    Returns:
        ``(initial, [(steps, params per seed), ...])`` with host (numpy) arrays,
        one entry per distinct checkpoint position, in order.
    """
    config = trainer.config
    devices = jax.local_devices()
    seed_groups = device_groups(seeds, devices)
    devices = devices[: len(seed_groups)]
    size = len(seed_groups[0])
    keys = seed_keys([seed for group in seed_groups for seed in group])

    # All groups initialised together (one compilation), then to the host: slicing
    # there compiles nothing.
    runs = jax.device_get(trainer.init_batch(keys, env_params, oracle))
    groups = [
        _Group(jax.tree.map(lambda x, i=i: x[i * size : (i + 1) * size], runs), device, env_params)
        for i, device in enumerate(devices)
    ]

    def params_now() -> list[Params]:
        per_seed = [p for group in groups for p in _split_seeds(jax.device_get(group.runs.params))]
        return per_seed[: len(seeds)]  # the padding's copies are last

    initial = params_now()
    positions = sorted(
        {config.iterations_for(int(step)) for step in checkpoints} | {config.iterations}
    )
    done, results = 0, []
    for position in positions:
        while done < position:
            n = position - done if chunk is None else min(chunk, position - done)
            for group in groups:  # each returns once dispatched: the devices run side by side
                group.advance(trainer, n)
            done += n
            if on_progress is not None:
                jax.block_until_ready([group.runs.iteration for group in groups])
                on_progress(done * config.rollout)
        results.append((done * config.rollout, params_now()))
    return initial, results


def _split_seeds(batched: Params) -> list[Params]:
    n = len(jax.tree.leaves(batched)[0])
    return [jax.tree.map(lambda x, i=i: np.asarray(x[i]), batched) for i in range(n)]
