"""The scan alone, and the same signals through the plain bar-by-bar reference (tests/).

Targets (issue "Engine"): scan >= 1e8 bars/s; speed-up over the reference >= 300x, measured on
the same inputs in the same run. (Issue "Risk exits"): the scan with all four risk exits on keeps
>= 0.7x the speed of the scan without them, on the same inputs in the same run.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from benches.conftest import report
from vbt.sim.runner import ScanInputs, ScanParams, run_scan

SCAN_BARS = 10_000_000
REF_BARS = 200_000  # the Python reference takes seconds per 100k bars; the ratio is per bar


def random_inputs(n: int, seed: int = 0) -> ScanInputs:
    rng = np.random.default_rng(seed)
    close = 1.08 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    open_ = np.empty(n)
    open_[0], open_[1:] = close[0], close[:-1]
    raw = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=n, p=[0.05, 0.9, 0.05])
    conf = rng.uniform(0.3, 1.0, n).astype(np.float32)
    ts = np.arange(n, dtype=np.int64) * 3_600_000_000_000
    wick = np.abs(rng.normal(0, 5e-4, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    return ScanInputs(ts_ns=ts, open=open_, close=close, raw=raw, confidence=conf, high=high,
                      low=low)  # fmt: skip


@pytest.fixture(scope="module")
def big():
    return random_inputs(SCAN_BARS)


def test_scan_throughput(benchmark, big):
    params = ScanParams().with_values(allow_short_from_flat=True)
    run_scan(random_inputs(1000), params)  # JIT warm-up
    res = benchmark.pedantic(
        run_scan, args=(big, params), kwargs={"chunk_bars": SCAN_BARS}, rounds=5, warmup_rounds=1
    )
    assert res.trades.size > 1000
    report(benchmark, "scan_bars_per_second", SCAN_BARS / benchmark.stats.stats.min, 1e8,
           "bars/s", higher_is_better=True)  # fmt: skip


def test_speedup_over_reference(benchmark):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "sim"))
    from reference_engine import Params, run_reference

    inputs = random_inputs(REF_BARS, seed=1)
    params = ScanParams().with_values(allow_short_from_flat=True)
    run_scan(random_inputs(1000), params)
    ref_params = Params(allow_short_from_flat=True)
    args = (inputs.ts_ns, inputs.open, inputs.close, inputs.raw, inputs.confidence, ref_params)
    t0 = time.perf_counter()
    ref = run_reference(*args)
    ref_s = time.perf_counter() - t0
    res = benchmark.pedantic(run_scan, args=(inputs, params), rounds=20, warmup_rounds=2)
    scan_s = benchmark.stats.stats.median
    ref_trades = ref[0] if isinstance(ref, tuple) else ref.trades
    assert len(ref_trades) == res.trades.size  # same signals, same trades
    report(benchmark, "speedup_vs_reference", ref_s / scan_s, 300, "x", higher_is_better=True)
    benchmark.extra_info["reference_bars_per_second"] = REF_BARS / ref_s


RISK = dict(stop_loss=0.01, take_profit=0.02, trailing_stop=0.01, max_holding_bars=48)


def test_scan_with_risk_exits(benchmark, big):
    plain = ScanParams().with_values(allow_short_from_flat=True)
    risky = plain.with_values(**RISK)
    run_scan(random_inputs(1000), risky)  # JIT warm-up
    res = benchmark.pedantic(
        run_scan, args=(big, risky), kwargs={"chunk_bars": SCAN_BARS}, rounds=5, warmup_rounds=1
    )
    reasons = set(res.trades["exit_reason"].tolist())
    assert {2, 3, 4, 5} <= reasons  # every risk exit fires
    with_risk = benchmark.stats.stats.min
    without = min(_timed(run_scan, big, plain, SCAN_BARS) for _ in range(5))
    ratio = without / with_risk
    benchmark.extra_info["scan_without_risk_seconds"] = without
    report(benchmark, "risk_exits_speed_ratio", ratio, 0.7, "x (with / without)",
           higher_is_better=True)  # fmt: skip


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t
