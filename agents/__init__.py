"""Agent construction, hyperparameters and training callbacks (stable-baselines3).

``make_agent(algo, env_id, seed, **overrides)`` builds a seeded PPO, A2C or
DQN agent with the tuned hyperparameters in ``hyperparams/<algo>.toml``;
``oracle=True`` trains it on the true objective instead of the proxy.
:class:`KLPenalty` and :class:`TrueLabelEarlyStopping` are callbacks that hold
back proxy over-optimization (see :mod:`proxygym.agents.mitigations`).
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
from proxygym.agents.mitigations import KLPenalty, TrueLabelCheck, TrueLabelEarlyStopping

__all__ = [
    "ALGORITHMS",
    "EPISODE_KEYS",
    "KLPenalty",
    "ProxyTrueLogger",
    "TrueLabelCheck",
    "TrueLabelEarlyStopping",
    "load_hyperparameters",
    "make_agent",
    "make_env",
    "merge_hyperparameters",
]
