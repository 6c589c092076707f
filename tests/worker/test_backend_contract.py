"""The whole protocol with the older backend, over HTTP: a real ``vbt worker`` process and a
stand-in for the older backend's side (``fake_backend``, a real HTTP server).

In order, one worker throughout: the worker starts while the backend is away, keeps trying
(unreachable, then 503), registers; the backend's health checks keep it registered and see it
busy; the backend dispatches backtests as its BacktestingService does (one trades, one never
trades), polls them, reads every field its consumers read, and cancels one; it shuts down
gracefully (``/backend-shutdown``) and restarts, and the worker re-registers at once, reporting
an operation that finished meanwhile, which the backend reconciles; it crashes and restarts, and
the worker notices the missing health checks and registers again with the operation it runs.

The worker runs with ``--health-check-timeout 1.5`` (the defaults' values are tested in
``test_registration.py``): it checks every 0.5 s, polls every 0.1 s for at most 6 s after a
shutdown notice, and retries every 0.05 s doubling to 1.5 s.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from fake_backend import (
    REGISTRATION_FIELDS,
    REPORT_FIELDS,
    Database,
    FakeBackend,
    backtest_gate_input,
    cli_results_table,
    fitness_input,
)
from workerkit import Worker, expected_backtest, free_port

TIMEOUT = 1.5  # --health-check-timeout
WORKER_ID = "backtest-contract-1"
STRATEGY = "strategies/rsi_single_tf.yaml"  # the backend passes a config path; its stem is sent
HOST_MODEL = "/home/ktrdr/.ktrdr/shared/models/rsi_single_tf/1h_latest"  # an older host path
MARCH, END_APRIL = datetime(2024, 3, 1), datetime(2024, 4, 30)  # ~1,400 bars: ~3 s here


class RegisteringWorker(Worker):
    """A worker that finds its backend through the older variable ``KTRDR_API_URL`` (with the
    ``/api/v1`` suffix the older settings carry) and is told its id and public URL by flag."""

    def __init__(self, *args, backend_port: int, **kw):
        super().__init__(*args, **kw)
        self.backend_port = backend_port

    def command(self, *extra: str) -> list[str]:
        return super().command("--worker-id", WORKER_ID, "--public-url", self.url,
                               "--health-check-timeout", str(TIMEOUT), *extra)  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**super().env(), "KTRDR_API_URL": f"http://127.0.0.1:{self.backend_port}/api/v1"}

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if needle in line]


class Stack:
    """The backend's database (it outlives the backend), the backend now, and the worker."""

    def __init__(self, worker: RegisteringWorker, port: int):
        self.db, self.port, self.worker = Database(), port, worker
        self.backend: FakeBackend | None = None
        self.first_registration: dict | None = None


@pytest.fixture(scope="module")
def models(models_root, tmp_path_factory) -> Path:
    """The fixture model, and a copy whose confidence threshold no prediction reaches: a run
    without a single trade."""
    root = tmp_path_factory.mktemp("contract-models")
    shutil.copytree(models_root / "rsi_single_tf", root / "rsi_single_tf", symlinks=True)
    never = root / "rsi_never" / "1h_v1"
    shutil.copytree((models_root / "rsi_single_tf" / "1h_latest").resolve(), never)
    config = json.loads((never / "config.json").read_text())
    config["decisions"]["confidence_threshold"] = 0.999
    (never / "config.json").write_text(json.dumps(config))
    assert expected_backtest(root, "rsi_never/1h_v1").trades.height == 0
    assert expected_backtest(root).trades.height > 0
    return root


@pytest.fixture(scope="module")
def stack(models, tmp_path_factory):
    port = free_port()  # the backend's port: nothing listens there yet
    worker = RegisteringWorker(models, tmp_path_factory.mktemp("contract") / "state",
                               "--checkpoint-bars", "100", "--chunk-delay", "0.2",
                               backend_port=port)  # fmt: skip
    s = Stack(worker, port)
    worker.start()  # returns once /health answers: registration does not hold the API up
    try:
        yield s
    finally:
        worker.stop()
        if s.backend is not None and not s.backend.shutting_down:
            s.backend.crash()


def until(what, timeout: float = 60.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what}")


def worker_op(stack: Stack, op_id: str) -> dict:
    with stack.worker.client() as c:
        return c.get(f"/api/v1/operations/{op_id}").json()["data"]


def dispatch(backend: FakeBackend, op_id: str, model_path: str | None = HOST_MODEL,
             start: datetime = MARCH, end: datetime = END_APRIL) -> dict:  # fmt: skip
    return backend.dispatch_backtest(op_id, symbol="EURUSD", timeframe="1h",
                                     strategy_config_path=STRATEGY, model_path=model_path,
                                     start_date=start, end_date=end)  # fmt: skip


def is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ---- registration -------------------------------------------------------------------------------
def test_registers_while_the_backend_is_away_and_keeps_trying(stack):
    w = stack.worker
    # the backend is not there: one line per attempt, and the API answers meanwhile
    until(lambda: len(w.log_lines("the backend is unreachable")) >= 3)
    with w.client() as c:
        assert c.get("/api/v1/operations").status_code == 200
    assert all(line.startswith("vbt worker: registration: ") for line in w.log_lines("unreach"))
    # the backend is there but shutting down: 503 with Retry-After, and the worker keeps trying
    stack.backend = FakeBackend(stack.db, stack.port, health_interval=0.3)
    stack.backend.shutting_down = True
    stack.backend.start()
    refused = until(lambda: (lambda r: r if len(r) >= 2 else None)(
        stack.backend.registrations(503)))  # fmt: skip
    assert w.log_lines("HTTP 503")
    gaps = [b["time"] - a["time"] for a, b in zip(refused, refused[1:], strict=False)]
    assert all(g <= TIMEOUT + 0.5 for g in gaps), gaps  # retries capped at the timeout
    stack.backend.shutting_down = False
    [reg] = until(lambda: stack.backend.registrations(200), timeout=2 * TIMEOUT + 5)
    assert stack.backend.received("GET", "/api/v1/workers/") == []  # it retried registering
    body = reg["body"]
    # the older WorkerRegistrationRequest, every field
    assert set(body) == REGISTRATION_FIELDS
    assert body["worker_id"] == WORKER_ID and body["worker_type"] == "backtesting"
    assert body["endpoint_url"] == w.url
    caps = body["capabilities"]
    assert isinstance(caps["cores"], int) and caps["cores"] >= 1 and caps["memory_gb"] > 0
    assert body["current_operation_id"] is None and body["completed_operations"] == []
    stack.first_registration = body
    # the backend health-checks the worker and finds it idle
    until(lambda: len([h for h in stack.backend.health_checks if h["data"]]) >= 2)
    assert stack.backend.health_checks[-1]["data"]["worker_status"] == "idle"
    assert stack.backend.workers[WORKER_ID]["status"] == "available"


def test_health_checks_keep_the_registration_quiet(stack):
    """While the backend health-checks the worker, the worker neither asks whether it is still
    registered nor registers again."""
    b = stack.backend
    time.sleep(3 * TIMEOUT)
    assert b.received("GET", "/api/v1/workers/") == []
    assert len(b.registrations(None)) == len(b.registrations(503)) + 1
    assert len(b.health_checks) >= 3 * TIMEOUT / b.health_interval - 2


def test_missing_health_checks_from_a_backend_that_still_knows_the_worker(stack):
    """Health checks stop (the backend cannot reach the worker) but the backend still knows it:
    the worker asks, hears 200, and does not register again."""
    b = stack.backend
    registered = len(b.registrations(None))
    b.health_paused.set()
    try:
        [lookup] = until(lambda: b.received("GET", "/api/v1/workers/"), timeout=4 * TIMEOUT)
        assert lookup["path"] == f"/api/v1/workers/{WORKER_ID}" and lookup["status"] == 200
        time.sleep(TIMEOUT / 2)
        assert len(b.registrations(None)) == registered
    finally:
        b.health_paused.clear()
    until(lambda: b.health_checks[-1]["time"] > lookup["time"])


# ---- dispatch, status, results, cancel ---------------------------------------------------------
CLI_METRICS = ("total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades", "win_rate")
GATE_METRICS = ("sharpe_ratio", "win_rate", "max_drawdown_pct", "total_return", "total_trades")
FITNESS_METRICS = ("sharpe_ratio", "max_drawdown_pct")
RUN_FIELDS = ("strategy_name", "symbol", "timeframe", "start_time", "end_time",
              "execution_time_seconds", "config", "metrics", "trade_count",
              "equity_curve_length")  # fmt: skip
CONFIG_FIELDS = ("initial_capital", "commission", "slippage", "start_date", "end_date")


def check_older_consumers(op: dict) -> dict:
    """Every field the older backend's readers of a backtest result read, by name: present, and
    a finite number where they format or compare it. Returns the summary."""
    summary = op["result_summary"]
    metrics = summary["metrics"]
    for name in {*CLI_METRICS, *GATE_METRICS, *FITNESS_METRICS}:
        assert is_number(metrics[name]), (name, metrics.get(name))
    assert isinstance(metrics["total_trades"], int)
    for name in RUN_FIELDS:  # the older BacktestResults.to_dict
        assert name in summary, name
    for name in CONFIG_FIELDS:
        assert name in summary["config"], name
    assert is_number(summary["execution_time_seconds"])
    assert isinstance(summary["trade_count"], int) and summary["trade_count"] == (
        metrics["total_trades"])  # fmt: skip
    assert isinstance(summary["equity_curve_length"], int) and summary["equity_curve_length"] > 0
    assert (summary["strategy_name"], summary["symbol"], summary["timeframe"]) == (
        "rsi_single_tf", "EURUSD", "1h")  # fmt: skip
    assert isinstance(summary["undefined_metrics"], list)
    assert set(summary["undefined_metrics"]) <= set(metrics)
    # the readers themselves, run on it
    table = cli_results_table(summary)
    assert len(table) == 6 and table[-1].startswith("Equity curve: ")
    gate = backtest_gate_input(summary)
    assert all(is_number(v) for v in gate.values()), gate
    sharpe, drawdown, name = fitness_input(op)
    assert (sharpe, drawdown, name) == (metrics["sharpe_ratio"], metrics["max_drawdown_pct"],
                                        "rsi_single_tf")  # fmt: skip
    return summary


def test_dispatched_backtests_give_the_backend_what_its_consumers_read(stack):
    b = stack.backend
    started = dispatch(b, "op_trades")
    assert started == {"remote_operation_id": "op_trades", "backend_operation_id": "op_trades",
                       "status": "started", "worker_id": WORKER_ID}  # fmt: skip
    # while it runs, the health checks say busy with it: the backend's claim on the operation
    until(lambda: any(h["data"] and h["data"]["worker_status"] == "busy"
                      and h["data"]["current_operation"] == "op_trades"
                      for h in b.health_checks))  # fmt: skip
    assert b.workers[WORKER_ID]["current_operation_id"] == "op_trades"
    running = b.get_operation("op_trades")
    assert running["status"] in ("pending", "running") and running["operation_type"] == (
        "backtesting")  # fmt: skip
    done = b.poll("op_trades")
    assert done["status"] == "completed", done
    assert done["progress"]["percentage"] == 100.0
    summary = check_older_consumers(done)
    assert summary["metrics"]["total_trades"] > 0
    assert done["metadata"]["parameters"]["strategy_name"] == "rsi_single_tf"
    assert stack.db.ops["op_trades"].status == "completed"
    assert stack.db.ops["op_trades"].result_summary == summary
    until(lambda: b.workers[WORKER_ID]["status"] == "available")

    dispatch(b, "op_zero", model_path="rsi_never/1h_v1")
    zero = b.poll("op_zero")
    assert zero["status"] == "completed", zero
    summary = check_older_consumers(zero)
    metrics = summary["metrics"]
    assert metrics["total_trades"] == summary["trade_count"] == 0
    assert metrics["win_rate"] == 0.0 and "win_rate" in summary["undefined_metrics"]
    assert cli_results_table(summary)[4] == "Win Rate 0.00%"
    until(lambda: b.workers[WORKER_ID]["status"] == "available")


def test_the_backend_cancels_a_running_backtest(stack):
    b = stack.backend
    dispatch(b, "op_cancel", start=datetime(2024, 2, 1), end=datetime(2024, 6, 30))
    until(lambda: b.get_operation("op_cancel")["progress"]["items_processed"] >= 100)
    data = b.cancel_operation("op_cancel", reason="stopped from the backend")
    assert data["operation_id"] == "op_cancel" and data["cancel_requested"] is True
    done = b.poll("op_cancel")
    assert done["status"] == "cancelled", done
    assert stack.db.ops["op_cancel"].status == "cancelled"
    until(lambda: b.workers[WORKER_ID]["status"] == "available")


# ---- backend restarts ---------------------------------------------------------------------------
def test_backend_shutdown_then_restart_reconciles_what_finished_meanwhile(stack):
    old, w = stack.backend, stack.worker
    dispatch(old, "op_away")
    until(lambda: old.get_operation("op_away")["progress"]["items_processed"] >= 100)
    noticed = time.monotonic()
    # the backend stops gracefully: 503 to registrations, the notice, a moment, gone
    assert old.graceful_shutdown(linger=0.6) == [200]
    assert old.shutdown_replies == [{"acknowledged": True}]
    polled = [r for r in old.registrations(503) if r["time"] > noticed]
    assert polled, "after the notice the worker polls by registering (503 while stopping)"
    assert w.log_lines("the backend is shutting down: polling")
    # op_away finishes while no backend is there
    away = until(lambda: (lambda d: d if d["status"] == "completed" else None)(
        worker_op(stack, "op_away")), timeout=60)  # fmt: skip
    assert stack.db.ops["op_away"].status == "running"  # the backend never saw it end
    # the backend comes back (same port, same database, an empty registry)
    new = stack.backend = FakeBackend(stack.db, stack.port, health_interval=0.3).start()
    [reg] = until(lambda: new.registrations(200), timeout=10)
    # at once, by the polling (no health-check timeout, no "do you know me?" first)
    assert reg["time"] - new.started_at < TIMEOUT
    assert new.received("GET", "/api/v1/workers/") == []
    body = reg["body"]
    assert set(body) == REGISTRATION_FIELDS and body["current_operation_id"] is None
    reports = {r["operation_id"]: r for r in body["completed_operations"]}
    # everything that finished since the last registration, in the older report shape
    assert {k: r["status"] for k, r in reports.items()} == {
        "op_trades": "COMPLETED", "op_zero": "COMPLETED", "op_cancel": "CANCELLED",
        "op_away": "COMPLETED"}  # fmt: skip
    report = reports["op_away"]
    assert set(report) == REPORT_FIELDS and report["error_message"] is None
    assert report["result"] == away["result_summary"]
    finished = datetime.fromisoformat(report["completed_at"])
    assert finished == datetime.fromisoformat(away["completed_at"].replace("Z", "+00:00"))
    assert reports["op_cancel"]["result"] is None
    # the backend reconciled: op_away completed with the worker's summary; the others known
    op = stack.db.ops["op_away"]
    assert op.status == "completed" and op.result_summary == away["result_summary"]
    assert "op_away: running -> COMPLETED" in stack.db.notes
    assert "op_trades already completed" in stack.db.notes
    check_older_consumers({"result_summary": op.result_summary, "metadata": op.metadata})
    # and its health checks reach the worker again
    until(lambda: any(h["data"] for h in new.health_checks))
    assert new.workers[WORKER_ID]["endpoint_url"] == w.url


def test_backend_crash_is_noticed_by_the_missing_health_checks(stack):
    old = stack.backend
    dispatch(old, "op_long", start=datetime(2024, 2, 1), end=datetime(2024, 6, 30))
    until(lambda: old.get_operation("op_long")["progress"]["items_processed"] >= 100)
    old.crash()  # no notice: the health checks just stop
    last_check = max(h["time"] for h in old.health_checks if h["data"])
    new = stack.backend = FakeBackend(stack.db, stack.port, health_interval=0.3).start()
    [reg] = until(lambda: new.registrations(200), timeout=4 * TIMEOUT + 5)
    # first "do you know me?" (404 from the new registry), then a registration
    [lookup] = new.received("GET", "/api/v1/workers/")
    assert lookup["path"] == f"/api/v1/workers/{WORKER_ID}" and lookup["status"] == 404
    assert lookup["time"] <= reg["time"]
    # ... only once the health checks had been missing for the timeout
    assert lookup["time"] - last_check >= TIMEOUT - 0.05
    assert stack.worker.log_lines("no health check from the backend for")
    body = reg["body"]
    assert body["current_operation_id"] == "op_long"  # what it runs: the backend's claim
    assert body["completed_operations"] == []  # nothing finished since the last registration
    op = stack.db.ops["op_long"]
    assert op.status == "running" and op.worker_id == WORKER_ID
    until(lambda: any(h["data"] and h["data"]["current_operation"] == "op_long"
                      for h in new.health_checks))  # fmt: skip
    assert new.workers[WORKER_ID]["current_operation_id"] == "op_long"
    assert until(lambda: worker_op(stack, "op_long")["status"] == "completed", timeout=60)
