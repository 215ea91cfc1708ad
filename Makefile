# Two commands do everything on a fresh machine:
#   make demo   - Goodhart's law in about a minute (the main job)
#   make test   - the test suite
# Both create or reuse .venv and install what they need: the CPU build of torch
# first (so pip does not pull several GB of CUDA packages), then proxygym.

PYTHON ?= python3
VENV ?= .venv
# The torch requirement, and extra pip arguments for it (for example an index
# serving CPU-only wheels on machines where plain `torch` would be a CUDA build).
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=

PY := $(VENV)/bin/python
STAMP := $(VENV)/.proxygym-installed

.PHONY: demo test bench docs lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,ray]"
	touch $@

demo: $(STAMP)
	$(PY) -m proxygym.teaching.demo

test: $(STAMP)
	$(PY) -m pytest -m "slow or not slow"

bench: $(STAMP)
	$(PY) benchmarks/env_speed.py

# The API reference (mkdocs + mkdocstrings) into site/; needs no network.
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(PY) -m ruff check proxygym envs agents tests benchmarks experiments tools docs/tutorial.ipynb
	$(PY) -m mypy proxygym envs agents experiments benchmarks tools
	$(PY) tools/lint_imports.py
	$(PY) -m vulture

clean:
	rm -rf $(VENV) demo-output site
