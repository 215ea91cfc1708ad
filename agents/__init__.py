"""Agent construction, hyperparameters and training callbacks (stable-baselines3).

``make_agent(algo, env_id, seed, **overrides)`` builds a seeded PPO, A2C,
DQN, SAC or TD3 agent with the tuned hyperparameters in ``hyperparams/<algo>.toml``;
``oracle=True`` trains it on the true objective instead of the proxy.
:class:`KLPenalty` and :class:`TrueLabelEarlyStopping` are callbacks that hold
back proxy over-optimization (see :mod:`proxygym.agents.mitigations`).

The hyperparameter tables (:mod:`proxygym.agents.hyperparameters`) need
neither torch nor stable-baselines3, so their names are imported at once;
the SB3-backed names are imported on first use, which keeps reading a sweep
config free of torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxygym.agents.hyperparameters import (
    ALGORITHM_NAMES,
    SETUP_KEYS,
    load_hyperparameters,
    merge_hyperparameters,
    tuned_budget,
)
from proxygym.core import EPISODE_KEYS

if TYPE_CHECKING:
    from proxygym.agents.callbacks import ProxyTrueLogger
    from proxygym.agents.factory import ALGORITHMS, make_agent, make_env
    from proxygym.agents.mitigations import KLPenalty, TrueLabelCheck, TrueLabelEarlyStopping

#: Where each SB3-backed name lives (imported on first use).
_LAZY = {
    "ALGORITHMS": "factory",
    "make_agent": "factory",
    "make_env": "factory",
    "ProxyTrueLogger": "callbacks",
    "KLPenalty": "mitigations",
    "TrueLabelCheck": "mitigations",
    "TrueLabelEarlyStopping": "mitigations",
}

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "EPISODE_KEYS",
    "SETUP_KEYS",
    "KLPenalty",
    "ProxyTrueLogger",
    "TrueLabelCheck",
    "TrueLabelEarlyStopping",
    "load_hyperparameters",
    "make_agent",
    "make_env",
    "merge_hyperparameters",
    "tuned_budget",
]


def __getattr__(name: str) -> Any:
    """Import the stable-baselines3-backed names on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
