"""The Ray backend against the local one on this machine, in the same run (issue "Scale-out"):
a sweep of 1,024 combinations over the 1M-bar bench inputs; the overhead ratio (Ray / local) for
several task sizes, and the smallest tried size at which it falls under 10 %.
"""

from __future__ import annotations

import time

import ray

import vbt
from benches.bench_engine import engine_config
from benches.conftest import report
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.ray_backend import run_sweep_ray
from vbt.sweeps.runner import run_sweep

GRID = {  # 32 x 32, across the bench model's confidences (about 0.335 to 0.36)
    "confidence_threshold": [round(0.335 + 0.00075 * k, 5) for k in range(32)],
    "commission": [round(0.00005 * k, 5) for k in range(32)],
}
TASK_COMBO_BARS = (8_000_000, 32_000_000, 128_000_000, 512_000_000)


def test_ray_overhead(benchmark, bench_model_dir, bench_data_dir):
    prepared = vbt.BacktestEngine(engine_config(bench_model_dir, bench_data_dir)).prepare()
    x, base = prepared.inputs, prepared.params
    grid = Grid.parse(GRID, base)
    combos = select(grid, base)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        run_sweep_ray(x, base, grid, combos[:4])  # workers started and warm

        def local():
            return run_sweep(x, base, grid, combos)

        expected = benchmark.pedantic(local, rounds=1, iterations=1)
        local_s = benchmark.stats.stats.min
        ratios = {}
        for size in TASK_COMBO_BARS:
            t = time.perf_counter()
            got = run_sweep_ray(x, base, grid, combos, task_combo_bars=size)
            ratios[size] = (time.perf_counter() - t) / local_s
            assert got.tobytes() == expected.tobytes()
            benchmark.extra_info[f"ray_over_local_at_{size}"] = ratios[size]
            print(f"[bench] ray / local at {size:,} combination-bars per task: {ratios[size]:.3f}")
    finally:
        ray.shutdown()
    good = [s for s in TASK_COMBO_BARS if ratios[s] < 1.10]
    benchmark.extra_info["local_seconds"] = local_s
    benchmark.extra_info["smallest_task_under_10pct"] = good[0] if good else None
    report(benchmark, "ray_overhead_ratio_best", min(ratios.values()), 1.10, "x (ray / local)",
           higher_is_better=False)  # fmt: skip
