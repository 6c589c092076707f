"""Helpers of the worker tests: a real ``vbt worker`` in a subprocess on a free loopback port (a
real SQLite store in a temporary folder), request bodies, polling, and the expected results."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

import vbt

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data_fixtures"
START, END = "2024-03-01", "2024-06-30"  # 2,064 1h bars


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """One ``vbt worker`` process and an HTTP client for it."""

    def __init__(self, models: Path, state: Path, *args: str, token: str | None = None,
                 data: Path = DATA):  # fmt: skip
        self.models, self.state, self.data, self.args, self.token = models, state, data, args, token
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = state.parent / f"{state.name}-worker-{self.port}.log"

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "vbt.cli", "worker", "--port", str(self.port),
                "--models-root", str(self.models), "--data-root", str(self.data),
                "--state-dir", str(self.state), *self.args, *extra]  # fmt: skip

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("VBT_WORKER_TOKEN", None)
        for name in ("KTRDR_API_CLIENT_BASE_URL", "KTRDR_API_URL", "KTRDR_WORKER_ID", "WORKER_ID",
                     "KTRDR_WORKER_PUBLIC_BASE_URL", "WORKER_PUBLIC_BASE_URL"):  # fmt: skip
            env.pop(name, None)  # no registration with an older backend unless a test asks
        if self.token:
            env["VBT_WORKER_TOKEN"] = self.token
        return env

    def start(self, timeout: float = 120.0) -> Worker:
        self.port = free_port()
        self.proc = subprocess.Popen(self.command(), env=self.env(), cwd=REPO,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"worker did not answer in {timeout}s: {self.log.read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str | None = "default") -> httpx.Client:
        token = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def row(self, job_id: str) -> dict:
        """The job's row, read straight from the SQLite file."""
        with sqlite3.connect(self.state / "jobs.sqlite3") as db:
            db.row_factory = sqlite3.Row
            return dict(db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())


def body(**kw) -> dict:
    """A start body as the older backend sends it (every field), for the fixture model."""
    return {"symbol": "EURUSD", "timeframe": "1h", "strategy_name": "rsi_single_tf",
            "start_date": START, "end_date": END, "initial_capital": 100000.0,
            "commission": 0.001, "slippage": 0.0005, "model_path": None, "timeframes": [], **kw}  # fmt: skip


def wait_for(client: httpx.Client, op_id: str, statuses=("completed", "failed", "cancelled"),
             timeout: float = 180.0, **more) -> dict:  # fmt: skip
    """Poll the operation until its status is one of ``statuses`` (or ``more`` predicates hold)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/operations/{op_id}")
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        if data["status"] in statuses:
            return data
        time.sleep(0.1)
    raise AssertionError(f"{op_id} still {data['status']} after {timeout}s: {data}")


def until_progress(client: httpx.Client, op_id: str, bars: int, timeout: float = 120.0) -> dict:
    """Poll until the running job has scanned at least ``bars`` bars."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/api/v1/operations/{op_id}").json()["data"]
        assert data["status"] in ("pending", "running"), data
        if data["progress"].get("items_processed", 0) >= bars:
            return data
        time.sleep(0.05)
    raise AssertionError(f"{op_id} did not reach bar {bars}: {data}")


def expected_backtest(models_root: Path, model: str = "rsi_single_tf/1h_latest", **kw):
    """The same backtest in this process, as the worker runs it (same resolved paths)."""
    cfg = vbt.BacktestConfig(model_path=str((models_root / model).resolve()), data_dir=str(DATA),
                             symbol="EURUSD", timeframe="1h", start_date=START, end_date=END,
                             **kw)  # fmt: skip
    return vbt.BacktestEngine(cfg).run()


#: metrics the older worker reports that vbt's metrics do not have (computed from the trades)
OLDER_ONLY_METRICS = ("avg_win_holding_period", "avg_loss_holding_period")


def vbt_metrics(summary: dict) -> dict:
    """The metrics of a result in the older shape (every metric a number, the undefined ones
    named in ``undefined_metrics``) in vbt's terms: the undefined ones None again, without the
    metrics vbt does not have."""
    undefined = set(summary["undefined_metrics"])
    return {k: (None if k in undefined else v) for k, v in summary["metrics"].items()
            if k not in OLDER_ONLY_METRICS}  # fmt: skip


def same_result(got: dict, want) -> None:
    """The worker's full result (in the older shape) equals ``want`` (a BacktestResult) in every
    number and trade; only the stage timings, the chunking and the paths (relative to the
    worker's roots there) differ."""
    d = want.to_dict(include_trades=True)
    assert vbt_metrics(got) == d["metrics"]
    assert got["trades"] == d["trades"]
    for key in ("trade_count", "equity_curve_length", "params", "bars", "valid_bars",
                "output_type"):  # fmt: skip
        assert got[key] == d[key], key
    for older, key in (("strategy_name", "strategy"), ("start_time", "start"),
                       ("end_time", "end")):  # fmt: skip
        assert got[older] == d[key], older
    skip = {"chunk_bars", "model_path", "data_dir"}
    assert {k: v for k, v in got["config"].items() if k not in skip} == {
        k: v for k, v in d["config"].items() if k not in skip
    }
    for key in ("model_path", "data_dir"):  # relative to the worker's roots
        rel = got["config"][key]
        assert not Path(rel).is_absolute(), (key, rel)
        assert rel == "." or Path(d["config"][key]).resolve().as_posix().endswith("/" + rel)
