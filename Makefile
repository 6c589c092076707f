# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Numba's disk cache does not notice edits to other modules a kernel inlines (the scan inlines the
# decision rules), so the cache folder is keyed on vbt's version and a hash of its sources. vbt
# chooses the same folder itself when run directly (vbt/_runtime.py), so the warm-up here serves it.
export NUMBA_CACHE_DIR ?= $(shell $(PYTHON) vbt/_runtime.py)
export PYTHONHASHSEED := 0

WARM   := $(NUMBA_CACHE_DIR)/.warm

.PHONY: venv demo test system-deps lock wheels seed-cycle bench bench-gate lint format clean

venv: $(WARM)

# (Re)install whenever the lock or the project metadata changes: every package at the exact version
# and hash in lock/dev.txt (`make lock` refreshes it), then vbt itself, editable, with no deps.
# torch is its CPU build (2.13.0+cpu): from the wheel on this machine's disk when it is there
# (TORCH_WHEELS), else from PyTorch's CPU index. The system packages the tests need (Chromium for
# the report's browser test) are installed by scripts/system_deps.sh.
TORCH_WHEELS ?= /opt/wheels
TORCH_FROM := $(if $(wildcard $(TORCH_WHEELS)/torch-2.13.0+cpu-*.whl),--find-links $(TORCH_WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu)
PIP_VERSION := 26.3
$(STAMP): pyproject.toml lock/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)
	$(PY) -m pip install -q --require-hashes $(TORCH_FROM) -r lock/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import torch; assert torch.__version__ == '2.13.0+cpu', torch.__version__; assert not torch.version.cuda, 'CUDA torch installed'"
	touch $(STAMP)

# Refresh the lock files from pyproject.toml's ranges (pip-tools, in a venv of its own): the runtime
# set (the Docker image) and the dev set (make, CI), the dev set held to the runtime set's versions.
LOCK_VENV := .venv-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --build-deps-for wheel $(TORCH_FROM)
lock:
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q pip==$(PIP_VERSION) pip-tools==7.7.0
	$(PIP_COMPILE) --upgrade -o lock/runtime.txt pyproject.toml
	$(PIP_COMPILE) --upgrade --extra dev -c lock/runtime.txt -o lock/dev.txt pyproject.toml

# Every wheel of lock/runtime.txt (torch's CPU build included) into .whl/, for an image built
# without reaching a package index (README "In Docker").
wheels:
	$(PYTHON) -m pip download -q -d .whl --require-hashes $(TORCH_FROM) -r lock/runtime.txt

# The seeds' end-to-end cycle through the older backend's protocol and the worker's image (needs
# docker or podman; README "Running under the older backend").
seed-cycle: $(WARM)
	scripts/seed_cycle.sh

# Compile every Numba kernel once per source version (the cache folder is keyed on the sources).
$(WARM): $(STAMP)
	mkdir -p $(NUMBA_CACHE_DIR)
	$(PY) -m vbt.warmup
	touch $(WARM)

demo: $(WARM)
	$(VENV)/bin/vbt demo

# The test files run in TEST_PROCS processes (pytest-xdist; a file's tests stay in one process, so
# its fixtures, servers and Ray cluster are started once): much of the suite waits on subprocesses.
TEST_PROCS ?= 2
test: system-deps $(WARM)
	$(PY) -m pytest -q -p no:cacheprovider --benchmark-disable -n $(TEST_PROCS) --dist loadfile tests

# Chromium for the report's browser test: installed from Debian's packages when missing (as root or
# with sudo), else one line saying what to run.
system-deps:
	scripts/system_deps.sh

# Every benchmark, each figure printed against its target; results saved under .benchmarks/ for
# comparison across commits (pytest-benchmark's --benchmark-compare).
bench: $(WARM)
	$(PY) -m pytest -q -s -p no:cacheprovider -o python_files='bench_*.py' benches \
		--benchmark-only --benchmark-columns=min,median,mean,rounds \
		--benchmark-autosave --benchmark-storage=file://.benchmarks

# The CI performance gates: a short run of in-run ratios that fail like a broken test.
bench-gate: $(WARM)
	VBT_BENCH_GATES=1 $(PY) -m pytest -q -s -p no:cacheprovider -o python_files='bench_*.py' \
		benches/bench_gate.py benches/bench_floors.py --benchmark-only --benchmark-columns=min,rounds

lint: $(STAMP)
	$(VENV)/bin/ruff check vbt tests benches scripts
	$(VENV)/bin/ruff format --check vbt tests benches scripts

format: $(STAMP)
	$(VENV)/bin/ruff check --fix vbt tests benches scripts
	$(VENV)/bin/ruff format vbt tests benches scripts

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .benchmarks
