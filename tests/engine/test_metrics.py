"""Metrics against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vbt.metrics import (
    METRIC_NAMES,
    UNDEFINED_WHEN,
    curve_metrics,
    infer_periods_per_year,
    json_safe,
)
from vbt.sim.records import TRADE_DTYPE

HOUR = 3600 * 10**9
YEAR = 365.25 * 86400 * 10**9


def trades(*rows):
    t = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for k, (net, hours) in enumerate(rows):
        t[k]["net_pnl"] = net
        t[k]["entry_ts"] = 0
        t[k]["exit_ts"] = int(hours * HOUR)
    return t


def test_drawdown_from_its_own_peak():
    eq = np.array([100.0, 120.0, 90.0, 95.0, 200.0, 180.0, 181.0])
    m = curve_metrics(eq, np.zeros(7, np.int8), trades(), 100.0, 7 * HOUR, 7)
    assert m["max_drawdown_pct"] == pytest.approx(30 / 120)
    # 120 → 90, not final peak × fraction (the old bug)
    assert m["max_drawdown"] == pytest.approx(30.0)
    # bars 2 and 3 sit below the 120 peak; 5 and 6 below 200 too: 2 each
    assert m["max_drawdown_duration"] == 2


def test_metrics_by_hand():
    eq = np.array([100.0, 110.0, 99.0, 108.9])
    pos = np.array([1, 1, 0, 0], dtype=np.int8)
    t = trades((15.0, 2), (-5.0, 4), (0.0, 6))
    span = int(YEAR)  # one year of data, 4 bars → 4 periods per year
    m = curve_metrics(eq, pos, t, 100.0, span, 4)
    r = np.array([0.1, -0.1, 0.1])
    assert m["periods_per_year"] == pytest.approx(4.0)
    assert m["total_return"] == pytest.approx(8.9) and m["total_return_pct"] == pytest.approx(0.089)
    assert m["annualized_return"] == pytest.approx(0.089)  # exactly one year
    sd = math.sqrt(((r - r.mean()) ** 2).sum() / 2)
    assert m["volatility"] == pytest.approx(sd * 2)
    assert m["sharpe_ratio"] == pytest.approx(r.mean() / sd * 2)
    assert m["sortino_ratio"] == pytest.approx(r.mean() / math.sqrt(0.01 / 3) * 2)
    assert m["max_drawdown_pct"] == pytest.approx(0.1) and m["max_drawdown"] == pytest.approx(11.0)
    assert m["calmar_ratio"] == pytest.approx(0.089 / 0.1)
    assert m["recovery_factor"] == pytest.approx(8.9 / 11.0)
    assert (m["total_trades"], m["winning_trades"], m["losing_trades"]) == (3, 1, 1)
    assert m["win_rate"] == pytest.approx(1 / 3)
    assert m["profit_factor"] == pytest.approx(3.0)
    assert (m["avg_win"], m["avg_loss"]) == (15.0, -5.0)
    assert (m["largest_win"], m["largest_loss"]) == (15.0, -5.0)
    assert m["avg_holding_period"] == pytest.approx(4.0)
    assert m["expectancy"] == pytest.approx(10 / 3)
    net = np.array([15.0, -5.0, 0.0])
    assert m["sqn"] == pytest.approx(math.sqrt(3) * net.mean() / net.std(ddof=1))
    assert m["exposure_pct"] == pytest.approx(0.5)
    assert m["final_equity"] == 108.9 and m["bars"] == 4


def test_undefined_metrics_are_null_not_made_up():
    # one equity point, no trade: no return, no drawdown, no trade statistic
    m = curve_metrics(np.array([100.0]), np.array([0], dtype=np.int8), trades(), 100.0, HOUR, 1)
    undefined = {k for k, v in m.items() if v is None}
    assert undefined == {
        "volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "win_rate",
        "profit_factor", "avg_win", "avg_loss", "largest_win", "largest_loss",
        "avg_holding_period", "recovery_factor", "expectancy", "sqn", "highest_confidence",
        *(f"{r}_avg_pnl" for r in ("signal", "end_of_data", "stop_loss", "take_profit",
                                   "trailing_stop", "time_stop")),
    }  # fmt: skip
    assert m["total_trades"] == 0 and m["max_drawdown"] == 0.0 and m["exposure_pct"] == 0.0
    # every metric that can be null says when, in the docs' table
    documented = {k.replace("<reason>", "signal") for k in UNDEFINED_WHEN}
    assert undefined - documented <= {f"{r}_avg_pnl" for r in ("end_of_data", "stop_loss",
                                      "take_profit", "trailing_stop", "time_stop")}  # fmt: skip


def test_profit_factor_without_losses_and_flat_returns():
    # wins and no losses: the profit factor is undefined (null), not 999999
    m = curve_metrics(
        np.array([100.0, 101.0]), np.zeros(2, np.int8), trades((1.0, 1)), 100.0, 2 * HOUR, 2
    )
    assert m["profit_factor"] is None and m["win_rate"] == 1.0 and m["avg_loss"] is None
    # returns without variance: volatility 0, Sharpe undefined; no return below 0: no Sortino
    m = curve_metrics(np.full(5, 100.0), np.zeros(5, np.int8), trades(), 100.0, 5 * HOUR, 5)
    assert m["volatility"] == 0.0 and m["sharpe_ratio"] is None and m["sortino_ratio"] is None


def test_json_safe():
    assert json_safe(float("inf")) is None and json_safe(-float("inf")) is None
    assert json_safe(float("nan")) is None and json_safe(np.int64(3)) == 3
    assert json_safe(np.float32(0.5)) == 0.5 and isinstance(json_safe(np.float64(2)), float)
    assert set(METRIC_NAMES) >= {"signals_passed", "removed_by_separation", "stop_loss_exits"}


def test_periods_per_year_inference():
    assert infer_periods_per_year(6000, int(YEAR)) == pytest.approx(6000)
    week = 7 * 24 * HOUR
    assert infer_periods_per_year(120, week) == pytest.approx(120 * 365.25 / 7)
    m = curve_metrics(np.array([1.0, 1.1]), np.zeros(2, np.int8), trades(), 1.0, week, 120, 252.0)
    assert m["periods_per_year"] == 252.0


def test_annualized_return_of_a_short_span_does_not_overflow():
    # +110 % in 8 hours: the CAGR is astronomically large; it must come back capped, not raise.
    m = curve_metrics(np.array([100.0, 210.0]), np.zeros(2, np.int8), trades(), 100.0, 8 * HOUR, 8)
    assert math.isfinite(m["annualized_return"]) and m["annualized_return"] > 1e6
    assert m["calmar_ratio"] is None  # no drawdown
