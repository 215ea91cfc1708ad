"""Atomic result files: all or nothing, with the permissions an ordinary file would get."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proxygym.sweeps.results import atomic_file, write_atomic


def test_finished_files_get_ordinary_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "record.json"
        write_atomic(path, b"{}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not the temporary file's 0600
    finally:
        os.umask(mask)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "figure.png"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="plotting failed"):
        with atomic_file(path) as handle:
            handle.write(b"half a new fi")
            raise RuntimeError("plotting failed")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]


def test_every_subpackage_is_in_the_distribution() -> None:
    """pyproject lists packages by hand: a new subpackage must be added or a wheel lacks it."""
    from pathlib import Path

    from proxygym.sweeps.config import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(("proxygym", *path.parent.relative_to(root / "proxygym").parts))
        for path in (root / "proxygym").rglob("__init__.py")
    }
    found |= {"proxygym.envs", "proxygym.agents"}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
