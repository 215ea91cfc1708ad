"""Tiny sweep configs and record comparison shared by the sweep tests."""

from __future__ import annotations

import os
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
