"""Check the floor plan: import-linter's contracts (``[tool.importlinter]``) on the package.

``envs/`` and ``agents/`` are installed as ``proxygym.envs`` and
``proxygym.agents`` (setuptools ``package-dir``), which import-linter cannot
see in the source tree or through an editable install's import hook. So this
lays the installed package out in a temporary directory, one symlink per
source file, and runs ``lint-imports`` with that directory first on the path.

Usage: ``python tools/lint_imports.py`` (exit status is lint-imports').
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Installed package path -> source folder, as in pyproject.toml's package-dir.
PACKAGE_DIRS = {"proxygym": "proxygym", "proxygym/envs": "envs", "proxygym/agents": "agents"}


def lay_out(target: Path) -> None:
    """Mirror the installed ``proxygym`` package under ``target`` (symlinked .py files)."""
    for package, source in PACKAGE_DIRS.items():
        for path in (ROOT / source).rglob("*.py"):
            link = target / package / path.relative_to(ROOT / source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


def check_layers(target: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts on the package laid out under ``target``; output in ``stdout``."""
    path = os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])
    run = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run(
        [sys.executable, "-c", run, "--no-cache", str(ROOT / "pyproject.toml")],
        env={**os.environ, "PYTHONPATH": path},
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="proxygym-layers-") as tmp:
        lay_out(Path(tmp))
        result = check_layers(Path(tmp))
    print(result.stdout + result.stderr, end="")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
