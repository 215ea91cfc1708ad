"""Compiled JAX programs kept on disk, so a run's compilation is paid once per machine.

Compiling a PPO run for one environment takes tens of seconds on two cores,
more than training it for small budgets. JAX's persistent compilation cache
stores each compiled program under a key of the program and the JAX version;
the next process that compiles the same program (a resumed sweep, the next
seed batch of another worker, the same sweep tomorrow) loads it in a second.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where the cache goes unless JAX already has one (``JAX_COMPILATION_CACHE_DIR``).
ENV_VAR = "PROXYGYM_JAX_CACHE"
#: XLA's C++ log threshold (0 info, 1 warnings, 2 errors, 3 fatal only).
LOG_LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"


def default_cache_dir() -> Path:
    """``$PROXYGYM_JAX_CACHE``, else ``$XDG_CACHE_HOME/proxygym/jax`` (default ``~/.cache``)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "proxygym" / "jax"


def use_compilation_cache() -> str:
    """Turn JAX's persistent compilation cache on (unless configured already); its directory."""
    import jax

    if not jax.config.jax_compilation_cache_dir:  # type: ignore[attr-defined]
        directory = default_cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(directory))
    return str(jax.config.jax_compilation_cache_dir)  # type: ignore[attr-defined]


def quiet_cache_loads() -> bool:
    """Hide XLA's C++ log lines below fatal, unless ``TF_CPP_MIN_LOG_LEVEL`` is set; True if hidden.

    jaxlib 0.9 logs an error of several kilobytes each time it loads a CPU
    program from the cache ("Target machine feature +prefer-no-gather is not
    supported on the host machine ... could lead to execution errors such as
    SIGILL"): the check counts two LLVM tuning preferences as CPU features
    (jax-ml/jax#38445, openxla/xla#44565). The program was compiled on this
    machine and loads and runs correctly; a sweep would print hundreds of these.
    Errors that matter still raise Python exceptions; set
    ``TF_CPP_MIN_LOG_LEVEL=0`` to see every C++ log line again. Must run
    before jaxlib is imported, which reads the level once: importing
    :mod:`proxygym.jax` before ``jax`` does it.
    """
    if LOG_LEVEL_VAR in os.environ:
        return False
    os.environ[LOG_LEVEL_VAR] = "3"
    return True
