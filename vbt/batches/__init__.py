"""Batches of backtests that share bars, features, model loads and inference: ``vbt.batch``.

``vbt.batch(spec, out_dir)`` validates the whole spec (``vbt.batches.spec``), skips the jobs
already recorded in ``out_dir/results.jsonl``, runs the rest in worker processes that share
their work (``vbt.batches.cache``, ``vbt.batches.pool``), appends one record per job as it
finishes, adds every combination to the trial ledger (``vbt.research.ledger``) and writes
``summary.json`` (the files: ``vbt.results.saved``; the result and the ranking:
``vbt.results.batch``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vbt.arguments import (
    CALLBACK,
    CANCEL,
    FLAG,
    OPTIONAL_TEXT,
    PATH,
    PATH_OR_MAPPING,
    Arguments,
    count,
    one_of,
)
from vbt.batches.job import JobSettings
from vbt.batches.pool import plan_units, run_units
from vbt.batches.ray_pool import run_units_ray
from vbt.batches.spec import BatchPlan, batch_schema, plan_batch
from vbt.paths import check_output_dir
from vbt.research.ledger import TrialLedger
from vbt.results.batch import EXIT_JOBS_FAILED, BatchResult, ranking
from vbt.results.saved import ResultsFile, read_records, write_batch_summary
from vbt.signals.inference import usable_cores

__all__ = ["EXIT_JOBS_FAILED", "BatchResult", "batch", "batch_schema", "plan_batch"]


#: the arguments of ``batch`` (``vbt batch``'s flags go through them too)
ARGUMENTS = Arguments(
    "batch", spec=PATH_OR_MAPPING, out_dir=PATH,
    jobs=count(1, optional=True), retry_errors=FLAG, progress=CALLBACK, cancel=CANCEL,
    backend=one_of("local", "ray"), ray_address=OPTIONAL_TEXT,
)  # fmt: skip


def batch(
    spec: str | Path | Mapping[str, Any],
    out_dir: str | Path = "batch_out",
    *,
    jobs: int | None = None,
    retry_errors: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    cancel: Any = None,
    backend: str = "local",
    ray_address: str | None = None,
) -> BatchResult:
    """Run the backtests of a batch spec, sharing their work, into ``out_dir``.

    Parameters
    ----------
    spec : path of a YAML/JSON spec, or a mapping
        ``defaults`` and ``jobs`` (see ``vbt.batches.spec``; ``vbt schema batch`` prints the
        JSON Schema).
    out_dir : folder, default "batch_out"
        ``results.jsonl``, ``summary.json``, ``trials.jsonl``, and ``sweeps/``, ``runs/``,
        ``models/`` as jobs need them.
    jobs : int, optional
        Worker processes (default: the usable cores; 1 runs in this process).
    retry_errors : bool, default False
        Run again the jobs whose recorded status is ``error`` (an ``ok`` job is never rerun).
    progress : callable(done, total), optional
        Called after each job.
    cancel : callable () -> bool or threading.Event, optional
        Checked between jobs (and by the pool at least every 0.2 s): the batch stops, the jobs
        that were running get no record, and ``CancelledError`` is raised; running the spec again
        into ``out_dir`` finishes it.
    backend : {"local", "ray"}, default "local"
        "ray" runs each unit of jobs (the jobs of one model) as a task on a Ray cluster
        (``ray_address``; None: the one Ray is initialised with, else a local one); the model and
        data paths, and ``out_dir`` for jobs that write files, must be reachable from its nodes.

    Returns
    -------
    BatchResult

    Raises
    ------
    ConfigError
        A bad argument (``ARGUMENTS``, naming it), spec (naming the job index and the field) or
        output folder, before anything runs.
    DataError
        A line of ``results.jsonl`` or ``trials.jsonl`` in ``out_dir`` that cannot be trusted
        (naming the file and the line), before anything runs.
    CancelledError
        When ``cancel`` says so; the records written so far stay.
    """
    ARGUMENTS.check(
        spec=spec, out_dir=out_dir, jobs=jobs, retry_errors=retry_errors, progress=progress,
        cancel=cancel, backend=backend, ray_address=ray_address,
    )  # fmt: skip
    t0 = time.perf_counter()
    plan = plan_batch(spec)
    out = check_output_dir(out_dir, "out_dir")
    cores = usable_cores()
    workers = jobs or cores
    out.mkdir(parents=True, exist_ok=True)
    done = read_records(out)
    ids = {j.id for j in plan.jobs}
    retry = (
        {i for i, r in done.items() if i in ids and r.get("status") != "ok"}
        if retry_errors
        else set()
    )
    todo = [j for j in plan.jobs if j.id not in done or j.id in retry]
    results = ResultsFile(out, drop=retry)
    ledger = TrialLedger(out)
    known = ledger.keys()
    units = plan_units(todo, workers)
    n_workers = max(1, min(workers, len(units)))
    settings = JobSettings(out_dir=str(out), rank_by=plan.rank_by,
                           threads=max(1, cores // n_workers) if n_workers > 1 else None)  # fmt: skip
    new: dict[str, dict[str, Any]] = {}

    def on_record(record: dict[str, Any]) -> None:
        trials = record.pop("_trials", None)
        results.append(record)
        new[record["id"]] = record
        if trials is not None:
            ledger.add(record["id"], "batch", trials["sharpe_ratios"], trials=trials["trials"],
                       what={"job": record["job"]}, known=known)  # fmt: skip
        if progress is not None:
            progress(len(new), len(todo))

    if not todo:
        used = 0
    elif backend == "ray":
        used = run_units_ray(units, settings, on_record, address=ray_address, cancel=cancel)
    else:
        used = run_units(units, workers, settings, on_record, cancel=cancel)
    records = [new.get(j.id) or done[j.id] for j in plan.jobs]
    summary = _summary(plan, records, out, len(todo), used, time.perf_counter() - t0, new)
    write_batch_summary(out, summary)
    return BatchResult(out_dir=out, summary=summary, records=records)


def _summary(plan: BatchPlan, records, out, ran, workers, wall_s, new) -> dict[str, Any]:
    shared: dict[str, dict[str, int]] = {}
    for rec in new.values():
        for kind, what in (rec.get("shared") or {}).items():
            counts = shared.setdefault(kind, {"built": 0, "reused": 0})
            if what in counts:
                counts[what] += 1
    errors = [
        {"id": r["id"], "index": r["index"], "name": r.get("name"), **r["error"]}
        for r in records if r.get("status") != "ok"
    ]  # fmt: skip
    return {
        "spec": plan.source,
        "out_dir": str(out),
        "rank_by": plan.rank_by,
        "jobs": len(records),
        "ok": sum(r.get("status") == "ok" for r in records),
        "error": len(errors),
        "ran": ran,
        "skipped": len(records) - ran,
        "workers": workers,
        "wall_s": round(wall_s, 3),
        "shared": shared,
        "ranking": ranking(records, plan.rank_by),
        "errors": errors,
    }
