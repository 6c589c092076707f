"""A stand-in for the older (ktrdr) backend's side of the worker protocol, on a real HTTP server.

It does what that backend's source does with a backtest worker (reference §9), nothing more:

- ``POST /api/v1/workers/register`` validates the body as the older ``WorkerRegistrationRequest``
  (``completed_operations`` as ``CompletedOperationReport``: status ``COMPLETED``, ``FAILED`` or
  ``CANCELLED``, ISO ``completed_at``), answers **503 with ``Retry-After: 5``** while shutting
  down, keeps the worker in an in-memory registry (lost on restart) and reconciles the reported
  operations with its database (kept across restarts, like the older Postgres table);
- ``GET /api/v1/workers/{id}``: the worker, or 404 when this backend does not know it;
- a health-check loop: ``GET {endpoint}/health`` of every worker, busy/available from
  ``worker_status``, the claimed operation from ``current_operation``;
- dispatch as ``BacktestingService.run_backtest_on_worker``: the body it posts to
  ``/backtests/start`` (strategy name from the config file's name, ISO date-times), another worker
  on 503, the worker marked busy, a proxy to ``GET /api/v1/operations/{id}``, whose ``data`` is
  read into the older ``OperationInfo`` (statuses, types and progress bounds checked);
- cancel with ``DELETE /api/v1/operations/{id}/cancel?reason=``;
- a graceful shutdown (registrations refused with 503, ``POST {worker}/backend-shutdown`` with
  ``{"message": "Backend shutting down"}``, health checks stopped, server closed) and a crash
  (server gone, no notice).

``consumers`` re-states what the backend's readers of a backtest result use and how (the CLI's
results table, the research agent's backtest gate, the evolution harness's fitness), so that a
field they cannot use fails the contract test.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePath
from typing import Any

import httpx

WORKER_TYPES = {"backtesting", "training", "cpu_training", "gpu_host", "agent_design",
                "agent_assessment"}  # fmt: skip
OPERATION_STATUSES = {"pending", "resuming", "running", "completed", "failed", "cancelled"}
OPERATION_TYPES = {"data_load", "training", "backtesting", "indicator_compute", "fuzzy_analysis",
                   "dummy", "agent_research", "agent_design", "agent_assessment"}  # fmt: skip
TERMINAL = {"completed", "failed", "cancelled"}
REGISTRATION_FIELDS = {"worker_id", "worker_type", "endpoint_url", "capabilities",
                       "current_operation_id", "completed_operations"}  # fmt: skip
REPORT_FIELDS = {"operation_id", "status", "result", "error_message", "completed_at"}


class Invalid(ValueError):
    """A request body the older backend's models would refuse (422)."""


@dataclass
class Operation:
    """A row of the backend's operations table."""

    operation_id: str
    operation_type: str = "backtesting"
    status: str = "pending"
    worker_id: str | None = None
    result_summary: dict[str, Any] | None = None
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Database:
    """The backend's operations table: it outlives a backend restart."""

    def __init__(self) -> None:
        self.ops: dict[str, Operation] = {}
        self.lock = threading.Lock()
        self.notes: list[str] = []  # what reconciliation did, in order


class FakeBackend:
    """One run of the older backend on 127.0.0.1 (``port`` 0: a free one)."""

    def __init__(self, db: Database, port: int = 0, *, health_interval: float = 0.3,
                 health_timeout: float = 2.0, failures_threshold: int = 3):  # fmt: skip
        self.db = db
        self.health_interval, self.health_timeout = health_interval, health_timeout
        self.failures_threshold = failures_threshold
        self.workers: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []  # every request served: time, method, path, ...
        self.health_checks: list[dict[str, Any]] = []
        self.proxies: dict[str, tuple[str, str]] = {}  # backend op → (worker URL, worker op)
        self.shutting_down = False
        self.shutdown_replies: list[Any] = []  # what the workers answered the shutdown notice
        self.lock = threading.Lock()
        self._stop_health = threading.Event()
        self.health_paused = threading.Event()  # set: no health checks go out
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.client = httpx.Client(timeout=30.0)
        self.started_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeBackend:
        self.started_at = time.monotonic()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        threading.Thread(target=self._health_loop, daemon=True).start()
        return self

    # ---- what it was sent ----------------------------------------------------------------
    def received(self, method: str, prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method
                    and r["path"].startswith(prefix)]  # fmt: skip

    def registrations(self, status: int | None = 200) -> list[dict[str, Any]]:
        """Registration requests (answered with ``status``; None: all)."""
        found = self.received("POST", "/api/v1/workers/register")
        return [r for r in found if status is None or r["status"] == status]

    def wait(self, what, timeout: float = 30.0, every: float = 0.05):
        """Poll ``what()`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"not within {timeout}s: {what}")

    # ---- the HTTP side (worker → backend) ------------------------------------------------
    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict, dict]:
        """(status, JSON reply, headers) of one request."""
        if method == "POST" and path == "/api/v1/workers/register":
            if self.shutting_down:
                return 503, {"detail": "Backend is shutting down - retry after restart"}, {
                    "Retry-After": "5"}  # fmt: skip
            try:
                request = _registration(json.loads(body or b"null"))
            except (Invalid, ValueError) as e:
                return 422, {"detail": str(e)}, {}
            return 200, self._register(request), {}
        if method == "GET" and path.startswith("/api/v1/workers/"):
            worker_id = path.rsplit("/", 1)[1]
            with self.lock:
                worker = self.workers.get(worker_id)
            if worker is None:
                return 404, {"detail": f"Worker not found: {worker_id}"}, {}
            return 200, dict(worker), {}
        if method == "GET" and path == "/api/v1/workers":
            with self.lock:
                return 200, list(self.workers.values()), {}  # type: ignore[return-value]
        return 404, {"detail": "Not Found"}, {}

    def _register(self, request: dict[str, Any]) -> dict[str, Any]:
        """WorkerRegistry.register_worker: idempotent, a stale id at the same endpoint dropped,
        then the completed operations and the current one reconciled."""
        with self.lock:
            wid = request["worker_id"]
            for stale in [k for k, w in self.workers.items()
                          if w["endpoint_url"] == request["endpoint_url"] and k != wid]:  # fmt: skip
                del self.workers[stale]
            worker = self.workers.setdefault(wid, {"worker_id": wid, "health_check_failures": 0,
                                                   "current_operation_id": None,
                                                   "metadata": {}})  # fmt: skip
            worker.update(worker_type=request["worker_type"], endpoint_url=request["endpoint_url"],
                          capabilities=request["capabilities"] or {}, status="available",
                          last_healthy_at=time.time())  # fmt: skip
            reply = dict(worker)
        with self.db.lock:
            for report in request["completed_operations"]:
                self._reconcile_completed(report)
            if request["current_operation_id"]:
                self._reconcile_current(wid, request["current_operation_id"])
        return reply

    def _reconcile_completed(self, report: dict[str, Any]) -> None:
        op = self.db.ops.get(report["operation_id"])
        if op is None:
            self.db.notes.append(f"unknown completed operation {report['operation_id']}")
            return
        if op.status in TERMINAL:
            self.db.notes.append(f"{op.operation_id} already {op.status}")
            return
        self.db.notes.append(f"{op.operation_id}: {op.status} -> {report['status']}")
        if report["status"] == "COMPLETED":
            op.status, op.result_summary = "completed", report["result"]
        elif report["status"] == "FAILED":
            op.status = "failed"
            op.error_message = report["error_message"] or "Operation failed (no details)"
        else:
            op.status = "cancelled"

    def _reconcile_current(self, worker_id: str, operation_id: str) -> None:
        op = self.db.ops.get(operation_id)
        if op is None:
            self.db.notes.append(f"{worker_id} claims unknown operation {operation_id}")
        elif op.status == "completed":
            self.db.notes.append(f"{operation_id} completed in the database: stop it")
        elif op.status in ("failed", "cancelled", "pending"):
            self.db.notes.append(f"{operation_id}: {op.status} -> running on {worker_id}")
            op.status, op.worker_id = "running", worker_id

    def _health_loop(self) -> None:
        while not self._stop_health.wait(self.health_interval):
            with self.lock:
                ids = [] if self.health_paused.is_set() else list(self.workers)
            for wid in ids:
                self.health_check(wid)

    def health_check(self, worker_id: str) -> bool:
        """WorkerRegistry.health_check_worker: busy/available from ``worker_status``."""
        with self.lock:
            worker = self.workers.get(worker_id)
        if worker is None:
            return False
        try:
            r = self.client.get(f"{worker['endpoint_url']}/health", timeout=self.health_timeout)
            data = r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            data = None
        with self.lock:
            self.health_checks.append({"time": time.monotonic(), "worker_id": worker_id,
                                       "data": data})  # fmt: skip
            if data is not None:
                busy = data.get("worker_status", "idle") == "busy"
                worker["status"] = "busy" if busy else "available"
                worker["current_operation_id"] = data.get("current_operation") if busy else None
                worker["health_check_failures"] = 0
                worker["last_healthy_at"] = time.time()
                return True
            worker["health_check_failures"] += 1
            if worker["health_check_failures"] >= self.failures_threshold:
                worker["status"] = "temporarily_unavailable"
        return False

    # ---- the backend's services (backend → worker) ---------------------------------------
    def dispatch_backtest(self, operation_id: str, *, symbol: str, timeframe: str,
                          strategy_config_path: str, model_path: str | None, start_date: datetime,
                          end_date: datetime, initial_capital: float = 100000.0,
                          commission: float = 0.001, slippage: float = 0.0005,
                          timeframes: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        """BacktestingService.run_backtest_on_worker."""
        with self.db.lock:
            self.db.ops[operation_id] = Operation(operation_id, status="running", metadata={
                "symbol": symbol, "timeframe": timeframe, "parameters": {
                    "strategy_name": PurePath(strategy_config_path).stem,
                    "model_path": model_path}})  # fmt: skip
        payload = {
            "task_id": operation_id,
            "strategy_name": PurePath(strategy_config_path).stem,
            "symbol": symbol, "timeframe": timeframe,
            "start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
            "initial_capital": initial_capital, "commission": commission, "slippage": slippage,
            "model_path": model_path, "timeframes": timeframes or [],
        }  # fmt: skip
        tried: list[str] = []
        for _ in range(3):
            worker = self._select_worker(tried)
            tried.append(worker["worker_id"])
            r = self.client.post(f"{worker['endpoint_url']}/backtests/start", json=payload)
            if r.status_code == 503:
                continue
            r.raise_for_status()
            remote = r.json().get("operation_id")
            if not remote:
                raise RuntimeError("Remote service did not return operation_id")
            with self.lock:
                worker["status"], worker["current_operation_id"] = "busy", operation_id
                self.proxies[operation_id] = (worker["endpoint_url"], remote)
            with self.db.lock:
                self.db.ops[operation_id].worker_id = worker["worker_id"]
            return {"remote_operation_id": remote, "backend_operation_id": operation_id,
                    "status": "started", "worker_id": worker["worker_id"]}  # fmt: skip
        raise RuntimeError(f"no backtest worker took {operation_id} (tried {tried})")

    def _select_worker(self, excluded: list[str]) -> dict[str, Any]:
        with self.lock:
            free = [w for w in self.workers.values() if w["worker_type"] == "backtesting"
                    and w["status"] == "available" and w["worker_id"] not in excluded]  # fmt: skip
            if not free:
                raise RuntimeError(f"no available backtesting worker ({self.workers})")
            free.sort(key=lambda w: w["metadata"].get("last_selected", 0.0))
            free[0]["metadata"]["last_selected"] = time.time()
            return free[0]

    def get_operation(self, operation_id: str) -> dict[str, Any]:
        """OperationsService via OperationServiceProxy: the worker's ``data``, read as the older
        ``OperationInfo`` (a bad status, type or progress raises), stored in the database."""
        base, remote = self.proxies[operation_id]
        r = self.client.get(f"{base}/api/v1/operations/{remote}", params={"force_refresh": True})
        if r.status_code == 404:
            raise KeyError(f"Operation not found: {remote}")
        r.raise_for_status()
        reply = json.loads(r.text, parse_constant=_no_constant)
        data = reply["data"] if isinstance(reply, dict) and "data" in reply else reply
        _check_operation_info(data)
        with self.db.lock:
            op = self.db.ops[operation_id]
            op.status = data["status"]
            op.result_summary = data.get("result_summary")
            op.error_message = data.get("error_message")
        return data

    def poll(self, operation_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll ``get_operation`` until the operation is terminal (as the CLI does)."""
        return self.wait(lambda: (lambda d: d if d["status"] in TERMINAL else None)(
            self.get_operation(operation_id)), timeout=timeout, every=0.1)  # fmt: skip

    def cancel_operation(self, operation_id: str, reason: str | None = None) -> dict[str, Any]:
        base, remote = self.proxies[operation_id]
        r = self.client.delete(f"{base}/api/v1/operations/{remote}/cancel",
                               params={"reason": reason} if reason else {})  # fmt: skip
        if r.status_code == 404:
            raise KeyError(f"Operation not found: {remote}")
        r.raise_for_status()
        reply = r.json()
        return reply["data"] if isinstance(reply, dict) and "data" in reply else reply

    def graceful_shutdown(self, linger: float = 0.0) -> list[int]:
        """The backend's lifespan shutdown: refuse registrations, tell every worker (timeout
        2 s, best effort), stop the health checks, then (after ``linger`` s) close the server.
        Returns the status each worker answered the notice with."""
        self.shutting_down = True
        answers = []
        with self.lock:
            endpoints = [w["endpoint_url"] for w in self.workers.values()]
        for url in endpoints:
            try:
                r = self.client.post(f"{url}/backend-shutdown",
                                     json={"message": "Backend shutting down"}, timeout=2.0)  # fmt: skip
                answers.append(r.status_code)
                self.shutdown_replies.append(r.json())
            except httpx.HTTPError:
                answers.append(0)
        self._stop_health.set()
        time.sleep(linger)
        self._close()
        return answers

    def crash(self) -> None:
        """Gone without a word: no notice, no more health checks."""
        self._stop_health.set()
        self._close()

    def _close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.client.close()


def _handler(backend: FakeBackend):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            status, reply, headers = backend.handle(self.command, path, body)
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            with backend.lock:
                backend.requests.append({"time": time.monotonic(), "method": self.command,
                                         "path": path, "status": status, "body": parsed})  # fmt: skip
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler


# ---- the older models, as checks ---------------------------------------------------------------
def _registration(body: Any) -> dict[str, Any]:
    """WorkerRegistrationRequest (its defaults filled in); raises ``Invalid``."""
    if not isinstance(body, dict):
        raise Invalid("body: not an object")
    for name in ("worker_id", "endpoint_url"):
        if not isinstance(body.get(name), str):
            raise Invalid(f"{name}: a string is required")
    if body.get("worker_type") not in WORKER_TYPES:
        raise Invalid(f"worker_type: {body.get('worker_type')!r} is not a WorkerType")
    if not isinstance(body.get("capabilities"), dict | None):
        raise Invalid("capabilities: not an object")
    if not isinstance(body.get("current_operation_id"), str | None):
        raise Invalid("current_operation_id: not a string")
    reports = body.get("completed_operations", [])
    if not isinstance(reports, list):
        raise Invalid("completed_operations: not a list")
    for i, report in enumerate(reports):
        where = f"completed_operations[{i}]"
        if not isinstance(report, dict) or not isinstance(report.get("operation_id"), str):
            raise Invalid(f"{where}.operation_id: a string is required")
        if report.get("status") not in ("COMPLETED", "FAILED", "CANCELLED"):
            raise Invalid(f"{where}.status: {report.get('status')!r}")
        if not isinstance(report.get("result"), dict | None):
            raise Invalid(f"{where}.result: not an object")
        if not isinstance(report.get("error_message"), str | None):
            raise Invalid(f"{where}.error_message: not a string")
        datetime.fromisoformat(str(report.get("completed_at")).replace("Z", "+00:00"))
    return {"capabilities": None, "current_operation_id": None, **body,
            "completed_operations": reports}  # fmt: skip


def _check_operation_info(data: dict[str, Any]) -> None:
    """What OperationsService does with a worker's operation: the enums and bounds hold."""
    assert data["status"] in OPERATION_STATUSES, data["status"]
    assert data.get("operation_type", "training") in OPERATION_TYPES, data["operation_type"]
    for key in ("created_at", "started_at", "completed_at"):
        if data.get(key):
            datetime.fromisoformat(data[key].replace("Z", "+00:00"))
    p = data.get("progress") or {}
    assert 0.0 <= p.get("percentage", 0.0) <= 100.0, p
    for key in ("steps_completed", "steps_total", "items_processed"):
        assert isinstance(p.get(key, 0), int) and p.get(key, 0) >= 0, (key, p)
    assert p.get("items_total") is None or p["items_total"] >= 0, p
    meta = data.get("metadata") or {}
    assert isinstance(meta.get("parameters", {}), dict), meta


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the worker's JSON holds {name}, which is not JSON")


# ---- the backend's readers of a backtest result ---------------------------------------------
def cli_results_table(summary: dict[str, Any]) -> list[str]:
    """The CLI's backtest results table (ktrdr/cli/operation_adapters.py): each metric through
    its number format, and the equity curve's length compared with 0."""
    metrics = summary.get("metrics", {})
    rows = [
        f"Total Return {metrics.get('total_return_pct', 0.0):.2%}",
        f"Sharpe Ratio {metrics.get('sharpe_ratio', 0.0):.2f}",
        f"Max Drawdown {metrics.get('max_drawdown_pct', 0.0):.2%}",
        f"Total Trades {metrics.get('total_trades', 0)}",
        f"Win Rate {metrics.get('win_rate', 0.0):.2%}",
    ]
    if summary.get("equity_curve_length", 0) > 0:
        rows.append(f"Equity curve: {summary['equity_curve_length']} points")
    return rows


def backtest_gate_input(summary: dict[str, Any]) -> dict[str, Any]:
    """The research agent's backtest result (ktrdr/agents/workers/research_worker.py) and its
    gate's comparisons (ktrdr/agents/gates.py: win rate, drawdown, Sharpe against thresholds)."""
    metrics = summary.get("metrics", {})
    result = {
        "sharpe_ratio": metrics.get("sharpe_ratio", 0),
        "win_rate": metrics.get("win_rate", 0),
        "max_drawdown": metrics.get("max_drawdown_pct", 1.0),
        "total_return": metrics.get("total_return", 0),
        "total_trades": metrics.get("total_trades", 0),
        "net_return": metrics.get("net_return", metrics.get("total_return", 0)),
        "trade_count": metrics.get("total_trades", 0),
    }
    _ = (result["win_rate"] < 0.45, result["max_drawdown"] > 0.4, result["sharpe_ratio"] < -0.5,
         result["net_return"] < 0, result["trade_count"] < 10)  # fmt: skip
    return result


def fitness_input(op_data: dict[str, Any]) -> tuple[float, float, str | None]:
    """The evolution harness (ktrdr/evolution/harness.py, fitness.py): ``result_summary.metrics``
    as the slice result, Sharpe and drawdown as floats (a missing one scores the minimum), and
    the strategy name from the metadata's parameters or the summary."""
    summary = op_data.get("result_summary") or {}
    metrics = summary["metrics"]
    sharpe = metrics.get("sharpe_ratio", metrics.get("sharpe"))
    drawdown = metrics.get("max_drawdown_pct", metrics.get("max_drawdown"))
    assert sharpe is not None and drawdown is not None, "the fitness would be the minimum"
    long_, short = metrics.get("long_trades"), metrics.get("short_trades")
    if long_ is not None and short is not None:
        int(long_), int(short)
    params = (op_data.get("metadata") or {}).get("parameters", {})
    name = params.get("strategy_name") or summary.get("strategy_name")
    return float(sharpe), float(drawdown), name
