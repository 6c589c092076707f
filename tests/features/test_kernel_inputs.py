"""Kernels see one array type however polars chunks the bars (``vbt.arrays.kernel_input``).

polars hands out a read-only array for a column in one chunk and a writable copy for a column in
several (a Parquet file of several row groups); Numba compiles a kernel per argument type, so
without the normalisation a user's first run on such a file compiled the indicator kernels again
(seconds), outside what the warm-up cached. Checked in a fresh process, where a dispatcher's
``signatures`` are exactly the overloads that process called.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import numpy as np
import polars as pl
from numba.core.registry import CPUDispatcher
import vbt
from vbt.data.synth import synth_bars
from vbt.features.indicators import INDICATORS
from vbt.model.labels import regime_labels, triple_barrier_labels, zigzag_segment_labels

def signatures():
    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("vbt") and module is not None:
            for attr, obj in vars(module).items():
                if isinstance(obj, CPUDispatcher):
                    found[f"{name}.{attr}"] = sorted(map(str, obj.signatures))
    return found

inputs = [f"i_{k}" for k, spec in INDICATORS.items() if not spec.looks_ahead]
strategy = {
    "name": "chunks",
    "training_data": {"symbols": "X", "timeframes": {"list": ["1h", "4h"]}},
    "indicators": {f"i_{k}": {"type": k} for k in INDICATORS},
    "fuzzy_sets": {"f": {"indicator": "i_rsi", "a": [0, 50, 100]}},
    "nn_inputs": [{"raw_indicator": k, "timeframes": "all"} for k in inputs]
    + [{"fuzzy_set": "f", "timeframes": "all"}],
}
hour = synth_bars(3000, seed=3, timeframe="1h")
one = {"1h": hour, "4h": vbt.resample(hour, "4h")}
many = {tf: pl.concat([b.slice(0, b.height // 3), b.slice(b.height // 3)], rechunk=False)
        for tf, b in one.items()}
assert all(b.get_column(c).n_chunks() == 2 for b in many.values() for c in b.columns)
assert all(b.get_column(c).n_chunks() == 1 for b in one.values() for c in b.columns)

def run(bars):
    frame = vbt.build_features(strategy, bars)
    h, lo, c = (bars["1h"].get_column(x).to_numpy() for x in ("high", "low", "close"))
    labels = (zigzag_segment_labels(c, 0.01), triple_barrier_labels(h, lo, c),
              regime_labels(h, lo, c))
    return frame, labels

first, first_labels = run(sys.argv[1] == "one" and one or many)
seen = signatures()
second, second_labels = run(sys.argv[1] == "one" and many or one)
added = {k: v for k, v in signatures().items() if v != seen.get(k)}
assert not added, added
np.testing.assert_array_equal(first.values, second.values)
for a, b in zip(first_labels, second_labels):
    np.testing.assert_array_equal(a, b)
print("ok", sum(len(v) for v in seen.values()))
"""


def run_script(first: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, first], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_chunked_bars_call_no_other_kernel_overload():
    for first in ("one", "many"):
        assert run_script(first).startswith("ok ")
