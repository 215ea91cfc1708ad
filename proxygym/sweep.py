"""Run every cell of a sweep, in parallel, resumably, locally or on a Ray cluster.

The driver process owns the sweep directory: workers (processes of a local
pool, or Ray tasks) return their records and the driver writes each finished
cell atomically (:mod:`proxygym.results`). Killing the sweep at any moment,
even with ``kill -9``, loses only the cells in progress; running it again
into the same directory skips the finished cells, retries failed ones, and
ends with exactly the records an uninterrupted run would have written.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from proxygym import results
from proxygym.config import SweepConfig
from proxygym.training import Cell, CellResult, plan_cells, run_cell

BACKENDS = ("local", "ray")
_VERSIONED = ("proxygym", "gymnasium", "stable-baselines3", "torch", "numpy", "pandas")


class SweepError(RuntimeError):
    """The sweep cannot run as asked (message says why and what to do)."""


@dataclass(frozen=True)
class SweepSummary:
    """What a call to :func:`run_sweep` did."""

    out: Path
    ran: list[str]
    skipped: list[str]
    failed: list[str]
    seconds: float


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _git_revision() -> str | None:
    """The proxygym checkout's revision (with ``-dirty`` for local changes), if any."""
    here = Path(__file__).resolve().parent
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return revision + ("-dirty" if dirty else "")


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on ``out`` so two sweeps never write one directory (released on any exit)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise SweepError(f"{out} is in use by another running sweep") from error
        yield


def _prepare(config: SweepConfig, out: Path, cells: list[Cell]) -> None:
    """Write the manifest, or check that the existing one is for the same config."""
    manifest_path = out / results.MANIFEST
    if manifest_path.exists():
        existing = results.read_json(manifest_path)
        if SweepConfig.canonical_of(existing["config"]) != config.canonical():
            raise SweepError(
                f"{out} holds a sweep with a different config; use another --out directory "
                f"(or delete {out} to start over). Stored config: {manifest_path}"
            )
        return
    if any(out.iterdir()) and not {p.name for p in out.iterdir()} <= {".lock"}:
        raise SweepError(f"{out} is not empty and holds no sweep; choose another --out directory")
    results.write_json_atomic(
        manifest_path,
        {
            "config": config.to_dict(),
            "cells": [cell.key for cell in cells],
            "versions": _versions(),
            "git_revision": _git_revision(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )


def _store(out: Path, outcome: CellResult | tuple[str, str]) -> bool:
    """Write a finished cell; returns False for a failure."""
    if isinstance(outcome, tuple):
        key, trace = outcome
        results.write_json_atomic(
            results.cell_path(out, key, failed=True),
            {"cell": key, "status": "failed", "traceback": trace},
        )
        return False
    if outcome.model is not None:
        results.write_atomic(out / "models" / f"{outcome.key}.zip", outcome.model)
    if outcome.episodes:
        lines = ["timestep,proxy_return,true_return,length"] + [
            f"{e['timestep']:.0f},{e['proxy_return']!r},{e['true_return']!r},{e['length']:.0f}"
            for e in outcome.episodes
        ]
        results.write_atomic(
            out / "episodes" / f"{outcome.key}.csv", ("\n".join(lines) + "\n").encode()
        )
    # The records file goes last: its presence marks the cell as done.
    results.write_json_atomic(
        results.cell_path(out, outcome.key),
        {"cell": outcome.key, "status": "ok", "records": outcome.records},
    )
    results.cell_path(out, outcome.key, failed=True).unlink(missing_ok=True)
    return True


def _guarded_run(
    config: SweepConfig, cell: Cell, progress: bool, tensorboard_log: str | None
) -> CellResult | tuple[str, str]:
    """Run a cell in a worker; a raising cell comes back as (key, traceback)."""
    try:
        return run_cell(config, cell, progress=progress, tensorboard_log=tensorboard_log)
    except Exception:  # noqa: BLE001  (recorded, and must not stop the other cells)
        return cell.key, traceback.format_exc()


def _run_local(
    config: SweepConfig,
    cells: list[Cell],
    workers: int,
    progress: bool,
    tensorboard_log: str | None,
    on_done: Callable[[CellResult | tuple[str, str]], None],
) -> None:
    if workers == 1:
        for cell in cells:
            on_done(_guarded_run(config, cell, progress, tensorboard_log))
        return
    # Workers fork from a server that has already imported torch and SB3, so
    # starting one costs milliseconds instead of seconds; fork itself would
    # copy the driver's state, spawn would re-import everything per worker.
    # torch._dynamo too: the first optimizer imports it (seconds per process).
    context: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["proxygym.training", "torch._dynamo"])
    else:  # pragma: no cover
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: set[Future[Any]] = {
            pool.submit(_guarded_run, config, cell, False, tensorboard_log) for cell in cells
        }
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(future.result())


def _run_ray(
    config: SweepConfig,
    cells: list[Cell],
    workers: int,
    address: str | None,
    tensorboard_log: str | None,
    on_done: Callable[[CellResult | tuple[str, str]], None],
) -> None:
    try:
        import ray
    except ImportError as error:
        raise SweepError("the ray backend needs Ray: pip install 'proxygym[ray]'") from error
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_guarded_run)
        pending = [remote.remote(config, cell, False, tensorboard_log) for cell in cells]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
    finally:
        if started_here:
            ray.shutdown()


def run_sweep(
    config: SweepConfig,
    out: str | Path,
    workers: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> SweepSummary:
    """Run the cells of ``config`` not yet finished in ``out``.

    With ``workers > 1`` the local backend starts worker processes through a
    fork server, so a script calling this needs the usual
    ``if __name__ == "__main__":`` guard (the ``proxygym`` command has it).

    Args:
        workers: parallel processes (local) or CPUs to start Ray with.
        backend: ``"local"`` (a process pool) or ``"ray"``.
        ray_address: an existing Ray cluster; None starts a local Ray instance.
        progress: show progress bars (per cell, and SB3's while training with one worker).
    """
    if backend not in BACKENDS:
        raise SweepError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if workers < 1:
        raise SweepError(f"workers must be >= 1, got {workers}")
    out = Path(out)
    start = time.perf_counter()
    with _exclusive(out):
        cells = plan_cells(config)
        _prepare(config, out, cells)
        results.remove_stale_temporaries(out)
        done_before = results.completed_cells(out)
        todo = [cell for cell in cells if cell.key not in done_before]
        skipped = [cell.key for cell in cells if cell.key in done_before]
        if skipped:
            echo(f"resuming {out}: {len(skipped)} of {len(cells)} cells already done")
        ran: list[str] = []
        failed: list[str] = []
        # One worker shows SB3's own bar per cell; rich allows one live bar at a time.
        inline = backend == "local" and workers == 1
        bar = _progress_bar(len(todo)) if progress and todo and not inline else None

        def on_done(outcome: CellResult | tuple[str, str]) -> None:
            key = outcome[0] if isinstance(outcome, tuple) else outcome.key
            if _store(out, outcome):
                ran.append(key)
            else:
                failed.append(key)
                echo(f"cell {key} failed; traceback in {results.cell_path(out, key, failed=True)}")
            if bar is not None:
                bar.update(1)
            elif progress:
                echo(f"cell {len(ran) + len(failed)}/{len(todo)} finished: {key}")

        tensorboard_log = str(out / "tensorboard")
        try:
            if backend == "local":
                _run_local(config, todo, workers, progress and inline, tensorboard_log, on_done)
            else:
                _run_ray(config, todo, workers, ray_address, tensorboard_log, on_done)
        finally:
            if bar is not None:
                bar.close()
    return SweepSummary(out, ran, skipped, failed, time.perf_counter() - start)


def _progress_bar(total: int) -> Any:
    import warnings

    from tqdm import TqdmExperimentalWarning
    from tqdm.rich import tqdm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)
        return tqdm(total=total, desc="cells", unit="cell")
