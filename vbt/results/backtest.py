"""BacktestResult: metrics (JSON-safe dict), trades and equity (polars), and how to save them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vbt.metrics import json_safe
from vbt.results.saved import BacktestData, write_backtest


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The outcome of one backtest.

    metrics: JSON-safe dict (see ``vbt.metrics``). trades: one row per closed trade.
    equity: timestamp, close, equity, position (one row per bar after warm-up; the last row is
    after the end-of-data force close). info: a ``vbt.RunInfo`` (strategy, data, model,
    parameters, timings).
    """

    metrics: dict[str, Any]
    trades: pl.DataFrame
    equity: pl.DataFrame
    info: Any = None

    def to_dict(self, include_trades: bool = True) -> dict[str, Any]:
        """JSON-safe dict: info, metrics, trade_count and (optionally) the trade list."""
        out: dict[str, Any] = {
            **(self.info.to_dict() if self.info is not None else {}),
            "metrics": self.metrics,
            "trade_count": self.trades.height,
            "equity_curve_length": self.equity.height,
        }
        if include_trades:
            rows = self.trades.with_columns(
                pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            ).to_dicts()
            out["trades"] = [{k: _safe(v) for k, v in r.items()} for r in rows]
        return out

    def save(self, out_dir: str | Path) -> Path:
        """Write metrics.json, trades.parquet and equity.parquet into ``out_dir`` (atomically;
        created if needed; ``vbt.results.saved``). A path that cannot be a folder is a
        ``ConfigError`` naming it."""
        return write_backtest(out_dir, self.to_dict(include_trades=False), self.trades,
                              self.equity)  # fmt: skip

    def as_saved(self) -> BacktestData:
        """What reading the saved folder back gives (``vbt.results.saved.read_backtest``)."""
        return BacktestData.from_document(
            self.to_dict(include_trades=False), self.trades, self.equity
        )

    def report(self, path: str | Path) -> Path:
        """Write the HTML report of this run to ``path`` (one self-contained file; see
        ``vbt.report``) and return the path."""
        from vbt.report import write_report

        return write_report(self.as_saved(), path)


def _safe(v: Any) -> Any:
    return json_safe(v) if isinstance(v, float | int) and not isinstance(v, bool) else v
