"""tools/install_torch.sh installs the CPU build of torch, explicitly.

The script is run against a fake Python whose ``-m pip install`` records its
arguments and succeeds or fails as told, so both paths are checked without a
network: the ``+cpu`` wheel from pip's configured sources when they have one
(nothing else contacted), PyTorch's CPU index otherwise.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "install_torch.sh"
MAKEFILE = ROOT / "Makefile"

FAKE_PYTHON = """#!/bin/sh
# Records each call; fails the calls whose arguments contain $FAIL_IF.
echo "$*" >> "$CALLS"
case "$*" in *"$FAIL_IF"*) exit 1;; esac
exit 0
"""


def _run(tmp_path: Path, fail_if: str, **env: str) -> list[str]:
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TORCH_")}
    full_env.update(CALLS=str(calls), FAIL_IF=fail_if, **env)
    subprocess.run(
        ["sh", str(SCRIPT), str(fake)], env=full_env, check=True, capture_output=True, text=True
    )
    return calls.read_text().splitlines()


def test_a_local_cpu_wheel_is_taken_without_contacting_an_index(tmp_path: Path) -> None:
    calls = _run(tmp_path, fail_if="never-matches")
    assert calls == ["-m pip install --quiet torch==2.13.0+cpu"]


def test_without_a_local_cpu_wheel_the_cpu_index_is_the_default(tmp_path: Path) -> None:
    calls = _run(tmp_path, fail_if="+cpu")
    assert len(calls) == 2
    assert calls[1] == (
        "-m pip install --quiet --index-url https://download.pytorch.org/whl/cpu torch==2.13.0"
    )


def test_version_index_and_extra_arguments_are_settings(tmp_path: Path) -> None:
    calls = _run(
        tmp_path,
        fail_if="+cpu",
        TORCH_VERSION="2.8.0",
        TORCH_INDEX_URL="https://mirror.example/cpu",
        TORCH_PIP_ARGS="--no-cache-dir",
    )
    assert calls == [
        "-m pip install --quiet --no-cache-dir torch==2.8.0+cpu",
        "-m pip install --quiet --no-cache-dir --index-url https://mirror.example/cpu torch==2.8.0",
    ]


def test_a_failed_install_fails_the_script(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        _run(tmp_path, fail_if="torch==")


def test_every_venv_the_makefile_makes_gets_torch_from_the_script() -> None:
    """No Makefile rule installs torch by plain name, which could be a CUDA build."""
    text = MAKEFILE.read_text()
    assert "TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu" in text
    recipes = [line for line in text.splitlines() if line.startswith("\t")]
    venv_rules = [line for line in recipes if "-m venv" in line]
    installs = [line for line in recipes if "tools/install_torch.sh" in line]
    # .venv and .venv-lowest need torch; .venv-light is the torch-free install.
    assert len(venv_rules) == 3 and len(installs) == 2
    assert not [
        line
        for line in text.splitlines()
        if "pip install" in line and "torch" in line.replace("install_torch", "")
    ]
