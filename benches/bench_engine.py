"""BacktestEngine.run end to end on 1M synthetic 1h bars with an MLP [64, 32] on 24 features.

Targets (issue "Engine"): <= 0.6 s warm; peak memory <= 1.5 GB (whole process, measured in a fresh
subprocess that imports vbt and runs one backtest).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import vbt
from benches.conftest import N_BARS, report


def engine_config(model_dir, data_dir) -> vbt.BacktestConfig:
    return vbt.BacktestConfig(
        model_path=str(model_dir), data_dir=str(data_dir), symbol="EURUSD", timeframe="1h",
        timeframes=["1h", "4h"],
    )  # fmt: skip


def test_engine_end_to_end(benchmark, bench_model_dir, bench_data_dir):
    engine = vbt.BacktestEngine(engine_config(bench_model_dir, bench_data_dir))
    engine.run()  # JIT and model load
    result = benchmark.pedantic(engine.run, rounds=5, warmup_rounds=1)
    assert result.metrics["bars"] == N_BARS - 50 and result.metrics["total_trades"] > 0
    report(benchmark, "engine_run_seconds", benchmark.stats.stats.median, 0.6, "s",
           higher_is_better=False)  # fmt: skip


PEAK_SCRIPT = """
import json, resource, sys, time
import vbt
cfg = vbt.BacktestConfig(model_path=sys.argv[1], data_dir=sys.argv[2], symbol="EURUSD",
                         timeframe="1h", timeframes=["1h", "4h"])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
r = vbt.BacktestEngine(cfg).run()
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "base_kb": base,
                  "seconds": time.perf_counter() - t, "trades": r.metrics["total_trades"]}))
"""


def test_engine_peak_memory(benchmark, bench_model_dir, bench_data_dir):
    def run():
        out = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, str(bench_model_dir), str(bench_data_dir)],
            capture_output=True, text=True, check=True, env=os.environ.copy(),
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    info = benchmark.pedantic(run, rounds=1, iterations=1)
    peak_gb = info["peak_kb"] / 1024**2
    benchmark.extra_info["rss_before_run_gb"] = info["base_kb"] / 1024**2
    report(benchmark, "engine_peak_rss_gb", peak_gb, 1.5, "GB", higher_is_better=False)
