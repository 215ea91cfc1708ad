"""One torch thread for small networks, restoring the caller's setting afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the caller's setting.

    proxygym's networks are tiny: a second thread saves nothing, and on a busy
    machine its synchronisation can cost a scheduler time slice per operation.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
