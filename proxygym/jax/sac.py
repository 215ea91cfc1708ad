"""SAC in JAX with stable-baselines3's semantics, trained for many seeds in one compiled call.

Why not a library: for the reason :mod:`proxygym.jax.ppo` gives, the
hyperparameter tables (``agents/hyperparams/sac.toml``) were written for
SB3, so this is SB3's ``SAC`` with ``MlpPolicy`` (stable-baselines3 2.9),
each piece tested against SB3 itself (``tests/jax/test_sac.py``):

- the actor: an MLP (``net_arch``, ReLU by default) to a mean head and a
  log-std head, the log std clipped to [-20, 2]; actions are
  ``tanh(mu + std * noise)`` with the log-probability corrected by
  ``- sum(log(1 - a^2 + 1e-6))`` (SB3's ``SquashedDiagGaussianDistribution``);
- ``n_critics`` (2) Q networks on ``concat(obs, action)`` and their Polyak
  target (``tau``), a copy of them at the start;
- every layer initialised as torch's ``nn.Linear``: weights and biases
  uniform in ``+-1/sqrt(fan_in)`` (the distribution, not torch's values);
- the entropy coefficient learned from ``log(1.0)`` (``"auto"``) or
  ``log(x)`` (``"auto_<x>"``) towards ``target_entropy`` (``-dim(A)`` by
  default), or fixed (a number);
- three Adams (torch's defaults, epsilon 1e-8) sharing one learning rate
  (a number or ``"lin_<start>"``, decaying with SB3's progress);
- before ``learning_starts`` steps, uniform random actions; then actions
  sampled from the policy; one gradient step after every environment step
  once more than ``learning_starts`` steps are done (``train_freq`` 1,
  ``gradient_steps`` 1, as SB3's ``learn`` loop), each on ``batch_size``
  transitions drawn uniformly with replacement from the replay buffer;
- the buffer stores actions scaled to [-1, 1], the final observation of an
  episode as its next observation, and ``done`` = terminated only: an
  episode cut by the time limit is bootstrapped (SB3's
  ``handle_timeout_termination``). It is a fixed-size ring of
  ``min(buffer_size, total_timesteps)`` rows: SB3's buffer when the budget
  does not fill it, since no row is then overwritten;
- with ``normalize_reward`` (a setup key of the tables, SB3's
  ``VecNormalize(norm_obs=False, norm_reward=True, gamma)``), the running
  std of the discounted return is updated after every environment step, the
  buffer keeps the environment's rewards, and each sampled batch's rewards
  are divided by the std of the moment and clipped to +-10 (SB3's
  off-policy ``ReplayBuffer.sample`` with the ``VecNormalize`` env);
- one update, in SB3's order: entropy coefficient, critics (on targets from
  the current actor and the target critics, the coefficient before its
  update), actor (on the updated critics), then the Polyak step.

What differs: the random numbers (:func:`jax.random`: the same
distributions, other draws), float32 throughout as SB3's torch model. With
``gradient_steps = 1`` SB3 updates the targets after every step whatever
``target_update_interval`` is (its test ``gradient_step % interval == 0``
counts the steps of one ``train`` call), so the engine accepts any interval
and does the same.

:func:`train` runs one configuration for a batch of seeds (``jax.vmap``,
the seeds spread over one CPU device per core as :func:`proxygym.jax.ppo.train`
does) and returns the networks at each requested checkpoint, which
:mod:`proxygym.jax.export_sac` turns into SB3 SAC models.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from proxygym.jax.ppo import (
    ACTIVATIONS,
    COMPILER_OPTIONS,
    device_groups,
    progress_value,
    running_return,
    scale_reward,
    seed_keys,
)
from proxygym.jax.ppo_config import EngineError
from proxygym.jax.sac_config import NEUTRAL, NEUTRAL_SETUP, SB3_DEFAULTS, SACConfig

__all__ = ["NEUTRAL", "NEUTRAL_SETUP", "SB3_DEFAULTS", "SACConfig"]  # re-exported for callers

#: Networks of one run: ``actor`` (``pi`` layers, ``mu`` and ``log_std`` heads),
#: ``critic`` and ``target`` (layers stacked over the critics: kernels shaped
#: (n_critics, inputs, outputs)), and ``log_ent_coef`` (shape (1,)).
Params = dict[str, Any]
Layer = tuple[jax.Array, jax.Array]

#: SB3's bounds of the actor's log standard deviation.
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
#: SB3's ``SquashedDiagGaussianDistribution`` epsilon in ``log(1 - tanh^2 + eps)``.
SQUASH_EPS = 1e-6
#: JAX twins of continuous-action environments: id -> "module:factory" (kept here,
#: not in :data:`proxygym.jax.envs.PORTS`, whose PPO trains discrete actions only;
#: :data:`proxygym.jax.support.SAC_PORTED` lists the ids without importing JAX).
CONTINUOUS_PORTS: dict[str, str] = {
    "proxygym/PendulumNoTorqueCost-v0": "proxygym.jax.envs.pendulum:make_pendulum",
    "proxygym/Glucose-v0": "proxygym.jax.envs.glucose:make_glucose",
}


# -- the networks ----------------------------------------------------------------
def torch_linear_init(key: jax.Array, n_in: int, n_out: int) -> Layer:
    """torch ``nn.Linear``'s initialisation: kernel and bias uniform in ``+-1/sqrt(n_in)``.

    (kaiming-uniform with a = sqrt(5) gives the kernel's bound ``1/sqrt(fan_in)``.)
    """
    bound = 1.0 / math.sqrt(n_in) if n_in > 0 else 0.0
    key_k, key_b = jax.random.split(key)
    kernel = jax.random.uniform(key_k, (n_in, n_out), jnp.float32, -bound, bound)
    return kernel, jax.random.uniform(key_b, (n_out,), jnp.float32, -bound, bound)


def _mlp(key: jax.Array, n_in: int, sizes: Sequence[int]) -> list[Layer]:
    layers = []
    for key_layer, size in zip(jax.random.split(key, len(sizes)), sizes, strict=True):
        layers.append(torch_linear_init(key_layer, n_in, size))
        n_in = size
    return layers


def init_params(key: jax.Array, obs_dim: int, act_dim: int, config: SACConfig) -> Params:
    """Fresh actor, critics (their target a copy) and log entropy coefficient, as SB3's."""
    key_pi, key_mu, key_std, key_q = jax.random.split(key, 4)
    latent = config.pi_arch[-1] if config.pi_arch else obs_dim
    actor = {
        "pi": _mlp(key_pi, obs_dim, config.pi_arch),
        "mu": torch_linear_init(key_mu, latent, act_dim),
        "log_std": torch_linear_init(key_std, latent, act_dim),
    }
    critics = [
        _mlp(k, obs_dim + act_dim, (*config.qf_arch, 1))
        for k in jax.random.split(key_q, config.n_critics)
    ]
    critic = jax.tree.map(lambda *xs: jnp.stack(xs), *critics)
    return {
        "actor": actor,
        "critic": critic,
        "target": critic,
        "log_ent_coef": jnp.log(jnp.full((1,), config.ent_coef, jnp.float32)),
    }


def _tower(layers: Sequence[Layer], x: jax.Array, activation: str) -> jax.Array:
    act = ACTIVATIONS[activation]
    for kernel, bias in layers:
        x = act(x @ kernel + bias)
    return x


def actor_outputs(
    actor: Params, obs: jax.Array, activation: str = "relu"
) -> tuple[jax.Array, jax.Array]:
    """(mean, log std clipped to [-20, 2]) of the Gaussian before the tanh, per observation."""
    latent = _tower(actor["pi"], obs, activation)
    mu = latent @ actor["mu"][0] + actor["mu"][1]
    log_std = latent @ actor["log_std"][0] + actor["log_std"][1]
    return mu, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)


def squashed_sample(
    mu: jax.Array, log_std: jax.Array, noise: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """(action in [-1, 1], log-probability) as SB3's ``SquashedDiagGaussianDistribution``.

    ``noise`` is the standard normal draw; the log-probability is the
    Gaussian's (summed over dimensions) less ``sum(log(1 - a^2 + 1e-6))``.
    """
    std = jnp.exp(log_std)
    gaussian = mu + noise * std
    action = jnp.tanh(gaussian)
    log_normal = -((gaussian - mu) ** 2) / (2 * std**2) - log_std - math.log(math.sqrt(2 * math.pi))
    log_prob = jnp.sum(log_normal, axis=-1) - jnp.sum(jnp.log(1 - action**2 + SQUASH_EPS), axis=-1)
    return action, log_prob


def q_values(critic: Any, obs: jax.Array, action: jax.Array, activation: str) -> jax.Array:
    """Every critic's Q of a batch: shape (n_critics, batch)."""
    x = jnp.concatenate([obs, action], axis=-1)

    def one(layers: list[Layer]) -> jax.Array:
        *hidden, (kernel, bias) = layers
        return (_tower(hidden, x, activation) @ kernel + bias)[..., 0]

    return jax.vmap(one)(critic)


def deterministic_action(actor: Params, obs: jax.Array, activation: str = "relu") -> jax.Array:
    """The greedy action in [-1, 1]: ``tanh(mu)`` (SB3's ``predict(deterministic=True)``)."""
    return jnp.tanh(actor_outputs(actor, obs, activation)[0])


# -- one gradient step -------------------------------------------------------------
def _adam() -> optax.GradientTransformation:
    """torch's Adam defaults (epsilon 1e-8), the learning rate set at each step."""
    return optax.inject_hyperparams(optax.adam)(learning_rate=0.0, eps=1e-8)


class Learner(struct.PyTreeNode):
    """The networks and their optimisers' states."""

    params: Any
    actor_opt: Any
    critic_opt: Any
    ent_opt: Any


def init_learner(params: Params) -> Learner:
    return Learner(
        params=params,
        actor_opt=_adam().init(params["actor"]),
        critic_opt=_adam().init(params["critic"]),
        ent_opt=_adam().init(params["log_ent_coef"]),
    )


def _adam_step(grads: Any, opt_state: Any, params: Any, learning_rate: jax.Array) -> tuple:
    opt_state = opt_state._replace(
        hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate}
    )
    updates, opt_state = _adam().update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def sac_update(
    learner: Learner,
    batch: dict[str, jax.Array],
    noise: jax.Array,
    next_noise: jax.Array,
    learning_rate: jax.Array,
    target_entropy: float,
    config: SACConfig,
) -> Learner:
    """One gradient step of SB3's ``SAC.train`` on ``batch`` (``obs``, ``action`` in [-1, 1],
    ``reward``, ``next_obs``, ``done`` = terminated), given the actor's standard normal
    draws for the batch's observations (``noise``) and next observations (``next_noise``)."""
    params, act = learner.params, config.activation
    actor = params["actor"]
    _, log_prob = squashed_sample(*actor_outputs(actor, batch["obs"], act), noise)
    log_prob = jax.lax.stop_gradient(log_prob)

    # the entropy coefficient (used by the losses below at its value before this step)
    log_ent = params["log_ent_coef"]
    if config.ent_coef_auto:
        ent_coef = jnp.exp(log_ent[0])
        grad = -jnp.mean(log_prob + target_entropy) * jnp.ones_like(log_ent)
        log_ent, ent_opt = _adam_step(grad, learner.ent_opt, log_ent, learning_rate)
    else:
        ent_coef, ent_opt = jnp.float32(config.ent_coef), learner.ent_opt

    # the critics
    next_actions, next_log_prob = squashed_sample(
        *actor_outputs(actor, batch["next_obs"], act), next_noise
    )
    next_q = jnp.min(q_values(params["target"], batch["next_obs"], next_actions, act), axis=0)
    next_q = next_q - ent_coef * next_log_prob
    target_q = batch["reward"] + (1.0 - batch["done"]) * config.gamma * next_q

    def critic_loss(critic: Any) -> jax.Array:
        current = q_values(critic, batch["obs"], batch["action"], act)
        return 0.5 * jnp.sum(jnp.mean((current - target_q) ** 2, axis=1))

    grads = jax.grad(critic_loss)(params["critic"])
    critic, critic_opt = _adam_step(grads, learner.critic_opt, params["critic"], learning_rate)

    # the actor, on the updated critics
    def actor_loss(actor: Params) -> jax.Array:
        actions, log_p = squashed_sample(*actor_outputs(actor, batch["obs"], act), noise)
        min_q = jnp.min(q_values(critic, batch["obs"], actions, act), axis=0)
        return jnp.mean(ent_coef * log_p - min_q)

    grads = jax.grad(actor_loss)(actor)
    actor, actor_opt = _adam_step(grads, learner.actor_opt, actor, learning_rate)

    target = jax.tree.map(
        lambda t, c: t * (1.0 - config.tau) + c * config.tau, params["target"], critic
    )
    return Learner(
        params={"actor": actor, "critic": critic, "target": target, "log_ent_coef": log_ent},
        actor_opt=actor_opt,
        critic_opt=critic_opt,
        ent_opt=ent_opt,
    )


# -- training ------------------------------------------------------------------------
class RunState(struct.PyTreeNode):
    """One seed's training: learner, replay buffer, environment."""

    learner: Learner
    buffer: dict[str, jax.Array]
    env_state: Any
    obs: jax.Array
    key: jax.Array
    oracle: jax.Array  # trains on info["true_reward"]
    # VecNormalize's reward statistics (kept, unused, when the config does not normalise)
    ret: jax.Array
    ret_mean: jax.Array
    ret_var: jax.Array
    ret_count: jax.Array


class Trainer:
    """SAC for one continuous-action JAX environment (gymnax-style, a ``Box`` action) and config.

    A static argument of ``jax.jit``: equal trainers (the same environment
    object and config) share compiled code.
    """

    def __init__(self, env: Any, env_params: Any, config: SACConfig) -> None:
        space = env.action_space(env_params)
        if not hasattr(space, "low") or not hasattr(space, "high"):
            raise EngineError(
                f"SAC needs a Box action space; {env.name} has {type(space).__name__}"
            )
        self.env, self.config = env, config
        self.obs_dim = int(np.prod(env.observation_space(env_params).shape))
        self.act_dim = int(np.prod(space.shape))
        self.low = np.broadcast_to(np.asarray(space.low, np.float32), (self.act_dim,)).copy()
        self.high = np.broadcast_to(np.asarray(space.high, np.float32), (self.act_dim,)).copy()
        self.target_entropy = (
            float(-np.float32(self.act_dim))
            if config.target_entropy is None
            else config.target_entropy
        )

    def __hash__(self) -> int:
        return hash((id(self.env), self.config))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trainer) and self.env is other.env and self.config == other.config

    def unscale(self, action: jax.Array) -> jax.Array:
        """An action in [-1, 1] in the environment's bounds (SB3's ``unscale_action``)."""
        return self.low + 0.5 * (action + 1.0) * (self.high - self.low)

    def init(self, key: jax.Array, env_params: Any, oracle: jax.Array) -> RunState:
        """A seed's untrained networks, empty buffer and reset environment."""
        key_params, key_reset, key_run = jax.random.split(key, 3)
        params = init_params(key_params, self.obs_dim, self.act_dim, self.config)
        obs, env_state = self.env.reset_env(key_reset, env_params)
        n = self.config.capacity
        buffer = {
            "obs": jnp.zeros((n, self.obs_dim), jnp.float32),
            "next_obs": jnp.zeros((n, self.obs_dim), jnp.float32),
            "action": jnp.zeros((n, self.act_dim), jnp.float32),
            "reward": jnp.zeros((n,), jnp.float32),
            "done": jnp.zeros((n,), jnp.float32),
        }
        return RunState(
            learner=init_learner(params),
            buffer=buffer,
            env_state=env_state,
            obs=obs.reshape(-1).astype(jnp.float32),
            key=key_run,
            oracle=jnp.asarray(oracle, bool),
            ret=jnp.zeros((), jnp.float32),
            ret_mean=jnp.zeros((), jnp.float32),
            ret_var=jnp.ones((), jnp.float32),
            ret_count=jnp.asarray(1e-4, jnp.float32),
        )

    def _env_step(self, key: jax.Array, run: RunState, action: jax.Array, env_params: Any) -> tuple:
        """Step, reset at the end: (next obs, state, reward, final obs, terminated, done)."""
        key_step, key_reset = jax.random.split(key)
        obs, state, proxy, done, info = self.env.step_env(
            key_step, run.env_state, self.unscale(action), env_params
        )
        obs_reset, state_reset = self.env.reset_env(key_reset, env_params)
        final_obs = obs.reshape(-1).astype(jnp.float32)
        state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state_reset, state)
        next_obs = jnp.where(done, obs_reset.reshape(-1).astype(jnp.float32), final_obs)
        reward = jnp.where(run.oracle, info["true_reward"], proxy).astype(jnp.float32)
        terminated = done & ~info["truncated"]
        return next_obs, state, reward, final_obs, terminated, done

    def step(self, run: RunState, t: jax.Array, env_params: Any) -> RunState:
        """Environment step ``t`` (0-based, shared by all seeds), then a gradient step if due."""
        config = self.config
        key, key_noise, key_random, key_env, key_batch, key_update = jax.random.split(run.key, 6)
        mu, log_std = actor_outputs(run.learner.params["actor"], run.obs, config.activation)
        policy_action, _ = squashed_sample(
            mu, log_std, jax.random.normal(key_noise, (self.act_dim,))
        )
        random_action = jax.random.uniform(key_random, (self.act_dim,), jnp.float32, -1.0, 1.0)
        action = jnp.where(t < config.learning_starts, random_action, policy_action)
        next_obs, env_state, reward, final_obs, terminated, done = self._env_step(
            key_env, run, action, env_params
        )
        if config.normalize_reward:  # statistics first, as VecNormalize.step_wait
            ret, ret_mean, ret_var, ret_count = running_return(
                run.ret, run.ret_mean, run.ret_var, run.ret_count, reward, done, config.gamma
            )
            run = run.replace(ret=ret, ret_mean=ret_mean, ret_var=ret_var, ret_count=ret_count)
        row = t % config.capacity
        buffer = {
            "obs": run.buffer["obs"].at[row].set(run.obs),
            "next_obs": run.buffer["next_obs"].at[row].set(final_obs),
            "action": run.buffer["action"].at[row].set(action),
            "reward": run.buffer["reward"].at[row].set(reward),
            "done": run.buffer["done"].at[row].set(terminated.astype(jnp.float32)),
        }
        steps_done = t + 1
        learning_rate = progress_value(
            config.learning_rate, config.lr_linear, steps_done, config.total_timesteps
        )

        def update(learner: Learner) -> Learner:
            stored = jnp.minimum(steps_done, config.capacity)
            rows = jax.random.randint(key_batch, (config.batch_size,), 0, stored)
            batch = {name: values[rows] for name, values in buffer.items()}
            if config.normalize_reward:
                batch["reward"] = scale_reward(batch["reward"], run.ret_var)
            key_a, key_b = jax.random.split(key_update)
            shape = (config.batch_size, self.act_dim)
            return sac_update(
                learner,
                batch,
                jax.random.normal(key_a, shape),
                jax.random.normal(key_b, shape),
                learning_rate,
                self.target_entropy,
                config,
            )

        # ``t`` is the same for every seed (not batched), so this stays a branch under vmap.
        learner = jax.lax.cond(
            steps_done > config.learning_starts, update, lambda x: x, run.learner
        )
        return run.replace(
            learner=learner, buffer=buffer, env_state=env_state, obs=next_obs, key=key
        )

    # -- many seeds ----------------------------------------------------------------
    @partial(jax.jit, static_argnums=0, compiler_options=COMPILER_OPTIONS)
    def init_batch(self, keys: jax.Array, env_params: Any, oracle: jax.Array) -> RunState:
        """Untrained runs, one per key."""
        return jax.vmap(self.init, in_axes=(0, None, None))(keys, env_params, oracle)

    @partial(jax.jit, static_argnums=0, compiler_options=COMPILER_OPTIONS, donate_argnums=1)
    def advance_batch(
        self, runs: RunState, start: jax.Array, stop: jax.Array, env_params: Any
    ) -> RunState:
        """Every run from environment step ``start`` to ``stop`` (all seeds at once, ``vmap``)."""

        def body(t: jax.Array, runs: RunState) -> RunState:
            return jax.vmap(self.step, in_axes=(0, None, None))(runs, t, env_params)

        return jax.lax.fori_loop(start, stop, body, runs)


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """The JAX twin of a continuous-action environment (:data:`CONTINUOUS_PORTS`): (env, params)."""
    if env_id not in CONTINUOUS_PORTS:
        raise EngineError(
            f"no JAX twin of {env_id} for SAC; ported: {', '.join(sorted(CONTINUOUS_PORTS))}"
        )
    module, factory = CONTINUOUS_PORTS[env_id].split(":")
    return getattr(importlib.import_module(module), factory)(**(env_kwargs or {}))


def train(
    env: str | tuple[Any, Any],
    config: SACConfig,
    seeds: Sequence[int],
    timesteps: int | None = None,
    checkpoints: Sequence[int] = (),
    on_progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
    oracle: bool = False,
    devices: Sequence[Any] | None = None,
) -> tuple[list[Params], list[tuple[int, list[Params]]]]:
    """Train one SAC run per seed; the networks before training and at each checkpoint.

    Args:
        env: an id of :data:`CONTINUOUS_PORTS` or an ``(env, params)`` pair.
        timesteps: the budget, replacing ``config.total_timesteps`` (the buffer
            is then ``min(buffer_size, timesteps)`` rows); None keeps the config's.
        checkpoints: step counts (each capped to the budget; the budget is the last;
            0 gives the untrained networks); SAC trains after every step, so each
            is reached exactly.
        on_progress: called with the steps trained so far (per seed).
        chunk: at most this many steps per compiled call (finer progress).
        oracle: train on the true reward (``info["true_reward"]``).
        devices: the devices to spread the seeds over (default: all local ones;
            each compiles the program once).

    Returns:
        ``(initial, [(steps, params per seed), ...])`` with host (numpy) arrays.
    """
    if timesteps is not None:
        config = replace(config, total_timesteps=int(timesteps))
    if config.total_timesteps < 1:
        raise EngineError(f"the budget must be at least 1 step, got {config.total_timesteps}")
    if not seeds:
        raise EngineError("train needs at least one seed")
    if any(int(step) < 0 for step in checkpoints):
        raise EngineError(f"checkpoints must be step counts >= 0, got {list(checkpoints)}")
    jax_env, env_params = make_env(env) if isinstance(env, str) else env
    trainer = Trainer(jax_env, env_params, config)
    devices = list(jax.local_devices() if devices is None else devices)
    seed_groups = device_groups(seeds, devices)
    devices = devices[: len(seed_groups)]
    size = len(seed_groups[0])
    keys = seed_keys([seed for group in seed_groups for seed in group])
    group_params = [jax.device_put(env_params, device) for device in devices]
    # Each group's runs are made on its own device: the replay buffers are most of
    # the memory (Glucose: 780 bytes a row, 780 MB a seed at 1M steps), so no
    # copy of them on the host or on another device.
    groups = [
        trainer.init_batch(
            jax.device_put(keys[i * size : (i + 1) * size], device), group_params[i], oracle
        )
        for i, device in enumerate(devices)
    ]

    def params_now() -> list[Params]:
        per_seed = []
        for group in groups:
            batched = jax.device_get(group.learner.params)
            n = len(jax.tree.leaves(batched)[0])
            per_seed += [jax.tree.map(lambda x, i=i: np.asarray(x[i]), batched) for i in range(n)]
        return per_seed[: len(seeds)]  # the padding's copies are last

    initial = params_now()
    total = config.total_timesteps
    positions = sorted({min(int(step), total) for step in checkpoints} | {total})
    done, results = 0, []
    for position in positions:
        while done < position:
            n = position - done if chunk is None else min(chunk, position - done)
            for i, device in enumerate(devices):  # each returns once dispatched
                start = jax.device_put(np.int32(done), device)
                stop = jax.device_put(np.int32(done + n), device)
                groups[i] = trainer.advance_batch(groups[i], start, stop, group_params[i])
            done += n
            if on_progress is not None:
                jax.block_until_ready(groups)
                on_progress(done)
        results.append((done, params_now()))
    return initial, results


__all__ = [
    "CONTINUOUS_PORTS",
    "Learner",
    "SACConfig",
    "Trainer",
    "actor_outputs",
    "deterministic_action",
    "init_params",
    "make_env",
    "q_values",
    "sac_update",
    "squashed_sample",
    "torch_linear_init",
    "train",
]
