"""Batch jobs over HTTP against a real worker: ``POST /batches/start`` equals ``vbt.batch`` run
here, its paths stay inside the roots, a bad spec is a 422 naming the job and the field, and a
cancelled batch resumes without running a recorded job again."""

from __future__ import annotations

import json

import pytest
from workerkit import DATA, END, START, Worker, until_progress, wait_for

import vbt
from vbt.worker.compat import relative_paths

MODEL = "rsi_single_tf/1h_latest"
DROP = ("timings", "worker", "finished_at", "shared")  # where and when a job ran


def spec(commissions=(0.001, 0.0), grid=True) -> dict:
    """A batch over the fixture model, paths relative to the worker's roots."""
    jobs = [{"config": {"commission": c}, "name": f"c{c}"} for c in commissions]
    if grid:
        jobs.append({"grid": {"slippage": [0.0, 0.001]}, "name": "sweep"})
    return {"defaults": {"model": MODEL, "symbol": "EURUSD", "start_date": START,
                         "end_date": END}, "jobs": jobs}  # fmt: skip


def local(models_root, tmp_path, s: dict) -> vbt.batches.BatchResult:
    """The same spec run here, with the paths the worker resolves them to."""
    s = json.loads(json.dumps(s))
    s["defaults"]["model"] = str((models_root / MODEL).resolve())
    s["defaults"]["data_dir"] = str(DATA.resolve())
    return vbt.batch(s, tmp_path / "local", jobs=1)


def comparable(records: list[dict], models_root=None) -> dict:
    """Records without where and when they ran; with ``models_root``, local records with their
    paths relative to the roots, as the worker shows them."""
    if models_root is not None:
        records = relative_paths(records, (models_root.resolve(), DATA.resolve()))
    return {r["id"]: {k: v for k, v in r.items() if k not in DROP} for r in records}


@pytest.fixture(scope="module")
def worker(models_root, tmp_path_factory):
    # a pause after each job, so that a cancel lands between jobs
    with Worker(
        models_root, tmp_path_factory.mktemp("batch") / "state", "--chunk-delay", "0.5"
    ) as w:
        yield w


def test_batch_job_equals_vbt_batch(client, models_root, tmp_path):
    r = client.post("/batches/start", json={"task_id": "op_batch", "spec": spec(), "jobs": 1})
    assert r.status_code == 200, r.text
    done = wait_for(client, "op_batch")
    assert done["status"] == "completed", done
    assert done["operation_type"] == "batch" and done["metadata"]["mode"] == "batch"
    want = local(models_root, tmp_path, spec())
    data = client.get("/api/v1/operations/op_batch/results").json()["data"]
    assert data["records_total"] == 3 and [r["status"] for r in data["records"]] == ["ok"] * 3
    assert comparable(data["records"]) == comparable(want.records, models_root)
    roots = (models_root.resolve(), DATA.resolve())  # the worker shows paths relative to them
    assert done["result_summary"]["ranking"] == relative_paths(want.summary["ranking"], roots)
    page = client.get("/api/v1/operations/op_batch/results", params={"offset": 1, "limit": 1})
    assert [r["index"] for r in page.json()["data"]["records"]] == [1]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"defaults": {"model": "../escape"}}, 403, "spec.defaults.model"),
        ({"jobs": [{"model": "/etc"}]}, 403, "spec.jobs[0].model"),
        ({"jobs": [{"strategy": "../../x.yaml"}]}, 403, "spec.jobs[0].strategy"),
        ({"jobs": [{"data_dir": "/tmp"}]}, 403, "spec.jobs[0].data_dir"),
        ({"jobs": [{"data_dir": "missing"}]}, 404, "spec.jobs[0].data_dir"),
        ({"jobs": [{"config": {"feature_cache_dir": "x"}}]}, 403, "feature_cache_dir"),
        ({"jobs": [{"config": {"commission": 2.0}}]}, 422, "jobs[0].config.commission"),
        ({"jobs": [{"grid": {"features": [1]}}]}, 422, "jobs[0].grid"),
        ({"jobs": [{"colour": "red"}]}, 422, "colour"),
        ({"jobs": []}, 422, "jobs"),
    ],
)
def test_bad_batches_are_refused_naming_the_field(client, change, status, field):
    s = spec(grid=False)
    s["defaults"].update(change.get("defaults", {}))
    if "jobs" in change:
        s["jobs"] = [{**s["jobs"][0], **j} for j in change["jobs"]] if change["jobs"] else []
    r = client.post("/batches/start", json={"spec": s})
    assert r.status_code == status, r.text
    assert field in r.text, r.text


def test_a_cancelled_batch_resumes_without_running_a_job_twice(client, worker, models_root,
                                                               tmp_path):  # fmt: skip
    s = spec(commissions=(0.0, 0.0005, 0.001, 0.002, 0.003), grid=False)
    assert client.post("/batches/start", json={"task_id": "op_bc", "spec": s, "jobs": 1}).is_success
    until_progress(client, "op_bc", 1)  # the first job is recorded; the next waits 0.5 s
    assert client.delete("/api/v1/operations/op_bc/cancel").status_code == 200
    cancelled = wait_for(client, "op_bc")
    assert cancelled["status"] == "cancelled", cancelled
    results = worker.state / "jobs" / "op_bc" / "result" / "results.jsonl"
    first = results.read_text().splitlines()
    assert 1 <= len(first) < 5
    assert client.post("/batches/resume", json={"operation_id": "op_bc"}).status_code == 200
    done = wait_for(client, "op_bc")
    assert done["status"] == "completed", done
    lines = results.read_text().splitlines()
    assert lines[: len(first)] == first  # the recorded jobs were kept, not run again
    assert len(lines) == 5 == len({json.loads(x)["id"] for x in lines})
    got = client.get("/api/v1/operations/op_bc/results").json()["data"]["records"]
    assert comparable(got) == comparable(local(models_root, tmp_path, s).records, models_root)
