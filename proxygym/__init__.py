"""proxygym: a testbed for proxy gaming (Goodhart's law) in reinforcement learning.

Every environment pays the agent a visible *proxy* reward and reports the
hidden *true objective* beside it in ``info`` (see :mod:`proxygym.core`).
Importing this package registers the environments as ``proxygym/<Name>-v0``.
"""

from proxygym.core import INFO_KEYS, EnvCard, ProxyEnv
from proxygym.registry import EnvRecord, list_envs, register_all

__version__ = "0.1.0"
__all__ = ["INFO_KEYS", "EnvCard", "EnvRecord", "ProxyEnv", "list_envs", "__version__"]

register_all()
