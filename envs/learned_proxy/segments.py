"""Rollouts of a behaviour policy as per-step features, to fit and score reward models with.

A reward model scores a step from what the agent saw and did: the features of
a step are the observation the action was taken in, flattened to float32,
followed by the one-hot action (:func:`step_features`). Two collections are
built from seeded episodes of a behaviour policy:

- :func:`collect_segments` cuts episodes into fixed-length segments, the
  clips a labeller compares (Christiano et al. 2017);
- :func:`collect_trajectories` keeps whole episodes, the pool best-of-n
  selects from (:mod:`proxygym.planning.best_of_n`).

Rollouts skip ``gym.make``'s checker and order-enforcing wrappers: the
registered entry point is called directly and the registered time limit is
applied here, so collection runs at the environment's own speed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from proxygym.core import LogitsFn, check_knob
from proxygym.envs.learned_proxy._checks import check_int, check_spaces

#: Consecutive episodes too short to give one segment before collection gives up.
_MAX_EMPTY_EPISODES = 1000


def step_features(observation: Any, action: int, n_actions: int) -> np.ndarray:
    """The features of one step: ``observation`` flattened to float32, then the one-hot ``action``.

    ``observation`` is the one the action was taken in (not the one the step
    returned), so the features describe a decision and its context.
    """
    flat = np.asarray(observation, dtype=np.float32).reshape(-1)
    features = np.zeros(flat.size + n_actions, dtype=np.float32)
    features[: flat.size] = flat
    features[flat.size + action] = 1.0
    return features


@dataclass(frozen=True)
class Segments:
    """Fixed-length clips of behaviour, with the returns a labeller compares them by.

    Attributes:
        features: ``(n, length, F)`` float32 step features (:func:`step_features`).
        true_returns: ``(n,)`` sum of the hidden true reward over each segment.
        proxy_returns: ``(n,)`` sum of the environment's own proxy over each
            segment, for reference (the learned proxy replaces it).
    """

    features: np.ndarray
    true_returns: np.ndarray
    proxy_returns: np.ndarray

    def __len__(self) -> int:
        return int(self.features.shape[0])


@dataclass(frozen=True)
class Trajectories:
    """Whole episodes, their steps concatenated in one array.

    Attributes:
        features: ``(total_steps, F)`` float32 step features of every episode,
            one after another; episode ``i`` is ``features[offsets[i]:offsets[i + 1]]``.
        offsets: ``(n + 1,)`` int64 start of each episode in ``features``, then
            ``total_steps``.
        true_returns: ``(n,)`` true return of each episode.
        proxy_returns: ``(n,)`` the environment's own proxy return of each episode.
        keys: one 16-byte digest per episode of its observations (the last
            one included) and actions: equal keys mean the same trajectory as
            the policy sees it (hidden state may still differ).
    """

    features: np.ndarray
    offsets: np.ndarray
    true_returns: np.ndarray
    proxy_returns: np.ndarray
    keys: tuple[bytes, ...]

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """``(n,)`` number of steps of each episode."""
        return np.diff(self.offsets)

    def episode(self, index: int) -> np.ndarray:
        """The ``(T_i, F)`` step features of episode ``index`` (a view)."""
        return self.features[self.offsets[index] : self.offsets[index + 1]]

    def episode_sums(self, step_values: np.ndarray) -> np.ndarray:
        """Sum per-step values ``(..., total_steps)`` over each episode: ``(..., n)``."""
        return np.add.reduceat(step_values, self.offsets[:-1], axis=-1)


class _Player:
    """Plays seeded episodes of one environment and behaviour policy into preallocated buffers."""

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None,
        seed: int,
        behaviour: LogitsFn | None,
        temperature: float,
    ) -> None:
        check_knob("temperature", temperature)
        self.env, self.limit = _raw_env(env_id, env_kwargs)
        self.n_actions = int(self.env.action_space.n)  # type: ignore[attr-defined]
        self.obs_dim = int(np.prod(self.env.observation_space.shape))  # type: ignore[arg-type]
        self.n_features = self.obs_dim + self.n_actions
        self.env_id = env_id
        self.behaviour = behaviour
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)
        self.next_seed = seed
        self.features = np.zeros((self.limit, self.n_features), dtype=np.float32)
        self.true_rewards = np.zeros(self.limit)
        self.proxy_rewards = np.zeros(self.limit)

    def play(self, key: bool = False) -> tuple[int, bytes]:
        """Play one episode into the buffers; return its length and (if ``key``) its digest."""
        observation, _ = self.env.reset(seed=self.next_seed)
        self.next_seed += 1
        hasher = hashlib.blake2b(digest_size=16) if key else None
        uniform = None
        if self.behaviour is None:
            uniform = self.rng.integers(self.n_actions, size=self.limit)
        features, obs_dim = self.features, self.obs_dim
        for t in range(self.limit):
            action = int(uniform[t]) if uniform is not None else self._sample(observation)
            row = features[t]
            row[:obs_dim] = np.asarray(observation).reshape(-1)
            row[obs_dim:] = 0.0
            row[obs_dim + action] = 1.0
            if hasher is not None:
                hasher.update(row.tobytes())
            observation, _, terminated, truncated, info = self.env.step(action)
            try:
                self.true_rewards[t] = info["true_reward"]
                self.proxy_rewards[t] = info["proxy_reward"]
            except KeyError:
                raise KeyError(
                    f"{self.env_id} puts no 'true_reward' and 'proxy_reward' in info; "
                    "reward models are fit to environments following the proxygym contract"
                ) from None
            if terminated or truncated:
                break
        if hasher is not None:
            hasher.update(np.asarray(observation, dtype=np.float32).tobytes())
        return t + 1, hasher.digest() if hasher is not None else b""

    def _sample(self, observation: Any) -> int:
        """An action of the behaviour policy: greedy at temperature 0, else a softmax sample."""
        assert self.behaviour is not None
        logits = np.asarray(self.behaviour(observation), dtype=np.float64)
        if self.temperature == 0:
            return int(np.argmax(logits))
        weights = np.cumsum(np.exp((logits - logits.max()) / self.temperature))
        index = int(np.searchsorted(weights, self.rng.random() * weights[-1], side="right"))
        return min(index, self.n_actions - 1)


def _raw_env(env_id: str, env_kwargs: dict[str, Any] | None) -> tuple[gym.Env, int]:
    """``env_id``'s registered entry point called directly, and the episode step limit.

    The limit is the smaller of the registered ``max_episode_steps`` and the
    environment's own ``max_steps``, whichever exist; an environment with
    neither, or without a ``Discrete`` action space and a ``Box`` observation
    space, is a ValueError naming ``env_id``.
    """
    spec = gym.spec(env_id)
    entry_point = spec.entry_point
    creator: Any = (
        gym.envs.registration.load_env_creator(entry_point)
        if isinstance(entry_point, str)
        else entry_point
    )
    env = creator(**{**spec.kwargs, **(env_kwargs or {})})
    check_spaces(env, f"{env_id}: a reward model")
    limits = [
        int(limit)
        for limit in (spec.max_episode_steps, getattr(env, "max_steps", None))
        if limit is not None
    ]
    if not limits:
        raise ValueError(f"{env_id} has no episode step limit (max_episode_steps or max_steps)")
    return env, min(limits)


def collect_segments(
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    n_segments: int,
    length: int,
    seed: int,
    behaviour: LogitsFn | None = None,
    temperature: float = 1.0,
) -> Segments:
    """Cut seeded episodes of a behaviour policy into ``n_segments`` segments of ``length`` steps.

    Episodes are reset with seeds ``seed``, ``seed + 1``, ... and actions drawn
    from a generator seeded by ``seed``, so the same arguments give the same
    segments. Each episode gives ``T // length`` non-overlapping segments from
    its start; the shorter tail is dropped, so segments never span an episode end.

    Args:
        behaviour: logits of the behaviour policy; None plays uniformly at random.
        temperature: the behaviour samples ``softmax(logits / temperature)``
            (0 acts greedily); ignored for the uniform policy.

    Raises:
        ValueError: naming the argument, for ``n_segments < 1``, ``length < 1``,
            ``length`` above the episode limit, or when 1000 episodes in a row
            end before ``length`` steps.
    """
    check_int("n_segments", n_segments, 1)
    check_int("length", length, 1)
    player = _Player(env_id, env_kwargs, seed, behaviour, temperature)
    if length > player.limit:
        raise ValueError(f"length ({length}) exceeds {env_id}'s episode limit of {player.limit}")
    features = np.empty((n_segments, length, player.n_features), dtype=np.float32)
    true_returns = np.empty(n_segments)
    proxy_returns = np.empty(n_segments)
    filled = empty_episodes = 0
    while filled < n_segments:
        steps, _ = player.play()
        count = min(steps // length, n_segments - filled)
        empty_episodes = 0 if count else empty_episodes + 1
        if empty_episodes >= _MAX_EMPTY_EPISODES:
            raise ValueError(
                f"{_MAX_EMPTY_EPISODES} episodes of {env_id} in a row ended before "
                f"length={length} steps; use shorter segments"
            )
        used = slice(0, count * length)
        chunk = slice(filled, filled + count)
        features[chunk] = player.features[used].reshape(count, length, -1)
        true_returns[chunk] = player.true_rewards[used].reshape(count, length).sum(axis=1)
        proxy_returns[chunk] = player.proxy_rewards[used].reshape(count, length).sum(axis=1)
        filled += count
    player.env.close()
    return Segments(features, true_returns, proxy_returns)


def collect_trajectories(
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    n: int,
    seed: int,
    behaviour: LogitsFn | None = None,
    temperature: float = 1.0,
) -> Trajectories:
    """Play ``n`` whole seeded episodes of a behaviour policy (seeding as :func:`collect_segments`).

    Memory is ``4 F`` bytes per step: 1000 TomatoWatering episodes
    (100 steps of 319 features) take 128 MB.
    """
    check_int("n", n, 1)
    player = _Player(env_id, env_kwargs, seed, behaviour, temperature)
    episodes: list[np.ndarray] = []
    true_returns = np.empty(n)
    proxy_returns = np.empty(n)
    keys = []
    for index in range(n):
        steps, key = player.play(key=True)
        episodes.append(player.features[:steps].copy())
        true_returns[index] = player.true_rewards[:steps].sum()
        proxy_returns[index] = player.proxy_rewards[:steps].sum()
        keys.append(key)
    player.env.close()
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(episode) for episode in episodes], out=offsets[1:])
    return Trajectories(np.concatenate(episodes), offsets, true_returns, proxy_returns, tuple(keys))
