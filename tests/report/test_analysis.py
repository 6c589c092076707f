"""The numbers the backtest page derives: drawdown periods, monthly returns, results by
confidence, what costs took, and buy and hold, checked by hand and against the run's metrics."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from vbt.report import analysis as an


def test_drawdown_periods_by_hand():
    # peak 100 (0) → 80 (2) → back at 100 (4); peak 110 (5) → 55 (7) → never recovers
    eq = np.array([100, 90, 80, 95, 100, 110, 70, 55, 60], dtype=float)
    worst = an.worst_drawdowns(eq, 5)
    assert [(p.peak, p.trough, p.recovery, p.bars) for p in worst] == [
        (5, 7, None, 3),
        (0, 2, 4, 4),
    ]
    assert [p.depth for p in worst] == pytest.approx([0.5, 0.2])
    assert an.worst_drawdowns(eq, 1) == worst[:1]
    assert an.worst_drawdowns(np.array([1.0, 2.0, 3.0])) == []


def test_the_deepest_drawdown_is_the_metric(traded):
    eq = traded.equity["equity"].to_numpy()
    [deepest] = an.worst_drawdowns(eq, 1)
    assert deepest.depth == pytest.approx(traded.metrics["max_drawdown_pct"], rel=1e-12)
    assert an.drawdown(eq).max() == pytest.approx(traded.metrics["max_drawdown_pct"], rel=1e-12)


def test_monthly_returns_compound_to_the_total_return(traded):
    eq = traded.equity
    years, grid = an.monthly_returns(eq["timestamp"], eq["equity"].to_numpy(), 100_000.0)
    assert years == [2024] and np.isfinite(grid[0, :6]).all() and np.isnan(grid[0, 6:]).all()
    growth = np.prod(1 + grid[np.isfinite(grid)])
    assert growth == pytest.approx(traded.metrics["final_equity"] / 100_000.0, rel=1e-12)
    # January by hand: its last equity over the initial capital
    jan = eq.filter(pl.col("timestamp").dt.month() == 1)["equity"][-1]
    assert grid[0, 0] == pytest.approx(jan / 100_000.0 - 1, rel=1e-12)


def test_groups_by_confidence():
    conf = np.array([0.9, 0.5, 0.7, 0.6, 0.8, 0.55])
    pnl = np.array([5.0, -1.0, 2.0, -3.0, 1.0, 4.0])
    groups = an.by_confidence(conf, pnl, n=3)
    assert [(g.low, g.high, g.trades) for g in groups] == [
        (0.5, 0.55, 2),
        (0.6, 0.7, 2),
        (0.8, 0.9, 2),
    ]
    assert [g.hit_rate for g in groups] == [0.5, 0.5, 1.0]
    assert [g.mean_pnl for g in groups] == [1.5, -0.5, 3.0]
    assert (
        len(an.by_confidence(conf[:2], pnl[:2])) == 2 and an.by_confidence(conf[:0], pnl[:0]) == []
    )


def test_what_costs_took_adds_up(traded):
    t = traded.trades
    c = an.cost_breakdown(t)
    assert c["before_costs"] - c["slippage"] == pytest.approx(c["gross"], rel=1e-12)
    assert c["gross"] - c["commissions"] == pytest.approx(c["net"], rel=1e-9)
    assert c["net"] == pytest.approx(traded.metrics["total_return"], rel=1e-9)
    assert c["slippage"] > 0 and c["commissions"] > 0


def test_buy_and_hold_goes_through_the_same_formulas(traded):
    close = traded.equity["close"].to_numpy()
    bh = an.buy_and_hold(close, 100_000.0)
    assert bh[0] == 100_000.0 and bh[-1] == pytest.approx(100_000.0 * close[-1] / close[0])
    m = an.buy_and_hold_metrics(close, traded.info.to_dict(), traded.metrics)
    assert m["final_equity"] == pytest.approx(bh[-1]) and m["total_trades"] == 0
    assert m["exposure_pct"] == 1.0 and m["periods_per_year"] == traded.metrics["periods_per_year"]
    assert m["max_drawdown_pct"] == pytest.approx(an.drawdown(bh).max(), rel=1e-12)
    r = bh[1:] / bh[:-1] - 1
    sharpe = r.mean() / r.std(ddof=1) * np.sqrt(traded.metrics["periods_per_year"])
    assert m["sharpe_ratio"] == pytest.approx(sharpe, rel=1e-9)
