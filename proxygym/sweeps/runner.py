"""Run every cell of a sweep, in parallel, resumably, locally or on a Ray cluster.

The driver process owns the sweep directory: workers (processes of a local
pool, or Ray tasks) return their records and the driver writes each finished
cell atomically (:mod:`proxygym.sweeps.results`). Killing the sweep at any moment,
even with ``kill -9``, loses only the cells in progress; running it again
into the same directory skips the finished cells, retries failed ones, and
ends with exactly the records an uninterrupted run would have written.

SIGTERM and SIGHUP stop a sweep as Ctrl-C does (a ``KeyboardInterrupt`` in the
driver); workers of the local pool die with their driver, even when it is
killed with ``kill -9``. The output directory is checked (a writable
directory, room for the models) before any cell trains, and a cell whose
files cannot be written keeps its trained model in a temporary directory.
A local Ray instance started by a sweep ends with it, even after ``kill -9``
(a watchdog process kills what Ray leaves behind).

With ``progress`` and a pool of workers or Ray, the driver shows one live
display: the cells bar and a line per training cell (steps done of steps in
all), which the workers report through a queue while they train.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import threading
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
from proxygym.sweeps.processes import (
    STOP_SIGNALS,
    die_with_driver,
    local_ray,
    stop_pool,
    stop_signal,
    stop_signals_interrupt,
)
from proxygym.sweeps.progress import CellsDisplay, pumped, step_reporter
from proxygym.sweeps.results import CellResult

BACKENDS = ("local", "ray")
_VERSIONED = ("proxygym", "gymnasium", "stable-baselines3", "torch", "numpy", "pandas")
#: Disk space a cell needs, roughly (its model, episode log, records and curves).
BYTES_PER_CELL = 2 * 2**20
#: Keys of a config that do not change its cells (a renamed TOML still resumes).
_NOT_IDENTITY = ("name",)
#: Where a pool worker sends its cells' training steps, with ``progress`` (set per worker).
_steps_queue: Any = None


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


#: Where experiments store their results inside the checkout: data, not code, so a
#: results directory being written does not make the revision that writes it dirty.
RESULTS_PATHSPEC = ":(top,exclude)docs/results"


def git_revision(directory: str | Path | None = None) -> str | None:
    """The git revision of the checkout holding ``directory`` (default: proxygym's own).

    ``-dirty`` is appended when the checkout has local changes (tracked or
    untracked files) outside ``docs/results``; None when it is no git checkout.
    """
    here = Path(directory) if directory is not None else Path(__file__).resolve().parent
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ":(top)", RESULTS_PATHSPEC],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
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


def _identity(data: dict[str, Any]) -> str:
    """The canonical form of a stored config without the keys that do not change its cells."""
    return SweepConfig.canonical_of({k: v for k, v in data.items() if k not in _NOT_IDENTITY})


def _differing_keys(stored: Any, new: Any, prefix: str = "") -> list[str]:
    """The (dotted) keys whose values differ between two config dicts, identity keys aside."""
    if not (isinstance(stored, dict) and isinstance(new, dict)):
        same = json.dumps(stored, sort_keys=True) == json.dumps(new, sort_keys=True)
        return [] if same else [prefix.rstrip(".") or "(config)"]
    differ = []
    for key in sorted(set(stored) | set(new), key=str):
        if not prefix and key in _NOT_IDENTITY:
            continue
        if key not in stored or key not in new:
            differ.append(f"{prefix}{key}")
        else:
            differ.extend(_differing_keys(stored[key], new[key], f"{prefix}{key}."))
    return differ


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output(out: Path, cells: int) -> None:
    """Refuse, before any training, an ``out`` that cannot hold ``cells`` more cells.

    It must be a directory (or creatable as one), writable, and its disk must
    have about :data:`BYTES_PER_CELL` free per cell.

    Raises:
        SweepError: one line naming ``out`` and what is wrong.
    """
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file, not a directory; choose a directory")
    base = _existing_ancestor(out)
    if not base.is_dir():
        raise SweepError(f"--out {out}: {base} is a file, not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise SweepError(f"--out {out}: {base} is not writable")
    try:
        with tempfile.TemporaryFile(dir=base, prefix=".proxygym-probe-"):
            pass
    except OSError as error:
        reason = error.strerror or error
        raise SweepError(f"--out {out}: cannot write in {base}: {reason}") from error
    needed = cells * BYTES_PER_CELL
    free = shutil.disk_usage(base).free
    if free < needed:
        raise SweepError(
            f"--out {out}: not enough free space on its disk ({free / 2**20:.0f} MB free, "
            f"about {needed / 2**20:.0f} MB needed for {cells} cells)"
        )


def _prepare(config: SweepConfig, out: Path, cells: list[Cell]) -> None:
    """Write the manifest, or check that the existing one is for the same config."""
    stored = results.stored_config(out)
    if stored is not None:
        if _identity(stored) != _identity(config.to_dict()):
            differ = ", ".join(_differing_keys(stored, config.to_dict())) or "(formatting)"
            raise SweepError(
                f"{out} holds a sweep with a different config (differs in: {differ}); use "
                f"another --out directory (or delete {out} to start over). "
                f"Stored config: {results.manifest_path(out)}"
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
            git_revision=git_revision(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        ),
    )


def _store(out: Path, outcome: CellResult | tuple[str, str]) -> bool:
    """Write a finished cell; returns False for a failure.

    Raises:
        SweepError: the cell's files could not be written; the message names
            the temporary directory its trained model and records were kept in.
    """
    try:
        return _write_cell(out, outcome)
    except OSError as error:
        key = outcome[0] if isinstance(outcome, tuple) else outcome.key
        raise SweepError(
            f"could not store cell {key} in {out}: {error}; {_keep_elsewhere(outcome)}"
        ) from error


def _keep_elsewhere(outcome: CellResult | tuple[str, str]) -> str:
    """Save a cell that could not be stored in its sweep to a temporary directory; says where."""
    if isinstance(outcome, tuple):
        return "it had failed, nothing trained to keep"
    try:
        kept = Path(tempfile.mkdtemp(prefix=f"proxygym-{outcome.key}-"))
        if outcome.model is not None:
            (kept / f"{outcome.key}.zip").write_bytes(outcome.model)
        record = {"cell": outcome.key, "status": "ok", "records": outcome.records}
        (kept / f"{outcome.key}.json").write_text(json.dumps(record, indent=1) + "\n")
        if outcome.episodes:
            results.write_episodes(kept, outcome.key, outcome.episodes)
    except OSError as error:
        return f"its trained model could not be kept elsewhere either ({error})"
    if outcome.model is not None:
        return f"its trained model is kept in {kept / f'{outcome.key}.zip'} (records beside it)"
    return f"its records are kept in {kept}"


def _write_cell(out: Path, outcome: CellResult | tuple[str, str]) -> bool:
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


#: What a worker hands back: a cell's result, or (key, traceback) for a failed cell.
Outcome = CellResult | tuple[str, str]


def _guarded_run(
    config: SweepConfig,
    cell: Cell | tuple[Cell, ...],
    progress: bool,
    tensorboard_log: str | None,
    steps: Any = None,
) -> Outcome | list[Outcome]:
    """Run a cell in a worker; a raising cell comes back as (key, traceback).

    A tuple of cells is a batch of the JAX engine (cells that differ only in
    their seed, trained together): one outcome per cell comes back.
    ``steps`` (or a pool worker's ``_steps_queue``) is the driver's queue of
    step reports, with ``progress`` on a pool or on Ray.
    """
    steps = steps if steps is not None else _steps_queue
    if isinstance(cell, tuple):
        return _guarded_batch(config, cell, steps)
    try:
        # The cell runner imports torch and SB3: workers load it, the driver's CLI does not.
        from proxygym.sweeps.training import run_cell

        extra: dict[str, Any] = {}
        if steps is not None:
            extra["report"] = step_reporter(steps, cell.key)
        return run_cell(config, cell, progress=progress, tensorboard_log=tensorboard_log, **extra)
    except Exception:  # noqa: BLE001  (recorded, and must not stop the other cells)
        return cell.key, traceback.format_exc()


def _guarded_batch(config: SweepConfig, cells: tuple[Cell, ...], steps: Any) -> list[Outcome]:
    """Train a JAX batch; if it raises, every cell of it fails with the traceback."""
    try:
        from proxygym.sweeps.jax_engine import run_cells

        report = None
        if steps is not None:
            reporters = [step_reporter(steps, cell.key) for cell in cells]

            def report(done: int, total: int) -> None:
                for reporter in reporters:
                    reporter(done, total)

        return list(run_cells(config, cells, report))
    except Exception:  # noqa: BLE001  (recorded, and must not stop the other cells)
        text = traceback.format_exc()
        return [(cell.key, text) for cell in cells]


def _deliver(on_done: Callable[[Outcome], None], outcome: Outcome | list[Outcome]) -> None:
    """Hand each cell's outcome to its sweep (a JAX batch brings several)."""
    for one in outcome if isinstance(outcome, list) else [outcome]:
        on_done(one)


def _init_worker(steps: Any) -> None:
    """Initializer of a pool worker: die with the driver, report steps to ``steps`` if any."""
    global _steps_queue
    die_with_driver()
    _steps_queue = steps


#: What a finished cell's outcome is handed to (its sweep writes it).
OnDone = Callable[[Outcome], None]
#: One cell to run: its sweep's config, the cell, its TensorBoard directory, its sweep's handler.
Task = tuple[SweepConfig, Cell | tuple[Cell, ...], str | None, OnDone]


def _run_local(
    tasks: Sequence[Task], workers: int, progress: bool, display: CellsDisplay | None = None
) -> None:
    """Run ``tasks`` in order, in this process (one worker) or a pool of ``workers``.

    With a ``display``, the pool's workers report their cells' steps to it.
    """
    if not tasks:
        return
    # JAX batches always train in a worker process, never in the driver: the
    # driver (a user's program, a test session) keeps no JAX runtime and its
    # threads, and a computation never runs in a process whose state it does
    # not control (in a pytest session that had run ~1,500 tests, one hung).
    jax_batches = any(isinstance(unit, tuple) for _, unit, _, _ in tasks)
    if workers == 1 and not jax_batches:
        for config, cell, tensorboard_log, on_done in tasks:
            _deliver(on_done, _guarded_run(config, cell, progress, tensorboard_log))
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
    with ExitStack() as stack:
        steps = None
        if display is not None:
            steps = context.Queue()
            stack.enter_context(pumped(steps, display))
        pool = stack.enter_context(
            ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(steps,)
            )
        )
        try:
            # Submitted in order, and the pool starts them in that order.
            handlers: dict[Future[Any], OnDone] = {
                pool.submit(_guarded_run, config, cell, False, tensorboard_log): on_done
                for config, cell, tensorboard_log, on_done in tasks
            }
            pending = set(handlers)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    _deliver(handlers[future], future.result())
        except BaseException:
            # Interrupted, or a cell could not be stored: stop at once rather
            # than wait for the running cells (their results would be lost anyway).
            stop_pool(pool)
            raise


@contextmanager
def _ray_started(workers: int, address: str | None) -> Iterator[Any]:
    """Ray, connected to ``address`` or to a local instance started for the block.

    It starts before any live display, whose redirected stdout Ray would
    otherwise keep for its own output after the display has gone.
    """
    try:
        import ray
    except ImportError as error:
        raise SweepError(
            "the ray backend needs Ray: pip install -e '.[ray]' in a proxygym checkout"
        ) from error
    with ExitStack() as stack:
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
                stack.callback(ray.shutdown)
            else:
                stack.enter_context(local_ray(ray, workers))
            # ray.init sets a SIGTERM handler of its own (sys.exit): SIGTERM should
            # still stop the sweep as Ctrl-C does, and shut down the Ray it started.
            if threading.current_thread() is threading.main_thread():
                for signum in STOP_SIGNALS:
                    signal.signal(signum, stop_signal)
        yield ray


def _run_ray(
    ray: Any,
    config: SweepConfig,
    cells: Sequence[Cell | tuple[Cell, ...]],
    tensorboard_log: str | None,
    on_done: OnDone,
    display: CellsDisplay | None = None,
) -> None:
    """Run ``cells`` as Ray tasks; with a ``display``, they report their steps to it."""
    with ExitStack() as stack:
        steps = None
        if display is not None:
            from ray.util.queue import Queue

            steps = Queue(actor_options={"num_cpus": 0})  # an actor: tasks on any node reach it
            stack.enter_context(pumped(steps, display))
        remote = ray.remote(num_cpus=1)(_guarded_run)
        pending = [remote.remote(config, cell, False, tensorboard_log, steps) for cell in cells]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            _deliver(on_done, ray.get(done[0]))


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
        self.todo_keys = {cell.key for cell in self.todo}
        self.skipped = [cell.key for cell in cells if cell.key in done_before]
        if self.skipped:
            echo(f"resuming {out}: {len(self.skipped)} of {len(cells)} cells already done")
        for cell in self.todo:
            # A killed or failed run's partial curves would sit beside the rerun's.
            results.remove_tensorboard_runs(out, cell.key)
        self.ran: list[str] = []
        self.failed: list[str] = []
        self.bar: CellsDisplay | None = None
        self.tensorboard_log = str(results.tensorboard_dir(out))

    def tasks(self) -> list[Task]:
        """The todo cells as tasks; on the JAX engine, cells that train together are one task."""
        units: list[Cell | tuple[Cell, ...]] = list(self.todo)
        if self.config.engine == "jax":
            from proxygym.sweeps.jax_engine import batches

            # A batch trains all its seeds again, finished ones included: vmapped over
            # another set of seeds, a seed's floats may differ in the last bit, and a
            # resumed sweep must write exactly what an uninterrupted one would have.
            # on_done ignores the finished cells' outcomes.
            units = [
                unit
                for unit in batches(plan_cells(self.config))
                if any(
                    cell.key in self.todo_keys
                    for cell in (unit if isinstance(unit, tuple) else (unit,))
                )
            ]
        return [(self.config, unit, self.tensorboard_log, self.on_done) for unit in units]

    def on_done(self, outcome: CellResult | tuple[str, str]) -> None:
        key = outcome[0] if isinstance(outcome, tuple) else outcome.key
        if key not in self.todo_keys:
            return  # a finished cell trained again with its JAX batch: already stored
        if _store(self.out, outcome):
            self.ran.append(key)
        else:
            self.failed.append(key)
            path = results.cell_path(self.out, key, failed=True)
            self.echo(f"{self.label}cell {key} failed; traceback in {path}")
        self.write_table()
        self.finished = time.perf_counter()
        if self.bar is not None:
            self.bar.finished(key)
        elif self.progress:
            count = f"{len(self.ran) + len(self.failed)}/{len(self.todo)}"
            self.echo(f"{self.label}cell {count} finished: {key}")

    def write_table(self) -> None:
        """Rewrite ``results.csv``, every record so far (a failed write only warns)."""
        try:
            results.write_results_csv(self.out)
        except OSError as error:
            self.echo(f"{self.label}could not write {results.results_csv_path(self.out)}: {error}")

    def summary(self) -> SweepSummary:
        """What ran; ``seconds`` until this sweep's last cell finished."""
        seconds = self.finished - self.started
        return SweepSummary(self.out, self.ran, self.skipped, self.failed, seconds)


def _remaining(config: SweepConfig, out: Path) -> int:
    """How many of ``config``'s cells ``out`` has not finished (all, for a new directory)."""
    done = results.completed_cells(out) if out.is_dir() else set()
    return sum(cell.key not in done for cell in plan_cells(config))


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
        progress: show progress: SB3's bar per cell with one local worker; with a
            pool or Ray, a live display of the cells and each training cell's steps.
    """
    if backend not in BACKENDS:
        raise SweepError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if workers < 1:
        raise SweepError(f"workers must be >= 1, got {workers}")
    out = Path(out)
    check_output(out, _remaining(config, out))
    with stop_signals_interrupt(), _exclusive(out):
        run = _SweepRun(config, out, echo, progress)
        run.write_table()
        # One worker shows SB3's own bar per cell; rich allows one live display at a
        # time, so a pool's workers report their steps to the driver's display instead.
        inline = backend == "local" and workers == 1 and config.engine == "sb3"
        with ExitStack() as stack:
            ray = None
            if backend == "ray" and run.todo:
                ray = stack.enter_context(_ray_started(workers, ray_address))
            if progress and run.todo and not inline:
                run.bar = CellsDisplay(len(run.todo))
                stack.callback(run.bar.close)
            try:
                if ray is None:
                    _run_local(run.tasks(), workers, progress and inline, run.bar)
                else:
                    units = [unit for _, unit, _, _ in run.tasks()]
                    _run_ray(ray, config, units, run.tensorboard_log, run.on_done, run.bar)
            except BaseException:
                # A stop between a cell's record and the table's rewrite: the table too.
                run.write_table()
                raise
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
    for config, out in jobs:
        check_output(Path(out), _remaining(config, Path(out)))
    with ExitStack() as stack:
        stack.enter_context(stop_signals_interrupt())
        runs = []
        for config, out in jobs:
            stack.enter_context(_exclusive(Path(out)))
            runs.append(_SweepRun(config, Path(out), echo, progress, label=f"{out}: "))
            runs[-1].write_table()
        try:
            _run_local([task for run in runs for task in run.tasks()], workers, False)
        except BaseException:
            # A stop between a cell's record and the table's rewrite: the tables too.
            for run in runs:
                run.write_table()
            raise
    return [run.summary() for run in runs]
