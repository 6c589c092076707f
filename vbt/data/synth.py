"""Seeded synthetic FX-like 5-minute bars (EURUSD-like, 24x5 with weekend gaps).

Prices follow a mean-reverting log price around ~1.085 (kept inside roughly 1.05-1.12), with
volatility clustering (AR(1) log-volatility) and intraday seasonality (busier London/New York
hours). The FX week runs Sunday 22:00 UTC to Friday 22:00 UTC. Coarser timeframes come from
``vbt.resample``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from vbt.data.timeframe import HOUR_NS, timeframe_ns
from vbt.jit import njit

BAR_NS = 300 * 1_000_000_000  # the default bar: 5 minutes
_WEEK_NS = 7 * 86400 * 1_000_000_000


def fx_session_mask(ts_ns: np.ndarray) -> np.ndarray:
    """True for 5m stamps inside the FX week (Sun 22:00 UTC to Fri 22:00 UTC). ts_ns: int64 ns."""
    # 1970-01-01 was a Thursday; shift so that offset 0 is Sunday 22:00 UTC.
    sunday_22 = (3 * 86400 + 22 * 3600) * 1_000_000_000
    off = (ts_ns - sunday_22) % _WEEK_NS
    return off < 5 * 86400 * 1_000_000_000


@njit(cache=True, nogil=True)
def _paths_nb(shocks, vol_shocks, season, log_mu, kappa, base_vol, phi, vol_of_vol, log_p0):
    n = shocks.shape[0]
    log_close = np.empty(n)
    sigma = np.empty(n)
    lv = 0.0
    lp = log_p0
    for i in range(n):
        lv = phi * lv + vol_of_vol * vol_shocks[i]
        s = base_vol * season[i] * np.exp(lv)
        lp = lp + kappa * (log_mu - lp) + s * shocks[i]
        log_close[i] = lp
        sigma[i] = s
    return log_close, sigma


def synth_bars(
    n_bars: int,
    seed: int = 0,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    price: float = 1.085,
    timeframe: str = "5m",
) -> pl.DataFrame:
    """Return ``n_bars`` validated bars (timestamp UTC open time, OHLCV Float64), 5m by default.

    Deterministic for a given ``seed``. Weekend slots are skipped, so timestamps have gaps.
    ``timeframe`` (a multiple of 5m dividing a day) generates coarser bars directly, with per-bar
    volatility scaled by sqrt(bar length): benchmarks use it for millions of 1h bars.
    """
    if n_bars <= 0:
        raise ValueError("n_bars must be positive")
    bar_ns = timeframe_ns(timeframe)
    if bar_ns % BAR_NS or (86400 * 1_000_000_000) % bar_ns:
        raise ValueError(f"synth timeframe {timeframe!r} must be a multiple of 5m dividing a day")
    scale = bar_ns / BAR_NS
    rng = np.random.default_rng(seed)
    start_ns = int(start.timestamp()) * 1_000_000_000
    start_ns -= start_ns % bar_ns
    # Enough calendar slots: 5 trading days per 7 calendar days, plus slack.
    slots = np.arange(
        start_ns, start_ns + (n_bars * 7 // 5 + 4000) * bar_ns, bar_ns, dtype=np.int64
    )
    ts = slots[fx_session_mask(slots)][:n_bars]
    hour = (ts // HOUR_NS) % 24
    # Intraday seasonality: quiet Asia, busy London (7-16) and New York overlap (12-16).
    season = 0.6 + 0.5 * ((hour >= 7) & (hour < 17)) + 0.4 * ((hour >= 12) & (hour < 16))
    shocks = rng.standard_t(df=5, size=n_bars) / np.sqrt(5 / 3)
    vol_shocks = rng.standard_normal(n_bars)
    log_close, sigma = _paths_nb(
        shocks,
        vol_shocks,
        season.astype(np.float64),
        np.log(price),
        2e-5 * scale,
        2.2e-4 * np.sqrt(scale),
        0.995,
        0.03,
        np.log(price),
    )
    close = np.exp(log_close)
    open_ = np.empty(n_bars)
    open_[0] = price
    open_[1:] = close[:-1]
    gap = np.diff(ts, prepend=ts[0]) > bar_ns  # weekend gap: open jumps a little
    open_[gap] *= np.exp(rng.normal(0.0, 5e-4, gap.sum()))
    wick = np.abs(rng.normal(0.0, 1.0, (2, n_bars))) * sigma * close * 0.6
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = np.round(rng.lognormal(5.0, 0.5, n_bars) * season * (sigma / sigma.mean()))
    rounded = [np.round(a, 6) for a in (open_, high, low, close)]
    open_, high, low, close = rounded
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    return pl.DataFrame(
        {
            "timestamp": pl.Series(ts).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume.astype(np.float64),
        }
    )
