"""Jobs through their life over HTTP: cancel leaves a checkpoint and resume finishes exactly; a
kill -9 of the worker mid-job loses nothing and runs nothing twice; a job whose process dies is
failed with the reason; more jobs than ``--max-concurrent`` wait, and a full queue answers 503."""

from __future__ import annotations

import os
import signal
import time

import pytest
from workerkit import (
    Worker,
    body,
    expected_backtest,
    same_result,
    until_progress,
    vbt_metrics,
    wait_for,
)

from vbt.worker.procs import process_start_time

# 100-bar chunks (21 per run) with a pause after each: a job runs for a few seconds
SLOW = ("--checkpoint-bars", "100", "--chunk-delay", "0.15")


def full_result(client, op_id: str) -> dict:
    r = client.get(f"/api/v1/operations/{op_id}/results", params={"limit": 100_000})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_cancel_leaves_a_checkpoint_and_resume_continues_exactly(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state", *SLOW).start()
    try:
        with w.client() as c:
            assert c.post("/backtests/start", json=body(task_id="op_c")).status_code == 200
            until_progress(c, "op_c", 600)
            r = c.delete("/api/v1/operations/op_c/cancel", params={"reason": "user asked"})
            assert r.status_code == 200 and r.json()["data"]["cancel_requested"] is True
            cancelled = wait_for(c, "op_c")
            assert cancelled["status"] == "cancelled", cancelled
            at = cancelled["progress"]["items_processed"]
            assert 600 <= at < 2064
            assert (w.state / "jobs" / "op_c" / "checkpoint.npz").is_file()
            assert c.get("/api/v1/operations/op_c/results").status_code == 409

            r = c.post("/backtests/resume", json={"operation_id": "op_c", "task_id": "op_c"})
            assert r.status_code == 200 and r.json()["operation_id"] == "op_c"
            done = wait_for(c, "op_c")
            assert done["status"] == "completed", done
            assert done["progress"]["context"]["resumed_from_bar"] == at
            assert [e["event"] for e in done["events"]] == [
                "created", "started", "cancel requested", "cancelled", "resume requested",
                "resumed", "completed",
            ]  # fmt: skip
            same_result(full_result(c, "op_c"), expected_backtest(models_root))
            assert not (w.state / "jobs" / "op_c" / "checkpoint.npz").exists()
    finally:
        w.stop()


def test_cancel_of_a_waiting_job_is_immediate(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state", *SLOW).start()
    try:
        with w.client() as c:
            c.post("/backtests/start", json=body(task_id="first"))
            c.post("/backtests/start", json=body(task_id="second"))
            r = c.delete("/api/v1/operations/second/cancel")
            assert r.status_code == 200 and r.json()["data"]["status"] == "cancelled"
            c.delete("/api/v1/operations/first/cancel")
            assert wait_for(c, "first")["status"] == "cancelled"
            assert w.row("second")["attempts"] == 0  # never started
            # never started: resume starts it from the beginning
            assert c.post("/backtests/resume", json={"operation_id": "second"}).status_code == 200
            assert wait_for(c, "second")["status"] == "completed"
    finally:
        w.stop()


def test_kill_9_mid_job_resumes_from_checkpoint_and_loses_nothing(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state", *SLOW).start()
    ids = ["crash_a", "crash_b", "crash_c"]
    try:
        with w.client() as c:
            for op in ids:
                assert c.post("/backtests/start", json=body(task_id=op)).status_code == 200
            until_progress(c, "crash_a", 800)
        row = w.row("crash_a")
        assert row["status"] == "running" and row["pid"]
        w.kill9()
        # the job process died with its worker, so it cannot run alongside the resumed one
        deadline = time.monotonic() + 10
        while process_start_time(row["pid"]) == row["pid_start"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_start_time(row["pid"]) != row["pid_start"]
        assert w.row("crash_a")["status"] == "running"  # as the crash left it

        w.args = ("--checkpoint-bars", "100")  # restart at full speed
        w.start()
        with w.client() as c:
            finished = {op: wait_for(c, op) for op in ids}
            assert all(f["status"] == "completed" for f in finished.values()), finished
            want = expected_backtest(models_root)
            for op in ids:
                same_result(full_result(c, op), want)
            a = finished["crash_a"]
            assert a["progress"]["context"]["resumed_from_bar"] >= 800
            assert [e["event"] for e in a["events"]] == [
                "created", "started", "interrupted", "resumed", "completed",
            ]  # fmt: skip
            assert a["attempts"] == 2
            assert [finished[op]["attempts"] for op in ids[1:]] == [1, 1]  # each ran once
            listing = c.get("/api/v1/operations", params={"limit": 1000}).json()
            assert sorted(o["operation_id"] for o in listing["data"]) == sorted(ids)
    finally:
        w.stop()


def test_a_job_whose_process_dies_is_failed_with_the_reason(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state", *SLOW).start()
    try:
        with w.client() as c:
            c.post("/backtests/start", json=body(task_id="doomed"))
            until_progress(c, "doomed", 300)
            os.kill(w.row("doomed")["pid"], signal.SIGKILL)
            failed = wait_for(c, "doomed")
            assert failed["status"] == "failed"
            assert failed["error_message"] == "the job process was killed by SIGKILL"
            # the worker goes on: the next job runs
            c.post("/backtests/start", json=body(task_id="after", end_date="2024-03-20"))
            assert wait_for(c, "after")["status"] == "completed"
            # and the failed one resumes from the checkpoint it had written
            assert c.post("/backtests/resume", json={"operation_id": "doomed"}).status_code == 200
            done = wait_for(c, "doomed")
            assert done["status"] == "completed" and done["progress"]["context"]["resumed_from_bar"]
            same_result(full_result(c, "doomed"), expected_backtest(models_root))
    finally:
        w.stop()


def test_bad_input_fails_the_job_with_a_one_line_reason(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state").start()
    try:
        with w.client() as c:
            r = c.post("/backtests/start",
                       json=body(task_id="empty", start_date="2030-01-01", end_date="2030-02-01"))  # fmt: skip
            assert r.status_code == 200
            failed = wait_for(c, "empty")
            assert failed["status"] == "failed"
            assert "\n" not in failed["error_message"] and "2030" in failed["error_message"]
    finally:
        w.stop()


def test_more_jobs_than_max_concurrent_wait_and_a_full_queue_is_503(models_root, tmp_path):
    w = Worker(models_root, tmp_path / "state", *SLOW, "--max-concurrent", "2",
               "--max-queue", "2").start()  # fmt: skip
    try:
        with w.client() as c:
            ids = [f"q{i}" for i in range(4)]
            for op in ids[:2]:
                assert c.post("/backtests/start", json=body(task_id=op)).status_code == 200
            until_progress(c, "q0", 100)
            until_progress(c, "q1", 100)  # both slots taken
            for op in ids[2:]:
                assert c.post("/backtests/start", json=body(task_id=op)).status_code == 200
            full = c.post("/backtests/start", json=body(task_id="q4"))
            assert full.status_code == 503 and "queue is full" in full.text
            assert c.get("/api/v1/operations/q4").status_code == 404  # refused, not stored
            health = c.get("/health").json()
            assert health["worker_status"] == "busy" and health["current_operation"] in ids
            most = 0
            while True:
                ops = c.get("/api/v1/operations", params={"limit": 100}).json()["data"]
                running = sum(op["status"] == "running" for op in ops)
                most = max(most, running)
                assert running <= 2
                if all(op["status"] == "completed" for op in ops):
                    break
                time.sleep(0.05)
            assert most == 2
            assert c.get("/health").json()["worker_status"] == "idle"
            want = expected_backtest(models_root).metrics
            assert all(vbt_metrics(c.get(f"/api/v1/operations/{op}").json()["data"]
                                   ["result_summary"]) == want for op in ids)  # fmt: skip
    finally:
        w.stop()


@pytest.mark.parametrize("kind", ["sweeps"])
def test_sweep_cancel_and_resume_is_exact(models_root, tmp_path, kind):
    w = Worker(models_root, tmp_path / "state", "--checkpoint-bars", "100", "--chunk-delay",
               "0.1").start()  # fmt: skip
    grid = {"confidence_threshold": [0.0, 0.4], "slippage": [0.0, 0.0005, 0.001]}
    try:
        with w.client() as c:
            c.post(f"/{kind}/start", json=body(task_id="sw", grid=grid))
            until_progress(c, "sw", 3000)
            c.delete("/api/v1/operations/sw/cancel")
            assert wait_for(c, "sw")["status"] == "cancelled"
            assert c.post(f"/{kind}/resume", json={"operation_id": "sw"}).status_code == 200
            assert wait_for(c, "sw")["status"] == "completed"
            got = full_result(c, "sw")["rows"]
            c.post(f"/{kind}/start", json=body(task_id="sw2", grid=grid))
            assert wait_for(c, "sw2")["status"] == "completed"
            assert got == full_result(c, "sw2")["rows"]
    finally:
        w.stop()


def test_stopping_the_worker_checkpoints_running_jobs_and_the_next_start_resumes(
    models_root, tmp_path
):
    w = Worker(models_root, tmp_path / "state", *SLOW).start()
    with w.client() as c:
        c.post("/backtests/start", json=body(task_id="stopped"))
        until_progress(c, "stopped", 500)
    w.stop()  # SIGTERM: the job writes its checkpoint and stops, still "running" in the store
    # uvicorn re-raises SIGTERM once its graceful shutdown (ours included) is done
    assert w.proc.returncode in (0, -signal.SIGTERM)
    assert (w.state / "jobs" / "stopped" / "stop").exists()  # asked to stop, not killed
    assert w.row("stopped")["status"] == "running"
    assert (w.state / "jobs" / "stopped" / "checkpoint.npz").is_file()
    w.args = ("--checkpoint-bars", "100")
    w.start()
    try:
        with w.client() as c:
            done = wait_for(c, "stopped")
            assert done["status"] == "completed", done
            assert done["progress"]["context"]["resumed_from_bar"] >= 500
            same_result(full_result(c, "stopped"), expected_backtest(models_root))
    finally:
        w.stop()
