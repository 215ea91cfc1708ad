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
