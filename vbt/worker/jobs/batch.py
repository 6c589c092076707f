"""Batch jobs: ``POST /batches/start`` runs ``vbt.batch`` over a spec, into the job's folder.

Every ``model`` and ``strategy`` of the spec resolves inside ``--models-root`` and every
``data_dir`` inside ``--data-root`` (default: the data root itself), as for a backtest; the spec
is then validated as a whole (``vbt.batches.plan_batch``) before the start call returns, so a bad
job is a 422 naming ``spec`` and the job's index and field. The validation runs in a process of
its own with a time limit (``slow_field``, ``vbt.worker.validation``): a spec that takes too long
is refused, and the server answers every other request meanwhile. The batch writes ``result/``
(``results.jsonl``, one record per job as it finishes; ``summary.json``; the trial ledger) and
the summary is the operation's ``result_summary``. A cancelled or interrupted batch resumes from
its ``results.jsonl``: the jobs recorded there are not run again.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from vbt.batches import batch, plan_batch
from vbt.errors import ConfigError
from vbt.results.saved import RESULTS_FILE, read_json, read_records
from vbt.worker import paths
from vbt.worker.context import JobContext
from vbt.worker.errors import RequestError
from vbt.worker.jobs import JobKind
from vbt.worker.schemas import BatchStartRequest
from vbt.worker.settings import WorkerSettings

#: spec fields that name files, the root each must stay inside, and what they are
_PATH_FIELDS = (
    ("model", "models_root", "model directory"),
    ("strategy", "models_root", "strategy file"),
    ("data_dir", "data_root", "data directory"),
)


def _rooted(spec: dict[str, Any], settings: WorkerSettings) -> dict[str, Any]:
    """A copy of ``spec`` with every path field replaced by its real path inside its root."""
    spec = copy.deepcopy(spec)
    jobs = spec.get("jobs")
    defaults = spec.setdefault("defaults", {})
    if not isinstance(defaults, dict):
        raise RequestError(422, "spec.defaults", "must be a mapping")
    sections = [("spec.defaults", defaults)]
    if isinstance(jobs, list):
        sections += [(f"spec.jobs[{i}]", j) for i, j in enumerate(jobs) if isinstance(j, dict)]
    for where, section in sections:
        for key, root, kind in _PATH_FIELDS:
            value = section.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise RequestError(422, f"{where}.{key}", "must be a path (a string)")
            if key == "model":
                real = paths.model_inside(settings.models_root, value, f"{where}.{key}")
            else:
                real = paths.inside(getattr(settings, root), value, f"{where}.{key}", kind=kind)
            section[key] = str(real)
        config = section.get("config")
        if isinstance(config, dict) and config.get("feature_cache_dir") is not None:
            raise RequestError(403, f"{where}.config.feature_cache_dir",
                               "the worker chooses where files go; leave it out")  # fmt: skip
    defaults.setdefault("data_dir", str(settings.data_root))
    return spec


def plan(req: BatchStartRequest, settings: WorkerSettings) -> dict[str, Any]:
    """The spec with its paths inside the roots, validated as a whole; every bar file a job
    reads must resolve inside the data root too."""
    spec = _rooted(req.spec, settings)
    try:
        planned = plan_batch(spec)
    except ConfigError as e:
        raise RequestError(422, "spec", str(e)) from None
    for job in planned.jobs:
        paths.data_dir(settings.data_root, os.path.relpath(job.data_dir, settings.data_root),
                       job.symbol)  # fmt: skip
    jobs = req.jobs or max(1, (os.cpu_count() or 1) // settings.max_concurrent)
    return {"spec": spec, "jobs": jobs, "ray_address": settings.ray_address}


def metadata(request: dict[str, Any]) -> dict[str, Any]:
    """The operation's metadata: mode ``batch`` and the number of jobs in the spec."""
    jobs = request.get("spec", {}).get("jobs")
    return {"mode": "batch",
            "parameters": {"jobs": len(jobs) if isinstance(jobs, list) else None,
                           "processes": request.get("jobs")}}  # fmt: skip


def run(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    if ctx.resume:
        ctx.step("resuming: the jobs recorded in results.jsonl are not run again", resumed=True)

    def progress(done: int, total: int) -> None:
        ctx.report(done, total, f"Batch: {done} of {total} jobs", unit="jobs")

    where = dict(backend="ray", ray_address=spec["ray_address"]) if spec.get("ray_address") else {}
    res = batch(spec["spec"], ctx.result_dir, jobs=spec["jobs"], progress=progress,
                cancel=ctx.cancel, **where)  # fmt: skip
    ctx.write_json("result.json", res.summary)
    return res.summary


def load_result(job_dir: Path, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
    """The summary and the job records ``[offset, offset + limit)`` in the spec's order."""
    out = read_json(job_dir / "result.json", max_bytes=None)  # the worker wrote it
    by_id = read_records(job_dir / "result")
    records = sorted(by_id.values(), key=lambda r: r.get("index", 0))
    out["records"] = records[offset : offset + limit]
    out["records_offset"], out["records_total"] = offset, len(records)
    return out


def resumable(job_dir: Path) -> bool:
    """A stopped batch resumes from the records it has written."""
    return (job_dir / "result" / RESULTS_FILE).is_file()


KIND = JobKind(
    name="batch", route="batches", operation_type="batch", request_model=BatchStartRequest,
    plan=plan, metadata=metadata, run=run, load_result=load_result, resumable=resumable,
    slow_field="spec",
)  # fmt: skip
