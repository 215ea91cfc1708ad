"""A sweep's processes end with it: stop signals, pool workers tied to their driver, Ray's watchdog.

A batch scheduler stops a job with SIGTERM, a closed terminal sends SIGHUP,
and ``kill -9`` gives no chance to clean up: in every case the sweep's
finished cells stay on disk and none of its processes keeps training.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from proxygym.sweeps.ray_watchdog import process_table

#: Signals that stop a sweep as Ctrl-C does (finished cells are kept).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def die_with_driver() -> None:
    """Initializer of a pool worker: end it when the sweep's driver ends, however that ends.

    A worker is a child of the fork server, not of the driver, and the fork
    server outlives the driver while any worker runs (each holds its alive
    pipe). So a worker watches the driver itself: a thread waits on the
    pipe that multiprocessing keeps to the driver (``parent_process().sentinel``,
    readable once the driver is gone, even after ``kill -9``) and ends the
    worker at once. On Linux ``PR_SET_PDEATHSIG`` also kills it with its
    parent, the fork server. Once the workers are gone the fork server sees
    its alive pipe close and exits too: no process of the sweep survives it.
    Where a worker has no sentinel it polls its parent's pid instead.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover  (no prctl: the thread suffices)
            pass
    driver = multiprocessing.parent_process()
    sentinel = getattr(driver, "sentinel", None)
    if sentinel is not None:
        if multiprocessing.connection.wait([sentinel], timeout=0):
            os._exit(1)  # the driver died before this worker started

        def watch() -> None:
            multiprocessing.connection.wait([sentinel])
            os._exit(1)

    else:  # pragma: no cover  (multiprocessing always gives one; a fallback all the same)
        parent = os.getppid()

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

    threading.Thread(target=watch, name="proxygym-die-with-driver", daemon=True).start()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued cells and kill the running ones (the sweep is being abandoned)."""
    workers = dict(getattr(pool, "_processes", None) or {})  # no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers.values():
        try:
            process.kill()
        except (OSError, ValueError):  # already gone
            pass


def stop_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does.

    So a sweep stopped by ``kill``, a scheduler or a closed terminal keeps its
    finished cells, stops its workers and reports the interruption. The
    previous handlers come back afterwards. Only the main thread can install
    handlers: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, stop_signal) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    return {child for child, (parent, _) in process_table().items() if parent == pid}


@contextmanager
def local_ray(ray: Any, workers: int) -> Iterator[None]:
    """Start a local Ray instance for the block, and end it with the block or the driver.

    Ray's node processes die with their driver (they get ``PR_SET_PDEATHSIG``)
    and its workers follow the raylet, but its agents outlive a driver killed
    with ``kill -9`` (they wait on the dead GCS). So, where /proc exists, a
    watchdog process (:mod:`proxygym.sweeps.ray_watchdog`) watches the processes Ray started
    and kills those still running when the driver has gone, however it went.
    """
    watchdog = None
    if Path("/proc/self/stat").exists():
        before = _children(os.getpid())
        watchdog = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("ray_watchdog.py"))],
            stdin=subprocess.PIPE,
            close_fds=True,
        )
    try:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            if watchdog is not None and watchdog.stdin is not None:
                roots = _children(os.getpid()) - before - {watchdog.pid}
                watchdog.stdin.write("".join(f"{pid}\n" for pid in sorted(roots)).encode())
                watchdog.stdin.flush()
            yield
        finally:
            ray.shutdown()
    finally:
        if watchdog is not None:
            if watchdog.stdin is not None:
                watchdog.stdin.close()  # the watchdog ends what Ray left running, then exits
            watchdog.wait()
