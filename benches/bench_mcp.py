"""The cost of reaching the engine through ``vbt mcp``: a ``backtest`` tool call (the SDK's client
over stdio to a ``vbt mcp`` process: JSON-RPC, argument checks, the run saved to the workspace,
the trial ledger) against the same ``BacktestEngine(cfg).run()`` in this process, on 20,000 1h
bars with the benches' MLP [64, 32] on 24 features. Both are timed in the same run, round after
round, so the machine's load weighs on both alike.

Target (issue "Agents"): the overhead, median(tool call) − median(in-process run), <= 50 ms.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from anyio.from_thread import start_blocking_portal
from mcp import Client
from mcp.client.stdio import StdioServerParameters

import vbt
from benches.conftest import report

ROOT = Path(__file__).resolve().parents[1]
N_BARS = 20_000
ROUNDS = 15


def test_backtest_tool_call_overhead(benchmark, tmp_path, bars_1h, bench_model_dir):
    data = tmp_path / "data"
    data.mkdir()
    bars_1h.head(N_BARS).write_parquet(data / "EURUSD_1h.parquet")
    workspace = tmp_path / "ws"
    (workspace / "models").mkdir(parents=True)
    shutil.copytree(bench_model_dir, workspace / "models" / "bench")
    settings = {"symbol": "EURUSD", "timeframe": "1h", "timeframes": ["1h", "4h"]}
    cfg = vbt.BacktestConfig(model_path=str(workspace / "models" / "bench"), data_dir=str(data),
                             **settings)  # fmt: skip
    want = vbt.BacktestEngine(cfg).run().metrics  # JIT, caches
    env = {k: os.environ[k] for k in ("NUMBA_CACHE_DIR", "PATH", "HOME") if k in os.environ}
    server = StdioServerParameters(
        command=sys.executable, env={**env, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT),
        args=["-m", "vbt.cli", "mcp", "--workspace", str(workspace), "--data-dir", str(data)],
    )  # fmt: skip
    args = {"model": "models/bench", "config": settings}
    engine_s, tool_s = [], []
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server, read_timeout_seconds=300)) as client,
    ):
        first = portal.call(client.call_tool, "backtest", args)  # the server's first run
        assert not first.is_error, first.content[0].text
        assert first.structured_content["metrics"]["total_trades"] == want["total_trades"] > 0

        def engine_run():  # before each timed call, untimed by pytest-benchmark: the reference
            t = time.perf_counter()
            vbt.BacktestEngine(cfg).run()
            engine_s.append(time.perf_counter() - t)

        def tool_call():
            t = time.perf_counter()
            out = portal.call(client.call_tool, "backtest", args)
            tool_s.append(time.perf_counter() - t)
            return out

        out = benchmark.pedantic(tool_call, setup=engine_run, rounds=ROUNDS, iterations=1)
        assert out.structured_content["metrics"] == first.structured_content["metrics"]
    overhead_ms = (statistics.median(tool_s) - statistics.median(engine_s)) * 1000
    print(f"\nin-process run {statistics.median(engine_s) * 1000:.1f} ms, backtest tool call "
          f"{statistics.median(tool_s) * 1000:.1f} ms (median of {ROUNDS}, interleaved): "
          f"overhead {overhead_ms:.1f} ms per call")  # fmt: skip
    report(benchmark, "mcp_backtest_overhead_ms", overhead_ms, 50.0, "ms",
           higher_is_better=False)  # fmt: skip
