"""Run every cell of a sweep, in parallel, resumably, locally or on a Ray cluster.

The driver process owns the sweep directory: workers (processes of a local
pool, or Ray tasks) return their records and the driver writes each finished
cell atomically (:mod:`proxygym.sweeps.results`). Killing the sweep at any moment,
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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from proxygym.sweeps import results
from proxygym.sweeps.config import Cell, SweepConfig, plan_cells
from proxygym.sweeps.results import CellResult

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
    with results.lock_path(out).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise SweepError(f"{out} is in use by another running sweep") from error
        yield


def _prepare(config: SweepConfig, out: Path, cells: list[Cell]) -> None:
    """Write the manifest, or check that the existing one is for the same config."""
    stored = results.stored_config(out)
    if stored is not None:
        if SweepConfig.canonical_of(stored) != config.canonical():
            raise SweepError(
                f"{out} holds a sweep with a different config; use another --out directory "
                f"(or delete {out} to start over). Stored config: {results.manifest_path(out)}"
            )
        return
    if any(out.iterdir()) and not {p.name for p in out.iterdir()} <= {results.LOCK}:
        raise SweepError(f"{out} is not empty and holds no sweep; choose another --out directory")
    results.write_manifest(
        out,
        results.Manifest(
            config=config,
            cells=tuple(cell.key for cell in cells),
            versions=_versions(),
            git_revision=_git_revision(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        ),
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
        results.write_model(out, outcome.key, outcome.model)
    if outcome.episodes:
        results.write_episodes(out, outcome.key, outcome.episodes)
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
        # The cell runner imports torch and SB3: workers load it, the driver's CLI does not.
        from proxygym.sweeps.training import run_cell

        return run_cell(config, cell, progress=progress, tensorboard_log=tensorboard_log)
    except Exception:  # noqa: BLE001  (recorded, and must not stop the other cells)
        return cell.key, traceback.format_exc()


#: What a finished cell's outcome is handed to (its sweep writes it).
OnDone = Callable[[CellResult | tuple[str, str]], None]
#: One cell to run: its sweep's config, the cell, its TensorBoard directory, its sweep's handler.
Task = tuple[SweepConfig, Cell, str | None, OnDone]


def _run_local(tasks: Sequence[Task], workers: int, progress: bool) -> None:
    """Run ``tasks`` in order, in this process (one worker) or a pool of ``workers``."""
    if workers == 1:
        for config, cell, tensorboard_log, on_done in tasks:
            on_done(_guarded_run(config, cell, progress, tensorboard_log))
        return
    # Workers fork from a server that has already imported torch and SB3, so
    # starting one costs milliseconds instead of seconds; fork itself would
    # copy the driver's state, spawn would re-import everything per worker.
    # torch._dynamo too: the first optimizer imports it (seconds per process).
    context: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["proxygym.sweeps.training", "torch._dynamo"])
    else:  # pragma: no cover
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Submitted in order, and the pool starts them in that order.
        handlers: dict[Future[Any], OnDone] = {
            pool.submit(_guarded_run, config, cell, False, tensorboard_log): on_done
            for config, cell, tensorboard_log, on_done in tasks
        }
        pending = set(handlers)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                handlers[future](future.result())


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


class _SweepRun:
    """One sweep directory while its cells run: what is left, and each outcome written."""

    def __init__(
        self,
        config: SweepConfig,
        out: Path,
        echo: Callable[[str], None],
        progress: bool,
        label: str = "",
    ) -> None:
        """``label`` prefixes the per-cell lines (which sweep, when several run at once)."""
        self.config, self.out, self.echo, self.progress = config, out, echo, progress
        self.label = label
        self.started = time.perf_counter()
        self.finished = self.started
        cells = plan_cells(config)
        _prepare(config, out, cells)
        results.remove_stale_temporaries(out)
        done_before = results.completed_cells(out)
        self.todo = [cell for cell in cells if cell.key not in done_before]
        self.skipped = [cell.key for cell in cells if cell.key in done_before]
        if self.skipped:
            echo(f"resuming {out}: {len(self.skipped)} of {len(cells)} cells already done")
        self.ran: list[str] = []
        self.failed: list[str] = []
        self.bar: Any = None
        self.tensorboard_log = str(results.tensorboard_dir(out))

    def tasks(self) -> list[Task]:
        return [(self.config, cell, self.tensorboard_log, self.on_done) for cell in self.todo]

    def on_done(self, outcome: CellResult | tuple[str, str]) -> None:
        key = outcome[0] if isinstance(outcome, tuple) else outcome.key
        if _store(self.out, outcome):
            self.ran.append(key)
        else:
            self.failed.append(key)
            path = results.cell_path(self.out, key, failed=True)
            self.echo(f"{self.label}cell {key} failed; traceback in {path}")
        self.finished = time.perf_counter()
        if self.bar is not None:
            self.bar.update(1)
        elif self.progress:
            count = f"{len(self.ran) + len(self.failed)}/{len(self.todo)}"
            self.echo(f"{self.label}cell {count} finished: {key}")

    def summary(self) -> SweepSummary:
        """What ran; ``seconds`` until this sweep's last cell finished."""
        seconds = self.finished - self.started
        return SweepSummary(self.out, self.ran, self.skipped, self.failed, seconds)


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
    with _exclusive(out):
        run = _SweepRun(config, out, echo, progress)
        # One worker shows SB3's own bar per cell; rich allows one live bar at a time.
        inline = backend == "local" and workers == 1
        if progress and run.todo and not inline:
            run.bar = _progress_bar(len(run.todo))
        try:
            if backend == "local":
                _run_local(run.tasks(), workers, progress and inline)
            else:
                _run_ray(config, run.todo, workers, ray_address, run.tensorboard_log, run.on_done)
        finally:
            if run.bar is not None:
                run.bar.close()
    run.finished = time.perf_counter()
    return run.summary()


def run_sweeps(
    jobs: Sequence[tuple[SweepConfig, str | Path]],
    workers: int = 1,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> list[SweepSummary]:
    """Run several sweeps through one pool of local workers, resumably.

    The unfinished cells of every sweep queue in the order of ``jobs``, so a
    worker that finishes the last cell of one sweep goes straight on to the
    next sweep's instead of idling until the sweep's slowest cell is done.
    Each sweep's directory, records and resume behave as with :func:`run_sweep`,
    which gives the same records (cells are pure functions of their config).
    With ``progress``, one line per finished cell.
    """
    if workers < 1:
        raise SweepError(f"workers must be >= 1, got {workers}")
    outs = [Path(out).resolve() for _, out in jobs]
    if len(set(outs)) != len(outs):
        raise SweepError("two sweeps of one run_sweeps call write the same directory")
    with ExitStack() as stack:
        runs = []
        for config, out in jobs:
            stack.enter_context(_exclusive(Path(out)))
            runs.append(_SweepRun(config, Path(out), echo, progress, label=f"{out}: "))
        _run_local([task for run in runs for task in run.tasks()], workers, False)
    return [run.summary() for run in runs]


def _progress_bar(total: int) -> Any:
    import warnings

    from tqdm import TqdmExperimentalWarning
    from tqdm.rich import tqdm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)
        return tqdm(total=total, desc="cells", unit="cell")
