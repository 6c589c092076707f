"""Performance gates for CI (``make bench-gate``): short, and ratios only, each measured against an
in-run reference on the same data, so that they hold on a noisy machine while a real regression
(a kernel twice as slow, a pass done twice, a lost cache) fails them.

- scan / a bare streaming kernel that reads the same inputs and writes the same outputs;
- inference / the raw torch forward on the same matrix;
- end to end (``BacktestEngine.run``) / the raw torch forward;
- a sweep kernel run / the same combinations as single scans;
- a whole ``vbt backtest`` process / bare ``import torch, polars, numba`` (cold start).

Each ratio is the best of several interleaved rounds of both sides. The limits sit about 1.4x to
1.8x above the figures measured on the 2-core development machine (README "Performance"), so noise
does not fail them and a real regression does. Where an issue names a stricter target (end to end
<= 2.5x torch; a cold start <= 0.5 s over bare imports), that figure is printed next to its gate,
for information.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import vbt
from benches.bench_engine import engine_config
from benches.bench_scan import random_inputs
from benches.conftest import report
from vbt.sim.runner import ScanParams, run_scan
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.runner import run_sweep

GATE_BARS = 300_000

# Limits (ratios), from the figures measured on the development VM (in brackets); see the module
# docstring.
SCAN_VS_STREAM = 25.0  # [11.2-14.6] the bare stream does 3 operations per bar, the scan the rules
INFERENCE_VS_TORCH = 1.3  # [0.50-0.57]
END_TO_END_VS_TORCH = 3.0  # [2.02-2.23]
SWEEP_SPEEDUP = 1.3  # [1.86-2.53] 64 combinations in one kernel call / 64 single scans, 2 cores
COLD_START_RATIO = 1.6  # [0.87-1.15] a whole `vbt backtest` process / bare imports
# the issues' targets, printed next to the gates
END_TO_END_TARGET = 2.5
COLD_START_EXTRA_S = 0.5


def best_of(rounds: int, *fns):
    """The best time of each callable over ``rounds`` interleaved rounds (seconds)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


@njit(cache=True, nogil=True)
def bare_stream_nb(close, raw, equity_out, position_out):
    """Reads every bar's close and signal, writes an equity and a position: the floor a scan
    that writes per-bar outputs cannot beat."""
    cash = 1.0
    for i in range(close.shape[0]):
        cash = cash + 1e-9 * raw[i]
        equity_out[i] = cash * close[i]
        position_out[i] = raw[i]


@pytest.fixture(scope="module")
def gate_inputs():
    return random_inputs(GATE_BARS, seed=3)


def test_gate_scan_vs_bare_stream(benchmark, gate_inputs):
    x = gate_inputs
    params = ScanParams().with_values(allow_short_from_flat=True)
    eq, pos = np.empty(len(x)), np.empty(len(x), np.int8)
    run_scan(x, params)
    bare_stream_nb(x.close, x.raw, eq, pos)
    scan_s, bare_s = benchmark.pedantic(
        best_of, args=(9, lambda: run_scan(x, params, chunk_bars=len(x)),
                       lambda: bare_stream_nb(x.close, x.raw, eq, pos)),
        rounds=1, iterations=1,
    )  # fmt: skip
    report(benchmark, "gate_scan_vs_stream", scan_s / bare_s, SCAN_VS_STREAM, "x",
           higher_is_better=False)  # fmt: skip


@pytest.fixture(scope="module")
def gate_prepared(bench_model_dir, bench_data_dir):
    return vbt.BacktestEngine(engine_config(bench_model_dir, bench_data_dir))


def test_gate_inference_and_end_to_end_vs_torch(benchmark, gate_prepared):
    import torch

    from vbt.signals.inference import model_outputs

    engine = gate_prepared
    prepared = engine.prepare()
    frame, model = prepared.frame, engine.bundle.model
    x = torch.from_numpy(frame.values)

    def bare():
        with torch.inference_mode():
            model(x)

    def inference():
        model_outputs(model, frame.values, frame.valid)

    engine.run()
    torch_s, infer_s, e2e_s = benchmark.pedantic(
        best_of, args=(3, bare, inference, engine.run), rounds=1, iterations=1
    )
    benchmark.extra_info["torch_forward_seconds"] = torch_s
    report(benchmark, "gate_inference_vs_torch", infer_s / torch_s, INFERENCE_VS_TORCH, "x",
           higher_is_better=False)  # fmt: skip
    report(benchmark, "gate_end_to_end_vs_torch", e2e_s / torch_s, END_TO_END_VS_TORCH, "x",
           higher_is_better=False)  # fmt: skip
    report(benchmark, "end_to_end_vs_torch", e2e_s / torch_s, END_TO_END_TARGET, "x",
           higher_is_better=False, gate=False)  # fmt: skip


def test_gate_sweep_vs_single_scans(benchmark, gate_inputs):
    x = gate_inputs
    base = ScanParams().with_values(allow_short_from_flat=True)
    grid = Grid.parse({"confidence_threshold": [0.3 + 0.05 * k for k in range(8)],
                       "commission": [0.0001 * k for k in range(8)]}, base)  # fmt: skip
    combos = select(grid, base)
    singles = [grid.row_params(base, int(c)) for c in combos]

    def one_by_one():
        for p in singles:
            run_scan(x, p, chunk_bars=len(x), record=False)

    run_sweep(x, base, grid, combos[:2])
    sweep_s, singles_s = benchmark.pedantic(
        best_of, args=(3, lambda: run_sweep(x, base, grid, combos, chunk_bars=len(x)), one_by_one),
        rounds=1, iterations=1,
    )  # fmt: skip
    report(benchmark, "gate_sweep_speedup", singles_s / sweep_s, SWEEP_SPEEDUP, "x",
           higher_is_better=True)  # fmt: skip


def test_gate_cold_start(benchmark, bench_model_dir, tmp_path_factory, bars_1h):
    data = tmp_path_factory.mktemp("cold_data")
    small = bars_1h.head(20_000)
    small.write_parquet(data / "EURUSD_1h.parquet")
    vbt.resample(small, "4h").write_parquet(data / "EURUSD_4h.parquet")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}  # vbt chooses it
    vbt_cli = Path(sys.executable).with_name("vbt")
    backtest = [str(vbt_cli), "backtest", str(bench_model_dir), "--data-dir", str(data), "--json"]
    imports = [sys.executable, "-c", "import torch, polars, numba"]

    def run(cmd):
        return lambda: subprocess.run(cmd, env=env, capture_output=True, check=True, cwd="/")

    # no warm-up call: `make` has compiled the kernels into the folder vbt picks itself (a kernel
    # the warm-up missed would compile in the first round only, hidden by the best of two)
    bare_s, vbt_s = benchmark.pedantic(
        best_of, args=(2, run(imports), run(backtest)), rounds=1, iterations=1
    )
    benchmark.extra_info["bare_imports_seconds"] = bare_s
    report(benchmark, "gate_cold_start_ratio", vbt_s / bare_s, COLD_START_RATIO, "x",
           higher_is_better=False)  # fmt: skip
    report(benchmark, "cold_start_extra_seconds", vbt_s - bare_s, COLD_START_EXTRA_S, "s",
           higher_is_better=False, gate=False)  # fmt: skip
