"""One JAX CPU device per core, so that groups of seeds train side by side.

XLA runs one device's program on one thread at a time, and the PPO programs
here are many small operations that keep one core busy; with a device per
core, :func:`proxygym.jax.ppo.train` gives each device a group of seeds and
the groups compute at once (measured: 1.8-2.3x on 2 cores). The number of
host devices is read once, when JAX starts its CPU backend, from the
``--xla_force_host_platform_device_count`` flag in ``XLA_FLAGS``.
"""

from __future__ import annotations

import os
import sys

#: Sets the number of CPU devices (default: the cores this process may use).
ENV_VAR = "PROXYGYM_JAX_DEVICES"
FLAG = "--xla_force_host_platform_device_count"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def use_all_cores() -> int | None:
    """Ask for one CPU device per core (or ``$PROXYGYM_JAX_DEVICES``); the number asked, or None.

    Does nothing (None) when ``XLA_FLAGS`` already sets the count or JAX's
    backends have started (then the flag would not be read).
    """
    if FLAG in os.environ.get("XLA_FLAGS", "") or _backend_started():
        return None
    wanted = os.environ.get(ENV_VAR)
    if wanted is not None and (not wanted.isdigit() or int(wanted) < 1):
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {wanted!r}")
    count = int(wanted) if wanted else cores()
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FLAG}={count}".strip()
    return count


def _backend_started() -> bool:
    xla_bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(xla_bridge is not None and getattr(xla_bridge, "_backends", None))
