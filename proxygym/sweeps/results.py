"""The results store of a sweep: one directory, written so that a crash never corrupts it.

Layout of a sweep directory::

    manifest.json          resolved config, planned cells, package versions, git revision
    results.csv            every record so far (:func:`load`'s frame), rewritten as cells finish
    cells/<cell>.json      the evaluation records of one finished cell
    cells/<cell>.failed.json   the traceback of a cell that raised
    episodes/<cell>.csv    every training episode's proxy and true return
    models/<cell>.zip      the trained SB3 model
    tensorboard/<cell>_1/  proxy/ep_return and true/ep_return curves
    .lock                  held by the sweep writing the directory

Every file is written to a temporary name in the same directory, flushed to
disk and renamed into place (atomic on POSIX), so a reader sees a whole file
or none, even after ``kill -9``. :func:`load` returns every record as a
pandas DataFrame, :func:`read_manifest` the manifest with its config as a
:class:`~proxygym.sweeps.config.SweepConfig`. No other module builds these paths.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from proxygym.sweeps.config import SweepConfig

if TYPE_CHECKING:  # pandas loads with the records (the `agents` extra), not with the CLI
    import pandas as pd

#: Columns every evaluation record has.
RECORD_FIELDS: tuple[str, ...] = (
    "env",
    "env_kwargs",
    "algo",
    "axis",
    "level",
    "seed",
    "policy",
    "cell",
    "step",
    "proxy_return",
    "true_return",
    "proxy_return_std",
    "true_return_std",
    "episodes",
    "kl_from_init",
    "true_labels",
    "wall_time",
)
MANIFEST = "manifest.json"
CELLS = "cells"
MODELS = "models"
EPISODES = "episodes"
TENSORBOARD = "tensorboard"
#: Every record of the sweep as CSV, beside ``cells/``.
RESULTS_CSV = "results.csv"
#: The lock a running sweep holds on its directory.
LOCK = ".lock"
#: The CSV header of a cell's episode log (``episodes/<cell>.csv``).
EPISODE_COLUMNS = ("timestep", "proxy_return", "true_return", "length")


@dataclass
class CellResult:
    """What a finished cell hands back to the sweep for writing: its records, episode log, model."""

    key: str
    records: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, float]] = field(default_factory=list)
    model: bytes | None = None


def _umask() -> int:
    """The process umask (reading it means setting it, so it is put back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary handle whose contents replace ``path`` when the block ends without error.

    Readers see the old file or the new one, never a part: the data goes to a
    temporary file beside ``path``, is flushed to disk, then renamed over it.
    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())  # as open() would; temporary files are 0600
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    with atomic_file(path) as handle:
        handle.write(data)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n").encode())


def read_json(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete leftovers of writes interrupted by a crash; returns how many."""
    stale = list(directory.rglob(".*.tmp")) if directory.exists() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` holds: the resolved config, the planned cells and provenance."""

    config: SweepConfig
    cells: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    git_revision: str | None = None
    created: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "cells": list(self.cells),
            "versions": self.versions,
            "git_revision": self.git_revision,
            "created": self.created,
        }


def manifest_path(directory: str | Path) -> Path:
    """Where a sweep directory's manifest is."""
    return Path(directory) / MANIFEST


def is_sweep(directory: str | Path) -> bool:
    """Whether ``directory`` holds a sweep (a manifest)."""
    return manifest_path(directory).is_file()


def stored_config(directory: str | Path) -> dict[str, Any] | None:
    """The config ``directory`` stored, as written (:meth:`SweepConfig.to_dict`); None if none."""
    path = manifest_path(directory)
    return read_json(path)["config"] if path.exists() else None


def write_manifest(directory: str | Path, manifest: Manifest) -> None:
    """Store ``manifest`` atomically."""
    write_json_atomic(manifest_path(directory), manifest.to_dict())


def read_manifest(directory: str | Path) -> Manifest:
    """The manifest of a sweep directory, its config typed (and its ``modules`` imported).

    Raises:
        FileNotFoundError: ``directory`` holds no sweep.
    """
    path = manifest_path(directory)
    if not path.is_file():
        raise FileNotFoundError(f"{directory} is not a proxygym sweep directory (no {MANIFEST})")
    data = read_json(path)
    return Manifest(
        config=SweepConfig.from_stored(data["config"]),
        cells=tuple(data.get("cells", ())),
        versions=dict(data.get("versions", {})),
        git_revision=data.get("git_revision"),
        created=data.get("created"),
    )


def load_config(directory: str | Path) -> SweepConfig:
    """The config of the sweep in ``directory`` (see :func:`read_manifest`)."""
    return read_manifest(directory).config


def lock_path(directory: str | Path) -> Path:
    """The file a running sweep locks (see :data:`LOCK`)."""
    return Path(directory) / LOCK


def tensorboard_dir(directory: str | Path) -> Path:
    """Where the sweep's TensorBoard curves go."""
    return Path(directory) / TENSORBOARD


def tensorboard_runs(directory: str | Path, cell: str) -> list[Path]:
    """The TensorBoard run directories of ``cell`` (SB3 names them ``<cell>_<n>``)."""
    folder = tensorboard_dir(directory)
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(cell) + r"_\d+")
    return sorted(p for p in folder.iterdir() if p.is_dir() and pattern.fullmatch(p.name))


def remove_tensorboard_runs(directory: str | Path, cell: str) -> int:
    """Delete ``cell``'s TensorBoard runs (before it is run again); returns how many."""
    runs = tensorboard_runs(directory, cell)
    for run in runs:
        shutil.rmtree(run, ignore_errors=True)
    return len(runs)


def results_csv_path(directory: str | Path) -> Path:
    """Where a sweep directory's table of every record is (:data:`RESULTS_CSV`)."""
    return Path(directory) / RESULTS_CSV


def write_results_csv(directory: str | Path) -> Path:
    """Rewrite ``results.csv`` atomically with every record on disk (:func:`load`'s frame)."""
    path = results_csv_path(directory)
    frame = load(directory)
    with atomic_file(path) as handle:
        handle.write(frame.to_csv(index=False).encode())
    return path


def cell_path(directory: Path, cell: str, failed: bool = False) -> Path:
    return Path(directory) / CELLS / (f"{cell}.failed.json" if failed else f"{cell}.json")


def model_path(directory: str | Path, cell: str) -> Path:
    """Where the trained SB3 model of ``cell`` is stored."""
    return Path(directory) / MODELS / f"{cell}.zip"


def saved_models(directory: str | Path) -> dict[str, Path]:
    """Every stored model of a sweep directory, by cell key."""
    return {path.stem: path for path in sorted((Path(directory) / MODELS).glob("*.zip"))}


def episodes_path(directory: str | Path, cell: str) -> Path:
    """Where the training-episode log of ``cell`` is stored (CSV, :data:`EPISODE_COLUMNS`)."""
    return Path(directory) / EPISODES / f"{cell}.csv"


def write_model(directory: str | Path, cell: str, model: bytes) -> None:
    """Store ``cell``'s trained model (the bytes of ``BaseAlgorithm.save``) atomically."""
    write_atomic(model_path(directory, cell), model)


def write_episodes(directory: str | Path, cell: str, episodes: list[dict[str, float]]) -> None:
    """Store ``cell``'s training-episode log atomically, one CSV row per episode."""
    lines = [",".join(EPISODE_COLUMNS)] + [
        f"{e['timestep']:.0f},{e['proxy_return']!r},{e['true_return']!r},{e['length']:.0f}"
        for e in episodes
    ]
    write_atomic(episodes_path(directory, cell), ("\n".join(lines) + "\n").encode())


def completed_cells(directory: Path) -> set[str]:
    """Cells whose records are on disk."""
    folder = Path(directory) / CELLS
    if not folder.exists():
        return set()
    return {
        p.name[: -len(".json")]
        for p in folder.glob("*.json")
        if not p.name.endswith(".failed.json")
    }


def failed_cells(directory: Path) -> dict[str, str]:
    """Cells that raised, with their tracebacks."""
    folder = Path(directory) / CELLS
    if not folder.exists():
        return {}
    return {
        p.name[: -len(".failed.json")]: read_json(p)["traceback"]
        for p in folder.glob("*.failed.json")
    }


def status(directory: str | Path) -> dict[str, list[str]]:
    """Planned cells split into ``done``, ``failed`` and ``missing``."""
    directory = Path(directory)
    planned = read_json(manifest_path(directory))["cells"]
    done, failed = completed_cells(directory), failed_cells(directory)
    return {
        "done": [c for c in planned if c in done],
        "failed": [c for c in planned if c in failed and c not in done],
        "missing": [c for c in planned if c not in done and c not in failed],
    }


def load(directory: str | Path) -> pd.DataFrame:
    """Every evaluation record of a sweep directory, one row each.

    Adds ``true_score``, the normalised true return
    ``(J - J_random) / (J_true_optimal - J_random)``, wherever the random
    policy and the exact true optimum were recorded for the same
    environment settings (NaN elsewhere).
    """
    directory = Path(directory)
    if not manifest_path(directory).exists() and not (directory / CELLS).exists():
        raise FileNotFoundError(f"{directory} is not a proxygym sweep directory (no {MANIFEST})")
    records: list[dict[str, Any]] = []
    for path in sorted((directory / CELLS).glob("*.json")):
        if not path.name.endswith(".failed.json"):
            records.extend(read_json(path)["records"])
    import pandas as pd

    frame = pd.DataFrame(records, columns=list(RECORD_FIELDS))
    frame["true_score"] = _true_scores(frame)
    return frame


def _true_scores(frame: pd.DataFrame) -> list[float]:
    references: dict[str, dict[str, float]] = {}
    for row in frame.itertuples():
        if row.policy in ("random", "true_optimal"):
            references.setdefault(str(row.env_kwargs), {})[str(row.policy)] = float(row.true_return)
    scores = []
    for row in frame.itertuples():
        reference = references.get(str(row.env_kwargs), {})
        random, best = reference.get("random"), reference.get("true_optimal")
        if random is None or best is None or math.isclose(best, random):
            scores.append(math.nan)
        else:
            scores.append((float(row.true_return) - random) / (best - random))
    return scores
