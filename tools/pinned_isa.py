"""CPU kernels pinned to AVX2 wherever exact floats of a training run are checked.

torch (ATen), MKL and oneDNN pick their CPU kernels by instruction set when
they are imported: on an AVX-512 machine they round differently from an AVX2
one, and a seed's PPO run drifts (measured: AbsentSupervisor's seed-0 agent
takes a route one step longer, the tutorial's oracle scores 64.4 instead of
77.8). Every x86-64 CI machine has AVX2, so the tests (``tests/conftest.py``)
and the notebook's stored outputs (``tools/execute_notebook.py``) pin it.
"""

from __future__ import annotations

import os

#: Environment variables read at import by torch, MKL and oneDNN, and their pinned values.
PINNED_ISA: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
}


def pinned_isa() -> dict[str, str]:
    """The pins, each value already set in the environment kept."""
    return {name: os.environ.get(name, value) for name, value in PINNED_ISA.items()}
