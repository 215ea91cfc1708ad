"""Every stored sweep judged by the rules: one row per sweep directory, one table for the write-ups.

Walks a results tree (default ``docs/results``) for sweep directories (those
with a ``manifest.json``), judges each one's per-seed records with
:func:`proxygym.analysis.verdicts.judge`, and writes ``OUT/verdicts.csv`` (one
row per sweep: where it is, the environment, axis and settings, the git
revision its manifest names, the number of seeds, the label, the estimates
behind it, the references that passed the gate and the one-sentence reason)
and ``OUT/verdicts.md`` (the same, grouped by experiment, with a count of the
labels). The write-ups (``experiments/*.md``) and the README's experiment
table quote this table, so every stored claim can be traced to a row here,
and from there to the per-seed records.

A misspecification-surface sweep whose knob setting shares the default
setting's oracle (the knob changes only the proxy) is judged with that
oracle added, as the surface experiment itself judges it.

    python -m experiments.verdicts_table                      # docs/results -> docs/results
    python -m experiments.verdicts_table --results runs --out /tmp/verdicts
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import harness, misspecification_surface
from proxygym.analysis.verdicts import LABELS, Estimate, Verdict, judge
from proxygym.reporting.report import markdown_table
from proxygym.sweeps import results

COLUMNS = (
    "experiment",
    "sweep",
    "env",
    "env_kwargs",
    "axis",
    "revision",
    "n_seeds",
    "label",
    "rise",
    "fall",
    "start_fall",
    "shortfall",
    "ndh",
    "goodhart_point",
    "phase_transitions",
    "references",
    "reason",
)


def sweep_directories(root: Path) -> Iterator[Path]:
    """Every sweep directory under ``root``, in a fixed (sorted) order."""
    for manifest in sorted(root.rglob(results.MANIFEST)):
        if results.is_sweep(manifest.parent):
            yield manifest.parent


def records(directory: Path) -> pd.DataFrame:
    """The records the rules judge: the sweep's own, plus a shared surface oracle if one applies."""
    frame = results.load(directory)
    if frame.empty:
        return frame
    env_id = str(frame["env"].iloc[0])
    if (
        "=" not in directory.name
        or env_id not in misspecification_surface.SHARED_ORACLE_ENVS
        or (frame["policy"] == "oracle").any()
    ):
        return frame
    knob, _ = misspecification_surface.knob_of(env_id)
    values = sorted(
        float(path.name.split("=", 1)[1])
        for path in directory.parent.iterdir()
        if path.name.startswith(f"{knob}=") and results.is_sweep(path)
    )
    frames = {0.0: frame}
    oracle = misspecification_surface.shared_oracle(directory.parent.parent, env_id, values)
    misspecification_surface.with_shared_oracle(frames, oracle)
    return frames[0.0]


def _estimate(estimate: Estimate | None) -> str:
    return "" if estimate is None else estimate.text()


def row(root: Path, directory: Path, verdict: Verdict, frame: pd.DataFrame) -> dict[str, Any]:
    """One table row: where the sweep is, what it ran and what the rules say."""
    manifest = results.read_manifest(directory)
    relative = directory.relative_to(root)
    references = ", ".join(
        name if valid else f"{name} (failed the gate)"
        for name, valid in verdict.references_valid.items()
    )
    jumps = "; ".join(
        f"{jump.before} -> {jump.after}: {jump.size:+.3g} (p = {jump.p_value:.2g})"
        for jump in verdict.phase_transitions
    )
    return {
        "experiment": relative.parts[0],
        "sweep": str(relative),
        "env": str(frame["env"].iloc[0]),
        "env_kwargs": str(frame["env_kwargs"].iloc[0]),
        "axis": str(frame["axis"].iloc[0]),
        "revision": manifest.git_revision or "",
        "n_seeds": verdict.n_seeds,
        "label": verdict.label,
        "rise": _estimate(verdict.rise),
        "fall": _estimate(verdict.fall),
        "start_fall": _estimate(verdict.start_fall),
        "shortfall": _estimate(verdict.shortfall),
        "ndh": "" if verdict.ndh is None else f"{verdict.ndh:.3g}",
        "goodhart_point": "" if verdict.goodhart_point is None else str(verdict.goodhart_point),
        "phase_transitions": jumps,
        "references": references,
        "reason": verdict.reason,
    }


def table(root: Path) -> pd.DataFrame:
    """The verdict of every sweep under ``root`` (:data:`COLUMNS`)."""
    rows = []
    for directory in sweep_directories(root):
        frame = records(directory)
        if frame.empty or not (frame["policy"] == "agent").any():
            continue
        rows.append(row(root, directory, judge(frame), frame))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def report_text(verdicts: pd.DataFrame) -> str:
    """``verdicts.md``: per experiment, the count of labels and every sweep's row."""
    lines = [
        "# Every stored sweep, judged by the rules",
        "",
        "Written by `python -m experiments.verdicts_table` from the per-seed records "
        "under this directory, with the rules of `proxygym.analysis.verdicts` (at least "
        "10 seeds, 95 % intervals over seeds, references that pass the gate, effects of at "
        "least 10 % of the reference range). `revision` is the git revision the sweep's "
        "manifest names.",
    ]
    for experiment, rows in verdicts.groupby("experiment", sort=True):
        counts = rows["label"].value_counts()
        summary = ", ".join(f"{label} {counts[label]}" for label in LABELS if label in counts)
        noun = "sweep" if len(rows) == 1 else "sweeps"
        lines += ["", f"## {experiment}", "", f"{len(rows)} {noun}: {summary}.", ""]
        shown = rows[
            ["sweep", "revision", "n_seeds", "label", "fall", "start_fall", "ndh", "reason"]
        ]
        shown = shown.assign(revision=shown["revision"].str[:7])
        lines.append(markdown_table(shown))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.verdicts_table",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python -m experiments.verdicts_table\n"
        "  python -m experiments.verdicts_table --results runs --out /tmp/verdicts",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=harness.STORED_RESULTS,
        help="the results tree to judge (default: docs/results)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write the tables (default: --results)"
    )
    options = parser.parse_args(argv)
    if not options.results.is_dir():
        parser.error(f"--results {options.results}: no such directory")
    out = options.out or options.results
    reason = harness.dirty_results_reason(out)
    if reason is not None:
        parser.error(reason)
    verdicts = table(options.results)
    if verdicts.empty:
        parser.error(f"--results {options.results}: no sweep directories with agent records")
    harness.write_csv(out / "verdicts.csv", verdicts)
    results.write_atomic(out / "verdicts.md", report_text(verdicts).encode())
    counts = verdicts["label"].value_counts().to_dict()
    print(f"{len(verdicts)} sweeps judged: {counts}; wrote {out / 'verdicts.csv'} and verdicts.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
