"""Backtest metrics, finished from the scan's running accumulators (``ACC_DTYPE`` records).

One function, ``finish_metrics``, turns any number of accumulator records into metric columns;
a single run (``metrics_dict``) and every row of a sweep go through it, so they report identical
numbers. Conventions (see README "Metrics"):
- Per-bar returns r_t = E_t / E_{t-1} − 1 over the equity curve (bars after warm-up).
- ``periods_per_year`` = bars per year of the data's own span (override with an argument).
- Ratios annualise with sqrt(periods_per_year); std uses ddof=1; Sortino's downside deviation is
  sqrt(mean(min(r, 0)^2)) over all returns.
- ``*_pct`` values and ``win_rate`` are fractions (0.05 = 5 %), as in the older system.
- A metric that is undefined for a run (a Sharpe ratio without variance, a profit factor without
  losses, an average of no trades) is NaN in the columns and ``None`` (JSON ``null``) in
  ``metrics_dict``: never a made-up number. ``UNDEFINED_WHEN`` says when, per metric.
"""

from __future__ import annotations

import math

import numpy as np

from vbt.data.timeframe import HOUR_NS
from vbt.enums import EXIT_REASON_NAMES
from vbt.sim.nb import accumulate_nb, return_moments_nb
from vbt.sim.records import new_acc

NS_PER_YEAR = 365.25 * 86400 * 1_000_000_000

REASON_METRICS = tuple(
    f"{reason}_{stat}" for reason in EXIT_REASON_NAMES.values() for stat in ("exits", "avg_pnl")
)
FUNNEL_METRICS = (
    "raw_buy_signals", "raw_sell_signals", "removed_by_confidence", "removed_by_separation",
    "removed_by_position", "signals_passed", "signals_executed", "highest_confidence",
)  # fmt: skip
METRIC_NAMES = (
    "total_return", "total_return_pct", "annualized_return", "volatility", "sharpe_ratio",
    "sortino_ratio", "calmar_ratio", "max_drawdown", "max_drawdown_pct", "max_drawdown_duration",
    "total_trades", "winning_trades", "losing_trades", "win_rate", "profit_factor", "avg_win",
    "avg_loss", "largest_win", "largest_loss", "avg_holding_period", "recovery_factor",
    "expectancy", "sqn", "exposure_pct", "final_equity", "initial_capital", "periods_per_year",
    "bars", *REASON_METRICS, *FUNNEL_METRICS,
)  # fmt: skip
INTEGER_METRICS = frozenset(
    ("max_drawdown_duration", "total_trades", "winning_trades", "losing_trades", "bars",
     *(f"{reason}_exits" for reason in EXIT_REASON_NAMES.values()),
     *(k for k in FUNNEL_METRICS if k != "highest_confidence"))
)  # fmt: skip

#: When each metric that can be undefined is ``null``.
UNDEFINED_WHEN = {
    "annualized_return": "the data spans no time",
    "volatility": "fewer than 2 returns",
    "sharpe_ratio": "fewer than 2 returns, or returns without variance",
    "sortino_ratio": "no return below 0",
    "calmar_ratio": "no drawdown",
    "win_rate": "no trade",
    "profit_factor": "no losing trade",
    "avg_win": "no winning trade",
    "avg_loss": "no losing trade",
    "largest_win": "no winning trade",
    "largest_loss": "no losing trade",
    "avg_holding_period": "no trade",
    "recovery_factor": "no drawdown",
    "expectancy": "no trade",
    "sqn": "fewer than 2 trades, or trades without variance",
    "exposure_pct": "no equity point",
    "<reason>_avg_pnl": "no exit for that reason",
    "highest_confidence": "no raw signal",
}


def infer_periods_per_year(n_bars: int, span_ns: int) -> float:
    """Bars per year of the data: n_bars / (span in years). span_ns covers first open to last close."""
    return float(n_bars) / (span_ns / NS_PER_YEAR) if span_ns > 0 else 0.0


def finish_metrics(
    acc: np.ndarray,
    initial_capital: float | np.ndarray,
    span_ns: int,
    n_data_bars: int,
    periods_per_year: float | None = None,
    signals: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Every metric, as a column per name of ``METRIC_NAMES`` (length m; NaN = undefined).

    acc: ACC_DTYPE[m], one record per run; initial_capital: currency, a scalar or float64[m];
    span_ns: first bar open to last bar close of the backtest data (n_data_bars bars, warm-up
    included), which gives the CAGR's years and the inferred ``periods_per_year``; signals: the
    state-free funnel counts of ``vbt.sim.funnel.signal_counts`` (None: zero, NaN).
    """
    acc = np.asarray(acc).reshape(-1)
    m = acc.shape[0]
    ic = np.broadcast_to(np.asarray(initial_capital, dtype=np.float64), (m,))
    ppy = (
        float(periods_per_year)
        if periods_per_year
        else infer_periods_per_year(n_data_bars, span_ns)
    )
    ann = math.sqrt(ppy) if ppy > 0 else math.nan
    years = span_ns / NS_PER_YEAR
    nan = np.nan
    bars = acc["bars"]
    trades, wins, losses = acc["trades"], acc["wins"], acc["losses"]
    n_ret, mean, m2 = return_moments_nb(acc)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        final = np.where(bars > 0, acc["last_equity"], ic)
        total_return = final - ic
        # exp/log rather than ** so a short span cannot overflow
        growth = np.exp(np.minimum(np.log(final / ic) / years, 700.0)) - 1.0 if years > 0 else nan
        annualized = np.where(final <= 0, -1.0, growth)
        std = np.where(n_ret > 1, np.sqrt(m2 / (n_ret - 1)), nan)
        downside = np.where(n_ret > 0, np.sqrt(acc["down_ss"] / n_ret), nan)
        dd_abs, dd_pct = acc["max_dd"], acc["max_dd_pct"]
        net_mean = np.where(trades > 0, acc["net_sum"] / trades, nan)
        net_std = np.where(trades > 1, np.sqrt(acc["net_m2"] / (trades - 1)), nan)
        out = {
            "total_return": total_return,
            "total_return_pct": total_return / ic,
            "annualized_return": annualized,
            "volatility": std * ann,
            "sharpe_ratio": np.where(std > 0, mean / std * ann, nan),
            "sortino_ratio": np.where(downside > 0, mean / downside * ann, nan),
            "calmar_ratio": np.where(dd_pct > 0, annualized / dd_pct, nan),
            "max_drawdown": dd_abs,
            "max_drawdown_pct": dd_pct,
            "max_drawdown_duration": acc["max_dd_run"],
            "total_trades": trades,
            "winning_trades": wins,
            "losing_trades": losses,
            "win_rate": np.where(trades > 0, wins / trades, nan),
            "profit_factor": np.where(losses > 0, acc["win_sum"] / np.abs(acc["loss_sum"]), nan),
            "avg_win": np.where(wins > 0, acc["win_sum"] / wins, nan),
            "avg_loss": np.where(losses > 0, acc["loss_sum"] / losses, nan),
            "largest_win": np.where(wins > 0, acc["largest_win"], nan),
            "largest_loss": np.where(losses > 0, acc["largest_loss"], nan),
            "avg_holding_period": np.where(trades > 0, acc["hold_ns"] / trades / HOUR_NS, nan),
            "recovery_factor": np.where(dd_abs > 0, total_return / dd_abs, nan),
            "expectancy": net_mean,
            "sqn": np.where(net_std > 0, np.sqrt(trades) * net_mean / net_std, nan),
            "exposure_pct": np.where(bars > 0, acc["exposure_bars"] / bars, nan),
            "final_equity": final,
            "initial_capital": ic,
            "periods_per_year": np.full(m, ppy),
            "bars": bars,
        }
        for code, reason in EXIT_REASON_NAMES.items():
            count = acc["reason_trades"][:, code]
            out[f"{reason}_exits"] = count
            out[f"{reason}_avg_pnl"] = np.where(count > 0, acc["reason_net"][:, code] / count, nan)
    signals = signals or {}
    for k in ("raw_buy_signals", "raw_sell_signals", "removed_by_confidence"):
        out[k] = signals.get(k, np.zeros(m, dtype=np.int64))
    out["highest_confidence"] = signals.get("highest_confidence", np.full(m, nan))
    for k in ("removed_by_separation", "removed_by_position", "signals_passed", "signals_executed"):
        out[k] = acc[k]
    return {k: _column(out[k], k in INTEGER_METRICS, m) for k in METRIC_NAMES}


def metrics_dict(
    acc: np.ndarray,
    initial_capital: float,
    span_ns: int,
    n_data_bars: int,
    periods_per_year: float | None = None,
    signals: dict[str, np.ndarray] | None = None,
) -> dict[str, float | int | None]:
    """The metrics of one run (a 1-record ACC_DTYPE array) as a JSON-ready dict of Python
    numbers, ``None`` where undefined."""
    cols = finish_metrics(acc, initial_capital, span_ns, n_data_bars, periods_per_year, signals)
    return {k: json_safe(v[0]) for k, v in cols.items()}


def curve_metrics(
    equity: np.ndarray,
    position: np.ndarray,
    trades: np.ndarray,
    initial_capital: float,
    span_ns: int,
    n_data_bars: int,
    periods_per_year: float | None = None,
) -> dict[str, float | int | None]:
    """The metrics of a given equity curve and trade list (e.g. buy and hold), through the same
    accumulators and formulas as a backtest (the signal funnel is left at zero).

    equity: float64[m] marked at each post-warm-up close; position: int8[m] (side after each bar);
    trades: TRADE_DTYPE records (net_pnl, entry_ts, exit_ts and exit_reason are read).
    """
    acc = new_acc()
    accumulate_nb(
        acc[0],
        np.ascontiguousarray(equity, dtype=np.float64),
        np.ascontiguousarray(position) != 0,
        np.ascontiguousarray(trades["net_pnl"], dtype=np.float64),
        np.ascontiguousarray(trades["exit_ts"] - trades["entry_ts"], dtype=np.int64),
        np.ascontiguousarray(trades["exit_reason"], dtype=np.int8),
    )
    return metrics_dict(acc, initial_capital, span_ns, n_data_bars, periods_per_year)


def _column(values: np.ndarray, integer: bool, m: int) -> np.ndarray:
    if integer:
        return np.broadcast_to(np.asarray(values, dtype=np.int64), (m,)).copy()
    v = np.broadcast_to(np.asarray(values, dtype=np.float64), (m,)).copy()
    v[~np.isfinite(v)] = np.nan  # undefined: NaN here, null in JSON
    return v


def json_safe(value):
    """A metric or trade value as JSON: numpy scalars become Python numbers; NaN and ±inf
    (undefined) become None."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    v = float(value)
    return v if math.isfinite(v) else None
