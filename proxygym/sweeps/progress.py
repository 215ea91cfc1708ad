"""Live progress of a running sweep: a bar of finished cells and a line per training cell.

Pool workers and Ray tasks report their cells' training steps
(:func:`step_reporter`) onto a queue (multiprocessing's, or Ray's actor
queue); a thread in the driver moves them to one :class:`CellsDisplay`
(:func:`pumped`), so several processes never draw on one terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def step_reporter(queue: Any, key: str) -> Callable[[int, int], None]:
    """What a worker's cell reports its steps to: (key, done, total) onto the driver's queue."""

    def report(done: int, total: int) -> None:
        queue.put((key, done, total))  # buffered by the queue's thread: never blocks training

    return report


class CellsDisplay:
    """One live display: a bar of finished cells and a line per training cell (its steps).

    ``steps`` and ``finished`` may be called from any thread (the pool's
    reports arrive on one); a cell's line goes once it has finished.
    """

    def __init__(self, total: int, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=console,
            refresh_per_second=4,
        )
        self.lock = threading.Lock()
        self.cells = self.progress.add_task("cells", total=total, unit="cells")
        self.lines: dict[str, Any] = {}
        self.done: set[str] = set()
        self.progress.start()

    def steps(self, key: str, done: int, total: int) -> None:
        """Cell ``key`` has trained ``done`` of its ``total`` steps."""
        with self.lock:
            if key in self.done:
                return  # a report that arrived after its cell's result
            if key in self.lines:
                self.progress.update(self.lines[key], completed=done, total=total)
            else:
                self.lines[key] = self.progress.add_task(
                    key, total=total, completed=done, unit="steps"
                )

    def finished(self, key: str) -> None:
        with self.lock:
            self.done.add(key)
            line = self.lines.pop(key, None)
            if line is not None:
                self.progress.remove_task(line)
            self.progress.advance(self.cells)

    def close(self) -> None:
        self.progress.stop()


@contextmanager
def pumped(queue: Any, display: CellsDisplay) -> Iterator[None]:
    """While the block runs (and its pool ends), a thread moves step reports to ``display``."""
    import queue as queues

    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                display.steps(*queue.get(timeout=0.1))
            except queues.Empty:
                continue
            except (EOFError, OSError):  # pragma: no cover  (queue closed under it)
                return

    thread = threading.Thread(target=pump, name="proxygym-steps", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if hasattr(queue, "cancel_join_thread"):  # a multiprocessing queue (a local pool)
            queue.cancel_join_thread()  # the driver never puts: nothing of its own to flush
            queue.close()
        else:  # Ray's queue, an actor
            queue.shutdown()
