"""What the older system's consumers read from a worker, and how vbt's results are shown to them.

The older worker completes a backtest with its engine's ``BacktestResults.to_dict()`` as the
operation's ``result_summary``: run info under its own names, ``config``, ``metrics`` (22
metrics, each written as a number: 0.0 where a metric is undefined, never null), ``trade_count``
and ``equity_curve_length``. Its consumers (the CLI's result display, the research agent's
backtest gate, the evolution harness) format and compare those numbers, so a ``null`` crashes
them. ``older_summary`` turns vbt's summary into that shape:

- every older name, taken from vbt as ``OLDER_FIELDS`` says (the one table of the mapping);
- every metric a number: an undefined one gets the older engine's value for it, and
  ``undefined_metrics`` names each metric that was undefined, so nothing is lost;
- vbt's other fields and metrics under their own names (an undefined one 0.0, and listed).

vbt's own JSON (``vbt backtest --json``, ``metrics.json``, sweep and batch results) keeps
``null``; only the older endpoints show this view. ``relative_paths`` writes the paths of a result
relative to the worker's roots, so no response shows where the worker keeps its files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbt.metrics import METRIC_NAMES

#: the older ``OperationType`` values; an operation of another type (a sweep, a batch) breaks the
#: older response models, so the operations list shows those only when asked for by type
OLDER_OPERATION_TYPES = frozenset({
    "data_load", "training", "backtesting", "indicator_compute", "fuzzy_analysis", "dummy",
    "agent_research", "agent_design", "agent_assessment",
})  # fmt: skip

#: the older engine's stand-in for an infinite ratio (its ``sanitize_float_for_json``)
OLDER_BIG = 999999.0

Default = float | Callable[[dict[str, Any]], float] | None


def _profit_factor(metrics: dict[str, Any]) -> float:
    """The older engine's profit factor without a losing trade: 999999.0 when a trade won,
    else 0.0."""
    return OLDER_BIG if metrics.get("winning_trades") else 0.0


@dataclass(frozen=True)
class Mapped:
    """One field of the older result summary.

    older : dotted name in the older ``result_summary`` (``metrics.sharpe_ratio``).
    source : dotted name in vbt's summary (``trade_stats.*``: computed from the trades by
        ``trade_stats``).
    default : the older engine's value when vbt's is undefined (None: always defined); a
        callable gets vbt's metrics.
    """

    older: str
    source: str
    default: Default = None


def _metric(name: str, source: str | None = None, default: Default = 0.0) -> Mapped:
    source = source or f"metrics.{name}"
    if source.startswith("metrics."):
        assert source.removeprefix("metrics.") in METRIC_NAMES, source
    return Mapped(f"metrics.{name}", source, default)


#: The mapping, older name <- vbt name (and the older value where vbt's is undefined), in the
#: order of the older engine's ``BacktestResults.to_dict`` / ``PerformanceMetrics.to_dict``.
OLDER_FIELDS: tuple[Mapped, ...] = (
    Mapped("strategy_name", "strategy"),
    Mapped("symbol", "symbol"),
    Mapped("timeframe", "timeframe"),
    Mapped("start_time", "start"),
    Mapped("end_time", "end"),
    Mapped("execution_time_seconds", "execution_time_s"),
    Mapped("config", "config"),
    _metric("total_return"),
    _metric("total_return_pct"),
    _metric("annualized_return"),
    _metric("volatility"),
    _metric("sharpe_ratio"),
    _metric("max_drawdown"),
    _metric("max_drawdown_pct"),
    _metric("total_trades"),
    _metric("winning_trades"),
    _metric("losing_trades"),
    _metric("win_rate"),
    _metric("profit_factor", default=_profit_factor),
    _metric("avg_holding_period"),
    _metric("avg_win_holding_period", "trade_stats.avg_win_holding_period"),
    _metric("avg_loss_holding_period", "trade_stats.avg_loss_holding_period"),
    _metric("avg_win"),
    _metric("avg_loss"),
    _metric("largest_win"),
    _metric("largest_loss"),
    _metric("calmar_ratio"),
    _metric("sortino_ratio"),
    _metric("recovery_factor"),
    Mapped("trade_count", "trade_count"),
    Mapped("equity_curve_length", "equity_curve_length"),
)
#: vbt's metrics the older engine does not report keep their names; undefined → this value
OTHER_METRIC_DEFAULT = 0.0

_RENAMED = frozenset(
    f.source for f in OLDER_FIELDS if "." not in f.source and f.source != f.older
) | {"trade_stats"}


def _defined(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def _get(d: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """(present, value) of a dotted key."""
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return False, None
        d = d[part]
    return True, d


def trade_stats(net_pnl: Iterable[float], holding_hours: Iterable[float]) -> dict[str, Any]:
    """The older engine's holding periods by outcome: the mean holding time, in hours (entry to
    exit), of the winning trades (net P&L > 0) and of the losing ones (< 0); None when there is
    no such trade."""
    wins, losses = [], []
    for net, hours in zip(net_pnl, holding_hours, strict=True):
        if net is None or hours is None:
            continue
        if net > 0:
            wins.append(float(hours))
        elif net < 0:
            losses.append(float(hours))
    return {
        "avg_win_holding_period": math.fsum(wins) / len(wins) if wins else None,
        "avg_loss_holding_period": math.fsum(losses) / len(losses) if losses else None,
    }


def trade_stats_of(trades: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``trade_stats`` of trade records as vbt writes them (``net_pnl``, ``holding_hours``)."""
    return trade_stats([t.get("net_pnl") for t in trades], [t.get("holding_hours") for t in trades])


def older_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """vbt's backtest summary (``BacktestResult.to_dict`` plus ``trade_stats``) as the older
    worker's ``result_summary``: older names, no null metric, ``undefined_metrics``."""
    metrics_in = summary.get("metrics") or {}
    out = {k: v for k, v in summary.items() if k not in _RENAMED and k != "metrics"}
    metrics: dict[str, Any] = {}
    undefined: list[str] = []
    for f in OLDER_FIELDS:
        present, value = _get(summary, f.source)
        if not f.older.startswith("metrics."):
            if present:
                out[f.older] = value
            continue
        name = f.older.removeprefix("metrics.")
        if not _defined(value):
            value = f.default(metrics_in) if callable(f.default) else f.default
            undefined.append(name)
        metrics[name] = value
    for name, value in metrics_in.items():
        if name in metrics:
            continue
        if not _defined(value):
            value = OTHER_METRIC_DEFAULT
            undefined.append(name)
        metrics[name] = value
    out["metrics"] = metrics
    out["undefined_metrics"] = undefined
    return out


def relative_paths(value: Any, roots: Iterable[str | Path]) -> Any:
    """``value`` (JSON) with every string that is a path inside one of ``roots`` written relative
    to that root (the root itself: ``.``); the innermost root wins."""
    prefixes = sorted({str(r).rstrip(os.sep) for r in roots if str(r)}, key=len, reverse=True)

    def rel(s: str) -> str:
        for p in prefixes:
            if s == p:
                return "."
            if s.startswith(p + os.sep):
                return s[len(p) + 1 :]
        return s

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return rel(x) if x.startswith(os.sep) else x
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [walk(v) for v in x]
        return x

    return walk(value)


__all__ = [
    "OLDER_FIELDS", "OLDER_OPERATION_TYPES", "Mapped", "older_summary", "relative_paths",
    "trade_stats", "trade_stats_of",
]  # fmt: skip
