"""A local Ray instance started by a sweep ends with its driver: kill -9 and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from proxygym.sweeps import results
from tests.sweeps.helpers import assert_session_ends, kill_session, session, start_long_sweep

#: A sweep whose agent cell trains for hours while its two baselines take a second.

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]
pytest.importorskip("ray")


def _ray_training(driver: int) -> bool:
    """Whether a Ray worker runs a cell: Ray's workers put themselves in process groups of
    their own, but stay in the session of the sweep that started them."""
    return any("_guarded_run" in p.command for p in session(driver).values())


def _start_ray_sweep(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A two-CPU Ray sweep training its agent cell once both baselines are done."""
    options = ["--workers", "2", "--backend", "ray"]
    return start_long_sweep(tmp_path, options, _ray_training, seconds=90)


def test_no_ray_process_outlives_a_killed_driver(tmp_path: Path) -> None:
    process, _ = _start_ray_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert_session_ends(process.pid, seconds=15)
    finally:
        kill_session(process.pid)


def test_sigterm_shuts_the_local_ray_down_like_ctrl_c(tmp_path: Path) -> None:
    process, out = _start_ray_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        assert_session_ends(process.pid, seconds=15)
        stderr = (tmp_path / "stderr").read_text()
        assert process.returncode == 130, stderr
        assert "interrupted; finished cells are saved" in stderr
    finally:
        kill_session(process.pid)
    assert results.completed_cells(out) == {"random", "exact"}
