"""The floor plan holds: layers import only downwards, and the light entry points stay light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.lint_imports import check_layers, lay_out

pytest.importorskip("importlinter", reason="needs import-linter (proxygym[dev])")


def test_every_layer_imports_only_the_layers_below_it(tmp_path: Path) -> None:
    lay_out(tmp_path)
    result = check_layers(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, back_edge",
    [
        ("proxygym/model.py", "from proxygym.planning import tabular"),
        ("proxygym/envs/goodhart/status_lamp.py", "from proxygym.sweeps import results"),
        ("proxygym/sweeps/results.py", "from proxygym.reporting import plots"),
    ],
)
def test_a_planted_back_edge_breaks_the_contract(
    tmp_path: Path, module: str, back_edge: str
) -> None:
    """The check can fail: one upward import in a copy of the package is caught and named."""
    lay_out(tmp_path)
    planted = tmp_path / module
    source = planted.read_text()
    planted.unlink()
    planted.write_text(f"{source}\n{back_edge}  # planted\n")
    result = check_layers(tmp_path)
    assert result.returncode != 0
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"- {importer} -> " in result.stdout  # the offending import, named


@pytest.mark.parametrize(
    "module", ["proxygym.sweeps.config", "proxygym.sweeps.axes", "proxygym.cli"]
)
def test_loading_a_sweep_config_and_the_cli_import_no_torch(module: str) -> None:
    """Reading a TOML or asking ``--help`` must not pay seconds for torch and SB3."""
    code = (
        f"import sys, {module}; "
        "heavy = sorted(m for m in ('torch', 'stable_baselines3') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
