"""Registration with the older backend, in process: the defaults are the older workers' (30 s
without a health check, checks every 10 s, polls every 2 s for 120 s, retries 1 s doubling to
30 s, ``backtest-<host>``, ``http://<host>:<port>``), the settings come from the flags or the
older variables, the retries back off, a container's own health check does not count, and the
report of finished operations has the older shape. ``test_backend_contract.py`` runs it all
against a backend over HTTP."""

from __future__ import annotations

import json
import socket
import time

import pytest

from vbt.cli import options
from vbt.cli.commands.worker import worker_settings
from vbt.errors import ConfigError
from vbt.worker import registration
from vbt.worker.app import create_app
from vbt.worker.registration import Registrar
from vbt.worker.settings import WorkerSettings
from vbt.worker.store import JobStore

HOST = socket.gethostname()
OLDER_VARIABLES = ("KTRDR_API_CLIENT_BASE_URL", "KTRDR_API_URL", "KTRDR_WORKER_ID", "WORKER_ID",
                   "KTRDR_WORKER_PUBLIC_BASE_URL", "WORKER_PUBLIC_BASE_URL")  # fmt: skip


@pytest.fixture
def roots(tmp_path, monkeypatch):
    for name in OLDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return {"models_root": tmp_path, "data_root": tmp_path, "state_dir": tmp_path / "state"}


def args(*extra: str, root) -> object:
    return options.parser().parse_args(["worker", "--models-root", str(root), "--data-root",
                                     str(root), "--state-dir", str(root / "state"), *extra])  # fmt: skip


def registrar(settings: WorkerSettings, summary=lambda job: None) -> Registrar:
    return Registrar(settings, JobStore(settings.db_path), summary)


def test_the_defaults_are_the_older_workers(roots, tmp_path):
    s = worker_settings(args("--backend-url", "http://backend:8000/api/v1/", root=tmp_path))
    assert s.backend_url == "http://backend:8000"  # /api/v1 stripped, as the older workers do
    assert s.worker_id == f"backtest-{HOST}"
    assert s.public_url == f"http://{HOST}:5003"
    assert s.health_check_timeout_s == 30.0
    r = registrar(s)
    assert (r.health_check_timeout, r.check_every, r.poll_every, r.poll_for) == (30, 10, 2, 120)
    assert (r.first_delay, r.max_delay) == (1, 30)
    port = worker_settings(args("--backend-url", "http://b", "--port", "5004", root=tmp_path))
    assert port.public_url == f"http://{HOST}:5004"


def test_flags_and_the_older_variables(roots, tmp_path, monkeypatch):
    assert worker_settings(args(root=tmp_path)).backend_url is None  # no registration
    monkeypatch.setenv("KTRDR_API_URL", "http://old-name:8000/api/v1")
    assert worker_settings(args(root=tmp_path)).backend_url == "http://old-name:8000"
    monkeypatch.setenv("KTRDR_API_CLIENT_BASE_URL", "http://new-name:8000")
    assert worker_settings(args(root=tmp_path)).backend_url == "http://new-name:8000"
    flag = args("--backend-url", "https://flag:9000", root=tmp_path)
    assert worker_settings(flag).backend_url == "https://flag:9000"
    monkeypatch.setenv("WORKER_ID", "old-id")
    monkeypatch.setenv("WORKER_PUBLIC_BASE_URL", "http://old-public:5003")
    s = worker_settings(args(root=tmp_path))
    assert (s.worker_id, s.public_url) == ("old-id", "http://old-public:5003")
    monkeypatch.setenv("KTRDR_WORKER_ID", "new-id")
    monkeypatch.setenv("KTRDR_WORKER_PUBLIC_BASE_URL", "http://new-public:5003/")
    s = worker_settings(args(root=tmp_path))
    assert (s.worker_id, s.public_url) == ("new-id", "http://new-public:5003")
    s = worker_settings(args("--worker-id", "flag-id", "--public-url", "http://w:1",
                                  "--health-check-timeout", "2.5", root=tmp_path))  # fmt: skip
    assert (s.worker_id, s.public_url, s.health_check_timeout_s) == ("flag-id", "http://w:1", 2.5)


@pytest.mark.parametrize("flags, names", [
    (("--backend-url", "backend:8000"), "--backend-url"),
    (("--backend-url", "ftp://backend"), "--backend-url"),
    (("--backend-url", "http://b", "--worker-id", "a/b"), "--worker-id"),
    (("--backend-url", "http://b", "--public-url", "worker:5003"), "--public-url"),
    (("--backend-url", "http://b", "--health-check-timeout", "0"), "--health-check-timeout"),
])  # fmt: skip
def test_bad_registration_settings_name_the_option(roots, tmp_path, flags, names):
    with pytest.raises(ConfigError, match=names):
        worker_settings(args(*flags, root=tmp_path))


def test_without_a_backend_url_nothing_changes(roots, tmp_path):
    def paths(settings) -> set[str]:
        return {r.path for r in create_app(settings).app.routes}

    plain = paths(WorkerSettings(**roots))
    assert "/backend-shutdown" not in plain
    registering = paths(WorkerSettings(**roots, backend_url="http://127.0.0.1:9"))
    assert registering - plain == {"/backend-shutdown"}


def test_registration_retries_back_off_from_1_to_30_seconds(roots):
    r = registrar(WorkerSettings(**roots, backend_url="http://127.0.0.1:9"))
    answers = iter([False] * 8 + [True])
    slept: list[float] = []
    r.register_once = lambda: next(answers)
    r._sleep = slept.append
    assert r._register_until_done() is True
    assert slept == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_containers_own_health_check_does_not_count(roots):
    remote = registrar(WorkerSettings(**roots, backend_url="http://10.1.2.3:8000"))
    remote.health_checked("127.0.0.1")  # the image's HEALTHCHECK, from inside the container
    assert remote.last_health_check is None
    remote.health_checked("10.1.2.3")
    assert remote.last_health_check is not None
    local = registrar(WorkerSettings(**roots, backend_url="http://localhost:8000"))
    local.health_checked("127.0.0.1")  # a backend on this host calls from loopback
    assert local.last_health_check is not None


def test_the_report_of_finished_operations(roots, monkeypatch):
    settings = WorkerSettings(**roots, backend_url="http://127.0.0.1:9", worker_id="w1",
                              public_url="http://w1:5003")  # fmt: skip
    store = JobStore(settings.db_path)

    def job(job_id: str, end: str | None) -> None:
        store.create(job_id, "backtest", {"symbol": "EURUSD"}, {})
        if end is None:
            return
        assert store.claim(job_id)
        if end == "completed":
            store.complete(job_id, {"metrics": {}}, {})
        elif end == "failed":
            store.fail(job_id, "the data ends before start_date")
        else:
            store.cancelled(job_id, "asked")

    job("before", "completed")
    time.sleep(0.01)
    after = time.time()
    for job_id, end in (("done", "completed"), ("broke", "failed"), ("stopped", "cancelled"),
                        ("now", None)):  # fmt: skip
        job(job_id, end)
    store.claim("now")
    summaries = {"done": {"sharpe_ratio": float("nan"), "total_trades": 3}}
    r = Registrar(settings, store, lambda j: summaries[j.id])
    sent: list[dict] = []

    def request(method, path, body=None):
        sent.append(body)
        json.dumps(body, allow_nan=False)  # strict JSON
        return 200, ""

    r._request = request
    r.state_file.write_text(json.dumps({"reported_until": after}))
    assert r.register_once()
    body = sent[0]
    assert (body["worker_id"], body["worker_type"], body["endpoint_url"]) == (
        "w1", "backtesting", "http://w1:5003")  # fmt: skip
    assert body["current_operation_id"] == "now"
    reports = body["completed_operations"]
    assert [(x["operation_id"], x["status"]) for x in reports] == [
        ("done", "COMPLETED"), ("broke", "FAILED"), ("stopped", "CANCELLED")]  # fmt: skip
    done, broke, stopped = reports
    assert done["result"] == {"sharpe_ratio": None, "total_trades": 3}
    assert broke["result"] is None and broke["error_message"] == "the data ends before start_date"
    assert stopped["result"] is None and stopped["error_message"] is None
    assert all(x["completed_at"].endswith("+00:00") for x in reports)
    # reported once: the next registration reports only what finished since
    assert r.register_once() and sent[1]["completed_operations"] == []
    job("later", "completed")
    summaries["later"] = {"total_trades": 0}
    assert r.register_once()
    assert [x["operation_id"] for x in sent[2]["completed_operations"]] == ["later"]
    # a fresh state: at most MAX_REPORTED, the latest
    monkeypatch.setattr(registration, "MAX_REPORTED", 2)
    r.state_file.unlink()
    assert r.register_once()
    assert [x["operation_id"] for x in sent[3]["completed_operations"]] == ["stopped", "later"]
