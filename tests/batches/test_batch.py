"""vbt.batch: shared work is really shared, failures are records, reruns resume, results equal
separate BacktestEngine runs, and the output folder's files say what happened."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import vbt
import vbt.data.load
import vbt.features.frame
import vbt.signals
from vbt.model.bundle import ModelBundle
from vbt.research.ledger import TrialLedger
from vbt.results.saved import RESULTS_FILE, SUMMARY_FILE, read_records


def spec_for(models, data_dir) -> dict:
    """Seven jobs: model A four ways (full range, from March, another commission, a sweep), B on
    the same features, C on other features, A on a second symbol."""
    a, b, c = (str(models[k]) for k in "abc")
    return {
        "defaults": {"data_dir": str(data_dir), "config": {"commission": 0.0005}},
        "jobs": [
            {"model": a, "name": "a"},
            {"model": a, "start_date": "2024-03-01", "name": "a-march"},
            {"model": a, "config": {"commission": 0.001}, "name": "a-costly"},
            {"model": a, "grid": {"confidence_threshold": [0.0, 0.4, 0.45]},
             "sweep": {"top": 3}, "name": "a-sweep"},
            {"model": b, "name": "b"},
            {"model": c, "name": "c"},
            {"model": a, "symbol": "GBPUSD", "name": "a-gbp"},
        ],
    }  # fmt: skip


class Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch):
    """Counters on the functions that read bar files, load models, build features and run
    inference (what a batch must do once per key)."""
    counters = {
        "load_bars": Counter(vbt.data.load.load_bars),
        "bundle": Counter(ModelBundle.load.__func__),
        "features": Counter(vbt.features.frame.build_features),
        "inference": Counter(vbt.signals.model_outputs),
    }
    monkeypatch.setattr(vbt.data.load, "load_bars", counters["load_bars"])
    monkeypatch.setattr(ModelBundle, "load", classmethod(counters["bundle"]))
    monkeypatch.setattr(vbt.features.frame, "build_features", counters["features"])
    monkeypatch.setattr(vbt.signals, "model_outputs", counters["inference"])
    return counters


def test_shared_work_is_really_shared(models, data_dir, tmp_path, counted):
    res = vbt.batch(spec_for(models, data_dir), tmp_path / "out", jobs=1)
    assert res.ok and res.exit_status == 0
    assert counted["bundle"].calls == 3  # A, B, C: each model loaded once
    assert counted["load_bars"].calls == 2  # EURUSD 1h and GBPUSD 1h: each file read once
    # features: A/B on EURUSD (shared: same features), A from March, C, A on GBPUSD
    assert counted["features"].calls == 4
    # inference: A full, A March, B, C, A on GBPUSD (the costly and sweep jobs reuse A full)
    assert counted["inference"].calls == 5
    # each record says what it built and what it reused, and the summary adds them up
    shared = res.summary["shared"]
    assert shared["model"] == {"built": 3, "reused": 4}
    assert shared["features"] == {"built": 4, "reused": 3}
    assert shared["inference"] == {"built": 5, "reused": 2}
    by_name = {r["name"]: r for r in res.records}
    assert by_name["b"]["shared"]["features"] == "reused"  # B shares A's features
    assert by_name["b"]["shared"]["inference"] == "built"  # but runs its own model
    assert by_name["a-costly"]["shared"]["inference"] == "reused"


def test_results_equal_separate_backtest_engine_runs(models, data_dir, tmp_path):
    spec = spec_for(models, data_dir)
    res = vbt.batch(spec, tmp_path / "out", jobs=1)
    for job, rec in zip(spec["jobs"], res.records, strict=True):
        cfg = vbt.BacktestConfig(
            model_path=job["model"], data_dir=str(data_dir), **{**{"commission": 0.0005},
            **job.get("config", {})}, **{k: job[k] for k in ("symbol", "start_date") if k in job},
        )  # fmt: skip
        if "grid" not in job:
            single = vbt.BacktestEngine(cfg).run()
            assert rec["metrics"] == single.metrics, job["name"]
            assert rec["params"] == single.info.params
            continue
        sweep = vbt.sweep(cfg, job["grid"])
        best = sweep.best(3, by="sharpe_ratio").to_dicts()
        assert [r["combo"] for r in rec["sweep"]["best"]] == [r["combo"] for r in best]
        assert rec["metrics"]["sharpe_ratio"] == best[0]["sharpe_ratio"]
        assert rec["sweep"]["combinations"] == 3
        top = vbt.BacktestEngine(cfg.model_copy(update=rec["sweep"]["best_params"])).run()
        assert rec["metrics"] == {k: v for k, v in top.metrics.items()}
    # the sweep's full table is in the folder
    table = tmp_path / "out" / res.records[3]["sweep"]["table"]
    assert table.is_file()


def test_worker_processes_give_the_same_results_and_keep_their_models(models, data_dir, tmp_path):
    spec = spec_for(models, data_dir)
    spec["jobs"].append({"model": str(models["b"]), "start_date": "2031-01-01", "name": "empty"})
    one = vbt.batch(spec, tmp_path / "one", jobs=1)
    two = vbt.batch(spec, tmp_path / "two", jobs=2)
    assert two.summary["workers"] == 2
    assert [r["status"] for r in two.records] == [r["status"] for r in one.records]
    for r1, r2 in zip(one.records, two.records, strict=True):
        assert r1["id"] == r2["id"] and r1.get("metrics") == r2.get("metrics")
    # every job of a model ran in one process, which loaded the model once
    for key in "abc":
        recs = [r for r in two.records if r["job"]["model"] == str(models[key].resolve())]
        assert len({r["worker"] for r in recs}) == 1
        assert sum(r["shared"]["model"] == "built" for r in recs) == 1
    assert {r["worker"] for r in two.records} - {None} and len(
        {r["worker"] for r in two.records}
    ) == 2
    assert two.records[-1]["status"] == "error" and two.exit_status == 3


def test_a_failing_job_is_an_error_record_and_the_others_finish(models, data_dir, tmp_path):
    broken = tmp_path / "broken_model"
    shutil.copytree(models["b"], broken)
    (broken / "model.pt").write_bytes(b"not a torch file")
    spec = spec_for(models, data_dir)
    spec["jobs"] = [
        {"model": str(models["a"]), "name": "ok"},
        {"model": str(broken), "name": "corrupt weights"},
        {"model": str(models["a"]), "start_date": "2031-01-01", "name": "no bars"},
        {"model": str(models["c"]), "name": "ok too"},
    ]
    res = vbt.batch(spec, tmp_path / "out", jobs=1)
    status = {r["name"]: r["status"] for r in res.records}
    assert status == {"ok": "ok", "corrupt weights": "error", "no bars": "error", "ok too": "ok"}
    errors = {r["name"]: r["error"] for r in res.records if r["status"] == "error"}
    assert errors["corrupt weights"]["type"] == "ModelError"
    assert "model.pt" in errors["corrupt weights"]["message"]
    assert errors["no bars"]["type"] == "DataError"
    assert "no bars between start_date=2031-01-01" in errors["no bars"]["message"]
    assert all("\n" not in e["message"] for e in errors.values())
    assert res.exit_status == 3 and not res.ok
    summary = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert (summary["ok"], summary["error"]) == (2, 2)
    assert {e["index"] for e in summary["errors"]} == {1, 2}
    assert sorted(row["index"] for row in summary["ranking"]) == [0, 3]


def test_a_rerun_skips_completed_jobs_and_resumes_a_killed_batch(models, data_dir, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    spec = spec_for(models, data_dir)
    out = tmp_path / "out"
    first = vbt.batch(spec, out, jobs=1)
    lines = (out / RESULTS_FILE).read_bytes().splitlines(keepends=True)
    assert len(lines) == len(spec["jobs"])

    calls = Counter(ModelBundle.load.__func__)
    monkeypatch.setattr(ModelBundle, "load", classmethod(calls))
    again = vbt.batch(spec, out, jobs=1)
    assert (again.summary["ran"], again.summary["skipped"]) == (0, len(spec["jobs"]))
    assert calls.calls == 0  # nothing was done twice
    assert (out / RESULTS_FILE).read_bytes() == b"".join(lines)
    assert [r["metrics"] for r in again.records] == [r["metrics"] for r in first.records]

    # a batch killed while writing its third line: two whole lines and half of one
    (out / RESULTS_FILE).write_bytes(lines[0] + lines[1] + lines[2][: len(lines[2]) // 2])
    resumed = vbt.batch(spec, out, jobs=1)
    assert resumed.summary["ran"] == len(spec["jobs"]) - 2
    records = read_records(out)
    assert len((out / RESULTS_FILE).read_bytes().splitlines()) == len(spec["jobs"]) == len(records)
    assert [r["metrics"] for r in resumed.records] == [r["metrics"] for r in first.records]

    # a new job in the same spec: only it runs
    spec["jobs"].append({"model": str(models["c"]), "start_date": "2024-04-01"})
    grown = vbt.batch(spec, out, jobs=1)
    assert (grown.summary["ran"], grown.summary["skipped"]) == (1, len(spec["jobs"]) - 1)


def test_errors_are_retried_only_when_asked(models, data_dir, tmp_path):
    spec = {"defaults": {"data_dir": str(data_dir)},
            "jobs": [{"model": str(models["a"])},
                     {"model": str(models["a"]), "start_date": "2031-01-01"}]}  # fmt: skip
    out = tmp_path / "out"
    vbt.batch(spec, out, jobs=1)
    assert vbt.batch(spec, out, jobs=1).summary["ran"] == 0
    retried = vbt.batch(spec, out, jobs=1, retry_errors=True)
    assert retried.summary["ran"] == 1 and retried.records[1]["status"] == "error"
    assert len((out / RESULTS_FILE).read_bytes().splitlines()) == 2  # one line per job


def test_a_strategy_job_is_trained_once_and_its_model_reused(strategies, data_dir, tmp_path,
                                                              monkeypatch):  # fmt: skip
    train = Counter(vbt.train)
    monkeypatch.setattr(vbt, "train", train)
    spec = {
        "defaults": {"data_dir": str(data_dir), "strategy": str(strategies["a"]),
                     "train": {"end_date": "2024-04-30", "epochs": 1}},
        "jobs": [{"start_date": "2024-05-01"}, {"start_date": "2024-06-01"},
                 {"start_date": "2024-05-01", "config": {"commission": 0.002}}],
    }  # fmt: skip
    out = tmp_path / "out"
    res = vbt.batch(spec, out, jobs=1)
    assert res.ok and train.calls == 1
    model_dirs = {r["run"]["model_path"] for r in res.records}
    assert len(model_dirs) == 1 and str(out / "models") in next(iter(model_dirs))
    # the model's training ended before the backtests start
    metrics = json.loads((Path(next(iter(model_dirs))) / "metrics.json").read_text())
    assert metrics["data_end"].startswith("2024-04-30")
    spec["jobs"].append({"start_date": "2024-06-15"})
    more = vbt.batch(spec, out, jobs=1)
    assert more.ok and more.summary["ran"] == 1 and train.calls == 1  # the trained model reused


def test_every_combination_is_a_trial_in_the_ledger(models, data_dir, tmp_path):
    spec = spec_for(models, data_dir)
    out = tmp_path / "out"
    vbt.batch(spec, out, jobs=1)
    stats = TrialLedger(out).stats()
    assert stats.trials == len(spec["jobs"]) - 1 + 3  # the sweep counts its 3 combinations
    vbt.batch(spec, out, jobs=1)  # a rerun makes no new trial
    assert TrialLedger(out).stats().trials == stats.trials


def test_the_shared_pieces_are_bounded(models, data_dir, monkeypatch):
    import vbt.batches.cache as cache
    from vbt.stages import prepare

    sources = cache.SharedSources()
    monkeypatch.setattr(cache, "MAX_BYTES", 1)  # room for one piece of each kind
    for start in ("2024-02-01", "2024-03-01", "2024-04-01"):
        cfg = vbt.BacktestConfig(model_path=str(models["a"]), data_dir=str(data_dir),
                                 start_date=start)  # fmt: skip
        prepare(cfg, sources=sources)
    assert {k: len(v) for k, v in sources._store.items()} == {
        "model": 1,
        "bars": 1,
        "context": 0,
        "features": 1,
        "inference": 1,
    }
    assert sources.counts["features"] == {"built": 3, "reused": 0}
    again = vbt.BacktestConfig(model_path=str(models["a"]), data_dir=str(data_dir),
                               start_date="2024-02-01")  # fmt: skip
    prepare(again, sources=sources)  # evicted: built again
    assert sources.counts["features"] == {"built": 4, "reused": 0}
    assert sources.counts["model"] == {"built": 1, "reused": 3}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cancelled_batch_stops_and_a_rerun_finishes_it(models, data_dir, tmp_path, jobs):
    """Cancel after the first record: CancelledError, the records so far kept; running the spec
    again into the folder runs only the rest, and the result equals an uninterrupted batch."""
    spec = spec_for(models, data_dir)
    seen = []
    with pytest.raises(vbt.CancelledError, match=r"batch cancelled with \d+ of 7 jobs done"):
        vbt.batch(spec, tmp_path / "out", jobs=jobs, progress=lambda d, t: seen.append(d),
                  cancel=lambda: bool(seen))  # fmt: skip
    kept = read_records(tmp_path / "out")
    assert 1 <= len(kept) < len(spec["jobs"])
    assert not (tmp_path / "out" / SUMMARY_FILE).exists()  # no summary of a half batch
    rest = vbt.batch(spec, tmp_path / "out", jobs=jobs)
    assert (rest.summary["ran"], rest.summary["skipped"]) == (7 - len(kept), len(kept))
    whole = vbt.batch(spec, tmp_path / "whole", jobs=1)
    assert [r["metrics"] for r in rest.records] == [r["metrics"] for r in whole.records]


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_worker_processes_die_with_a_killed_batch(models, data_dir, tmp_path):
    """kill -9 of ``vbt batch`` leaves none of its worker processes running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    jobs = [{"model": str(models[k]), "config": {"commission": 0.0001 * i}}
            for i in range(200) for k in "ab"]  # fmt: skip
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"defaults": {"data_dir": str(data_dir)}, "jobs": jobs}))
    proc = subprocess.Popen([sys.executable, "-m", "vbt.cli", "batch", str(spec), "--out",
                             str(tmp_path / "out"), "--jobs", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and not (tmp_path / "out" / RESULTS_FILE).exists():
            time.sleep(0.1)  # the first record: the workers are running jobs
        workers = [p for p in _children(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]  # fmt: skip
        assert len(workers) == 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    end = time.monotonic() + 10
    while time.monotonic() < end and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.1)
    left = []
    for p in workers:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.append(p)
            os.kill(p, signal.SIGKILL)
    assert left == []
