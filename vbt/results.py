"""BacktestResult: metrics (JSON-safe dict), trades and equity (polars), and how to save them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vbt.atomic import atomic_write
from vbt.enums import EXIT_REASON_NAMES, SIDE_NAMES
from vbt.metrics import json_safe

TS = pl.Datetime("ns", "UTC")


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The outcome of one backtest.

    metrics: JSON-safe dict (see ``vbt.metrics``). trades: one row per closed trade.
    equity: timestamp, close, equity, position (one row per bar after warm-up; the last row is
    after the end-of-data force close). info: a ``vbt.stages.RunInfo`` (strategy, data, model,
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
        created if needed). A path that cannot be a folder is a ``ConfigError`` naming it."""
        from vbt.paths import check_output_dir

        out = check_output_dir(out_dir, "out_dir")
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(include_trades=False), indent=2, default=str)
        atomic_write(out / "metrics.json", lambda f: f.write(text.encode("utf-8")))
        atomic_write(out / "trades.parquet", self.trades.write_parquet)
        atomic_write(out / "equity.parquet", self.equity.write_parquet)
        return out

    def report(self, path: str | Path) -> Path:
        """Write the HTML report of this run to ``path`` (one self-contained file; see
        ``vbt.report``) and return the path."""
        from vbt.report import write_report

        return write_report(self, path)


def _safe(v: Any) -> Any:
    return json_safe(v) if isinstance(v, float | int) and not isinstance(v, bool) else v


def _ts(ns: np.ndarray) -> pl.Series:
    return pl.Series(ns.astype("datetime64[ns]")).dt.replace_time_zone("UTC")


def _names(names: dict[int, str], codes: np.ndarray) -> np.ndarray:
    """int8 codes → their names (a lookup, not a Python loop over the trades)."""
    low = min(names)
    table = np.array([names.get(k, "") for k in range(low, max(names) + 1)], dtype=object)
    return table[codes.astype(np.int64) - low]


def trades_frame(records: np.ndarray) -> pl.DataFrame:
    """Polars view of TRADE_DTYPE records with readable side, times and exit reason."""
    r = records
    return pl.DataFrame(
        {
            "entry_idx": r["entry_idx"],
            "exit_idx": r["exit_idx"],
            "entry_time": _ts(r["entry_ts"]),
            "exit_time": _ts(r["exit_ts"]),
            "side": _names(SIDE_NAMES, r["side"]),
            "qty": r["qty"],
            "entry_price": r["entry_price"],
            "exit_price": r["exit_price"],
            "entry_commission": r["entry_commission"],
            "exit_commission": r["exit_commission"],
            "slippage_cost": r["slippage_cost"],
            "gross_pnl": r["gross_pnl"],
            "net_pnl": r["net_pnl"],
            "return_pct": r["return_pct"],
            "bars_held": r["bars_held"],
            "holding_hours": (r["exit_ts"] - r["entry_ts"]) / 3.6e12,
            "mfe": r["mfe"],
            "mae": r["mae"],
            "exit_reason": _names(EXIT_REASON_NAMES, r["exit_reason"]),
            "confidence": r["confidence"],
        },
        schema_overrides={"side": pl.String, "exit_reason": pl.String},
    )


def equity_frame(ts_ns: np.ndarray, close: np.ndarray, equity: np.ndarray, position: np.ndarray):
    """Polars equity curve: timestamp (bar open), close, equity (marked at close), position."""
    return pl.DataFrame(
        {"timestamp": _ts(ts_ns), "close": close, "equity": equity, "position": position}
    )
