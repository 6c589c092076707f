"""Benchmark fixtures: synthetic data generated at bench time (never committed).

Figures are reported against the targets of the issues; set VBT_BENCH_GATES=1 to turn each target
into a failing assertion (a performance gate). Ratios are measured within one run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vbt
from vbt.data.synth import synth_bars

N_BARS = int(os.environ.get("VBT_BENCH_BARS", 1_000_000))
GATES = os.environ.get("VBT_BENCH_GATES") == "1"


#: Python source of ``peak_kb()``, for the scripts that measure a whole process's peak memory: the
#: peak resident set of this process's own memory since it started, in KiB (``VmHWM``). Not
#: ``ru_maxrss``: on Linux that also counts the memory the parent process had when it forked.
PEAK_KB_SOURCE = """
def peak_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def report(benchmark, name: str, value: float, target: float, unit: str, higher_is_better: bool,
           gate: bool = True):  # fmt: skip
    """Record a figure in the benchmark JSON, print it, and enforce it when gates are on (unless
    ``gate`` is False: a target shown for information next to a gate that guards it)."""
    ok = value >= target if higher_is_better else value <= target
    benchmark.extra_info[name] = value
    benchmark.extra_info[f"{name}_target"] = target
    cmp = ">=" if higher_is_better else "<="
    print(
        f"\n[bench] {name} = {value:,.4g} {unit} (target {cmp} {target:,.4g}: {'met' if ok else 'MISSED'})"
    )
    if GATES and gate:
        assert ok, f"{name} = {value} {unit} misses its target {cmp} {target}"


@pytest.fixture(scope="session")
def bars_1h():
    return synth_bars(N_BARS, seed=11, timeframe="1h")


@pytest.fixture(scope="session")
def bench_data_dir(tmp_path_factory, bars_1h) -> Path:
    d = tmp_path_factory.mktemp("bench_data")
    bars_1h.write_parquet(d / "EURUSD_1h.parquet")
    vbt.resample(bars_1h, "4h").write_parquet(d / "EURUSD_4h.parquet")
    return d


def bench_strategy() -> dict:
    """24 features: RSI, stochastic %K, Williams %R and Bollinger bandwidth fuzzy sets, 3
    memberships each, on 1h and 4h."""
    three = {"lo": [0, 20, 40], "mid": [30, 50, 70], "hi": [60, 80, 100]}
    return {
        "name": "bench24",
        "training_data": {
            "symbols": "EURUSD",
            "timeframes": {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1h"},
        },
        "indicators": {
            "rsi_14": {"type": "rsi", "period": 14},
            "stoch": {"type": "stochastic"},
            "willr": {"type": "williamsr", "period": 14},
            "bbw": {"type": "bollingerbandwidth", "period": 20, "multiplier": 2.0},
        },
        "fuzzy_sets": {
            "rsi_fz": {"indicator": "rsi_14", **three},
            "stoch_fz": {"indicator": "stoch.k", **three},
            "willr_fz": {"indicator": "willr", "lo": [-100, -80, -50], "mid": [-70, -50, -30],
                         "hi": [-50, -20, 0]},
            "bbw_fz": {"indicator": "bbw", "lo": [0, 0.002, 0.004], "mid": [0.003, 0.006, 0.009],
                       "hi": [0.008, 0.02, 1.0]},
        },  # fmt: skip
        "nn_inputs": [{"fuzzy_set": k, "timeframes": "all"} for k in ("rsi_fz", "stoch_fz", "willr_fz", "bbw_fz")],
        "model": {"type": "mlp", "architecture": {"hidden_layers": [64, 32], "dropout": 0.2}},
        "decisions": {"output_format": "classification", "confidence_threshold": 0.0,
                      "filters": {"min_signal_separation": 4}},
        "training": {"labels": {"source": "zigzag"}},
    }  # fmt: skip


@pytest.fixture(scope="session")
def bench_model_dir(tmp_path_factory, bars_1h) -> Path:
    """An untrained, seeded MLP [64, 32] over the 24 bench features, as a v3 model directory."""
    return write_bench_model(bench_strategy(), tmp_path_factory.mktemp("bench_models"), bars_1h)


def write_bench_model(raw: dict, out_dir: Path, bars_1h) -> Path:
    """An untrained, seeded network (``raw["model"]``) over the features of strategy ``raw`` on 1h
    and 4h bars, written as a v3 model directory under ``out_dir``.

    Its output bias is centred on the bench data so that it emits BUY, HOLD and SELL (a raw
    random network tends to favour one class and would never trade long-only).
    """
    import torch

    from vbt.model.artifacts import write_model_dir
    from vbt.model.networks import build_model
    from vbt.strategy import resolve_features

    strategy = vbt.load_strategy(raw)
    names = resolve_features(strategy)
    torch.manual_seed(0)
    model = build_model(raw["model"], len(names), "classification").eval()
    sample = bars_1h.head(20_000)
    frame = vbt.build_features(strategy, {"1h": sample, "4h": vbt.resample(sample, "4h")})
    with torch.no_grad():
        logits = model(torch.from_numpy(frame.values[frame.valid]))
        model[-1].bias -= logits.mean(dim=0)
    return Path(
        write_model_dir(
            out_dir, model, strategy_name=raw["name"], raw_config=raw, resolved_features=names,
            training_symbols=["EURUSD"], training_timeframes=["1h", "4h"],
            output_type="classification", model_type="mlp", metrics={},
        )
    )  # fmt: skip
