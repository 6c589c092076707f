"""build_features on 1M synthetic 1h bars: RSI(14) and BBands(20, 2) fuzzy sets on 1h and 4h.

Target (issue "Features"): <= 0.3 s warm on the 2-core machine.
"""

from __future__ import annotations

import time

import vbt
from benches.conftest import N_BARS, report


def strategy():
    return {
        "name": "bench_features",
        "training_data": {
            "symbols": "EURUSD",
            "timeframes": {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1h"},
        },
        "indicators": {
            "rsi_14": {"type": "rsi", "period": 14},
            "bbands_20_2": {"type": "bbands", "period": 20, "multiplier": 2.0},
        },
        "fuzzy_sets": {
            "rsi_fz": {
                "indicator": "rsi_14",
                "oversold": [0, 25, 40],
                "neutral": [30, 50, 70],
                "overbought": [60, 75, 100],
            },
            "bb_fz": {
                "indicator": "bbands_20_2.upper",
                "low": [0.9, 1.0, 1.08],
                "mid": [1.0, 1.08, 1.16],
                "high": [1.08, 1.16, 1.3],
            },
        },  # fmt: skip
        "nn_inputs": [
            {"fuzzy_set": "rsi_fz", "timeframes": "all"},
            {"fuzzy_set": "bb_fz", "timeframes": "all"},
        ],
    }


def test_build_features_1m_bars(benchmark, bars_1h):
    s = vbt.load_strategy(strategy())
    bars = {"1h": bars_1h, "4h": vbt.resample(bars_1h, "4h")}
    vbt.build_features(s, bars)  # warm the JIT cache
    frame = benchmark.pedantic(vbt.build_features, args=(s, bars), rounds=7, warmup_rounds=1)
    assert frame.n_bars == N_BARS and frame.n_features == 12
    secs = benchmark.stats.stats.median
    report(benchmark, "build_features_seconds", secs, 0.3, "s", higher_is_better=False)
    benchmark.extra_info["bars_per_second"] = N_BARS / secs
    print(f"[bench] build_features: {N_BARS / secs:,.0f} bars/s")


def test_build_features_scales_linearly(benchmark):
    """Issue "Performance": the cost per bar at 4M bars is within 1.2x of the cost at 1M bars."""
    from vbt.data.synth import synth_bars

    s = vbt.load_strategy(strategy())
    big = synth_bars(4 * N_BARS, seed=12, timeframe="1h")
    small = big.head(N_BARS)
    sets = [{"1h": b, "4h": vbt.resample(b, "4h")} for b in (small, big)]
    vbt.build_features(s, sets[0])

    def per_bar():
        out = []
        for bars in sets:
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                vbt.build_features(s, bars)
                best = min(best, time.perf_counter() - t)
            out.append(best / bars["1h"].height)
        return out

    small_s, big_s = benchmark.pedantic(per_bar, rounds=1, iterations=1)
    benchmark.extra_info["seconds_per_bar_1x"] = small_s
    report(benchmark, "features_cost_per_bar_4x_over_1x", big_s / small_s, 1.2, "x",
           higher_is_better=False)  # fmt: skip
