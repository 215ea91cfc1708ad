"""Execute the tutorial notebook in place, so it is committed with current outputs.

Usage: ``python tools/execute_notebook.py [NOTEBOOK] [--out PATH]``
(default: ``docs/tutorial.ipynb``, written back in place).

The notebook runs top to bottom with nbclient in a ``python3`` kernel of the
current interpreter, from a fresh temporary directory that is also the
kernel's ``TMPDIR`` (the sweep results land there and are deleted), with
``PYTHONHASHSEED=0``; the notebook seeds its own environments and agents. So
the outputs are the same on every run, except for what :func:`normalise`
rewrites before the notebook is written: the temporary directory's path, the
random suffix of ``tempfile.mkdtemp``, wall-clock seconds and memory addresses.
nbclient's timing metadata is not recorded and the notebook's own metadata is
kept as it was, so a re-run changes nothing but outputs that really changed.

``tests/test_tutorial.py`` executes the notebook again and fails when the
committed text outputs differ from the fresh ones (after :func:`normalise`);
figures (``image/png``) depend on the matplotlib and FreeType builds, so they
are shown and refreshed here but not compared.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

try:  # imported by the tests, from the checkout's root
    from tools.pinned_isa import pinned_isa
except ModuleNotFoundError:  # run as a script: tools/ is the first entry of sys.path
    from pinned_isa import pinned_isa  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
#: The command that refreshes the committed outputs (quoted by the test's failure message).
REFRESH = "python tools/execute_notebook.py"
#: Output MIME types compared as text (the rest, e.g. image/png, are not compared).
TEXT_TYPES = ("text/plain", "text/markdown", "text/html")
#: Stands for the temporary directory the notebook ran in.
TMPDIR_MARK = "$TMPDIR"

_SUBSTITUTIONS = [
    # tempfile.mkdtemp(prefix=...)'s random suffix
    (re.compile(r"(proxygym-tutorial-)[A-Za-z0-9_]{6,}"), r"\1XXXXXXXX"),
    # wall-clock durations: "... in 14 s", "3.2 s", "0:00:05"
    (re.compile(r"\b\d+(?:\.\d+)? ?(s|ms|sec|seconds)\b"), r"N \1"),
    (re.compile(r"\b\d+:\d\d:\d\d\b"), "H:MM:SS"),
    # object reprs: <... at 0x7f...>
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x..."),
]


def normalise(text: str, workdir: str | Path | None = None) -> str:
    """``text`` with what legitimately varies between runs replaced by fixed marks."""
    if workdir is not None:
        for form in {str(workdir), str(Path(workdir).resolve())}:
            text = text.replace(form, TMPDIR_MARK)
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return text


def coalesce_streams(outputs: list[Any]) -> list[Any]:
    """``outputs`` with consecutive stream outputs of one stream merged into one.

    How the kernel splits a cell's printing into messages depends on timing.
    """
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.output_type == "stream"
            and previous.output_type == "stream"
            and output.name == previous.name
        ):
            previous.text += output.text
        else:
            merged.append(copy.deepcopy(output))
    return merged


def text_outputs(cell: Any) -> list[str]:
    """What a code cell shows, in order: its streams, errors and the text forms of its
    results; any other form (a figure) by its MIME type only, so that whether it is
    shown is compared but not its bytes."""
    shown = []
    for output in coalesce_streams(cell.get("outputs", [])):
        if output.output_type == "stream":
            shown.append(f"[{output.name}] {output.text}")
        elif output.output_type == "error":
            shown.append(f"[error] {output.ename}: {output.evalue}")
        else:
            for mime, value in sorted(output.get("data", {}).items()):
                shown.append(f"[{mime}] {value}" if mime in TEXT_TYPES else f"[{mime}]")
    return shown


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _normalise_outputs(notebook: Any, workdir: Path) -> None:
    for cell in code_cells(notebook):
        cell.outputs = coalesce_streams(cell.outputs)
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = normalise(output.text, workdir)
            for mime in TEXT_TYPES:
                if mime in output.get("data", {}):
                    output.data[mime] = normalise(output.data[mime], workdir)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables (inherited by the kernel) for the duration."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(notebook: Any, workdir: Path, timeout: int = 600) -> Any:
    """Execute ``notebook`` (a copy is returned) from ``workdir``, also the kernel's TMPDIR."""
    notebook = copy.deepcopy(notebook)
    # the kernels the tests pin (tools/pinned_isa.py), so the stored outputs are theirs
    with _environment(TMPDIR=str(workdir), PYTHONHASHSEED="0", **pinned_isa()):
        NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=timeout,
            record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    return notebook


def refresh(path: Path, out: Path) -> None:
    """Execute the notebook at ``path`` and write it, with its outputs, to ``out``."""
    stored = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="proxygym-notebook-") as tmp:
        workdir = Path(tmp)
        executed = execute(stored, workdir)
        _normalise_outputs(executed, workdir)
    executed.metadata = stored.metadata  # not nbclient's language_info (Python's version)
    for cell in code_cells(executed):
        cell.metadata.pop("execution", None)
    nbformat.validate(executed)
    nbformat.write(executed, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK)
    parser.add_argument("--out", type=Path, help="write here instead of in place")
    args = parser.parse_args(argv)
    out = args.out or args.notebook
    refresh(args.notebook, out)
    print(f"{out}: executed, {out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
