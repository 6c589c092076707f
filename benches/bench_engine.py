"""BacktestEngine.run end to end on 1M synthetic 1h bars with an MLP [64, 32] on 24 features.

Targets (issue "Engine"): <= 0.6 s warm; peak memory <= 1.5 GB (whole process, measured in a fresh
subprocess that imports vbt and runs one backtest).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import vbt
from benches.conftest import N_BARS, PEAK_KB_SOURCE, report


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


PEAK_SCRIPT = (
    PEAK_KB_SOURCE
    + """
import json, sys, time
import vbt
cfg = vbt.BacktestConfig(model_path=sys.argv[1], data_dir=sys.argv[2], symbol="EURUSD",
                         timeframe="1h", timeframes=["1h", "4h"])
base = peak_kb()
t = time.perf_counter()
r = vbt.BacktestEngine(cfg).run()
print(json.dumps({"peak_kb": peak_kb(), "base_kb": base,
                  "seconds": time.perf_counter() - t, "trades": r.metrics["total_trades"]}))
"""
)


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


BUSY = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"


def test_inference_under_contention(benchmark, bench_model_dir, bench_data_dir):
    """Issue "Performance": with another process keeping every core busy, inference is no slower
    than single-threaded torch on the same matrix (measured in the same run)."""
    import torch

    from vbt.signals.inference import model_outputs, usable_cores

    engine = vbt.BacktestEngine(engine_config(bench_model_dir, bench_data_dir))
    prepared = engine.prepare()
    frame, model = prepared.frame, engine.bundle.model
    x = torch.from_numpy(frame.values)

    def single():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                model(x)
        finally:
            torch.set_num_threads(before)

    def ours():
        model_outputs(model, frame.values, frame.valid)

    load = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(usable_cores())]
    try:
        time.sleep(1.0)

        def rounds():
            best = [float("inf")] * 2
            for _ in range(5):
                for k, fn in enumerate((single, ours)):
                    t = time.perf_counter()
                    fn()
                    best[k] = min(best[k], time.perf_counter() - t)
            return best

        single_s, ours_s = benchmark.pedantic(rounds, rounds=1, iterations=1)
    finally:
        for p in load:
            p.kill()
    benchmark.extra_info["single_thread_torch_seconds"] = single_s
    report(benchmark, "inference_under_load_vs_single_thread", ours_s / single_s, 1.0, "x",
           higher_is_better=False)  # fmt: skip
