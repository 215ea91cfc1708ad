"""Tiny sweep configs and record comparison shared by the sweep tests."""

from __future__ import annotations

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
