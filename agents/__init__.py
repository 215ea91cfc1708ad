"""Agent construction, hyperparameters and training callbacks (stable-baselines3).

``make_agent(algo, env_id, seed, **overrides)`` builds a seeded PPO, A2C or
DQN agent with the tuned hyperparameters in ``hyperparams/<algo>.toml``;
``oracle=True`` trains it on the true objective instead of the proxy.
"""

from proxygym.agents.callbacks import ProxyTrueLogger
from proxygym.agents.factory import (
    ALGORITHMS,
    EPISODE_KEYS,
    load_hyperparameters,
    make_agent,
    make_env,
    merge_hyperparameters,
)

__all__ = [
    "ALGORITHMS",
    "EPISODE_KEYS",
    "ProxyTrueLogger",
    "load_hyperparameters",
    "make_agent",
    "make_env",
    "merge_hyperparameters",
]
