"""Backtest jobs: ``POST /backtests/start`` runs one ``vbt.stages`` backtest.

The result is the whole ``BacktestResult``: ``result.json`` (run info, metrics, every trade, and
``trade_stats``: the holding periods of the winning and the losing trades) and ``result/``
(metrics.json, trades.parquet, equity.parquet: vbt's own files). The operation's
``result_summary`` is the same without the trade list. The older endpoints show both in the older
worker's shape (``older_view``). The scan checkpoints after every chunk; a resumed job continues
from its checkpoint and ends with the same result as an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vbt.config import BacktestConfig
from vbt.errors import ConfigError
from vbt.results.saved import read_json
from vbt.sim.runner import load_checkpoint
from vbt.stages import backtest, prepare
from vbt.timefmt import iso_z_ns
from vbt.worker import compat, paths
from vbt.worker.context import JobContext
from vbt.worker.errors import RequestError
from vbt.worker.jobs import JobKind
from vbt.worker.schemas import BacktestStartRequest, RunRequest, parse_date
from vbt.worker.settings import WorkerSettings


def plan_config(req: RunRequest, settings: WorkerSettings) -> dict[str, Any]:
    """The BacktestConfig of a run request, as a dict, its paths resolved inside the roots and
    every value checked (a bad one raises ``RequestError`` naming it). Shared by sweeps."""
    if parse_date(req.start_date) > parse_date(req.end_date):
        raise RequestError(422, "end_date", f"{req.end_date!r} is before start_date")
    model = paths.model_dir(settings.models_root, req.model_path, req.strategy_name, req.timeframe)
    data = paths.data_dir(settings.data_root, req.data_dir, req.symbol)
    config = {
        "model_path": str(model), "data_dir": str(data), "symbol": req.symbol,
        "timeframe": req.timeframe, "timeframes": list(req.timeframes) or None,
        "start_date": req.start_date, "end_date": req.end_date,
        "initial_capital": req.initial_capital, "commission": req.commission,
        "slippage": req.slippage, "chunk_bars": settings.checkpoint_bars,
    }  # fmt: skip
    try:
        BacktestConfig(**config)
    except ConfigError as e:
        raise RequestError(422, None, str(e)) from None
    return config


def plan(req: BacktestStartRequest, settings: WorkerSettings) -> dict[str, Any]:
    return {"config": plan_config(req, settings)}


def metadata(request: dict[str, Any], mode: str = "backtesting") -> dict[str, Any]:
    """The older operation metadata: symbol, timeframe, mode, dates and the run's parameters."""
    keep = ("strategy_name", "initial_capital", "commission", "slippage", "model_path",
            "timeframes", "data_dir")  # fmt: skip
    return {
        "symbol": request["symbol"], "timeframe": request["timeframe"], "mode": mode,
        "start_date": request["start_date"], "end_date": request["end_date"],
        "parameters": {k: request.get(k) for k in keep},
    }  # fmt: skip


def prepare_run(spec: dict[str, Any], ctx: JobContext):
    """The PreparedRun of a spec, with progress steps around it."""
    cfg = BacktestConfig(**spec["config"])
    ctx.step("preparing: model, bars, features, inference")
    prepared = prepare(cfg)
    ctx.step("prepared", bars=prepared.info.bars, prepare_s=round(prepared.prepare_s, 4))
    return prepared


def run(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    prepared = prepare_run(spec, ctx)
    ts = prepared.inputs.ts_ns
    cfg = prepared.config
    resume_from = ctx.resume_from()
    if resume_from is not None:
        ctx.step("resuming", resumed_from_bar=load_checkpoint(resume_from).next_bar)

    def progress(done: int, total: int) -> None:
        stamp = iso_z_ns(ts[done - 1]) if done else None
        ctx.report(done, total, f"Backtesting {cfg.symbol} {prepared.info.timeframe} [{stamp}]",
                   current_bar=done, total_bars=total, current_date=stamp)  # fmt: skip

    result = backtest(prepared, progress=progress, cancel=ctx.cancel, checkpoint=ctx.checkpoint,
                      resume_from=resume_from)  # fmt: skip
    result.save(ctx.result_dir)
    stats = compat.trade_stats(result.trades["net_pnl"], result.trades["holding_hours"])
    ctx.write_json("result.json", {**result.to_dict(include_trades=True), "trade_stats": stats})
    return {**result.to_dict(include_trades=False), "trade_stats": stats}


def load_result(job_dir: Path, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
    """``result.json``: run info, metrics and the trades ``[offset, offset + limit)``."""
    full = read_json(job_dir / "result.json", max_bytes=None)  # the worker wrote it
    trades = full.get("trades", [])
    full["trades"] = trades[offset : offset + limit]
    full["trades_offset"], full["trades_total"] = offset, len(trades)
    return full


def older_view(data: dict[str, Any], job_dir: Path) -> dict[str, Any]:
    """A summary or full result in the older worker's shape (``compat.older_summary``). A job
    recorded before ``trade_stats`` existed gets them from its ``result.json``."""
    if "metrics" not in data:
        return data
    if "trade_stats" not in data:
        path = job_dir / "result.json"
        trades = read_json(path, max_bytes=None).get("trades", []) if path.is_file() else []
        data = {**data, "trade_stats": compat.trade_stats_of(trades)}
    return compat.older_summary(data)


KIND = JobKind(
    name="backtest", route="backtests", operation_type="backtesting",
    request_model=BacktestStartRequest, plan=plan, metadata=metadata, run=run,
    load_result=load_result, older_view=older_view,
)  # fmt: skip
