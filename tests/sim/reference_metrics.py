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
) -> dict[str, float | int]:
    """All metrics as a plain dict (NaN and inf left as they are).

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
    if years > 0 and final > 0:
        # exp/log rather than ** so a short span cannot overflow (capped, then made JSON-safe)
        annualized = math.exp(min(math.log(final / initial_capital) / years, 700.0)) - 1.0
    else:
        annualized = -1.0 if final <= 0 else 0.0
    r = equity[1:] / equity[:-1] - 1.0 if equity.size > 1 else np.empty(0)
    ann = math.sqrt(ppy) if ppy > 0 else 0.0
    std = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
    mean = float(r.mean()) if r.size else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if r.size else 0.0
    dd_pct, dd_abs, dd_dur = drawdown_stats(equity)
    net = trades["net_pnl"] if trades.size else np.empty(0)
    wins, losses = net[net > 0], net[net < 0]
    held_h = (trades["exit_ts"] - trades["entry_ts"]) / HOUR_NS if trades.size else np.empty(0)
    n = int(net.size)
    net_std = float(np.std(net, ddof=1)) if n > 1 else 0.0
    out = {
        "total_return": total_return,
        "total_return_pct": total_return / initial_capital,
        "annualized_return": annualized,
        "volatility": std * ann,
        "sharpe_ratio": mean / std * ann if std > 0 else 0.0,
        "sortino_ratio": mean / downside * ann if downside > 0 else 0.0,
        "calmar_ratio": annualized / dd_pct if dd_pct > 0 else 0.0,
        "max_drawdown": dd_abs,
        "max_drawdown_pct": dd_pct,
        "max_drawdown_duration": dd_dur,
        "total_trades": n,
        "winning_trades": int(wins.size),
        "losing_trades": int(losses.size),
        "win_rate": wins.size / n if n else 0.0,
        "profit_factor": _profit_factor(wins, losses),
        "avg_win": float(wins.mean()) if wins.size else 0.0,
        "avg_loss": float(losses.mean()) if losses.size else 0.0,
        "largest_win": float(wins.max()) if wins.size else 0.0,
        "largest_loss": float(losses.min()) if losses.size else 0.0,
        "avg_holding_period": float(held_h.mean()) if n else 0.0,
        "recovery_factor": total_return / dd_abs if dd_abs > 0 else 0.0,
        "expectancy": float(net.mean()) if n else 0.0,
        "sqn": math.sqrt(n) * float(net.mean()) / net_std if net_std > 0 else 0.0,
        "exposure_pct": float(np.mean(position != 0)) if position.size else 0.0,
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
        out[f"{name}_avg_pnl"] = float(chosen.mean()) if chosen.size else 0.0
    return out


def _profit_factor(wins: np.ndarray, losses: np.ndarray) -> float:
    if losses.size:
        return float(wins.sum()) / abs(float(losses.sum()))
    return math.inf if wins.size else 0.0
