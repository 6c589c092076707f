"""Numba kernels for the indicator library.

Every kernel is a plain function of whole float64 columns (1-D, C-contiguous) that returns new
float64 arrays of the same length; there is no per-bar Python anywhere. Kernels know nothing about
parameter names, defaults or validation: that lives in :mod:`vbt.features.indicators.registry`.

Conventions shared by all kernels:

* Inputs are finite or NaN. A rolling window that contains a NaN gives NaN (pandas' default
  ``min_periods=window``), unless a kernel says otherwise.
* Division by zero follows IEEE/numpy rules (``error_model="numpy"``): x/0 is ±inf, 0/0 is NaN.
  Kernels that the older system cleaned (e.g. ROC's ±inf → NaN) say so.
* Rolling sums/means/variances are O(n): running updates that are **recomputed exactly every**
  ``max(window, _BLOCK)`` **bars** and kept about an anchor close to the window's mean, so rounding
  error can neither build up over long series nor cancel catastrophically in the variance; they
  agree with the direct per-window formula to ~1e-12 relative on 1M-bar random walks (tested).
  A window whose values are all exactly equal gets its mean and a standard deviation of exactly 0.
* Rolling max/min values use van Herk/Gil-Werman blocks (O(n), branch-free); where the position
  of the extreme matters (aroon), a monotonic deque, ties resolving to the **oldest** bar.
"""

from __future__ import annotations

import numpy as np

from vbt.jit import njit

# Running sums are rebuilt from scratch at least this often (and at least once per window).
_BLOCK = 32
# A rolling variance whose running M2 falls this many times below its recent peak is recomputed.
_DROP = 1024.0


# ---------------------------------------------------------------------------------------------
# Rolling building blocks
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _window_moments_nb(x, start, stop):
    """Exact (two-pass) moments of the non-NaN values of x[start:stop]:
    (anchor a = their mean, mean of x - a, sum of squared deviations, count)."""
    tot = 0.0
    nobs = 0
    for j in range(start, stop):
        if not np.isnan(x[j]):
            tot += x[j]
            nobs += 1
    if nobs == 0:
        return 0.0, 0.0, 0.0, 0
    a = tot / nobs
    m = 0.0
    for j in range(start, stop):
        if not np.isnan(x[j]):
            m += x[j] - a
    m /= nobs
    m2 = 0.0
    for j in range(start, stop):
        if not np.isnan(x[j]):
            d = (x[j] - a) - m
            m2 += d * d
    return a, m, m2, nobs


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_mean_std_nb(x, window, minp, ddof, with_std):
    """Rolling mean and (if ``with_std``) standard deviation with ``ddof``.

    A window with fewer than ``minp`` non-NaN values gives NaN (``minp=window``: any NaN in the
    window gives NaN; ``minp=1``: pandas ``min_periods=1``). The std needs more than ``ddof``
    values. Returns ``(mean, std)``; ``std`` is empty when ``with_std`` is False.

    Method: rolling Welford updates of the mean ``m`` and the sum of squared deviations ``M2`` of
    ``y = x - a``, where the anchor ``a`` is the window mean at the last exact (two-pass)
    computation. Working about the anchor keeps the rounding error of ``m`` at the scale of the
    local price drift rather than the price level. The window is recomputed exactly every
    ``max(window, _BLOCK)`` bars, and also whenever ``M2`` has fallen more than ``_DROP``-fold below
    its peak since the last exact computation (a running update that falls that far has cancelled
    digits), so the std stays accurate even where the variance collapses; that is rare on real data,
    so the cost stays O(n).
    """
    n = x.shape[0]
    mean = np.full(n, np.nan)
    std = np.full(n if with_std else 0, np.nan)
    if window < 1:
        return mean, std
    if minp < 1:
        minp = 1
    block = max(window, _BLOCK)
    left = 0  # bars until the next exact recomputation
    a = 0.0  # anchor
    m = 0.0  # mean of (x - a) over the window's non-NaN values
    m2 = 0.0  # sum of squared deviations from the mean
    peak = 0.0  # largest m2 since the last exact computation
    nobs = 0
    run = 0  # number of consecutive equal non-NaN values ending at i
    for i in range(n):
        xi = x[i]
        finite = not np.isnan(xi)
        if finite:
            if i > 0 and xi == x[i - 1]:
                run += 1
            else:
                run = 1
        else:
            run = 0
        left -= 1
        exact = left < 0
        if exact:
            left = block - 1
        if not exact:
            old = x[i - window] if i >= window else np.nan
            old_finite = not np.isnan(old)
            if finite and old_finite:  # full slide: one value in, one out, nobs unchanged
                yn = xi - a
                yo = old - a
                m_new = m + (yn - yo) / nobs
                m2 += (yn - yo) * (yn - m_new + yo - m)
                m = m_new
            else:
                if finite:  # add
                    y = xi - a
                    nobs += 1
                    delta = y - m
                    m += delta / nobs
                    m2 += delta * (y - m)
                if old_finite:  # remove
                    y = old - a
                    nobs -= 1
                    if nobs == 0:
                        m = 0.0
                        m2 = 0.0
                    else:
                        delta = y - m
                        m -= delta / nobs
                        m2 -= delta * (y - m)
            if m2 > peak:
                peak = m2
            elif with_std and m2 * _DROP < peak:
                exact = True
        if exact:
            a, m, m2, nobs = _window_moments_nb(x, max(0, i - window + 1), i + 1)
            peak = m2
        if nobs >= minp:
            wlen = min(i + 1, window)
            if run >= wlen:  # every value in the window is exactly xi
                mean[i] = xi
                if with_std and nobs > ddof:
                    std[i] = 0.0
            else:
                mean[i] = a + m
                if with_std and nobs > ddof:
                    var = m2 / (nobs - ddof)
                    std[i] = np.sqrt(var) if var > 0.0 else 0.0
    return mean, std


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_mean_nb(x, window, minp):
    """Rolling mean over ``window`` bars (NaN where fewer than ``minp`` non-NaN values)."""
    return rolling_mean_std_nb(x, window, minp, 1, False)[0]


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_extreme_nb(x, window, find_max):
    """Rolling max (``find_max``) or min over ``window`` bars including the current one.

    Returns ``(value, index)``: the extreme and the row index where it occurs (ties → the oldest
    bar); NaN / -1 during the first ``window - 1`` bars and for windows holding a NaN.
    """
    n = x.shape[0]
    val = np.full(n, np.nan)
    idx = np.full(n, -1, dtype=np.int64)
    if window < 1:
        return val, idx
    cap = window + 1  # ring buffer of row indices with decreasing (max) / increasing (min) values
    dq = np.empty(cap, dtype=np.int64)
    head = 0
    size = 0
    last_nan = -window
    for i in range(n):
        xi = x[i]
        if np.isnan(xi):
            last_nan = i
        else:
            while size > 0:
                back = head + size - 1
                if back >= cap:
                    back -= cap
                xb = x[dq[back]]
                if (xb < xi) if find_max else (xb > xi):
                    size -= 1
                else:
                    break
            pos = head + size
            if pos >= cap:
                pos -= cap
            dq[pos] = i
            size += 1
        while size > 0 and dq[head] <= i - window:
            head += 1
            if head == cap:
                head = 0
            size -= 1
        if i >= window - 1 and i - last_nan >= window:
            val[i] = x[dq[head]]
            idx[i] = dq[head]
    return val, idx


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_signed_max_nb(x, window, sign):
    """sign · rolling max of (sign · x) over ``window`` bars: the rolling max (sign = 1.0) or min
    (sign = -1.0; negation is exact). NaN head ``window - 1``; NaN for windows holding a NaN.

    Van Herk/Gil-Werman blocks: a prefix max within blocks of ``window`` bars, a suffix max
    within the same blocks, and one max of the two per bar. Branch-free O(n), ~3x faster than a
    monotonic deque; values only (``rolling_extreme_nb`` also returns the index).
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    if window < 1 or n < window:
        return out
    prefix = np.empty(n)
    suffix = np.empty(n)
    k = 0
    for i in range(n):
        v = sign * x[i]
        v = -np.inf if v != v else v
        prefix[i] = v if k == 0 else max(prefix[i - 1], v)
        k += 1
        if k == window:
            k = 0
    for i in range(n - 1, -1, -1):
        v = sign * x[i]
        v = -np.inf if v != v else v
        block_end = (i + 1) % window == 0 or i == n - 1
        suffix[i] = v if block_end else max(suffix[i + 1], v)
    last_nan = -window
    for i in range(window - 1):
        if x[i] != x[i]:
            last_nan = i
    for i in range(window - 1, n):
        if x[i] != x[i]:
            last_nan = i
        if i - last_nan >= window:
            out[i] = sign * max(suffix[i - window + 1], prefix[i])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_max_nb(x, window):
    """Rolling max over ``window`` bars (NaN head ``window - 1``)."""
    return rolling_signed_max_nb(x, window, 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_min_nb(x, window):
    """Rolling min over ``window`` bars (NaN head ``window - 1``)."""
    return rolling_signed_max_nb(x, window, -1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def ewm_mean_nb(x, alpha, adjust):
    """Exponentially weighted mean with pandas' ``ewm(alpha=..., adjust=...).mean()`` semantics.

    ``adjust=True``: y_t = Σ (1-α)^k x_{t-k} / Σ (1-α)^k; ``adjust=False``: y_t = (1-α) y_{t-1} + α x_t
    seeded with the first value. No NaN head beyond leading NaNs; a NaN inside the series keeps the
    previous value and decays the weights (``ignore_na=False``), as pandas does.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    old_wt_factor = 1.0 - alpha
    new_wt = 1.0 if adjust else alpha
    weighted = x[0]
    old_wt = 1.0
    if not np.isnan(weighted):
        out[0] = weighted
    for i in range(1, n):
        cur = x[i]
        is_obs = not np.isnan(cur)
        if not np.isnan(weighted):
            old_wt *= old_wt_factor
            if is_obs:
                if weighted != cur:
                    weighted = old_wt * weighted + new_wt * cur
                    weighted /= old_wt + new_wt
                if adjust:
                    old_wt += new_wt
                else:
                    old_wt = 1.0
        elif is_obs:
            weighted = cur
        if not np.isnan(weighted):
            out[i] = weighted
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def true_range_nb(high, low, close):
    """TR = max(H−L, |H−C₋₁|, |L−C₋₁|) skipping NaN terms; TR[0] = H[0] − L[0]."""
    n = high.shape[0]
    tr = np.full(n, np.nan)
    if n == 0:
        return tr
    tr[0] = high[0] - low[0]
    for i in range(1, n):
        best = high[i] - low[i]
        pc = close[i - 1]
        for v in (abs(high[i] - pc), abs(low[i] - pc)):
            if np.isnan(best) or v > best:
                best = v
        tr[i] = best
    return tr


# ---------------------------------------------------------------------------------------------
# Moving averages and price oscillators
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def wma_nb(x, period):
    """Linearly weighted moving average, weights 1..period (newest heaviest); NaN head period−1."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1:
        return out
    wtot = period * (period + 1) / 2.0
    block = max(period, _BLOCK)
    left = 0  # bars until the next exact recomputation
    a = 0.0
    s = 0.0  # Σ (x - a) over the window ending at i
    ws = 0.0  # Σ w (x - a) over the window ending at i
    last_nan = -period
    for i in range(n):
        xi = x[i]
        if np.isnan(xi):
            last_nan = i
        left -= 1
        if left < 0:
            left = block - 1
            start = max(0, i - period + 1)
            a = 0.0
            for j in range(i, start - 1, -1):  # anchor: the newest non-NaN value of the window
                if not np.isnan(x[j]):
                    a = x[j]
                    break
            s = 0.0
            ws = 0.0
            for j in range(start, i + 1):
                if not np.isnan(x[j]):
                    y = x[j] - a
                    s += y
                    ws += (period - (i - j)) * y
        else:
            yi = 0.0 if np.isnan(xi) else xi - a
            ws += period * yi - s
            s += yi
            if i >= period and not np.isnan(x[i - period]):
                s -= x[i - period] - a
        if i >= period - 1 and i - last_nan >= period:
            out[i] = a + ws / wtot
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_value(avg_gain, avg_loss):
    if np.isnan(avg_gain) or np.isnan(avg_loss):
        return np.nan
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@njit(cache=True, nogil=True, error_model="numpy")
def rsi_nb(x, period):
    """RSI: seed = simple mean of gains/losses over Δ[1..period], then Wilder smoothing.

    First value at index ``period``. avg_loss == 0 → 100 (avg_gain > 0) or 50 (flat). A NaN in the
    source makes every later value NaN.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    ag = 0.0
    al = 0.0
    for j in range(1, period + 1):
        d = x[j] - x[j - 1]
        if d > 0.0:
            ag += d
        elif d < 0.0:
            al -= d
        elif np.isnan(d):
            ag = np.nan
            al = np.nan
    ag /= period
    al /= period
    out[period] = _rsi_value(ag, al)
    pm1 = period - 1.0
    for i in range(period + 1, n):
        d = x[i] - x[i - 1]
        if np.isnan(d):
            g = np.nan
            lo = np.nan
        else:
            g = d if d > 0.0 else 0.0
            lo = -d if d < 0.0 else 0.0
        ag = (ag * pm1 + g) / period
        al = (al * pm1 + lo) / period
        out[i] = _rsi_value(ag, al)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def bbands_nb(x, period, multiplier):
    """Bollinger Bands: (upper, middle, lower) = SMA ± k·sample std (ddof=1); NaN head period−1."""
    mean, std = rolling_mean_std_nb(x, period, period, 1, True)
    n = x.shape[0]
    upper = std  # reuse the buffer: one allocation less on long series
    lower = np.empty(n)
    for i in range(n):
        dev = multiplier * std[i]
        upper[i] = mean[i] + dev
        lower[i] = mean[i] - dev
    return upper, mean, lower


@njit(cache=True, nogil=True, error_model="numpy")
def macd_nb(x, fast_period, slow_period, signal_period):
    """MACD with adjust=False EMAs seeded at the first price: (line, signal, histogram)."""
    fast = ewm_mean_nb(x, 2.0 / (1.0 + fast_period), False)
    slow = ewm_mean_nb(x, 2.0 / (1.0 + slow_period), False)
    line = fast - slow
    signal = ewm_mean_nb(line, 2.0 / (1.0 + signal_period), False)
    return line, signal, line - signal


@njit(cache=True, nogil=True, error_model="numpy")
def roc_nb(x, period):
    """100·(x − x₋ₚ)/x₋ₚ with ±inf → NaN; NaN head ``period``."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period, n):
        prev = x[i - period]
        v = 100.0 * (x[i] - prev) / prev
        if not np.isinf(v):
            out[i] = v
    return out


# ---------------------------------------------------------------------------------------------
# High/low range oscillators
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def stochastic_nb(high, low, close, k_period, d_period, smooth_k):
    """Stochastic (k, d). raw %K = 100·(C−LL)/(HH−LL); NaN (warm-up) or zero range → 50;
    %K = mean(raw, smooth_k, min_periods=1) when smooth_k > 1; %D = mean(%K, d_period,
    min_periods=1). No NaN head."""
    hh = rolling_max_nb(high, k_period)
    ll = rolling_min_nb(low, k_period)
    n = close.shape[0]
    raw = np.empty(n)
    for i in range(n):
        rng = hh[i] - ll[i]
        v = 100.0 * (close[i] - ll[i]) / rng
        raw[i] = 50.0 if (np.isnan(v) or rng == 0.0) else v
    k = rolling_mean_nb(raw, smooth_k, 1) if smooth_k > 1 else raw
    d = rolling_mean_nb(k, d_period, 1)
    return k, d


@njit(cache=True, nogil=True, error_model="numpy")
def williamsr_nb(high, low, close, period):
    """Williams %R = −100·(HH − C)/(HH − LL); NaN (warm-up) or zero range → −50."""
    hh = rolling_max_nb(high, period)
    ll = rolling_min_nb(low, period)
    n = close.shape[0]
    out = np.empty(n)
    for i in range(n):
        rng = hh[i] - ll[i]
        v = -100.0 * (hh[i] - close[i]) / rng
        out[i] = -50.0 if (np.isnan(v) or rng == 0.0) else v
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def cci_nb(high, low, close, period):
    """CCI = (TP − SMA(TP))/(0.015·MAD), MAD = mean |TP_j − SMA| over the window (around the
    current SMA). NaN head period−1. On a flat window (every TP equal) the SMA is that TP exactly,
    as the older engine's pandas rolling mean gives it, so MAD and the numerator are exactly 0 and
    the value is NaN (0/0), where a summed mean one rounding unit off would give ±66.67; MAD is 0
    nowhere else. O(n·period)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    tp = np.empty(n)
    for i in range(n):
        tp[i] = (high[i] + low[i] + close[i]) / 3.0
    same = 0  # how many bars up to i hold the same TP as bar i (NaN never equals)
    for i in range(n):
        same = same + 1 if i > 0 and tp[i] == tp[i - 1] else (1 if tp[i] == tp[i] else 0)
        if i < period - 1:
            continue
        if same >= period:
            m = tp[i]
        else:
            s = 0.0
            for j in range(i - period + 1, i + 1):
                s += tp[j]
            m = s / period
        dev = 0.0
        for j in range(i - period + 1, i + 1):
            dev += abs(tp[j] - m)
        mad = dev / period
        out[i] = (tp[i] - m) / (0.015 * mad)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def aroon_nb(high, low, period):
    """Aroon over a window of ``period`` bars including the current one (ties → oldest):
    up = 100·(period − bars since max)/period, down likewise with the min; oscillator = up − down.
    NaN head period−1."""
    _, imax = rolling_extreme_nb(high, period, True)
    _, imin = rolling_extreme_nb(low, period, False)
    n = high.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    osc = np.full(n, np.nan)
    for i in range(n):
        if imax[i] >= 0 and imin[i] >= 0:
            up[i] = 100.0 * (period - (i - imax[i])) / period
            down[i] = 100.0 * (period - (i - imin[i])) / period
            osc[i] = up[i] - down[i]
    return up, down, osc


# ---------------------------------------------------------------------------------------------
# Volatility and trend
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def atr_nb(high, low, close, period):
    """ATR = simple rolling mean of TR over ``period`` (not Wilder); NaN head period−1."""
    return rolling_mean_nb(true_range_nb(high, low, close), period, period)


@njit(cache=True, nogil=True, error_model="numpy")
def directional_movement_nb(high, low):
    """(+DM, −DM): up = H − H₋₁, down = L₋₁ − L; +DM = up if up > down and up > 0 else 0;
    −DM = down if down > up and down > 0 else 0; both 0 at bar 0."""
    n = high.shape[0]
    pdm = np.zeros(n)
    mdm = np.zeros(n)
    for i in range(1, n):
        up = high[i] - high[i - 1]
        down = low[i - 1] - low[i]
        if up > down and up > 0.0:
            pdm[i] = up
        if down > up and down > 0.0:
            mdm[i] = down
    return pdm, mdm


@njit(cache=True, nogil=True, error_model="numpy")
def adx_nb(high, low, close, period):
    """ADX with Wilder smoothing = ewm(alpha=1/period, adjust=False) from bar 0 (no SMA seed):
    DI± = 100·DM±_s/TR_s (0 where TR_s == 0); DX = 100·|DI+ − DI−|/(DI+ + DI−) (0 where the sum
    is 0); ADX = Wilder(DX). Returns (adx, plus_di, minus_di); no NaN head."""
    alpha = 1.0 / period
    tr_s = ewm_mean_nb(true_range_nb(high, low, close), alpha, False)
    pdm, mdm = directional_movement_nb(high, low)
    pdm_s = ewm_mean_nb(pdm, alpha, False)
    mdm_s = ewm_mean_nb(mdm, alpha, False)
    n = high.shape[0]
    pdi = np.empty(n)
    mdi = np.empty(n)
    dx = np.empty(n)
    for i in range(n):
        if tr_s[i] == 0.0:
            pdi[i] = 0.0
            mdi[i] = 0.0
        else:
            pdi[i] = 100.0 * pdm_s[i] / tr_s[i]
            mdi[i] = 100.0 * mdm_s[i] / tr_s[i]
        tot = pdi[i] + mdi[i]
        dx[i] = 0.0 if tot == 0.0 else 100.0 * abs(pdi[i] - mdi[i]) / tot
    return ewm_mean_nb(dx, alpha, False), pdi, mdi


@njit(cache=True, nogil=True, error_model="numpy")
def keltner_nb(high, low, close, period, atr_period, multiplier):
    """Keltner channels: middle = EMA(close, period, adjust=False), bands = middle ± k·ATR(simple
    mean of TR over atr_period). Returns (upper, middle, lower); bands NaN head atr_period−1."""
    middle = ewm_mean_nb(close, 2.0 / (1.0 + period), False)
    atr = atr_nb(high, low, close, atr_period)
    return middle + multiplier * atr, middle, middle - multiplier * atr


@njit(cache=True, nogil=True, error_model="numpy")
def supertrend_nb(high, low, close, period, multiplier):
    """Standard SuperTrend. Returns (trend, direction).

    ATR = simple rolling mean of TR over ``period``; basic bands = (H+L)/2 ± k·ATR. Final bands
    ratchet: final upper = basic upper if basic upper < previous final upper or the previous close
    was above it, else the previous final upper (final lower mirrored). Direction starts at +1 on the
    first ATR bar and flips to −1 when the close falls below the final lower band, back to +1 when
    it rises above the final upper band. trend = final lower band while direction is +1, final upper
    band while −1. Both outputs are NaN while the ATR is NaN (head period−1); after a NaN gap the
    computation restarts as on the first bar.
    """
    n = close.shape[0]
    trend = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    atr = atr_nb(high, low, close, period)
    started = False
    fu = 0.0
    fl = 0.0
    d = 1.0
    for i in range(n):
        a = atr[i]
        if np.isnan(a):
            started = False
            continue
        mid = (high[i] + low[i]) / 2.0
        bu = mid + multiplier * a
        bl = mid - multiplier * a
        if not started:
            fu = bu
            fl = bl
            d = 1.0
            started = True
        else:
            pc = close[i - 1]
            if bu < fu or pc > fu:
                fu = bu
            if bl > fl or pc < fl:
                fl = bl
        if d > 0.0:
            if close[i] < fl:
                d = -1.0
        elif close[i] > fu:
            d = 1.0
        direction[i] = d
        trend[i] = fl if d > 0.0 else fu
    return trend, direction


# ---------------------------------------------------------------------------------------------
# Volume
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def obv_nb(close, volume):
    """OBV[0] = 0; then + volume if the close rose, − volume if it fell, unchanged otherwise."""
    n = close.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    acc = 0.0
    out[0] = 0.0
    for i in range(1, n):
        d = close[i] - close[i - 1]
        if d > 0.0:
            acc += volume[i]
        elif d < 0.0:
            acc -= volume[i]
        out[i] = acc
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def mfi_nb(high, low, close, volume, period):
    """Money Flow Index. TP = (H+L+C)/3, RMF = TP·V. For i ≥ period the RMF of bars i−period+1..i
    is summed by the sign of ΔTP (ΔTP NaN or 0: ignored); negative sum 0 → 100 (even if the
    positive sum is 0 too); positive sum 0 → 0; else 100 − 100/(1 + pos/neg). NaN head period."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    pos = np.zeros(n)
    neg = np.zeros(n)
    prev = (high[0] + low[0] + close[0]) / 3.0
    for i in range(1, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        if tp > prev:
            pos[i] = tp * volume[i]
        elif tp < prev:
            neg[i] = tp * volume[i]
        prev = tp
    block = max(period, _BLOCK)
    left = 0  # bars until the next exact recomputation
    sp = 0.0
    sn = 0.0
    cp = 0  # non-zero positive / negative flows in the window (so an all-zero sum is exactly 0)
    cn = 0
    cnan = 0  # NaN flows in the window (NaN volume)
    for i in range(1, n):
        left -= 1
        if left < 0:
            left = block - 1
            sp = 0.0
            sn = 0.0
            cp = 0
            cn = 0
            cnan = 0
            for j in range(max(1, i - period + 1), i + 1):
                if np.isnan(pos[j]) or np.isnan(neg[j]):
                    cnan += 1
                else:
                    if pos[j] != 0.0:
                        sp += pos[j]
                        cp += 1
                    if neg[j] != 0.0:
                        sn += neg[j]
                        cn += 1
        else:
            if np.isnan(pos[i]) or np.isnan(neg[i]):
                cnan += 1
            else:
                if pos[i] != 0.0:
                    sp += pos[i]
                    cp += 1
                if neg[i] != 0.0:
                    sn += neg[i]
                    cn += 1
            j = i - period
            if j >= 1:
                if np.isnan(pos[j]) or np.isnan(neg[j]):
                    cnan -= 1
                else:
                    if pos[j] != 0.0:
                        sp -= pos[j]
                        cp -= 1
                    if neg[j] != 0.0:
                        sn -= neg[j]
                        cn -= 1
        if i >= period:
            p = sp if cp > 0 else 0.0
            q = sn if cn > 0 else 0.0
            if cnan > 0:
                out[i] = np.nan
            elif q == 0.0:
                out[i] = 100.0
            elif p == 0.0:
                out[i] = 0.0
            else:
                out[i] = 100.0 - 100.0 / (1.0 + p / q)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def vwap_nb(price, volume, period):
    """VWAP = Σ(P·V)/ΣV over the last ``period`` bars with min_periods=1 (no NaN head), or
    cumulative from the first bar when ``period`` is 0. ΣV == 0 → NaN. NaN bars are skipped."""
    n = price.shape[0]
    out = np.full(n, np.nan)
    pv = np.empty(n)
    vv = np.empty(n)
    for i in range(n):
        v = volume[i]
        p = price[i]
        if np.isnan(v) or np.isnan(p):
            pv[i] = np.nan
            vv[i] = np.nan
        else:
            pv[i] = p * v
            vv[i] = v
    spv = 0.0
    sv = 0.0
    cnz = 0  # non-zero volumes in the window (exact zero test)
    if period == 0:
        for i in range(n):
            if not np.isnan(vv[i]):
                spv += pv[i]
                sv += vv[i]
                if vv[i] != 0.0:
                    cnz += 1
            if cnz > 0:
                out[i] = spv / sv
        return out
    block = max(period, _BLOCK)
    left = 0  # bars until the next exact recomputation
    for i in range(n):
        left -= 1
        if left < 0:
            left = block - 1
            spv = 0.0
            sv = 0.0
            cnz = 0
            for j in range(max(0, i - period + 1), i + 1):
                if not np.isnan(vv[j]):
                    spv += pv[j]
                    sv += vv[j]
                    if vv[j] != 0.0:
                        cnz += 1
        else:
            if not np.isnan(vv[i]):
                spv += pv[i]
                sv += vv[i]
                if vv[i] != 0.0:
                    cnz += 1
            j = i - period
            if j >= 0 and not np.isnan(vv[j]):
                spv -= pv[j]
                sv -= vv[j]
                if vv[j] != 0.0:
                    cnz -= 1
        if cnz > 0:
            out[i] = spv / sv
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def money_flow_nb(high, low, close, volume):
    """Chaikin money flow terms: (multiplier, flow volume).

    multiplier = ((C − L) − (H − C))/(H − L), 0 where H == L; flow volume = multiplier·V.
    """
    n = close.shape[0]
    mult = np.empty(n)
    flow = np.empty(n)
    for i in range(n):
        rng = high[i] - low[i]
        m = 0.0 if rng == 0.0 else ((close[i] - low[i]) - (high[i] - close[i])) / rng
        mult[i] = m
        flow[i] = m * volume[i]
    return mult, flow


@njit(cache=True, nogil=True, error_model="numpy")
def adline_nb(high, low, close, volume, smoothing_period):
    """Accumulation/distribution line and its derived series. Returns (line, mf_multiplier,
    mf_volume, roc_10, momentum_21, relative_strength, line_sma).

    line = running sum of the flow volume from bar 0 (a NaN flow leaves the sum unchanged and reads
    NaN itself, as pandas ``cumsum``); roc_10 = 100·(line/line₋₁₀ − 1) (head 10); momentum_21 =
    line − line₋₂₁ (head 21); relative_strength = 100·(line/mean₅₀(line) − 1) with the mean over
    the last 50 bars needing at least 20 (head 19); line_sma = SMA(line, smoothing_period).
    """
    mult, flow = money_flow_nb(high, low, close, volume)
    n = close.shape[0]
    line = np.empty(n)
    acc = 0.0
    for i in range(n):
        if np.isnan(flow[i]):
            line[i] = np.nan
        else:
            acc += flow[i]
            line[i] = acc
    roc = np.full(n, np.nan)
    mom = np.full(n, np.nan)
    for i in range(10, n):
        roc[i] = (line[i] / line[i - 10] - 1.0) * 100.0
    for i in range(21, n):
        mom[i] = line[i] - line[i - 21]
    rel = (line / rolling_mean_nb(line, 50, 20) - 1.0) * 100.0
    sma = rolling_mean_nb(line, smoothing_period, smoothing_period)
    return line, mult, flow, roc, mom, rel, sma


@njit(cache=True, nogil=True, error_model="numpy")
def cmf_nb(high, low, close, volume, period):
    """Chaikin money flow and its derived series. Returns (cmf, mf_multiplier, mf_volume,
    momentum, signal, histogram, above_zero, below_zero).

    cmf = Σ flow volume / Σ volume over ``period`` bars (head period−1; 0 where the volume sum is
    0); momentum = cmf − cmf₋₅; signal = EMA(cmf, span 9, adjust=False) from the first value;
    histogram = cmf − signal; above_zero / below_zero = 1.0 where cmf > 0 / < 0, else 0.0 (the
    warm-up reads 0.0, as the older system's boolean columns).
    """
    mult, flow = money_flow_nb(high, low, close, volume)
    n = close.shape[0]
    mean_flow = rolling_mean_nb(flow, period, period)
    mean_vol = rolling_mean_nb(volume, period, period)
    cmf = np.empty(n)
    mom = np.full(n, np.nan)
    above = np.empty(n)
    below = np.empty(n)
    for i in range(n):
        cmf[i] = 0.0 if mean_vol[i] == 0.0 else mean_flow[i] / mean_vol[i]
        above[i] = 1.0 if cmf[i] > 0.0 else 0.0
        below[i] = 1.0 if cmf[i] < 0.0 else 0.0
    for i in range(5, n):
        mom[i] = cmf[i] - cmf[i - 5]
    signal = ewm_mean_nb(cmf, 0.2, False)  # span 9: alpha = 2/(9+1)
    return cmf, mult, flow, mom, signal, cmf - signal, above, below


@njit(cache=True, nogil=True, error_model="numpy")
def fisher_nb(high, low, period, smoothing):
    """Fisher transform (the older system's variant). Returns (fisher, signal).

    x = 2·(median − LL)/(HH − LL) − 1 over ``period`` bars (median = (H+L)/2; 0 where HH == LL),
    clipped to ±0.999; raw = ½·ln((1+x)/(1−x)); fisher = EMA(raw, span ``smoothing``,
    adjust=False) from the first value (head period−1); signal = fisher of the previous bar.
    """
    hh = rolling_max_nb(high, period)
    ll = rolling_min_nb(low, period)
    n = high.shape[0]
    raw = np.empty(n)
    for i in range(n):
        rng = hh[i] - ll[i]
        if rng == 0.0:
            x = 0.0
        else:
            x = 2.0 * (((high[i] + low[i]) / 2.0 - ll[i]) / rng) - 1.0
            if x < -0.999:  # a NaN x (warm-up) stays NaN
                x = -0.999
            elif x > 0.999:
                x = 0.999
        raw[i] = 0.5 * np.log((1.0 + x) / (1.0 - x))
    fisher = ewm_mean_nb(raw, 2.0 / (smoothing + 1.0), False)
    signal = np.full(n, np.nan)
    signal[1:] = fisher[:-1]
    return fisher, signal


@njit(cache=True, nogil=True, error_model="numpy")
def shift_nb(x, k):
    """x shifted ``k`` bars later: out[i] = x[i − k], NaN for the first k bars."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(k, n):
        out[i] = x[i - k]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def midpoint_nb(high, low, period):
    """(rolling max of H + rolling min of L)/2 over ``period`` bars; head period−1."""
    return (rolling_max_nb(high, period) + rolling_min_nb(low, period)) / 2.0


@njit(cache=True, nogil=True, error_model="numpy")
def ichimoku_nb(high, low, close, tenkan_period, kijun_period, senkou_b_period, displacement):
    """Ichimoku: (tenkan, kijun, senkou_a, senkou_b, chikou).

    tenkan/kijun = midpoints over their periods; senkou_a = (tenkan + kijun)/2 and senkou_b = the
    midpoint over senkou_b_period, both shifted ``displacement`` bars later (the cloud a chart
    shows at bar t was computed at t − displacement: causal); chikou = the close (plotted
    ``displacement`` bars back on a chart, it is the current close at every bar).
    """
    tenkan = midpoint_nb(high, low, tenkan_period)
    kijun = midpoint_nb(high, low, kijun_period)
    senkou_a = shift_nb((tenkan + kijun) / 2.0, displacement)
    senkou_b = shift_nb(midpoint_nb(high, low, senkou_b_period), displacement)
    return tenkan, kijun, senkou_a, senkou_b, close.copy()


@njit(cache=True, nogil=True, error_model="numpy")
def parabolic_sar_nb(high, low, close, initial_af, step_af, max_af):
    """Parabolic SAR (the older system's rules); NaN at bar 0.

    Bar 1 starts an uptrend if C₁ > C₀ (SAR = L₀, extreme EP = H₁), else a downtrend (SAR = H₀,
    EP = L₁). Then SAR_i = SAR₋₁ + af·(EP − SAR₋₁). Uptrend: if L_i ≤ SAR_i the trend reverses
    (SAR_i = EP, af = initial_af, EP = L_i); otherwise SAR_i = min(SAR_i, L₋₁, L₋₂) and a new high
    moves EP there and raises af by step_af up to max_af. Downtrend mirrored. The reversal test uses
    the SAR before it is capped by the previous two bars.
    """
    n = close.shape[0]
    sar = np.full(n, np.nan)
    if n < 2:
        return sar
    af = initial_af
    if close[1] > close[0]:
        up = True
        ep = high[1]
        sar[1] = low[0]
    else:
        up = False
        ep = low[1]
        sar[1] = high[0]
    for i in range(2, n):
        s = sar[i - 1] + af * (ep - sar[i - 1])
        if up:
            if low[i] <= s:
                up = False
                s = ep
                af = initial_af
                ep = low[i]
            else:
                s = min(s, low[i - 1], low[i - 2])
                if high[i] > ep:
                    ep = high[i]
                    af = min(af + step_af, max_af)
        else:
            if high[i] >= s:
                up = True
                s = ep
                af = initial_af
                ep = high[i]
            else:
                s = max(s, high[i - 1], high[i - 2])
                if low[i] < ep:
                    ep = low[i]
                    af = min(af + step_af, max_af)
        sar[i] = s
    return sar


@njit(cache=True, nogil=True, error_model="numpy")
def rvi_nb(open_, high, low, close, period, signal_period):
    """Relative vigor index: (rvi, signal).

    num_i = (co₋₃ + 2co₋₂ + 2co₋₁ + co)/6 with co = C − O, den likewise with H − L (from bar 3);
    rvi = SMA(num, period)/SMA(den, period), NaN where the denominator is 0 (head period+2);
    signal = SMA(rvi, signal_period) (head period+signal_period+1).
    """
    n = close.shape[0]
    num = np.full(n, np.nan)
    den = np.full(n, np.nan)
    for i in range(3, n):
        co0 = close[i - 3] - open_[i - 3]
        co1 = close[i - 2] - open_[i - 2]
        co2 = close[i - 1] - open_[i - 1]
        co3 = close[i] - open_[i]
        hl0 = high[i - 3] - low[i - 3]
        hl1 = high[i - 2] - low[i - 2]
        hl2 = high[i - 1] - low[i - 1]
        hl3 = high[i] - low[i]
        num[i] = (co0 + 2.0 * co1 + 2.0 * co2 + co3) / 6.0
        den[i] = (hl0 + 2.0 * hl1 + 2.0 * hl2 + hl3) / 6.0
    num_ma = rolling_mean_nb(num, period, period)
    den_ma = rolling_mean_nb(den, period, period)
    rvi = np.full(n, np.nan)
    for i in range(n):
        if den_ma[i] != 0.0:
            rvi[i] = num_ma[i] / den_ma[i]
    return rvi, rolling_mean_nb(rvi, signal_period, signal_period)


@njit(cache=True, nogil=True, error_model="numpy")
def squeeze_intensity_nb(x, high, low, close, bb_period, bb_mult, kc_period, kc_mult):
    """Squeeze intensity: how far the Bollinger Bands (on ``x``) sit inside the Keltner channels.

    With BB(bb_period, bb_mult) and KC(kc_period, ATR period 10, kc_mult) and r = KCu − KCl:
    max(0, min((KCu − BBu)/r, (BBl − KCl)/r)) where |r| > 1e-10, else 0.0. As in the older
    system, bars where the KC bands are still NaN read 0.0, and bars where only the BB are NaN
    read NaN.
    """
    bbu, _, bbl = bbands_nb(x, bb_period, bb_mult)
    kcu, _, kcl = keltner_nb(high, low, close, kc_period, 10, kc_mult)
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        r = kcu[i] - kcl[i]
        if not abs(r) > 1e-10:  # also NaN
            out[i] = 0.0
            continue
        a = (kcu[i] - bbu[i]) / r
        b = (bbl[i] - kcl[i]) / r
        if np.isnan(a) or np.isnan(b):
            out[i] = np.nan
        else:
            out[i] = max(0.0, min(a, b))
    return out


@njit(cache=True, nogil=True)
def zigzag_extremes_nb(x, threshold):
    """Boolean mask of the zigzag extremes of ``x`` (the older system's rules).

    Bar 0 is an extreme. Until a direction exists, the first bar whose change vs bar 0 reaches
    ±threshold becomes an extreme and sets the direction. In an up-leg a higher value moves the
    current extreme there (the old one is erased); a fall of ``threshold`` or more from it marks a
    new extreme and turns the leg down (down-legs mirrored). **Looks ahead**: an extreme is only
    known once price has moved away from it, and the last one is tentative.
    """
    n = x.shape[0]
    is_ext = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return is_ext
    is_ext[0] = True
    last_idx = 0
    last_price = x[0]
    direction = 0  # 0: not yet known, 1: up-leg, -1: down-leg
    for i in range(1, n):
        price = x[i]
        change = (price - last_price) / last_price
        if direction == 0:
            if abs(change) >= threshold:
                direction = 1 if change > 0 else -1
                is_ext[i] = True
                last_idx = i
                last_price = price
        elif direction == 1:
            if price > last_price:  # higher high: the current extreme moves here
                is_ext[last_idx] = False
                is_ext[i] = True
                last_idx = i
                last_price = price
            elif change <= -threshold:  # reversal down
                direction = -1
                is_ext[i] = True
                last_idx = i
                last_price = price
        else:
            if price < last_price:  # lower low: the current extreme moves here
                is_ext[last_idx] = False
                is_ext[i] = True
                last_idx = i
                last_price = price
            elif change >= threshold:  # reversal up
                direction = 1
                is_ext[i] = True
                last_idx = i
                last_price = price
    return is_ext
