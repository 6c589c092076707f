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

.PHONY: venv demo test bench bench-gate lint format clean

venv: $(WARM)

# (Re)install whenever the project metadata changes. torch comes from the local CPU wheel.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt "torch==2.13.0"
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; assert not torch.version.cuda, 'CUDA torch installed'"
	touch $(STAMP)

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
test: $(WARM)
	$(PY) -m pytest -q -p no:cacheprovider --benchmark-disable -n $(TEST_PROCS) --dist loadfile tests

# Every benchmark, each figure printed against its target; results saved under .benchmarks/ for
# comparison across commits (pytest-benchmark's --benchmark-compare).
bench: $(WARM)
	$(PY) -m pytest -q -s -p no:cacheprovider -o python_files='bench_*.py' benches \
		--benchmark-only --benchmark-columns=min,median,mean,rounds \
		--benchmark-autosave --benchmark-storage=file://.benchmarks

# The CI performance gates: a short run of in-run ratios that fail like a broken test.
bench-gate: $(WARM)
	VBT_BENCH_GATES=1 $(PY) -m pytest -q -s -p no:cacheprovider -o python_files='bench_*.py' \
		benches/bench_gate.py --benchmark-only --benchmark-columns=min,rounds

lint: $(STAMP)
	$(VENV)/bin/ruff check vbt tests benches scripts
	$(VENV)/bin/ruff format --check vbt tests benches scripts

format: $(STAMP)
	$(VENV)/bin/ruff check --fix vbt tests benches scripts
	$(VENV)/bin/ruff format vbt tests benches scripts

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .benchmarks
