"""A worker stays responsive while hostile start requests are refused: a real worker over HTTP
gets sweep constraints and batch specs that once hung it (a tower of powers, deep nesting,
division by zero) and a batch spec that is slow to validate, while a second client polls
``/health``; every poll is answered quickly and every hostile request gets a 422 naming the
field. The validation's time limit and its concurrency limit are checked in this process."""

from __future__ import annotations

import multiprocessing
import threading
import time

import httpx
import pytest
from workerkit import END, START, Worker, body

from vbt.worker import jobs as job_kinds
from vbt.worker.errors import RequestError
from vbt.worker.schemas import BatchStartRequest
from vbt.worker.settings import WorkerSettings
from vbt.worker.validation import MAX_PARALLEL, Validator

MODEL = "rsi_single_tf/1h_latest"
POLL_LIMIT_S = 2.0  # an idle worker answers /health in milliseconds; a stalled one never
HOSTILE = [
    ("9**9**9**9", "the exponent of ** must be a number"),
    ("2**2**2**2**2**2**2**2**2", "the exponent of ** must be a number"),
    ("commission ** 99999 > 0", "exponent 99999 of ** is beyond"),
    ("-" * 900 + "commission > 0", "nested more than 32 deep"),
    ("(" * 199 + "commission" + ")" * 199 + " > 0", ""),  # parsed: parentheses make no nodes
    ("not " * 240 + "commission", "nested more than 32 deep"),
    ("1" * 900 + " > commission", "is beyond"),
    ("bogus > 0", "unknown parameter 'bogus'"),  # could never be evaluated: refused at once
    ("__import__('os').system('true')", "Call is not allowed"),
]


def batch_spec(constraint: str | None = None, jobs: list | None = None, grid=None) -> dict:
    sweep = {"sweep": {"constraint": constraint}} if constraint is not None else {}
    return {"defaults": {"model": MODEL, "symbol": "EURUSD", "start_date": START,
                         "end_date": END},
            "jobs": jobs or [{"grid": grid or {"commission": [0.0, 0.001]}, **sweep}]}  # fmt: skip


def slow_spec(n: int) -> dict:
    """``n`` jobs, each with a grid of a million values (seconds to validate), the last one
    bad: a 422 naming it, once every job before it is validated."""
    jobs = [{"config": {"commission": 0.0001 * i}} for i in range(n - 1)]
    jobs.append({"config": {"commission": 2.0}})
    return batch_spec(jobs=jobs) | {
        "defaults": {**batch_spec()["defaults"],
                     "grid": {"confidence_threshold": "0:0.999999:0.000001"}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def worker(models_root, tmp_path_factory):
    with Worker(models_root, tmp_path_factory.mktemp("hostile") / "state") as w:
        yield w


class Poller:
    """Polls ``/health`` every 50 ms from its own thread and client, timing each answer."""

    def __init__(self, url: str):
        self.url, self.times, self.failures = url, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    ok = c.get("/health").status_code == 200
                except httpx.HTTPError as e:
                    ok = False
                    self.failures.append(repr(e))
                self.times.append(time.perf_counter() - t)
                if not ok:
                    self.failures.append("not 200")
                time.sleep(0.05)

    def __enter__(self) -> Poller:
        self._thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)


def test_health_answers_while_hostile_requests_are_refused(worker, client):
    with Poller(worker.url) as poller:
        for constraint, message in HOSTILE:
            t = time.perf_counter()
            r = client.post("/sweeps/start", json=body(grid={"commission": [0.0, 0.001]},
                                                       constraint=constraint))  # fmt: skip
            if not message:  # within the grammar: a sweep that starts
                assert r.status_code == 200, r.text
                continue
            assert r.status_code == 422, r.text
            [detail] = r.json()["detail"]
            assert detail["loc"] == ["body", "constraint"] and message in detail["msg"], r.text
            r = client.post("/batches/start", json={"spec": batch_spec(constraint)})
            assert r.status_code == 422, r.text
            assert "jobs[0].sweep.constraint" in r.text and message in r.text, r.text
            assert time.perf_counter() - t < 30
        # division by zero: the batch's planning evaluates the constraint over the grid
        r = client.post("/batches/start", json={"spec": batch_spec("slippage / commission > 1")})
        assert r.status_code == 422 and "division by zero at combination 0" in r.text, r.text
        # a spec that takes seconds to validate: the server answers /health meanwhile
        t = time.perf_counter()
        r = client.post("/batches/start", json={"spec": slow_spec(4)})
        assert r.status_code == 422 and "jobs[3].config.commission = 2.0" in r.text, r.text
        slow_s = time.perf_counter() - t
    assert not poller.failures, poller.failures
    assert len(poller.times) >= 10 and max(poller.times) < POLL_LIMIT_S, (max(poller.times),
                                                                         slow_s)  # fmt: skip


def settings_for(models_root, tmp_path, **kw) -> WorkerSettings:
    from workerkit import DATA

    return WorkerSettings(models_root=models_root, data_root=DATA, state_dir=tmp_path, **kw)


def validator(models_root, tmp_path, **kw) -> Validator:
    ctx = multiprocessing.get_context("forkserver")
    return Validator(ctx, settings_for(models_root, tmp_path, **kw))


def test_a_validation_that_takes_too_long_is_stopped(models_root, tmp_path):
    v = validator(models_root, tmp_path, validate_timeout_s=1)
    kind = job_kinds.get("batch")
    t = time.perf_counter()
    with pytest.raises(RequestError) as err:
        v.plan(kind, BatchStartRequest(spec=slow_spec(40)))
    assert err.value.status == 422 and err.value.field == "spec"
    assert "validation took longer than 1 s and was stopped" in err.value.message
    assert time.perf_counter() - t < 60  # not the minute 40 jobs would take
    # the same validator answers a good spec with its plan, and a bad one with the refusal
    v = validator(models_root, tmp_path)
    planned = v.plan(kind, BatchStartRequest(spec=batch_spec("commission > 0")))
    assert planned["spec"]["jobs"][0]["sweep"]["constraint"] == "commission > 0"
    with pytest.raises(RequestError, match=r"jobs\[0\]\.sweep\.constraint"):
        v.plan(kind, BatchStartRequest(spec=batch_spec("1 ** commission")))


def test_too_many_validations_at_once_get_503(models_root, tmp_path):
    v = validator(models_root, tmp_path)
    for _ in range(MAX_PARALLEL):
        assert v._slots.acquire(blocking=False)
    with pytest.raises(RequestError) as err:
        v.plan(job_kinds.get("batch"), BatchStartRequest(spec=batch_spec()))
    assert err.value.status == 503
    # a fast kind is planned in the request's thread, whatever the slots
    assert job_kinds.get("backtest").slow_field is None


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", ""])
def test_a_damaged_result_on_disk_is_a_409_naming_the_file(worker, client, damage):
    from workerkit import wait_for

    op = f"op_damaged_{abs(hash(damage)) % 10**8}"
    r = client.post("/backtests/start", json=body(task_id=op))
    assert r.status_code == 200, r.text
    assert wait_for(client, op)["status"] == "completed"
    result = worker.state / "jobs" / op / "result.json"
    assert client.get(f"/api/v1/operations/{op}/results").status_code == 200
    result.write_text(damage)
    r = client.get(f"/api/v1/operations/{op}/results")
    assert r.status_code == 409, r.text
    [detail] = r.json()["detail"]
    assert detail["loc"][-1] == "operation_id"
    assert f"{op}: its result cannot be read: {result}" in detail["msg"], r.text
