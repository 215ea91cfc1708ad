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
#: Installed package name -> source folder, as in pyproject.toml's package-dir.
PACKAGE_DIRS = {"proxygym": "proxygym", "proxygym/envs": "envs", "proxygym/agents": "agents"}


def lay_out(target: Path) -> None:
    """Mirror the installed ``proxygym`` package under ``target`` (symlinked .py files)."""
    for package, source in PACKAGE_DIRS.items():
        for path in (ROOT / source).rglob("*.py"):
            link = target / package / path.relative_to(ROOT / source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="proxygym-layers-") as tmp:
        lay_out(Path(tmp))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")])}
        run = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
        command = [sys.executable, "-c", run, str(ROOT / "pyproject.toml")]
        return subprocess.run(command, env=env, cwd=tmp, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
