"""Sharpe, Sortino, volatility, max drawdown and CAGR against quantstats (a dev dependency), on the
same equity curves: a run with trades and buy and hold, as the report shows them (read from the
saved folder, so the numbers are those of metrics.json).

Conventions, and how each call below lines them up:
- returns: both use r_t = E_t / E_{t-1} − 1 over the equity curve (quantstats takes the returns
  we hand it), with no risk-free rate;
- annualisation: vbt uses ``periods_per_year`` = bars per year of the data's own span (reported in
  the metrics); quantstats takes ``periods`` as an argument (default 252), so we pass ours;
- Sharpe and volatility: both use the sample standard deviation (ddof=1);
- Sortino: both use the downside deviation sqrt(Σ min(r, 0)² / N) over all N returns;
- max drawdown: quantstats returns it as a negative fraction of the peak (−0.1); vbt as a
  positive one (0.1). quantstats adds a baseline point before the first value, equal to the
  first value when given prices, so it finds the same peaks;
- CAGR: quantstats counts years as (number of returns) / ``periods``; vbt as the span from the
  first bar's open to the last bar's close (warm-up included) over 365.25 days. Passing
  periods = returns / our years gives quantstats our years; the compounding is then compared.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
import quantstats.stats as qs_stats

from vbt.data import timeframe_ns
from vbt.metrics import NS_PER_YEAR
from vbt.report import analysis as an


def years_of(run: dict) -> float:
    """vbt's years: first bar open to last bar close, as the metrics count them."""
    start = pd.Timestamp(run["start"]).value
    end = pd.Timestamp(run["end"]).value
    return (end - start + timeframe_ns(run["timeframe"])) / NS_PER_YEAR


def check_against_quantstats(equity: np.ndarray, stamps: pl.Series, metrics: dict, run: dict):
    index = pd.DatetimeIndex(stamps.to_numpy())
    prices = pd.Series(equity, index=index)
    returns = prices.pct_change().iloc[1:]
    ppy = metrics["periods_per_year"]
    assert qs_stats.sharpe(returns, periods=ppy) == pytest.approx(metrics["sharpe_ratio"], rel=1e-9)
    assert qs_stats.sortino(returns, periods=ppy) == pytest.approx(
        metrics["sortino_ratio"], rel=1e-9
    )
    assert qs_stats.volatility(returns, periods=ppy) == pytest.approx(
        metrics["volatility"], rel=1e-9
    )
    assert -qs_stats.max_drawdown(prices) == pytest.approx(metrics["max_drawdown_pct"], rel=1e-9)
    # the first equity point is the initial capital (nothing trades during the warm-up)
    assert equity[0] == metrics["initial_capital"]
    cagr = qs_stats.cagr(returns, periods=returns.size / years_of(run))
    assert cagr == pytest.approx(metrics["annualized_return"], rel=1e-9)


def test_a_run_with_trades_agrees_with_quantstats(traded, tmp_path):
    traded.save(tmp_path / "run")
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    eq = pl.read_parquet(tmp_path / "run" / "equity.parquet")
    assert doc["metrics"]["total_trades"] > 20
    check_against_quantstats(eq["equity"].to_numpy(), eq["timestamp"], doc["metrics"], doc)


def test_buy_and_hold_agrees_with_quantstats(traded):
    run = traded.info.to_dict()
    close = traded.equity["close"].to_numpy()
    metrics = an.buy_and_hold_metrics(close, run, traded.metrics)
    equity = an.buy_and_hold(close, traded.metrics["initial_capital"])
    check_against_quantstats(equity, traded.equity["timestamp"], metrics, run)
