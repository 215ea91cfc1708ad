"""Wrappers around the proxy/true contract.

:class:`TrueObjective` trains on the true objective of a proxygym environment;
:class:`ProxyReward` (from :mod:`proxygym.proxy_reward`) makes any Gymnasium
environment a proxy/true pair.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from proxygym.proxy_reward import ProxyReward, Term, Transition

__all__ = ["ProxyReward", "Term", "Transition", "TrueObjective"]


class TrueObjective(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Make the hidden true objective the reward: the oracle's view of an environment.

    Training the same algorithm with the same budget through this wrapper gives
    the reference agent a proxy-trained agent is compared with. The proxy stays
    available as ``info["proxy_reward"]``; every other contract key is kept.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, _, terminated, truncated, info = self.env.step(action)
        if "true_reward" not in info:
            raise KeyError(
                "TrueObjective needs info['true_reward'] on every step; "
                f"{self.env.unwrapped!r} does not follow the proxygym contract"
            )
        return observation, info["true_reward"], terminated, truncated, info
