"""One batch job: (train,) prepare through the shared sources, backtest or sweep, and describe the
outcome as a JSON-safe record. A job never raises for its own problems: a ``VbtError`` or a
file-system error becomes an ``error`` record naming it; anything else too (type ``internal``),
so one bad job never stops the batch.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import vbt
from vbt.batches.cache import SharedSources, used_counts
from vbt.batches.spec import JOB_RUN_FIELDS, PlannedJob, SweepSpec
from vbt.config import BacktestConfig
from vbt.errors import VbtError
from vbt.metrics import METRIC_NAMES
from vbt.model.train_once import train_once
from vbt.results.saved import MODELS_DIR, RUNS_DIR, write_batch_table
from vbt.stages import backtest, prepare
from vbt.timefmt import now_iso_z


@dataclasses.dataclass(frozen=True)
class JobSettings:
    """What every job of a batch shares: the output folder, the ranking metric (a sweep's best
    row) and the threads a process may use (None: all usable cores)."""

    out_dir: str
    rank_by: str = "sharpe_ratio"
    threads: int | None = None


class Trainer:
    """Trains each strategy unit once per process and remembers the model (or the error)."""

    def __init__(self) -> None:
        self.done: dict[str, Any] = {}

    def model_dir(self, job: PlannedJob, settings: JobSettings) -> str:
        if job.unit not in self.done:
            try:
                self.done[job.unit] = _train(job, settings)
            except (VbtError, OSError) as exc:
                self.done[job.unit] = exc
        found = self.done[job.unit]
        if isinstance(found, BaseException):
            raise found
        return found


def _train(job: PlannedJob, settings: JobSettings) -> str:
    """Train the job's strategy into ``<out>/models/<unit hash>/`` (or reuse a finished one)."""
    folder = Path(settings.out_dir) / MODELS_DIR / job.unit.removeprefix("train:")
    train = job.canonical["train"]
    model_dir = train_once(
        job.strategy_path, folder=folder, data_dir=job.data_dir, symbol=job.symbol,
        seed=train.get("seed", 0), epochs=train.get("epochs"), progress=False,
        start_date=train.get("start_date"), end_date=train.get("end_date"),
    )  # fmt: skip
    return str(model_dir)


def run_job(
    job: PlannedJob, sources: SharedSources, settings: JobSettings, trainer: Trainer
) -> dict[str, Any]:
    """Run ``job`` and return its record (see ``vbt.results.saved.ResultsFile``)."""
    t0 = time.perf_counter()
    before = sources.snapshot()
    record: dict[str, Any] = {"id": job.id, "index": job.index, "name": job.name}
    timings: dict[str, float] = {}
    try:
        if job.model_dir is None:
            model_dir = trainer.model_dir(job, settings)
            timings["train_s"] = time.perf_counter() - t0
        else:
            model_dir = job.model_dir
        body, trials = _run(job, model_dir, sources, settings, timings)
        record.update(status="ok", job=job.canonical, **body)
        record["_trials"] = trials  # for the trial ledger; never written to results.jsonl
    except (VbtError, OSError) as exc:
        record.update(status="error", job=job.canonical, error=_error(exc))
    except Exception as exc:  # a bug: the record says so, the batch goes on
        record.update(status="error", job=job.canonical,
                      error={"type": "internal", "message": _line(f"{type(exc).__name__}: {exc}")})  # fmt: skip
    timings["total_s"] = time.perf_counter() - t0
    record["timings"] = {k: round(v, 6) for k, v in timings.items()}
    record["shared"] = used_counts(before, sources.snapshot())
    record["worker"] = os.getpid()
    record["finished_at"] = now_iso_z(microseconds=True)
    return record


def backtest_config(job: PlannedJob, model_dir: str):
    """The job's ``BacktestConfig``."""
    spec = job.spec
    run = {k: getattr(spec, k) for k in JOB_RUN_FIELDS if getattr(spec, k) is not None}
    overrides = spec.config.model_dump(exclude_none=True) if spec.config is not None else {}
    overrides.update(job.canonical.get("config", {}))  # absolute paths
    return BacktestConfig(model_path=model_dir, **{**run, "data_dir": job.data_dir,
                                                   "symbol": job.symbol}, **overrides)  # fmt: skip


def _run(job, model_dir, sources, settings, timings):
    t = time.perf_counter()
    prepared = prepare(backtest_config(job, model_dir), sources=sources)
    timings["prepare_s"] = time.perf_counter() - t
    run = {k: v for k, v in prepared.info.to_dict().items()
           if k not in ("params", "config", "timings", "execution_time_s")}  # fmt: skip
    t = time.perf_counter()
    if not job.has_grid:
        result = backtest(prepared)
        timings["backtest_s"] = time.perf_counter() - t
        if job.save:
            result.save(Path(settings.out_dir) / RUNS_DIR / job.id)
        body = {"run": run, "params": result.info.params, "metrics": result.metrics}
        trials = {"sharpe_ratios": [result.metrics.get("sharpe_ratio")], "trials": 1}
        return body, trials
    s = job.spec.sweep or SweepSpec()
    res = vbt.sweep(prepared, job.spec.grid, constraint=s.constraint, max_combos=s.max_combos,
                    seed=s.seed, threads=settings.threads)  # fmt: skip
    timings["sweep_s"] = time.perf_counter() - t
    table_path = write_batch_table(settings.out_dir, job.id, res.table)
    best = res.best(s.top, settings.rank_by)
    rows = best.to_dicts()
    top = rows[0] if rows else {}
    swept = list(res.grid.names)
    body = {
        "run": run,
        "params": res.grid.row_params(res.base, int(top["combo"])).values() if top else {},
        "metrics": {k: top.get(k) for k in METRIC_NAMES} if top else {},
        "sweep": {
            "combinations": res.table.height,
            "grid_size": res.grid.size,
            "best_by": settings.rank_by,
            "best_params": {k: top.get(k) for k in swept} if top else None,
            "best": [
                {k: r[k] for k in dict.fromkeys(("combo", *swept, settings.rank_by, *_SHOWN))}
                for r in rows
            ],
            "table": table_path,
        },  # fmt: skip
    }
    trials = {"sharpe_ratios": res.table["sharpe_ratio"].to_list(), "trials": res.table.height}
    return body, trials


_SHOWN = ("sharpe_ratio", "total_return_pct", "max_drawdown_pct", "total_trades", "win_rate")


def _error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, OSError) and not isinstance(exc, VbtError):
        where = f"{exc.filename}: " if exc.filename else ""
        return {"type": "OSError", "message": _line(f"{where}{exc.strerror or exc}")}
    return {"type": type(exc).__name__, "message": _line(str(exc))}


def _line(text: str) -> str:
    return " ".join(str(text).split())
