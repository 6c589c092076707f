"""A batch of 100 backtests against the same 100 as separate `vbt backtest` processes.

Target (issue "Research agents"): `vbt batch` runs 100 backtests of 20k bars each (three models,
two of them on the same features, over four synthetic symbols, with several cost and decision
settings) at least 20x faster than the same 100 as separate `vbt backtest` processes, measured in
the same run. Both sides are timed as commands from the shell (interpreter and torch start-up
included) and both use every core: the batch its worker processes, the separate processes as
many at a time as there are cores. Every separate run's metrics are checked against the batch's
record of the same job.

``VBT_BENCH_SEPARATE=k`` times only the first k separate processes and scales their time to 100
(printed as an estimate); the default runs all 100.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import vbt
from benches.conftest import report
from vbt.data.synth import synth_bars
from vbt.signals.inference import usable_cores

ROOT = Path(__file__).resolve().parents[1]
N_BARS = 20_000
SYMBOLS = ("SYNA", "SYNB", "SYNC", "SYND")
N_JOBS = 100
SEPARATE = int(os.environ.get("VBT_BENCH_SEPARATE", N_JOBS))
# settings that vary between jobs of one model and symbol (9 each; 12 model-symbol pairs)
SETTINGS = [
    {"commission": c, "confidence_threshold": t}
    for c in (0.0, 0.0005, 0.001)
    for t in (0.0, 0.34, 0.345)
]


def strategy(name: str, rsi: int) -> dict:
    three = {"lo": [0, 20, 40], "mid": [30, 50, 70], "hi": [60, 80, 100]}
    return {
        "name": name,
        "training_data": {"symbols": "SYNA",
                          "timeframes": {"mode": "single", "timeframe": "1h"}},
        "indicators": {"rsi": {"type": "rsi", "period": rsi},
                       "stoch": {"type": "stochastic"}},
        "fuzzy_sets": {"rsi_fz": {"indicator": "rsi", **three},
                       "stoch_fz": {"indicator": "stoch.k", **three}},
        "nn_inputs": [{"fuzzy_set": "rsi_fz", "timeframes": "all"},
                      {"fuzzy_set": "stoch_fz", "timeframes": "all"}],
        "model": {"type": "mlp", "architecture": {"hidden_layers": [32, 16], "dropout": 0.0}},
        "decisions": {"output_format": "classification", "filters": {"min_signal_separation": 4}},
        "training": {"labels": {"source": "zigzag"}},
    }  # fmt: skip


def write_model(out: Path, raw: dict, bars, seed: int) -> Path:
    """An untrained, seeded network over the strategy's features, its output bias centred on the
    bars so that it emits BUY, HOLD and SELL."""
    import torch

    from vbt.model.artifacts import write_model_dir
    from vbt.model.networks import build_model
    from vbt.strategy import resolve_features

    s = vbt.load_strategy(raw)
    names = resolve_features(s)
    torch.manual_seed(seed)
    model = build_model(raw["model"], len(names), "classification").eval()
    frame = vbt.build_features(s, {"1h": bars})
    with torch.no_grad():
        logits = model(torch.from_numpy(frame.values[frame.valid]))
        model[-1].bias -= logits.mean(dim=0)
    return Path(write_model_dir(
        out, model, strategy_name=raw["name"], raw_config=raw, resolved_features=names,
        training_symbols=["SYNA"], training_timeframes=["1h"], output_type="classification",
        model_type="mlp", metrics={},
    ))  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch_bench")
    data = d / "data"
    data.mkdir()
    bars = {}
    for k, sym in enumerate(SYMBOLS):
        bars[sym] = synth_bars(N_BARS, seed=100 + k, timeframe="1h", price=1.0 + 0.1 * k)
        bars[sym].write_parquet(data / f"{sym}_1h.parquet")
    models = [
        write_model(d / "models", strategy("bench_a", 14), bars["SYNA"], 1),
        write_model(d / "models", strategy("bench_b", 14), bars["SYNA"], 2),  # A's features
        write_model(d / "models", strategy("bench_c", 7), bars["SYNA"], 3),
    ]
    jobs = [
        {"model": str(m), "symbol": sym, "config": cfg}
        for m in models
        for sym in SYMBOLS
        for cfg in SETTINGS
    ][:N_JOBS]
    spec = d / "spec.json"
    spec.write_text(json.dumps({"defaults": {"data_dir": str(data)}, "jobs": jobs}))
    return d, data, jobs, spec


def _env() -> dict:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vbt.cli", *args], capture_output=True,
                          text=True, env=_env(), check=False)  # fmt: skip


def _backtest_args(job: dict, data: Path) -> list[str]:
    args = ["backtest", job["model"], "--data-dir", str(data), "--symbol", job["symbol"], "--json"]
    for k, v in job["config"].items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def test_batch_against_separate_processes(benchmark, setup):
    d, data, jobs, spec = setup
    warm = _cli(*_backtest_args(jobs[0], data))  # Numba cache warm for both sides
    assert warm.returncode == 0, warm.stderr

    def run_batch():
        out = d / f"out_{time.monotonic_ns()}"
        t = time.perf_counter()
        done = _cli("batch", str(spec), "--out", str(out), "--json")
        seconds = time.perf_counter() - t
        assert done.returncode == 0, done.stderr
        return seconds, json.loads(done.stdout), out

    batch_s, summary, out = benchmark.pedantic(run_batch, rounds=1, iterations=1)
    assert summary["ok"] == N_JOBS and summary["ran"] == N_JOBS
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_index = {r["index"]: r for r in records}
    shared = summary["shared"]
    print(f"\n[bench] batch: {N_JOBS} backtests of {N_BARS:,} bars in {batch_s:.2f} s with "
          f"{summary['workers']} workers; built/reused: {shared}")  # fmt: skip

    cores = usable_cores()
    chosen = list(range(min(SEPARATE, N_JOBS)))

    def one(i: int):
        done = _cli(*_backtest_args(jobs[i], data))
        assert done.returncode == 0, done.stderr
        return i, json.loads(done.stdout)["metrics"]

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=cores) as pool:
        results = list(pool.map(one, chosen))
    separate_s = (time.perf_counter() - t) * N_JOBS / len(chosen)
    for i, metrics in results:  # the same backtests
        assert metrics == by_index[i]["metrics"], f"job {i}"
    what = "measured" if len(chosen) == N_JOBS else f"estimated from {len(chosen)}"
    print(f"[bench] separate `vbt backtest` processes ({cores} at a time): {separate_s:.1f} s "
          f"for {N_JOBS} ({what})")  # fmt: skip
    benchmark.extra_info.update(batch_seconds=batch_s, separate_seconds=separate_s,
                                separate_measured=len(chosen), cores=cores)  # fmt: skip
    report(benchmark, "batch_speedup_vs_separate_processes", separate_s / batch_s, 20.0, "x",
           higher_is_better=True)  # fmt: skip
