"""The worker's API over HTTP against a real server: start, poll, results, sweeps, idempotent
task ids, the operation list and its filters, health, metrics, and the seeds' MPS-tagged model."""

from __future__ import annotations

import pytest
from workerkit import (
    DATA,
    END,
    START,
    Worker,
    body,
    expected_backtest,
    same_result,
    vbt_metrics,
    wait_for,
)

import vbt


@pytest.fixture(scope="module")
def worker(models_root, tmp_path_factory):
    with Worker(
        models_root, tmp_path_factory.mktemp("api") / "state", "--checkpoint-bars", "300"
    ) as w:
        yield w


@pytest.fixture(scope="module")
def finished(client):
    """One backtest posted as the older backend posts it, run to the end."""
    r = client.post("/backtests/start", json=body(task_id="op_backtest_1"))
    assert r.status_code == 200, r.text
    assert r.json()["operation_id"] == "op_backtest_1" and r.json()["status"] == "started"
    return wait_for(client, "op_backtest_1")


def test_backtest_runs_to_completion_with_full_result(finished, client, models_root):
    assert finished["status"] == "completed", finished
    assert finished["operation_type"] == "backtesting"
    assert finished["progress"]["percentage"] == 100.0
    assert finished["progress"]["items_processed"] == finished["progress"]["items_total"] == 2064
    summary = finished["result_summary"]
    want = expected_backtest(models_root)
    assert vbt_metrics(summary) == want.metrics  # not an empty summary
    assert summary["trade_count"] == want.trades.height > 0
    assert summary["strategy_name"] == "rsi_single_tf" and summary["symbol"] == "EURUSD"
    full = client.get("/api/v1/operations/op_backtest_1/results", params={"limit": 100_000})
    assert full.status_code == 200
    data = full.json()["data"]
    same_result(data, want)
    assert data["trades_total"] == want.trades.height
    page = client.get("/api/v1/operations/op_backtest_1/results", params={"offset": 1, "limit": 2})
    assert page.json()["data"]["trades"] == data["trades"][1:3]
    meta = finished["metadata"]
    assert (meta["symbol"], meta["timeframe"], meta["start_date"]) == ("EURUSD", "1h", START)
    assert meta["parameters"]["strategy_name"] == "rsi_single_tf"


def test_task_id_given_twice_is_one_operation(finished, client, worker):
    again = client.post("/backtests/start", json=body(task_id="op_backtest_1"))
    assert again.status_code == 200
    assert again.json()["operation_id"] == "op_backtest_1"
    assert again.json()["job_status"] == "completed"  # not run a second time
    assert worker.row("op_backtest_1")["attempts"] == 1
    other = client.post("/backtests/start", json=body(task_id="op_backtest_1", commission=0.002))
    assert other.status_code == 409 and "task_id" in other.text


def test_without_task_id_the_worker_names_the_operation(client):
    r = client.post("/backtests/start", json=body(end_date="2024-04-30"))
    op = r.json()["operation_id"]
    assert op.startswith("worker_backtest_") and len(op) == len("worker_backtest_") + 12
    assert wait_for(client, op)["status"] == "completed"


def test_model_tagged_mps_backtests_on_the_cpu_worker(client, models_root):
    r = client.post("/backtests/start", json=body(task_id="op_mps",
                                                  model_path="from_mac/rsi_single_tf_mps"))  # fmt: skip
    assert r.status_code == 200, r.text
    done = wait_for(client, "op_mps")
    assert done["status"] == "completed", done
    want = expected_backtest(models_root, "from_mac/rsi_single_tf_mps")
    assert vbt_metrics(done["result_summary"]) == want.metrics
    assert want.metrics == expected_backtest(models_root).metrics  # the same weights


def test_older_host_model_paths_map_under_the_models_root(client):
    host = "/home/someone/.ktrdr/shared/models/rsi_single_tf/1h_latest"
    r = client.post("/backtests/start", json=body(task_id="op_host_path", model_path=host,
                                                  end_date="2024-04-15"))  # fmt: skip
    assert r.status_code == 200, r.text
    done = wait_for(client, "op_host_path")
    assert done["status"] == "completed", done
    assert done["result_summary"]["model_path"].endswith("rsi_single_tf/1h_v1")
    docker = client.post("/backtests/start", json=body(model_path="/app/models/nope/1h_v9"))
    assert docker.status_code == 404 and "model_path" in docker.text


def test_sweep_job_equals_vbt_sweep(client, models_root):
    grid = {"confidence_threshold": "0.4:0.6:0.1", "commission": [0.0005, 0.001]}
    r = client.post("/sweeps/start", json=body(task_id="op_sweep", grid=grid, top=3))
    assert r.status_code == 200, r.text
    done = wait_for(client, "op_sweep")
    assert done["status"] == "completed", done
    assert done["operation_type"] == "sweep"
    cfg = vbt.BacktestConfig(
        model_path=str((models_root / "rsi_single_tf/1h_latest").resolve()), data_dir=str(DATA),
        symbol="EURUSD", timeframe="1h", start_date=START, end_date=END,
    )  # fmt: skip
    want = vbt.sweep(cfg, grid)
    data = client.get("/api/v1/operations/op_sweep/results").json()["data"]
    assert data["rows"] == want.table.to_dicts()
    assert data["rows_total"] == want.table.height == 6
    assert done["result_summary"]["best"] == want.best(3).to_dicts()


def test_operation_list_and_filters(finished, client):
    r = client.get("/api/v1/operations", params={"limit": 1000})
    assert r.status_code == 200
    listing = r.json()
    ids = [op["operation_id"] for op in listing["data"]]
    assert "op_backtest_1" in ids and listing["total_count"] == len(ids)
    done = client.get("/api/v1/operations", params={"status": "completed", "limit": 1000}).json()
    assert all(op["status"] == "completed" for op in done["data"])
    sweeps = client.get("/api/v1/operations", params={"operation_type": "sweep"}).json()
    assert all(op["operation_type"] == "sweep" for op in sweeps["data"])
    active = client.get("/api/v1/operations", params={"active_only": True}).json()
    assert all(op["status"] in ("pending", "running") for op in active["data"])
    assert active["active_count"] == len(active["data"])
    first = client.get("/api/v1/operations", params={"limit": 1, "offset": 0}).json()["data"]
    second = client.get("/api/v1/operations", params={"limit": 1, "offset": 1}).json()["data"]
    assert len(first) == len(second) == 1 and first[0] != second[0]
    op = next(o for o in listing["data"] if o["operation_id"] == "op_backtest_1")
    assert op["symbol"] == "EURUSD" and op["duration_seconds"] > 0


def test_finished_operations_refuse_cancel_and_resume(finished, client):
    cancel = client.delete("/api/v1/operations/op_backtest_1/cancel")  # as the older worker
    assert cancel.status_code == 200 and cancel.json()["data"]["success"] is False
    assert client.get("/api/v1/operations/op_backtest_1").json()["data"]["status"] == "completed"
    r = client.post("/backtests/resume", json={"operation_id": "op_backtest_1"})
    assert r.status_code == 409
    assert client.get("/api/v1/operations/no_such_op").status_code == 404
    assert client.delete("/api/v1/operations/no_such_op/cancel").status_code == 404
    assert client.post("/backtests/resume", json={"operation_id": "no_such_op"}).status_code == 404
    assert client.get("/api/v1/operations/no_such_op/results").status_code == 404


def test_health_metrics_and_root(finished, client):
    h = client.get("/health").json()
    assert h["healthy"] is True and h["worker_status"] in ("idle", "busy")
    assert h["max_concurrent"] == 1 and "current_operation" in h
    m = client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    assert 'vbt_worker_jobs{kind="backtest",status="completed"}' in m.text
    assert "vbt_worker_max_concurrent 1" in m.text
    ops = client.get("/api/v1/operations/op_backtest_1/metrics").json()
    assert ops["data"]["operation_id"] == "op_backtest_1" and ops["data"]["metrics"] == []
    assert client.get("/").json()["job_kinds"]["backtest"] == "/backtests/start"
