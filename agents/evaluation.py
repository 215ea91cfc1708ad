"""Evaluate a policy on both objectives, and how far it moved from its initial self.

Every evaluation plays ``episodes`` seeded episodes and reports the mean and
standard deviation of the proxy and true returns. With an initial policy it
also reports ``kl_from_init``: the mean, over the states the evaluated policy
visits, of ``KL(evaluated(.|s) || initial(.|s))``, so any sweep can be
replotted against KL. The evaluated policy acts greedily at temperature 0
(SB3's ``deterministic=True``) and samples from ``softmax(logits /
temperature)`` otherwise; the initial policy's distribution is its own
(temperature 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.dqn.policies import DQNPolicy

from proxygym.core import LogitsFn


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


def softmax(logits: np.ndarray) -> np.ndarray:
    """Action probabilities from logits (shifted by their maximum, so it never overflows)."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


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
        initial_logits: the untrained policy, for ``kl_from_init``.
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
                initial = softmax(initial_logits(observation))
                support = probs > 0
                kl_total += float(
                    np.sum(probs[support] * (np.log(probs[support]) - np.log(initial[support])))
                )
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
