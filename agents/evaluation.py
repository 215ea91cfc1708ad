"""Evaluate a policy on both objectives, and how far it moved from its initial self.

Every evaluation plays ``episodes`` seeded episodes and reports the mean and
standard deviation of the proxy and true returns. With an initial policy it
also reports ``kl_from_init``: the mean, over the states the evaluated policy
visits, of ``KL(evaluated(.|s) || initial(.|s))``, so any sweep can be
replotted against KL. The evaluated policy acts greedily at temperature 0
(SB3's ``deterministic=True``) and samples from ``softmax(logits /
temperature)`` otherwise; the KL compares both policies as the stochastic
policies they are (temperature 1), whatever the temperature the episodes are
played at: a greedy policy's distribution is a point mass, whose KL from any
initial policy is about log(number of actions) at every level, the untrained
one included, and says nothing about how far training moved the policy.

:func:`evaluate_proxy_and_true` is the twin of stable-baselines3's
``evaluate_policy`` for any model with SB3's ``predict`` on any environment
or VecEnv: it reports both returns, read from the contract's episode sums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import PolicyPredictor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.dqn.policies import DQNPolicy

from proxygym.core import EPISODE_KEYS, LogitsFn


@dataclass(frozen=True)
class EvalResult:
    """Mean and spread of both returns over ``episodes`` episodes."""

    proxy_return: float
    true_return: float
    proxy_return_std: float
    true_return_std: float
    episodes: int
    kl_from_init: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def policy_logits(policy: BasePolicy) -> LogitsFn:
    """Action logits of an SB3 policy (Q-values for DQN) for discrete actions."""
    if not isinstance(policy.action_space, gym.spaces.Discrete):
        raise TypeError(
            f"evaluation needs a Discrete action space, got {policy.action_space}; "
            "continuous-action environments are not supported yet"
        )

    def logits(observation: np.ndarray) -> np.ndarray:
        tensor, _ = policy.obs_to_tensor(observation)
        with torch.no_grad():
            if isinstance(policy, DQNPolicy):
                out = policy.q_net(tensor)
            else:
                out = policy.get_distribution(tensor).distribution.logits  # type: ignore[attr-defined,operator]
        return out.numpy()[0].astype(np.float64)

    return logits


def uniform_logits(n_actions: int) -> LogitsFn:
    """Logits of the uniformly random policy (evaluate it at temperature 1)."""
    zeros = np.zeros(n_actions)
    return lambda observation: zeros


def scripted_logits(act: Callable[[np.ndarray], int], n_actions: int) -> LogitsFn:
    """A scripted policy (observation -> action) as logits (evaluate it greedily)."""

    def logits(observation: np.ndarray) -> np.ndarray:
        scores = np.zeros(n_actions)
        scores[int(act(observation))] = 1.0
        return scores

    return logits


def softmax(logits: np.ndarray) -> np.ndarray:
    """Action probabilities from logits (shifted by their maximum, so it never overflows)."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of two distributions over actions (0 log 0 = 0)."""
    support = p > 0
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(q[support]))))


def evaluate_policy(
    logits: LogitsFn,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    episodes: int,
    seed: int,
    temperature: float = 0.0,
    initial_logits: LogitsFn | None = None,
) -> EvalResult:
    """Play ``episodes`` episodes (reset seeds ``seed``, ``seed + 1``, ...).

    Args:
        logits: the evaluated policy.
        temperature: 0 acts greedily; > 0 samples from ``softmax(logits / temperature)``
            with a generator seeded by ``seed``.
        initial_logits: the untrained policy, for ``kl_from_init`` (at temperature 1).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    env = gym.make(env_id, **(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    proxy_returns, true_returns = [], []
    kl_total, kl_states = 0.0, 0
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            scores = logits(observation)
            if temperature == 0:
                action = int(np.argmax(scores))
                probs = np.zeros_like(scores)
                probs[action] = 1.0
            else:
                probs = softmax(scores / temperature)
                action = int(rng.choice(len(probs), p=probs))
            if initial_logits is not None:
                kl_total += _kl(softmax(scores), softmax(initial_logits(observation)))
                kl_states += 1
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        proxy_returns.append(info["episode_proxy_return"])
        true_returns.append(info["episode_true_return"])
    env.close()
    return EvalResult(
        proxy_return=float(np.mean(proxy_returns)),
        true_return=float(np.mean(true_returns)),
        proxy_return_std=float(np.std(proxy_returns)),
        true_return_std=float(np.std(true_returns)),
        episodes=episodes,
        kl_from_init=kl_total / kl_states if initial_logits is not None else None,
    )


@dataclass(frozen=True)
class ProxyTrueEvaluation:
    """Both returns of :func:`evaluate_proxy_and_true`'s episodes, and their means and spreads.

    Unpacks, like SB3's ``evaluate_policy`` result, to the four summary numbers:
    ``mean_proxy, std_proxy, mean_true, std_true = evaluate_proxy_and_true(...)``.

    Attributes:
        proxy_returns, true_returns, episode_lengths: per episode, in the order
            the episodes ended.
    """

    mean_proxy_return: float
    std_proxy_return: float
    mean_true_return: float
    std_true_return: float
    proxy_returns: tuple[float, ...]
    true_returns: tuple[float, ...]
    episode_lengths: tuple[int, ...]

    def __iter__(self) -> Iterator[float]:
        """The four summary numbers: mean and std of the proxy return, then of the true return."""
        yield self.mean_proxy_return
        yield self.std_proxy_return
        yield self.mean_true_return
        yield self.std_true_return


def evaluate_proxy_and_true(
    model: PolicyPredictor,
    env: gym.Env | VecEnv,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
) -> ProxyTrueEvaluation:
    """Play ``n_eval_episodes`` episodes with ``model``; report the proxy and the true returns.

    The twin of ``stable_baselines3.common.evaluation.evaluate_policy(model,
    env, n_eval_episodes, deterministic)``, and run the same way: ``model`` is
    anything with SB3's ``predict(observation, state, episode_start,
    deterministic)`` (an algorithm, a policy or a scripted stand-in); ``env``
    a VecEnv or a single environment (put in a ``DummyVecEnv``), reset once at
    the start; a VecEnv's episodes are divided evenly among its environments
    (SB3's unbiased division). Each episode's returns are the
    ``info["episode_proxy_return"]`` and ``info["episode_true_return"]`` of
    the step that ended it, so wrappers that scale the reward (``VecNormalize``)
    or replace it (``TrueObjective``) do not change them, and no ``Monitor``
    is needed.

    Raises:
        ValueError: when ``n_eval_episodes`` < 1.
        KeyError: when the step ending an episode has no episode sums in its
            ``info`` (the environment does not follow the proxygym contract).
    """
    if (
        isinstance(n_eval_episodes, bool)
        or not isinstance(n_eval_episodes, (int, np.integer))
        or n_eval_episodes < 1
    ):
        raise ValueError(f"n_eval_episodes must be an integer >= 1, got {n_eval_episodes!r}")
    vec_env: VecEnv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])
    n_envs = vec_env.num_envs
    counts = np.zeros(n_envs, dtype=int)
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    lengths = np.zeros(n_envs, dtype=int)
    proxy_returns: list[float] = []
    true_returns: list[float] = []
    episode_lengths: list[int] = []
    observations = vec_env.reset()
    states = None
    episode_starts = np.ones(n_envs, dtype=bool)
    while (counts < targets).any():
        actions, states = model.predict(
            observations,  # type: ignore[arg-type]
            state=states,
            episode_start=episode_starts,
            deterministic=deterministic,
        )
        observations, _, dones, infos = vec_env.step(actions)
        lengths += 1
        for i in range(n_envs):
            episode_starts[i] = dones[i]
            if not dones[i]:
                continue
            if counts[i] < targets[i]:
                info = infos[i]
                missing = [key for key in EPISODE_KEYS if key not in info]
                if missing:
                    raise KeyError(
                        f"the step that ended an episode has no {missing} in its info "
                        f"(info keys: {sorted(info)}); the environment does not follow the "
                        "proxygym contract"
                    )
                proxy_returns.append(float(info["episode_proxy_return"]))
                true_returns.append(float(info["episode_true_return"]))
                episode_lengths.append(int(lengths[i]))
                counts[i] += 1
            lengths[i] = 0
    return ProxyTrueEvaluation(
        mean_proxy_return=float(np.mean(proxy_returns)),
        std_proxy_return=float(np.std(proxy_returns)),
        mean_true_return=float(np.mean(true_returns)),
        std_true_return=float(np.std(true_returns)),
        proxy_returns=tuple(proxy_returns),
        true_returns=tuple(true_returns),
        episode_lengths=tuple(episode_lengths),
    )
