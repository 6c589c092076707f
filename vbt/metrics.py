"""Backtest metrics: the one metric table, and the metrics finished from the scan's running
accumulators (``ACC_DTYPE`` records).

``METRICS`` declares every metric once: its name, how it is shown (label, unit, section), whether
it is a count, whether a smaller value is the better one and when it is undefined. The names
(``METRIC_NAMES``, the order of ``metrics.json`` and of a sweep's columns), ``INTEGER_METRICS``,
``UNDEFINED_WHEN``, ``LOWER_IS_BETTER``, the summary's sections (``vbt.summary``), ranking
(``rank``) and the "not a metric" check (``check_metric``) are read from it.

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

import difflib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vbt.data.timeframe import HOUR_NS
from vbt.enums import EXIT_REASON_NAMES
from vbt.errors import ConfigError
from vbt.sim.nb import accumulate_nb, return_moments_nb
from vbt.sim.records import new_acc

if TYPE_CHECKING:
    import polars as pl

NS_PER_YEAR = 365.25 * 86400 * 1_000_000_000

Unit = Literal[
    "currency", "fraction", "ratio", "count", "bars", "hours", "per_year", "probability", "number"
]
#: the section of the signal funnel's metrics (shown as the funnel, not as a metrics section)
FUNNEL = "signal funnel"


@dataclass(frozen=True)
class Metric:
    """One metric.

    name: its key in ``metrics.json`` and its column in a sweep's table; label, unit: how it is
    shown (``vbt.summary.format_unit`` writes the unit); section: where it is shown (a section
    of the metrics table, or ``FUNNEL``); integer: a count (int64 columns, never undefined);
    lower_is_better: a smaller value is the better one (ranking sorts it ascending);
    undefined_when: when it is ``null`` (None: never); detail: shown after the other metrics of
    its section.
    """

    name: str
    label: str
    unit: Unit
    section: str
    integer: bool = False
    lower_is_better: bool = False
    undefined_when: str | None = None
    detail: bool = False


def _reason_metrics() -> tuple[Metric, ...]:
    out = []
    for reason in EXIT_REASON_NAMES.values():
        words = reason.replace("_", " ")
        out.append(Metric(f"{reason}_exits", f"Exits: {words}", "count", "exits", integer=True))
        out.append(Metric(f"{reason}_avg_pnl", f"Mean net P&L: {words}", "currency", "exits",
                          undefined_when="no exit for that reason"))  # fmt: skip
    return tuple(out)


#: Every metric, in the order of ``metrics.json`` and of a sweep's columns.
METRICS: tuple[Metric, ...] = (
    Metric("total_return", "Total return", "currency", "returns"),
    Metric("total_return_pct", "Total return", "fraction", "returns"),
    Metric("annualized_return", "Annualised return (CAGR)", "fraction", "returns",
           undefined_when="the data spans no time"),
    Metric("volatility", "Volatility (annualised)", "fraction", "risk", lower_is_better=True,
           undefined_when="fewer than 2 returns"),
    Metric("sharpe_ratio", "Sharpe ratio", "ratio", "risk",
           undefined_when="fewer than 2 returns, or returns without variance"),
    Metric("sortino_ratio", "Sortino ratio", "ratio", "risk", undefined_when="no return below 0"),
    Metric("calmar_ratio", "Calmar ratio", "ratio", "risk", undefined_when="no drawdown"),
    Metric("max_drawdown", "Max drawdown", "currency", "risk", lower_is_better=True),
    Metric("max_drawdown_pct", "Max drawdown", "fraction", "risk", lower_is_better=True),
    Metric("max_drawdown_duration", "Longest drawdown", "bars", "risk", integer=True,
           lower_is_better=True),
    Metric("total_trades", "Trades", "count", "trades", integer=True),
    Metric("winning_trades", "Winning trades", "count", "trades", integer=True),
    Metric("losing_trades", "Losing trades", "count", "trades", integer=True,
           lower_is_better=True),
    Metric("win_rate", "Win rate", "fraction", "trades", undefined_when="no trade"),
    Metric("profit_factor", "Profit factor", "ratio", "trades", undefined_when="no losing trade"),
    Metric("avg_win", "Average win", "currency", "trades", undefined_when="no winning trade",
           detail=True),
    Metric("avg_loss", "Average loss", "currency", "trades", undefined_when="no losing trade",
           detail=True),
    Metric("largest_win", "Largest win", "currency", "trades", undefined_when="no winning trade",
           detail=True),
    Metric("largest_loss", "Largest loss", "currency", "trades", undefined_when="no losing trade",
           detail=True),
    Metric("avg_holding_period", "Average holding period", "hours", "trades",
           undefined_when="no trade", detail=True),
    Metric("recovery_factor", "Recovery factor", "ratio", "risk", undefined_when="no drawdown"),
    Metric("expectancy", "Expectancy (mean net P&L)", "currency", "trades",
           undefined_when="no trade"),
    Metric("sqn", "SQN", "ratio", "trades",
           undefined_when="fewer than 2 trades, or trades without variance"),
    Metric("exposure_pct", "Exposure (bars in a position)", "fraction", "risk",
           undefined_when="no equity point"),
    Metric("final_equity", "Final equity", "currency", "returns"),
    Metric("initial_capital", "Initial capital", "currency", "returns"),
    Metric("periods_per_year", "Bars per year", "per_year", "annualisation"),
    Metric("bars", "Equity points (bars after warm-up)", "count", "annualisation", integer=True),
    *_reason_metrics(),
    Metric("raw_buy_signals", "raw BUY signals", "count", FUNNEL, integer=True),
    Metric("raw_sell_signals", "raw SELL signals", "count", FUNNEL, integer=True),
    Metric("removed_by_confidence", "removed: confidence below the threshold", "count", FUNNEL,
           integer=True),
    Metric("removed_by_separation", "removed: too soon after the last trade", "count", FUNNEL,
           integer=True),
    Metric("removed_by_position", "removed: redundant with the position", "count", FUNNEL,
           integer=True),
    Metric("signals_passed", "signals that passed every filter", "count", FUNNEL, integer=True),
    Metric("signals_executed", "signals executed", "count", FUNNEL, integer=True),
    Metric("highest_confidence", "highest confidence of a raw signal", "probability", FUNNEL,
           undefined_when="no raw signal"),
)  # fmt: skip

#: {name: Metric}
METRIC: dict[str, Metric] = {m.name: m for m in METRICS}
METRIC_NAMES = tuple(METRIC)
REASON_METRICS = tuple(m.name for m in METRICS if m.section == "exits")
FUNNEL_METRICS = tuple(m.name for m in METRICS if m.section == FUNNEL)
INTEGER_METRICS = frozenset(m.name for m in METRICS if m.integer)
#: metrics for which a smaller value is the better one (``rank`` sorts them ascending)
LOWER_IS_BETTER = frozenset(m.name for m in METRICS if m.lower_is_better)
#: When each metric that can be undefined is ``null``.
UNDEFINED_WHEN = {m.name: m.undefined_when for m in METRICS if m.undefined_when is not None}


def check_metric(name: Any, label: str, *, suggest: bool = False) -> str:
    """``name`` when it is a metric; else a ``ConfigError`` "<label>: not a metric" followed by
    the metrics (or, with ``suggest``, the closest name, if one is close)."""
    if name in METRIC_NAMES:
        return name
    if suggest:
        close = difflib.get_close_matches(str(name), METRIC_NAMES, n=1)
        tail = f" (did you mean {close[0]!r}?)" if close else ""
    else:
        tail = f"; metrics: {', '.join(METRIC_NAMES)}"
    raise ConfigError(f"{label}: not a metric{tail}")


def rank(table: pl.DataFrame, k: int, by: str) -> pl.DataFrame:
    """The ``k`` best rows of a table with a column per metric (a sweep's) by metric ``by``:
    highest first (lowest first for ``LOWER_IS_BETTER``), undefined (null) last, ties in the
    table's order. An unknown metric is a ``ConfigError``."""
    check_metric(by, f"by = {by!r}")
    return table.sort(
        by, descending=by not in LOWER_IS_BETTER, maintain_order=True, nulls_last=True
    ).head(k)


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
