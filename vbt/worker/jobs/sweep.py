"""Sweep jobs: ``POST /sweeps/start`` runs ``vbt.sweep`` over one prepared run.

The result is ``result/`` (results.parquet: one row per combination; summary.json) and
``result.json`` (the summary: run, grid, settings, timings, the ``top`` best rows by ``by``),
which is also the operation's ``result_summary``. The sweep checkpoints at every chunk of every
block of combinations; a resumed sweep ends with the same table as an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vbt.errors import ConfigError
from vbt.metrics import check_metric
from vbt.results.saved import read_json, read_sweep_rows
from vbt.sweeps import sweep
from vbt.sweeps.grid import Grid, parse_constraint
from vbt.worker.context import JobContext
from vbt.worker.errors import RequestError
from vbt.worker.jobs import JobKind
from vbt.worker.jobs.backtest import metadata as run_metadata
from vbt.worker.jobs.backtest import plan_config, prepare_run
from vbt.worker.schemas import SweepStartRequest
from vbt.worker.settings import WorkerSettings


def plan(req: SweepStartRequest, settings: WorkerSettings) -> dict[str, Any]:
    """The run's config plus the grid and the constraint, checked as ``vbt.sweep`` checks them
    before it loads the model: each axis parsed and each value checked against its parameter's
    range, the constraint parsed by its bounded grammar (what depends on the model, such as a
    regression threshold on a classifier, is checked when the job runs). Runs in a validation
    process of its own (``slow_field``: a grid may hold millions of values)."""
    config = plan_config(req, settings)
    try:
        Grid.parse(req.grid)
    except ConfigError as e:
        text = str(e)
        field = text.split(":", 1)[0].split(" ", 1)[0]
        raise RequestError(422, field if field.startswith("grid") else "grid", text) from None
    try:
        parse_constraint(req.constraint)
    except ConfigError as e:
        raise RequestError(422, "constraint", str(e)) from None
    try:
        check_metric(req.by, repr(req.by))
    except ConfigError as e:
        raise RequestError(422, "by", str(e)) from None
    threads = req.threads or max(1, (os.cpu_count() or 1) // settings.max_concurrent)
    return {
        "config": config, "grid": req.grid, "constraint": req.constraint,
        "max_combos": req.max_combos, "seed": req.seed, "threads": threads, "top": req.top,
        "by": req.by, "ray_address": settings.ray_address,
    }  # fmt: skip


def metadata(request: dict[str, Any]) -> dict[str, Any]:
    out = run_metadata(request, mode="sweep")
    out["parameters"].update({k: request.get(k) for k in ("grid", "constraint", "max_combos")})
    return out


def run(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    prepared = prepare_run(spec, ctx)
    resume_from = ctx.resume_from()
    if resume_from is not None:
        ctx.step("resuming from the sweep checkpoint", resumed=True)

    def progress(done: int, total: int) -> None:
        ctx.report(done, total, f"Sweeping {prepared.config.symbol} {prepared.info.timeframe}",
                   unit="combination-bars")  # fmt: skip

    if spec.get("ray_address"):  # the worker sends sweeps to a Ray cluster, which retries tasks
        where = dict(backend="ray", ray_address=spec["ray_address"])
    else:
        where = dict(checkpoint=ctx.checkpoint, resume_from=resume_from)
    res = sweep(prepared, spec["grid"], constraint=spec["constraint"],
                max_combos=spec["max_combos"], seed=spec["seed"], threads=spec["threads"],
                progress=progress, cancel=ctx.cancel, **where)  # fmt: skip
    res.save(ctx.result_dir)
    summary = res.summary(k=spec["top"], by=spec["by"])
    ctx.write_json("result.json", summary)
    return summary


def load_result(job_dir: Path, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
    """The summary and the table's rows ``[offset, offset + limit)``."""
    out = read_json(job_dir / "result.json", max_bytes=None)  # the worker wrote it
    out["rows"] = read_sweep_rows(job_dir / "result", offset, limit)
    out["rows_offset"], out["rows_total"] = offset, out["combinations"]
    return out


KIND = JobKind(
    name="sweep", route="sweeps", operation_type="sweep", request_model=SweepStartRequest,
    plan=plan, metadata=metadata, run=run, load_result=load_result, slow_field="grid",
)  # fmt: skip
