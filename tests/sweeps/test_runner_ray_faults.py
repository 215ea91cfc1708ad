"""A local Ray instance started by a sweep ends with its driver: kill -9 and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from proxygym.sweeps import results
from tests.sweeps.helpers import live_processes, write_toml

#: A sweep whose agent cell trains for hours while its two baselines take a second.
LONG: dict[str, Any] = {
    "env": "proxygym/BoatRace-v0",
    "algo": "ppo",
    "timesteps": 50_000_000,
    "seeds": [0],
    "eval_episodes": 1,
    "baselines": ["random", "exact"],
    "pressure": {"axis": "timesteps", "levels": [0, 50_000_000]},
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]
pytest.importorskip("ray")


def _session(sid: int) -> dict[int, str]:
    """Live processes of a session: pid -> command line.

    Ray's workers put themselves in process groups of their own, but stay in
    the session of the sweep that started them.
    """
    return {p.pid: p.command for p in live_processes() if p.session == sid}


def _start_ray_sweep(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A two-CPU Ray sweep training its agent cell once both baselines are done."""
    config_file = write_toml(tmp_path / "long.toml", LONG)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "proxygym.cli", "sweep", str(config_file), "--out", str(out)]
    with (tmp_path / "stdout").open("wb") as stdout, (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--workers", "2", "--backend", "ray"],
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # a session of its own: every process Ray starts is in it
        )
    deadline = time.monotonic() + 90
    while results.completed_cells(out) != {"random", "exact"} or not any(
        "_guarded_run" in command for command in _session(process.pid).values()
    ):
        if process.poll() is not None:
            raise AssertionError((tmp_path / "stderr").read_text())
        assert time.monotonic() < deadline, "the Ray sweep made no progress"
        time.sleep(0.1)
    return process, out


def _assert_session_ends(sid: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while _session(sid):
        if time.monotonic() > deadline:
            left = _session(sid)
            _kill_session(sid)  # clean up before failing
            raise AssertionError(f"processes of the Ray sweep outlived it: {left}")
        time.sleep(0.1)


def _kill_session(sid: int) -> None:
    for pid in _session(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_no_ray_process_outlives_a_killed_driver(tmp_path: Path) -> None:
    process, _ = _start_ray_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        _assert_session_ends(process.pid)
    finally:
        _kill_session(process.pid)


def test_sigterm_shuts_the_local_ray_down_like_ctrl_c(tmp_path: Path) -> None:
    process, out = _start_ray_sweep(tmp_path)
    try:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        _assert_session_ends(process.pid)
        stderr = (tmp_path / "stderr").read_text()
        assert process.returncode == 130, stderr
        assert "interrupted; finished cells are saved" in stderr
    finally:
        _kill_session(process.pid)
    assert results.completed_cells(out) == {"random", "exact"}
