"""The metric formulas written plainly over whole arrays (equity curve, trade records), as the
reference that the scan's running accumulators (``vbt.metrics.finish_metrics``) must agree with.

Shares no code with ``vbt.metrics``: NaN/inf are left as they come (the caller compares those).
"""

import math

import numpy as np

HOUR_NS = 3_600_000_000_000
NS_PER_YEAR = 365.25 * 86400 * 1_000_000_000


def infer_periods_per_year(n_bars: int, span_ns: int) -> float:
    """Bars per year of the data: n_bars / (span in years). span_ns covers first open to last close."""
    return float(n_bars) / (span_ns / NS_PER_YEAR) if span_ns > 0 else 0.0


def drawdown_stats(equity: np.ndarray) -> tuple[float, float, int]:
    """(max drawdown fraction, max drawdown in currency, longest stretch below a peak in bars).

    The currency drawdown at t is running_peak_t − E_t: measured from the peak before the trough.
    """
    if equity.size == 0:
        return 0.0, 0.0, 0
    peak = np.maximum.accumulate(equity)
    dd_abs = peak - equity
    with np.errstate(divide="ignore", invalid="ignore"):
        dd_pct = np.where(peak > 0, dd_abs / peak, 0.0)
    edges = np.diff(np.concatenate(([0], (dd_abs > 0).astype(np.int8), [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return float(dd_pct.max()), float(dd_abs.max()), int(runs.max()) if runs.size else 0


def reference_metrics(
    equity: np.ndarray,
    position: np.ndarray,
    trades: np.ndarray,
    initial_capital: float,
    span_ns: int,
    n_data_bars: int,
    periods_per_year: float | None = None,
) -> dict[str, float | int | None]:
    """All metrics as a plain dict; None where a metric is undefined (README "Metrics").

    equity: float64[m] marked at each post-warm-up close (the last point after the force close);
    position: int8[m]; trades: TRADE_DTYPE records of closed trades; span_ns: first bar open to
    last bar close of the backtest data (n_data_bars bars, warm-up included).
    """
    ppy = (
        float(periods_per_year)
        if periods_per_year
        else infer_periods_per_year(n_data_bars, span_ns)
    )
    final = float(equity[-1]) if equity.size else float(initial_capital)
    total_return = final - initial_capital
    years = span_ns / NS_PER_YEAR
    if final <= 0:
        annualized = -1.0
    elif years > 0:
        annualized = math.exp(min(math.log(final / initial_capital) / years, 700.0)) - 1.0
    else:
        annualized = None
    with np.errstate(divide="ignore", invalid="ignore"):
        r = equity[1:] / equity[:-1] - 1.0 if equity.size > 1 else np.empty(0)
    ann = math.sqrt(ppy)
    std = float(np.std(r, ddof=1)) if r.size > 1 else None
    mean = float(r.mean()) if r.size else None
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if r.size else None
    dd_pct, dd_abs, dd_dur = drawdown_stats(equity)
    net = trades["net_pnl"] if trades.size else np.empty(0)
    wins, losses = net[net > 0], net[net < 0]
    held_h = (trades["exit_ts"] - trades["entry_ts"]) / HOUR_NS if trades.size else np.empty(0)
    n = int(net.size)
    net_std = float(np.std(net, ddof=1)) if n > 1 else None
    out = {
        "total_return": total_return,
        "total_return_pct": total_return / initial_capital,
        "annualized_return": annualized,
        "volatility": std * ann if std is not None else None,
        "sharpe_ratio": mean / std * ann if std else None,
        "sortino_ratio": mean / downside * ann if downside else None,
        "calmar_ratio": annualized / dd_pct if dd_pct > 0 and annualized is not None else None,
        "max_drawdown": dd_abs,
        "max_drawdown_pct": dd_pct,
        "max_drawdown_duration": dd_dur,
        "total_trades": n,
        "winning_trades": int(wins.size),
        "losing_trades": int(losses.size),
        "win_rate": wins.size / n if n else None,
        "profit_factor": float(wins.sum()) / abs(float(losses.sum())) if losses.size else None,
        "avg_win": float(wins.mean()) if wins.size else None,
        "avg_loss": float(losses.mean()) if losses.size else None,
        "largest_win": float(wins.max()) if wins.size else None,
        "largest_loss": float(losses.min()) if losses.size else None,
        "avg_holding_period": float(held_h.mean()) if n else None,
        "recovery_factor": total_return / dd_abs if dd_abs > 0 else None,
        "expectancy": float(net.mean()) if n else None,
        "sqn": math.sqrt(n) * float(net.mean()) / net_std if net_std else None,
        "exposure_pct": float(np.mean(position != 0)) if position.size else None,
        "final_equity": final,
        "initial_capital": float(initial_capital),
        "periods_per_year": ppy,
        "bars": int(equity.size),
    }
    reasons = trades["exit_reason"] if trades.size else np.empty(0, dtype=np.int8)
    for code, name in enumerate(
        ("signal", "end_of_data", "stop_loss", "take_profit", "trailing_stop", "time_stop")
    ):
        chosen = net[reasons == code]
        out[f"{name}_exits"] = int(chosen.size)
        out[f"{name}_avg_pnl"] = float(chosen.mean()) if chosen.size else None
    # a non-finite value (e.g. returns of an equity that reached 0) is undefined too
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in out.items()}
