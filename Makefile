# Two commands do everything on a fresh machine:
#   make demo   - Goodhart's law in about a minute (the main job)
#   make test   - the test suite
# Both create or reuse .venv and install what they need: the CPU build of torch
# first (so pip does not pull several GB of CUDA packages), then proxygym with
# only the extras the command needs (the demo: `jax`, which includes `agents`; the tests: `dev,ray`).

PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch is installed first, explicitly (tools/install_torch.sh):
# the +cpu wheel from pip's configured sources if they have one, otherwise
# TORCH_VERSION from TORCH_INDEX_URL, an index of CPU-only wheels.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
TORCH_PIP_ARGS ?=
export TORCH_VERSION TORCH_INDEX_URL TORCH_PIP_ARGS

PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.proxygym-demo
TEST_STAMP := $(VENV)/.proxygym-dev

# `make test` also checks two other installs, each in a venv of its own:
# the lowest versions pyproject.toml allows (a smoke subset of the tests), and
# the light base install without torch, stable-baselines3, pandas or matplotlib.
LOWEST := .venv-lowest
LIGHT := .venv-light
LOWEST_TESTS := tests/envs/test_contract.py tests/envs/test_boat_race.py \
	tests/planning/test_tabular.py tests/agents/test_agents.py tests/sweeps/test_config.py \
	tests/sweeps/test_runner.py tests/analysis/test_metrics.py tests/reporting \
	tests/teaching/test_render.py tests/test_rendering.py

.PHONY: demo test test-suite test-lowest test-light bench docs lint clean notebook

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	sh tools/install_torch.sh $(PY)

$(DEMO_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[jax]"
	touch $@

$(TEST_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[dev,ray]"
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m proxygym.teaching.demo

test: test-suite test-lowest test-light

test-suite: $(TEST_STAMP)
	$(PY) -m pytest -m "slow or not slow"

$(LOWEST)/.installed: pyproject.toml Makefile tests/constraints-lowest.txt
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	sh tools/install_torch.sh $(LOWEST)/bin/python
	$(LOWEST)/bin/python -m pip install --quiet -c tests/constraints-lowest.txt \
		-e ".[agents]" "pytest>=8" "hypothesis>=6"
	touch $@

test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python tools/check_versions.py tests/constraints-lowest.txt
	$(LOWEST)/bin/python -m pytest -m "not slow" -p no:cacheprovider $(LOWEST_TESTS)

$(LIGHT)/.installed: pyproject.toml Makefile
	test -x $(LIGHT)/bin/python || $(PYTHON) -m venv $(LIGHT)
	$(LIGHT)/bin/python -m pip install --quiet --upgrade pip
	$(LIGHT)/bin/python -m pip install --quiet -e . "pytest>=8"
	touch $@

test-light: $(LIGHT)/.installed
	$(LIGHT)/bin/python -m pytest -p no:cacheprovider tests/test_light_install.py

bench: $(TEST_STAMP)
	$(PY) benchmarks/env_speed.py

# The API reference (mkdocs + mkdocstrings) into site/; needs no network.
docs: $(TEST_STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

# The tutorial, docs/tutorial.ipynb, in JupyterLab (the `notebook` extra); Ctrl-C stops it.
# Extra arguments for it, e.g. JUPYTER_ARGS="--no-browser" on a remote machine.
NOTEBOOK_STAMP := $(VENV)/.proxygym-notebook
JUPYTER_ARGS ?=

$(NOTEBOOK_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[notebook]"
	touch $@ $(DEMO_STAMP)

notebook: $(NOTEBOOK_STAMP)
	$(VENV)/bin/jupyter lab docs/tutorial.ipynb $(JUPYTER_ARGS)

lint: $(TEST_STAMP)
	$(PY) -m ruff check proxygym envs agents tests benchmarks experiments tools docs/tutorial.ipynb
	$(PY) -m mypy proxygym envs agents experiments benchmarks tools
	$(PY) tools/lint_imports.py
	$(PY) -m vulture

clean:
	rm -rf $(VENV) $(LOWEST) $(LIGHT) demo-output site
