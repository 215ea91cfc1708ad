"""The JAX engine keeps compiled programs on disk, where the user (or JAX's own setting) says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

PROBE = "from proxygym.jax.cache import use_compilation_cache; print(use_compilation_cache())"


def _cache_dir(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR",)}
    clean.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_cache_goes_to_proxygyms_directory_by_default(tmp_path: Path) -> None:
    assert _cache_dir(PROXYGYM_JAX_CACHE=str(tmp_path / "c")) == str(tmp_path / "c")
    assert (tmp_path / "c").is_dir()
    assert _cache_dir(PROXYGYM_JAX_CACHE="", XDG_CACHE_HOME=str(tmp_path)) == str(
        tmp_path / "proxygym" / "jax"
    )


def test_a_cache_configured_for_jax_is_kept(tmp_path: Path) -> None:
    mine = str(tmp_path / "mine")
    assert (
        _cache_dir(JAX_COMPILATION_CACHE_DIR=mine, PROXYGYM_JAX_CACHE=str(tmp_path / "x")) == mine
    )
    assert not (tmp_path / "x").exists()


LOAD = """
import proxygym.jax  # first, as the engine's modules do: before jaxlib reads the log level
import jax, jax.numpy as jnp
from proxygym.jax.cache import use_compilation_cache
use_compilation_cache()
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
print(float(jax.jit(lambda x: jnp.sin(x) * 2)(jnp.ones(3)).sum()))
"""


def _load(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JAX_COMPILATION_CACHE_DIR", "TF_CPP_MIN_LOG_LEVEL")
    }
    clean.update(PROXYGYM_JAX_CACHE=str(cache), **env)
    return subprocess.run(
        [sys.executable, "-c", LOAD], env=clean, capture_output=True, text=True, check=True
    )


def test_programs_loaded_from_the_cache_print_no_false_alarm(tmp_path: Path) -> None:
    """jaxlib logs a multi-kilobyte SIGILL warning per cached CPU program loaded (jax#38445)."""
    first = _load(tmp_path / "c")
    assert any((tmp_path / "c").iterdir())  # something was cached
    again = _load(tmp_path / "c")
    assert again.stdout == first.stdout
    assert "cpu_aot_loader" not in again.stderr, again.stderr[:300]
    # The line is jaxlib's, and a user who asks for every C++ log line gets it.
    loud = _load(tmp_path / "c", TF_CPP_MIN_LOG_LEVEL="0")
    if "cpu_aot_loader" not in loud.stderr:
        pytest.skip("this jaxlib no longer logs the false alarm")


def test_a_log_level_the_user_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from proxygym.jax.cache import LOG_LEVEL_VAR, quiet_cache_loads

    monkeypatch.setenv(LOG_LEVEL_VAR, "1")
    assert not quiet_cache_loads()
    assert os.environ[LOG_LEVEL_VAR] == "1"
    monkeypatch.delenv(LOG_LEVEL_VAR)
    assert quiet_cache_loads()
    assert os.environ[LOG_LEVEL_VAR] == "3"
