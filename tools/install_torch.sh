#!/bin/sh
# Install the CPU build of torch into the Python given as $1, before anything
# that depends on torch, so pip never pulls several GB of CUDA packages.
#
#   tools/install_torch.sh PYTHON
#
# Environment (the Makefile passes its variables of the same names):
#   TORCH_VERSION    the release to install (default 2.13.0)
#   TORCH_INDEX_URL  an index of CPU-only wheels, used when pip's configured
#                    sources have no CPU build (default: PyTorch's CPU index)
#   TORCH_PIP_ARGS   extra pip arguments for both attempts
#
# First it asks pip's configured sources for the CPU build by its local
# version (torch==X+cpu), which only CPU wheels carry: where a local wheel
# house or mirror has one, nothing else is contacted. Otherwise it installs
# torch==X from TORCH_INDEX_URL (PyTorch's CPU index names its Linux and
# Windows wheels X+cpu and its macOS wheels X; all are CPU builds).
set -eu
python=${1:?usage: tools/install_torch.sh PYTHON}
version=${TORCH_VERSION:-2.13.0}
index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
extra=${TORCH_PIP_ARGS:-}

# shellcheck disable=SC2086  # TORCH_PIP_ARGS is a list of arguments
if "$python" -m pip install --quiet $extra "torch==${version}+cpu" 2>/dev/null; then
    echo "torch ${version}+cpu installed from pip's configured sources"
else
    echo "no CPU build of torch ${version} in pip's configured sources; using ${index}"
    "$python" -m pip install --quiet $extra --index-url "$index" "torch==${version}"
fi
