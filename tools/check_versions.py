"""Fail unless every package pinned in a constraints file is installed at exactly that version.

``make test-lowest`` runs it first, so the smoke tests that follow really run
against the floors of pyproject.toml (pip would otherwise be free to keep a
newer version that was already there).

Usage: ``python tools/check_versions.py tests/constraints-lowest.txt``
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file (comments and blanks skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            if not version:
                raise ValueError(f"{path}: {line!r} is not a name==version pin")
            found[name.strip()] = version.strip()
    return found


def main(path: str) -> int:
    wrong = []
    for name, version in pins(Path(path)).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            wrong.append(f"{name} {installed} (pinned {version})")
    if wrong:
        print(f"{path}: not at the pinned versions: {', '.join(wrong)}", file=sys.stderr)
        return 1
    print(f"{path}: all {len(pins(Path(path)))} pins installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
