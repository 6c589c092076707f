"""Compile (and cache) every Numba kernel once: ``python -m vbt.warmup``.

Runs each stage on a few hundred synthetic bars: all indicators and membership types on two
timeframes, the as-of join and packing, both signal rules, the labels, the scan, the sweep kernel
and the metric accumulators. The Makefile
runs it after installing; a Docker image would run it at build time. NUMBA_CACHE_DIR must be
writable.
"""

from __future__ import annotations

import time

import numpy as np

import vbt
from vbt.data.synth import synth_bars
from vbt.decide.rules import classify_blocks_nb, classify_nb, regress_nb
from vbt.features.indicators import INDICATORS, compute_indicator
from vbt.metrics import curve_metrics, finish_metrics
from vbt.model.labels import forward_return_labels, zigzag_segment_labels
from vbt.sim.records import TRADE_DTYPE
from vbt.sim.runner import ScanInputs, ScanParams, run_scan
from vbt.sweeps.grid import Grid
from vbt.sweeps.runner import run_sweep


def warm() -> float:
    """Compile every kernel; returns the seconds it took."""
    t0 = time.perf_counter()
    five = synth_bars(600, seed=0)
    bars = {"5m": five, "1h": vbt.resample(five, "1h")}
    indicators = {f"i_{name}": {"type": name} for name in INDICATORS}
    inputs = [k for k in indicators if not INDICATORS[k[2:]].looks_ahead]  # zigzag: not an input
    strategy = {
        "name": "warmup",
        "training_data": {"symbols": "X", "timeframes": {"list": ["5m", "1h"]}},
        "indicators": indicators,
        "fuzzy_sets": {
            "tri": {"indicator": "i_rsi", "a": [0, 50, 100]},
            "trap": {
                "indicator": "i_rsi",
                "b": {"type": "trapezoidal", "parameters": [0, 1, 2, 3]},
            },
            "gauss": {"indicator": "i_rsi", "c": {"type": "gaussian", "parameters": [50, 10]}},
        },
        "nn_inputs": [{"raw_indicator": k, "timeframes": "all"} for k in inputs]
        + [{"fuzzy_set": k, "timeframes": "all"} for k in ("tri", "trap", "gauss")],
    }
    frame = vbt.build_features(strategy, bars)
    close = bars["5m"]["close"].to_numpy()
    ohlcv = {c: bars["5m"][c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    for spec in INDICATORS.values():
        if spec.looks_ahead:  # not a model input: compile it directly
            compute_indicator(spec, {}, ohlcv)
    zigzag_segment_labels(close, 0.002)
    forward_return_labels(close, 5)
    raw, conf, _ = classify_nb(np.zeros((4, 3), dtype=np.float32))
    classify_blocks_nb(np.zeros((4, 3), dtype=np.float32), raw, conf)
    regress_nb(np.zeros(4, dtype=np.float32), 0.001)
    rng = np.random.default_rng(0)
    inputs = ScanInputs(
        ts_ns=frame.ts_ns,
        open=bars["5m"]["open"].to_numpy(),
        close=close,
        raw=rng.choice(np.array([-1, 0, 1], dtype=np.int8), frame.n_bars),
        confidence=np.full(frame.n_bars, 0.9, dtype=np.float32),
    )
    params = ScanParams(bar_ns=300 * 10**9)
    run_scan(inputs, params, chunk_bars=256)
    run_scan(inputs, params, chunk_bars=256, record=False)
    grid = Grid.parse({"commission": [0.0, 0.001]}, params)
    accs = run_sweep(inputs, params, grid, np.arange(2), chunk_bars=256)
    finish_metrics(accs, 1.0, 1, 1)
    curve_metrics(np.ones(3), np.zeros(3, np.int8), np.zeros(0, TRADE_DTYPE), 1.0, 1, 3)
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"vbt: Numba kernels compiled and cached in {warm():.1f} s")
