"""The watchdog of a local Ray instance: it ends what Ray started once the sweep's driver is gone.

Ray's node processes die with their driver and its workers follow the raylet,
but its agents outlive a driver killed with ``kill -9``.
:func:`proxygym.sweeps.processes.local_ray` starts this file as a script
(``python ray_watchdog.py``: it imports nothing but the standard library, so
it starts at once). Its stdin is a pipe from the driver: lines of pids (Ray's
node processes, the roots), then end of file when the driver has shut Ray
down or died. Until then it notes, twice a second, the roots and all their
descendants (pid and start time, from /proc); then it kills whichever of
them still run. A process that has lost its parent is reparented away from
its tree, hence the notes taken while the tree is whole; the start time keeps
it from killing a new process that reuses a noted pid. Linux only.
"""

from __future__ import annotations

import os
import select
import signal

#: Seconds between two looks at the process tree.
INTERVAL = 0.5


def process_table() -> dict[int, tuple[int, str]]:
    """Every live process: pid -> (parent pid, start time in clock ticks), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue  # ended while we looked
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X"):
            found[int(entry)] = (int(fields[1]), fields[19])
    return found


def descendants(roots: set[int], processes: dict[int, tuple[int, str]]) -> set[int]:
    """``roots`` that are alive and all their live descendants."""
    tree = {pid for pid in roots if pid in processes}
    while True:
        more = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        if not more:
            return tree
        tree |= more


def watch(stdin: int = 0) -> dict[int, str]:
    """Read root pids from ``stdin`` until it closes; return every process noted (pid -> start)."""
    roots: set[int] = set()
    noted: dict[int, str] = {}
    buffer = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], INTERVAL)
        chunk = os.read(stdin, 4096) if ready else None
        if chunk is not None:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            roots.update(int(line) for line in lines if line.strip())
        processes = process_table()
        noted.update((pid, processes[pid][1]) for pid in descendants(roots, processes))
        if chunk == b"":
            return noted


def main() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)  # outlive the driver's group
    noted = watch()
    processes = process_table()
    for pid, started in noted.items():
        if pid != os.getpid() and pid in processes and processes[pid][1] == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass  # ended by itself meanwhile


if __name__ == "__main__":
    main()
