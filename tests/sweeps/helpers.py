"""Tiny sweep configs and record comparison shared by the sweep tests."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig

TINY: dict[str, Any] = {
    "env": "proxygym/AbsentSupervisor-v0",
    "env_kwargs": {"supervisor": False},
    "algo": "ppo",
    "timesteps": 256,
    "seeds": [0, 1],
    "eval_episodes": 2,
    "hyperparameters": {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 2},
    "pressure": {"axis": "timesteps", "levels": [0, 128, 256]},
}


def tiny_config(**changes: Any) -> SweepConfig:
    data = {**TINY, **changes}
    return SweepConfig.from_dict(data, source="tiny.toml")


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """A minimal TOML writer for the flat configs the tests use."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) and key != "env_kwargs":
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml(value)}")
    for name, table in tables:
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in table.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def comparable(directory: Path) -> pd.DataFrame:
    """All records except wall-clock time, in a canonical order."""
    frame = results.load(directory).drop(columns=["wall_time"])
    return frame.sort_values(["cell", "policy", "step"]).reset_index(drop=True)


@dataclass(frozen=True)
class Process:
    """One live process, as /proc tells it (the fault tests look for survivors with it)."""

    pid: int
    parent: int
    group: int
    session: int
    command: str


def live_processes() -> list[Process]:
    """Every live (not zombie) process on the machine, from /proc (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue  # ended while we looked
        state, parent, group, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if state not in ("Z", "X"):
            text = command.replace(b"\0", b" ").decode(errors="replace")
            found.append(Process(int(entry), int(parent), int(group), int(session), text))
    return found


def session(sid: int) -> dict[int, Process]:
    """Live processes of a session, by pid (a sweep started in a session of its own keeps
    every process it starts there: pool workers, the fork server, Ray's processes)."""
    return {p.pid: p for p in live_processes() if p.session == sid}


def kill_session(sid: int) -> None:
    for pid in session(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass  # ended meanwhile


def assert_session_ends(sid: int, seconds: float) -> None:
    """Wait until no process of session ``sid`` is left; fail (after cleaning up) if one is."""
    deadline = time.monotonic() + seconds
    while session(sid):
        if time.monotonic() > deadline:
            left = {pid: p.command for pid, p in session(sid).items()}
            kill_session(sid)  # clean up before failing
            raise AssertionError(f"processes of the sweep outlived it: {left}")
        time.sleep(0.05)


#: A sweep whose agent cell trains for far longer than any test waits.
LONG: dict[str, Any] = {
    "env": "proxygym/BoatRace-v0",
    "algo": "ppo",
    "timesteps": 50_000_000,
    "seeds": [0],
    "eval_episodes": 1,
    "baselines": ["random", "exact"],
    "pressure": {"axis": "timesteps", "levels": [0, 50_000_000]},
}


def start_long_sweep(
    tmp_path: Path, options: list[str], training: Callable[[int], bool], seconds: float
) -> tuple[subprocess.Popen[bytes], Path]:
    """``proxygym sweep`` of :data:`LONG` in a session of its own, returned once both
    baselines are done and ``training(pid)`` says its agent cell trains."""
    config_file = write_toml(tmp_path / "long.toml", LONG)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "proxygym.cli", "sweep", str(config_file), "--out", str(out)]
    # Output to files, not pipes: a surviving worker would hold a pipe open.
    with (tmp_path / "stdout").open("wb") as stdout, (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [*command, *options], stdout=stdout, stderr=stderr, start_new_session=True
        )
    deadline = time.monotonic() + seconds
    while results.completed_cells(out) != {"random", "exact"} or not training(process.pid):
        if process.poll() is not None:
            raise AssertionError((tmp_path / "stderr").read_text())
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.05)
    return process, out


def fresh_interpreter(code: str, watched: Sequence[str]) -> tuple[list[str], list[str]]:
    """Run ``code`` in a new Python: the lines it printed and the ``watched`` modules it imported.

    For the checks that loading or planning a sweep stays light (no torch, SB3 or JAX).
    """
    probe = f"\nimport sys\nprint(sorted(m for m in {tuple(watched)!r} if m in sys.modules))\n"
    run = subprocess.run([sys.executable, "-c", code + probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    *lines, imported = run.stdout.strip().splitlines()
    return lines, ast.literal_eval(imported)
