"""``python -m vbt.warmup`` compiles every kernel signature that the commands use, so the first
``vbt backtest`` or ``vbt sweep`` after ``make`` loads its kernels from the cache, compiling none."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from enginekit import DATA

# In a fresh process: the warm-up, then the commands; prints the kernel signatures that the
# commands needed and the warm-up had not produced, and which Numba modules were imported.
PROBE = """
import contextlib, io, json, sys
from numba.core.dispatcher import Dispatcher
import vbt.cli, vbt.warmup

def signatures():
    found = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name == "vbt" or name.startswith("vbt."):
            for attr, value in vars(module).items():
                if isinstance(value, Dispatcher):
                    found[f"{value.__module__}.{attr}"] = {str(s) for s in value.signatures}
    return found

vbt.warmup.warm()
before = signatures()
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()):
        assert vbt.cli.main(argv) == 0, argv
new = {k: sorted(v - before.get(k, set())) for k, v in signatures().items()}
print(json.dumps({k: v for k, v in new.items() if v}))
"""

# A process that only loads cached kernels and runs them: what it imported of Numba's compiler.
LOAD_ONLY = """
import sys
import numpy as np
import vbt.warmup
from vbt.sim.records import TRADE_DTYPE
from vbt.metrics import curve_metrics
curve_metrics(np.ones(3), np.zeros(3, np.int8), np.zeros(0, TRADE_DTYPE), 1.0, 1, 3)
registries = ("numba.np.arraymath", "numba.np.linalg", "numba.np.polynomial", "scipy.linalg")
print(sorted(m for m in registries if m in sys.modules))
"""


def _python(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         timeout=600, env=os.environ.copy())  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_warmup_covers_backtest_sweep_and_risk_exits(mtf_model, regression_model, tmp_path):
    data = ["--data-dir", str(DATA), "--symbol", "EURUSD"]
    commands = [
        ["backtest", str(mtf_model), *data, "--json"],
        ["backtest", str(mtf_model), *data, "--stop-loss", "0.01", "--trailing-stop", "0.02",
         "--json", "--out", str(tmp_path / "bt")],
        ["backtest", str(regression_model), *data, "--json"],
        ["sweep", str(mtf_model), *data, "--grid", "commission=0.0,0.001", "--json"],
        ["sweep", str(mtf_model), *data, "--grid", "stop_loss=0.01,0.02", "--json"],
    ]  # fmt: skip
    missing = json.loads(_python(PROBE, json.dumps(commands)))
    assert missing == {}, f"kernels the warm-up did not compile: {missing}"


def test_cached_kernels_load_without_numbas_compiler_registries():
    """vbt.jit: a cached kernel loads with Numba's runtime only (the full target refresh imports
    some sixty modules, scipy.linalg among them, and costs about a second)."""
    assert _python(LOAD_ONLY) == "[]"


# The worker's forkserver imports vbt.worker.preload, which loads the cached kernels
# (vbt.jit.load_cached_kernels); a job forked from it then loads only the parallel ones.
PRELOADED = """
import contextlib, io, json, sys
import numba.np.ufunc.parallel as parallel
from numba.core.registry import CPUDispatcher
import vbt.cli
import vbt.worker.preload

def kernels():  # each once, by where it is defined
    found = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name == "vbt" or name.startswith("vbt."):
            for value in vars(module).values():
                if isinstance(value, CPUDispatcher):
                    found[f"{value.py_func.__module__}.{value.py_func.__name__}"] = value
    return found.items()

loaded = {k: sum(d.stats.cache_hits.values()) for k, d in kernels()}
threads_started = parallel._is_initialized
with contextlib.redirect_stdout(io.StringIO()):
    assert vbt.cli.main(json.loads(sys.argv[1])) == 0
later = {k: d for k, d in kernels() if sum(d.stats.cache_hits.values()) > loaded.get(k, 0)}
print(json.dumps({
    "preloaded": sum(loaded.values()),
    "threads_started_by_preload": threads_started,
    "compiled": sorted(k for k, d in kernels() if d.stats.cache_misses),
    "loaded_by_the_run": sorted(later),
    "parallel": sorted(k for k, d in later.items() if d.targetoptions.get("parallel")),
}))
"""


def test_forkserver_preload_leaves_a_backtest_only_the_parallel_kernels(mtf_model):
    _python("import vbt.warmup; print(vbt.warmup.warm())")  # the cache holds what the run needs
    argv = ["backtest", str(mtf_model), "--data-dir", str(DATA), "--symbol", "EURUSD", "--json"]
    out = json.loads(_python(PRELOADED, json.dumps(argv)))
    assert out["preloaded"] > 10
    assert out["threads_started_by_preload"] is False
    assert out["compiled"] == []
    assert out["loaded_by_the_run"] == out["parallel"] == ["vbt.decide.rules.classify_blocks_nb"]
