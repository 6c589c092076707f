"""The numbers a backtest page derives from a run's equity curve and trades (full resolution,
before any downsampling): buy and hold, drawdown periods, monthly returns, hit rate by
confidence, and what costs took. Plain NumPy; no plotting here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from vbt.data import timeframe_ns
from vbt.metrics import curve_metrics
from vbt.sim.records import TRADE_DTYPE


def buy_and_hold(close: np.ndarray, initial_capital: float) -> np.ndarray:
    """Equity of holding the symbol instead: the initial capital invested at the first close of
    the curve (the first bar after warm-up), marked at each close, with no costs."""
    close = np.asarray(close, dtype=np.float64)
    return initial_capital * close / close[0]


def buy_and_hold_metrics(close: np.ndarray, run: dict, metrics: dict) -> dict:
    """The metrics of ``buy_and_hold`` through the same formulas as the run's (``curve_metrics``:
    same span, same bars per year); its trade metrics are those of no trade."""
    ic = float(metrics["initial_capital"])
    equity = buy_and_hold(close, ic)
    start = np.datetime64(str(run["start"]).replace("+00:00", ""), "ns").astype(np.int64)
    end = np.datetime64(str(run["end"]).replace("+00:00", ""), "ns").astype(np.int64)
    span_ns = int(end - start + timeframe_ns(run["timeframe"]))
    return curve_metrics(
        equity, np.ones(equity.shape[0], dtype=np.int8), np.empty(0, dtype=TRADE_DTYPE), ic,
        span_ns, int(run["bars"]), metrics.get("periods_per_year"),
    )  # fmt: skip


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak at each point (0 at a new high), as ``max_drawdown_pct``
    measures it."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, (peak - equity) / peak, 0.0)


@dataclass(frozen=True)
class DrawdownPeriod:
    """One stretch below a previous peak: positions into the curve of the peak, the trough and
    the recovery (the first point back at the peak; None if it never recovered), the depth
    (fraction of the peak) and its length in bars (peak to recovery, or to the end)."""

    peak: int
    trough: int
    recovery: int | None
    depth: float
    bars: int


def worst_drawdowns(equity: np.ndarray, k: int = 5) -> list[DrawdownPeriod]:
    """The ``k`` deepest drawdown periods, deepest first (ties: the earlier first)."""
    dd = drawdown(equity)
    n = dd.shape[0]
    under = dd > 0
    if not under.any():
        return []
    edges = np.diff(np.concatenate(([False], under, [False])).astype(np.int8))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, stop)
    # each reduceat slice runs from a period's start to the next one's: past the period's own
    # stop the curve is at a peak (dd = 0), so the slice's max is the period's depth
    depths = np.maximum.reduceat(dd, starts)
    order = np.lexsort((starts, -depths))[:k]
    out = []
    for i in order:
        s, e = int(starts[i]), int(stops[i])
        recovery = e if e < n else None
        out.append(DrawdownPeriod(
            peak=s - 1, trough=s + int(dd[s:e].argmax()), recovery=recovery,
            depth=float(depths[i]), bars=(recovery if recovery is not None else n - 1) - (s - 1),
        ))  # fmt: skip
    return out


def monthly_returns(timestamps: pl.Series, equity: np.ndarray, initial_capital: float):
    """Returns per calendar month (UTC, by bar open time): (years, 12 × len(years) matrix with
    NaN for months without data). Each month's return is its last equity over the previous
    month's last (the first month's over the initial capital), so the product of (1 + r)
    over every month is final / initial."""
    df = pl.DataFrame({"t": timestamps, "e": equity}).group_by(
        pl.col("t").dt.year().alias("year"), pl.col("t").dt.month().alias("month"),
        maintain_order=True,
    ).agg(pl.col("e").last())  # fmt: skip
    ends = df["e"].to_numpy()
    prev = np.concatenate(([initial_capital], ends[:-1]))
    rets = ends / prev - 1.0
    years = sorted(set(df["year"].to_list()))
    grid = np.full((len(years), 12), np.nan)
    row = {y: i for i, y in enumerate(years)}
    for y, m, r in zip(df["year"].to_list(), df["month"].to_list(), rets, strict=True):
        grid[row[y], m - 1] = r
    return years, grid


@dataclass(frozen=True)
class ConfidenceBucket:
    """Trades whose entry confidence lies in [low, high]: how many, the share that made money
    (net P&L > 0) and their mean net P&L."""

    low: float
    high: float
    trades: int
    hit_rate: float
    mean_pnl: float


def by_confidence(
    confidence: np.ndarray, net_pnl: np.ndarray, n: int = 10
) -> list[ConfidenceBucket]:
    """Trades sorted by the confidence of the decision that opened them and cut into ``n``
    groups of (nearly) equal count: deciles, or one group per trade when there are fewer."""
    confidence = np.asarray(confidence, dtype=np.float64)
    net_pnl = np.asarray(net_pnl, dtype=np.float64)
    order = np.argsort(confidence, kind="stable")
    groups = np.array_split(order, min(n, order.size)) if order.size else []
    return [
        ConfidenceBucket(
            low=float(confidence[g].min()),
            high=float(confidence[g].max()),
            trades=int(g.size),
            hit_rate=float((net_pnl[g] > 0).mean()),
            mean_pnl=float(net_pnl[g].mean()),
        )  # fmt: skip
        for g in groups
    ]


def cost_breakdown(trades: pl.DataFrame) -> dict[str, float]:
    """What costs took, summed over the trades (currency): the P&L at the reference prices
    (open or level, before slippage), the slippage, the commissions, and the net P&L.
    before_costs − slippage = gross P&L (at the fills); gross − commissions = net."""
    gross = float(trades["gross_pnl"].sum())
    slippage = float(trades["slippage_cost"].sum())
    commissions = float((trades["entry_commission"] + trades["exit_commission"]).sum())
    return {
        "before_costs": gross + slippage,
        "slippage": slippage,
        "commissions": commissions,
        "gross": gross,
        "net": float(trades["net_pnl"].sum()),
    }
