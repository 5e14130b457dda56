# One-command set-up: `make bench` runs the main job, `make test` the tests.
# Both create a virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# PyTorch first, pinned to the CPU wheel; pyproject.toml only states a range.
TORCH ?= torch==2.13.0

# UCR datasets that aeon ships and skts does not bundle: how the defaults
# generalise (benchmarks/NOTES.md). DTW k-means is left out: too slow there.
HELDOUT ?= ArrowHead OSULeaf ACSF1 PickupGestureWiimoteZ
HELDOUT_METHODS ?= neural kmeans tslearn-euclidean tslearn-kshape aeon-kasba

MIN_VENV ?= .venv-min
# The oldest torch pyproject.toml allows; CI passes the CPU wheel of TORCH
# instead, to test the other oldest releases without a 3 GB download.
MIN_TORCH ?= torch==2.2.2

.PHONY: install test test-min bench bench-heldout bench-collection lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -n 2

# The tests on the oldest releases that pyproject.toml allows (.ci/min-versions.txt).
test-min:
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet "$(MIN_TORCH)"
	$(MIN_VENV)/bin/python -m pip install --quiet -r .ci/min-versions.txt pytest pytest-xdist hypothesis
	$(MIN_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(MIN_VENV)/bin/python -m pytest -n 2

bench: install
	$(VENV)/bin/skts bench --output benchmarks/results

bench-heldout: install
	data=$$($(PY) -c "import aeon, os; print(os.path.join(os.path.dirname(aeon.__file__), 'datasets', 'data'))") && \
	$(VENV)/bin/skts bench --datasets $(addprefix $$data/,$(HELDOUT)) \
		--methods $(HELDOUT_METHODS) --output benchmarks/results/heldout

# The same comparison without per-series z-normalisation: each channel
# standardised over the collection (benchmarks/NOTES.md).
bench-collection: install
	$(VENV)/bin/skts bench --scaling collection --output benchmarks/results/collection

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(MIN_VENV) build dist *.egg-info .pytest_cache .hypothesis
