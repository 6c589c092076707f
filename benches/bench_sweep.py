"""Sweeps on 1M synthetic 1h bars with the bench model (MLP [64, 32], 24 features).

Targets (issue "Sweeps"): the kernel alone, 256 combinations (16 confidence thresholds x 16
commissions), signals given: <= 1.0 s on 2 cores, with combination-bars per second and the ratio
to 256 single scans run one after another (measured in the same run); peak RSS of the whole sweep
process <= 1 GB; ``vbt.sweep`` end to end from a model directory (features and inference
included) <= 1.6 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import vbt
from benches.bench_engine import engine_config
from benches.conftest import N_BARS, PEAK_KB_SOURCE, report
from vbt.sim.runner import run_scan
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.runner import run_sweep

# The bench model's confidences lie between about 0.335 and 0.36 (three near-equal classes): the
# thresholds span them, from nearly every signal passing to almost none.
GRID = {
    "confidence_threshold": [round(0.335 + 0.0015 * k, 4) for k in range(16)],
    "commission": [round(0.0001 * k, 4) for k in range(16)],
}


@pytest.fixture(scope="module")
def prepared(bench_model_dir, bench_data_dir):
    return vbt.BacktestEngine(engine_config(bench_model_dir, bench_data_dir)).prepare()


def test_sweep_kernel_256_combinations(benchmark, prepared):
    base = prepared.params
    grid = Grid.parse(GRID, base)
    combos = select(grid, base)
    x = prepared.inputs

    def kernel():
        return run_sweep(x, base, grid, combos, chunk_bars=prepared.config.chunk_bars)

    kernel()  # compiled and warm
    accs = benchmark.pedantic(kernel, rounds=5, warmup_rounds=1)
    assert len(set(accs["trades"].tolist())) > 16  # the grid changes the outcome
    seconds = benchmark.stats.stats.median
    report(benchmark, "sweep_kernel_256_seconds", seconds, 1.0, "s", higher_is_better=False)
    rate = len(combos) * N_BARS / benchmark.stats.stats.min
    benchmark.extra_info["combination_bars_per_second"] = rate
    print(f"[bench] sweep kernel: {rate:,.3g} combination-bars/s")

    # the same 256 combinations as single scans, one after another (per-bar outputs and trades
    # recorded, as a run that a user makes one by one would)
    singles = [grid.row_params(base, int(c)) for c in combos]
    t = time.perf_counter()
    for p in singles:
        run_scan(x, p, chunk_bars=prepared.config.chunk_bars)
    one_by_one = time.perf_counter() - t
    benchmark.extra_info["single_scans_256_seconds"] = one_by_one
    ratio = one_by_one / benchmark.stats.stats.min
    benchmark.extra_info["speedup_vs_single_scans"] = ratio
    print(
        f"[bench] 256 single scans one after another: {one_by_one:.2f} s ({ratio:.1f}x the kernel)"
    )


def test_sweep_end_to_end_from_model_dir(benchmark, bench_model_dir, bench_data_dir):
    cfg = engine_config(bench_model_dir, bench_data_dir)
    vbt.sweep(cfg, GRID)  # compiled and warm
    res = benchmark.pedantic(vbt.sweep, args=(cfg, GRID), rounds=5, warmup_rounds=1)
    assert res.table.height == 256
    report(benchmark, "sweep_end_to_end_seconds", benchmark.stats.stats.median, 1.6, "s",
           higher_is_better=False)  # fmt: skip


PEAK_SCRIPT = (
    PEAK_KB_SOURCE
    + """
import json, sys
import vbt
cfg = vbt.BacktestConfig(model_path=sys.argv[1], data_dir=sys.argv[2], symbol="EURUSD",
                         timeframe="1h", timeframes=["1h", "4h"])
res = vbt.sweep(cfg, json.loads(sys.argv[3]))
print(json.dumps({"peak_kb": peak_kb(), "rows": res.table.height}))
"""
)


def test_sweep_peak_memory(benchmark, bench_model_dir, bench_data_dir):
    def run():
        out = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, str(bench_model_dir), str(bench_data_dir),
             json.dumps(GRID)],
            capture_output=True, text=True, check=True, env=os.environ.copy(),
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    info = benchmark.pedantic(run, rounds=1, iterations=1)
    assert info["rows"] == 256
    report(benchmark, "sweep_peak_rss_gb", info["peak_kb"] / 1024**2, 1.0, "GB",
           higher_is_better=False)  # fmt: skip
