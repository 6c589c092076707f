"""The HTTP worker against the CLI: 100 small backtests (the fixture model over four months of 1h
bars) submitted to one worker, against 100 ``vbt backtest`` processes, both two at a time (the
machine's cores), in the same run; and the status endpoint's latency (p50, p99) while the jobs run.

Targets (issue "Worker"): the worker finishes the 100 jobs in at most a third of the CLI's time
(each job forks from a process that has imported torch and vbt, where each CLI run imports them);
status latency p50 <= 20 ms, p99 <= 100 ms under that load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

import vbt
from benches.conftest import report

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data_fixtures"
N_JOBS = int(os.environ.get("VBT_BENCH_WORKER_JOBS", 100))
CONCURRENT = 2
START, END = "2024-03-01", "2024-06-30"


@pytest.fixture(scope="module")
def models_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("worker_models")
    raw = yaml.safe_load((DATA / "strategies" / "rsi_single_tf.yaml").read_text())
    raw["decisions"]["confidence_threshold"] = 0.0
    raw["training"]["epochs"] = 5
    vbt.train(raw, data_dir=DATA, symbol="EURUSD", out_dir=root, progress=False)
    return root


def start_worker(models_root: Path, state: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VBT_WORKER_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vbt.cli", "worker", "--port", str(port), "--models-root",
         str(models_root), "--data-root", str(DATA), "--state-dir", str(state),
         "--max-concurrent", str(CONCURRENT), "--max-queue", str(N_JOBS + 10)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the worker did not start")


def run_worker_jobs(url: str, latencies: list[float]) -> float:
    """Submit N_JOBS backtests, wait for all; poll one job's status meanwhile. Returns seconds."""
    body = {"symbol": "EURUSD", "timeframe": "1h", "strategy_name": "rsi_single_tf",
            "start_date": START, "end_date": END}  # fmt: skip
    done = threading.Event()
    with httpx.Client(base_url=url, timeout=30) as c:
        # the forkserver has imported torch and vbt before the clock starts, as in service
        warm = c.post("/backtests/start", json={**body, "task_id": "warm"}).json()["operation_id"]
        while c.get(f"/api/v1/operations/{warm}").json()["data"]["status"] != "completed":
            time.sleep(0.1)

        def poll() -> None:
            with httpx.Client(base_url=url, timeout=30) as p:
                while not done.is_set():
                    t = time.perf_counter()
                    assert p.get("/api/v1/operations/job_0").status_code in (200, 404)
                    latencies.append(time.perf_counter() - t)
                    time.sleep(0.02)

        poller = threading.Thread(target=poll)
        t0 = time.perf_counter()
        poller.start()
        for i in range(N_JOBS):
            r = c.post("/backtests/start", json={**body, "task_id": f"job_{i}"})
            assert r.status_code == 200, r.text
        while True:
            listing = c.get("/api/v1/operations", params={"status": "completed", "limit": 1})
            if listing.json()["total_count"] >= N_JOBS + 1:
                break
            assert (
                c.get("/api/v1/operations", params={"status": "failed"}).json()["total_count"] == 0
            )
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        done.set()
        poller.join()
    return seconds


def run_cli_jobs(models_root: Path) -> float:
    """N_JOBS ``vbt backtest`` processes, CONCURRENT at a time. Returns seconds."""
    cmd = [sys.executable, "-m", "vbt.cli", "backtest", str(models_root / "rsi_single_tf/1h_latest"),
           "--data-dir", str(DATA), "--start-date", START, "--end-date", END, "--json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    running: list[subprocess.Popen] = []
    for _ in range(N_JOBS):
        while len(running) >= CONCURRENT:
            for p in [p for p in running if p.poll() is not None]:
                assert p.returncode == 0
                running.remove(p)
            time.sleep(0.01)
        running.append(subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL))
    for p in running:
        assert p.wait() == 0
    return time.perf_counter() - t0


def test_worker_vs_cli_100_backtests(benchmark, models_root, tmp_path):
    proc, url = start_worker(models_root, tmp_path / "state")
    latencies: list[float] = []
    try:
        worker_s = benchmark.pedantic(run_worker_jobs, args=(url, latencies), rounds=1,
                                      iterations=1)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)
    cli_s = run_cli_jobs(models_root)
    lat = np.array(latencies) * 1000
    print(f"\n[bench] {N_JOBS} backtests: worker {worker_s:.1f} s, CLI {cli_s:.1f} s "
          f"({cli_s / worker_s:.1f}x); status latency over {lat.size} polls")  # fmt: skip
    report(benchmark, "worker_jobs_seconds", worker_s, cli_s / 3, "s", higher_is_better=False)
    benchmark.extra_info["cli_jobs_seconds"] = cli_s
    report(benchmark, "worker_speedup_vs_cli", cli_s / worker_s, 3.0, "x", higher_is_better=True)
    report(benchmark, "status_latency_p50_ms", float(np.percentile(lat, 50)), 20.0, "ms",
           higher_is_better=False)  # fmt: skip
    report(benchmark, "status_latency_p99_ms", float(np.percentile(lat, 99)), 100.0, "ms",
           higher_is_better=False)  # fmt: skip
