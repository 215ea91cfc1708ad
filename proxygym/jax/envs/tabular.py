"""Any environment with an exact tabular model, compiled to a functional JAX environment.

:func:`compile_tabular` turns ``gym.make(env_id, **env_kwargs)`` into a
:class:`TabularJaxEnv` and its :class:`TabularParams` with no per-environment
code: the dynamics and both rewards are the arrays of the environment's
:class:`~proxygym.model.TabularModel` (:func:`~proxygym.model.exact_model`),
the same model the exact planners solve, so the JAX twin plays exactly the
game the Gymnasium environment plays. ``observe(state)`` on the model base
(:class:`~proxygym.model.StateEnv`) is the hook the compiler uses: it is called
once per model state to build the observation table, which is why the table
holds exactly what the Gymnasium environment returns and nothing else (in
particular never the true reward). An environment with a model but without
``observe`` is refused with :class:`~proxygym.jax.envs.UnsupportedEnvError`.

A state is an index into the model's states plus the step count; a step looks
up ``[state, action]`` and samples one outcome. Everything a knob changes
lives in the params, so several knob levels of one environment are padded to
common shapes by :func:`stack_params` and trained together with ``jax.vmap``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from proxygym.jax.envs import UnsupportedEnvError
from proxygym.jax.envs.base import JaxProxyEnv, step_info
from proxygym.model import TabularModel, exact_model, model_reason


@struct.dataclass
class TabularState:
    """Where an episode is: the model state's index and the steps taken so far."""

    index: jax.Array
    time: jax.Array


@struct.dataclass
class TabularParams:
    """One compiled instance (or, stacked, several): every field is an array leaf.

    Shapes: ``S`` states, ``A`` actions, ``K`` outcome slots per transition.

    Attributes:
        observations: ``[S, obs_dim]`` float32, what the agent sees in each state.
        initial: ``[S]`` initial state distribution.
        initial_cdf: ``[S]`` its running sum, computed once in float64 so that a
            state of probability 0 has the same value as the one before it and
            the reset's binary search can never land on it.
        next_states: ``[S, A, K]`` int32 successor of each outcome.
        probs: ``[S, A, K]`` float32 probability of each outcome (0 in unused slots).
        proxy_rewards: ``[S, A, K]`` float32 visible reward.
        true_rewards: ``[S, A, K]`` float32 hidden reward.
        terminal: ``[S, A, K]`` bool, the outcome ends the episode.
        max_steps_in_episode: int32 scalar, the time limit (the model's horizon).
    """

    observations: jax.Array
    initial: jax.Array
    initial_cdf: jax.Array
    next_states: jax.Array
    probs: jax.Array
    proxy_rewards: jax.Array
    true_rewards: jax.Array
    terminal: jax.Array
    max_steps_in_episode: jax.Array


def params_from_model(
    model: TabularModel, observations: np.ndarray, max_steps: int | None = None
) -> TabularParams:
    """The params of ``model`` with ``observations[i]`` the observation of ``model.states[i]``.

    ``max_steps`` defaults to the model's horizon.
    """
    if len(observations) != model.n_states:
        raise ValueError(f"{len(observations)} observations for a model of {model.n_states} states")
    initial = np.asarray(model.initial, np.float64)
    return TabularParams(
        observations=jnp.asarray(observations, jnp.float32),
        initial=jnp.asarray(initial, jnp.float32),
        initial_cdf=jnp.asarray(np.cumsum(initial), jnp.float32),
        next_states=jnp.asarray(model.next_states, jnp.int32),
        probs=jnp.asarray(model.probs, jnp.float32),
        proxy_rewards=jnp.asarray(model.proxy_rewards, jnp.float32),
        true_rewards=jnp.asarray(model.true_rewards, jnp.float32),
        terminal=jnp.asarray(model.terminal, bool),
        max_steps_in_episode=jnp.asarray(
            model.horizon if max_steps is None else max_steps, jnp.int32
        ),
    )


class TabularJaxEnv(JaxProxyEnv):
    """A tabular model stepped in JAX (see the module docstring).

    The observation bounds are the Gymnasium environment's; everything that
    varies between instances of one environment is in the params.
    """

    def __init__(
        self,
        env_id: str,
        params: TabularParams,
        observation_low: np.ndarray,
        observation_high: np.ndarray,
    ) -> None:
        self.env_id = env_id
        self._params = params
        self._low = np.asarray(observation_low, np.float32)
        self._high = np.asarray(observation_high, np.float32)
        self._n_actions = int(params.next_states.shape[-2])

    @property
    def default_params(self) -> TabularParams:
        """The params this environment was compiled with."""
        return self._params

    def reset_env(self, key: jax.Array, params: TabularParams) -> tuple[jax.Array, TabularState]:
        """Draw the initial state from ``params.initial`` (one uniform, one binary search)."""
        cdf = params.initial_cdf
        # In (0, total]: the first index whose running sum reaches it has probability > 0.
        target = cdf[-1] * (1.0 - jax.random.uniform(key, (), jnp.float32))
        index = jnp.searchsorted(cdf, target).astype(jnp.int32)
        state = TabularState(index=index, time=jnp.zeros((), jnp.int32))
        return params.observations[index], state

    def step_env(
        self, key: jax.Array, state: TabularState, action: Any, params: TabularParams
    ) -> tuple[jax.Array, TabularState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """Sample one outcome of ``action``; the proxy is the reward, the true reward in info."""
        s, a = state.index, jnp.asarray(action, jnp.int32)
        if params.probs.shape[-1] == 1:  # deterministic: nothing to sample
            k = jnp.zeros((), jnp.int32)
        else:  # log 0 = -inf, so an outcome of probability 0 is never drawn
            k = jax.random.categorical(key, jnp.log(params.probs[s, a]))
        next_index = params.next_states[s, a, k]
        terminal = params.terminal[s, a, k]
        time = state.time + 1
        truncated = jnp.logical_and(time >= params.max_steps_in_episode, ~terminal)
        proxy = params.proxy_rewards[s, a, k]
        info = step_info(proxy, params.true_rewards[s, a, k], truncated)
        done = jnp.logical_or(terminal, truncated)
        next_state = TabularState(index=next_index, time=time)
        return params.observations[next_index], next_state, proxy, done, info

    def observation_table(self, params: TabularParams) -> jax.Array:
        """``[S, obs_dim]``: row ``i`` is the observation of state ``i``."""
        return params.observations

    def observation_index(self, state: TabularState) -> jax.Array:
        """The row of :meth:`observation_table` that is ``state``'s observation."""
        return state.index

    def observation_space(self, params: TabularParams) -> spaces.Box:
        """The Gymnasium environment's observation space."""
        return spaces.Box(
            jnp.asarray(self._low), jnp.asarray(self._high), self._low.shape, jnp.float32
        )

    def action_space(self, params: TabularParams) -> spaces.Discrete:
        return spaces.Discrete(self._n_actions)

    @property
    def num_actions(self) -> int:
        return self._n_actions


def compile_tabular(env_id: str, env_kwargs: dict[str, Any]) -> tuple[TabularJaxEnv, TabularParams]:
    """The JAX twin of ``gym.make(env_id, **env_kwargs)``, compiled from its exact model.

    Raises:
        UnsupportedEnvError: when the environment has no exact model, no
            Discrete action space, no Box observation space or no
            ``observe(state)`` method; one line naming the id and the reason.
    """
    env = gym.make(env_id, **env_kwargs)
    try:
        reason = model_reason(env)
        if reason is not None:
            raise UnsupportedEnvError(
                f"{env_id} has no exact tabular model ({reason}); the sb3 engine runs it"
            )
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise UnsupportedEnvError(
                f"{env_id} has action space {env.action_space}, not Discrete; "
                "the sb3 engine runs it"
            )
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise UnsupportedEnvError(
                f"{env_id} has observation space {space}, not Box; the sb3 engine runs it"
            )
        observe = getattr(env.unwrapped, "observe", None)
        if not callable(observe):
            raise UnsupportedEnvError(
                f"{env_id} has an exact model but no observe(state) method to build its "
                "observations from; the sb3 engine runs it"
            )
        model = exact_model(env)
        assert model is not None  # model_reason said there is one
        observations = np.stack([np.asarray(observe(state)) for state in model.states])
        # gym.make's TimeLimit ends the episode first if it is shorter than the game's own.
        limit = env.spec.max_episode_steps if env.spec is not None else None
        max_steps = model.horizon if limit is None else min(model.horizon, limit)
        params = params_from_model(model, observations, max_steps)
        return TabularJaxEnv(env_id, params, space.low, space.high), params
    finally:
        env.close()


def _pad(array: Any, shape: tuple[int, ...], fill: Any) -> np.ndarray:
    """``array`` extended to ``shape`` with ``fill`` (new entries at the end of each axis)."""
    array = np.asarray(array)
    out = np.full(shape, fill, array.dtype)
    out[tuple(slice(0, n) for n in array.shape)] = array
    return out


def stack_params(params_list: Sequence[TabularParams]) -> TabularParams:
    """Several instances of one environment (knob levels) stacked on a new leading axis.

    The instances are padded to the largest ``S`` and ``K``: a padded state is
    unreachable (initial probability 0, no transition leads to it), loops to
    itself with probability 1 in slot 0, pays nothing and shows zeros; a
    padded outcome slot has probability 0. ``jax.vmap`` over the result runs
    every level at once and gives each level's own results.

    Raises:
        ValueError: when the instances differ in observation shape, number of
            actions or time limit (the message gives both).
    """
    if not params_list:
        raise ValueError("stack_params needs at least one TabularParams")
    first = params_list[0]
    for other in params_list[1:]:
        for what, mine, theirs in (
            ("observation shape", first.observations.shape[1:], other.observations.shape[1:]),
            ("number of actions", first.next_states.shape[1], other.next_states.shape[1]),
            ("max_steps", int(first.max_steps_in_episode), int(other.max_steps_in_episode)),
        ):
            if mine != theirs:
                raise ValueError(f"cannot stack params with different {what}: {mine} vs {theirs}")
    n_states = max(p.observations.shape[0] for p in params_list)
    table = (n_states, first.next_states.shape[1], max(p.probs.shape[2] for p in params_list))
    padded: list[dict[str, np.ndarray]] = []
    for p in params_list:
        s, k = p.observations.shape[0], p.probs.shape[2]
        next_states = np.broadcast_to(np.arange(n_states, dtype=np.int32)[:, None, None], table)
        next_states = next_states.copy()  # a self-loop in every slot not filled below
        next_states[:s, :, :k] = np.asarray(p.next_states)
        probs = _pad(p.probs, table, 0.0)
        probs[s:, :, 0] = 1.0
        cdf = np.asarray(p.initial_cdf)
        padded.append(
            {
                "observations": _pad(p.observations, (n_states, *p.observations.shape[1:]), 0.0),
                "initial": _pad(p.initial, (n_states,), 0.0),
                "initial_cdf": _pad(cdf, (n_states,), cdf[-1]),
                "next_states": next_states,
                "probs": probs,
                "proxy_rewards": _pad(p.proxy_rewards, table, 0.0),
                "true_rewards": _pad(p.true_rewards, table, 0.0),
                "terminal": _pad(p.terminal, table, False),
                "max_steps_in_episode": np.asarray(p.max_steps_in_episode),
            }
        )
    return TabularParams(
        **{name: jnp.asarray(np.stack([level[name] for level in padded])) for name in padded[0]}
    )


__all__ = [
    "TabularJaxEnv",
    "TabularParams",
    "TabularState",
    "compile_tabular",
    "params_from_model",
    "stack_params",
]
