"""Training labels (numpy / Numba, no per-bar Python).

* :func:`zigzag_segment_labels` -- the older system's default classification labels (§7.1):
  0 = BUY, 1 = HOLD, 2 = SELL.
* :func:`forward_return_labels` -- regression labels (§7.2): (close[t+h] - close[t]) / close[t],
  NaN for the last ``h`` bars.

**Both use future prices by construction.** A zigzag extreme is only known once price has moved
``threshold`` away from it, and the last extreme is tentative; forward returns look ``h`` bars ahead.
They are targets for training only and must never be used as model inputs or in a backtest.
"""

from __future__ import annotations

import numbers

import numpy as np

from vbt.arrays import kernel_input
from vbt.enums import CLASS_BUY, CLASS_HOLD, CLASS_SELL
from vbt.errors import ConfigError
from vbt.features.indicators.nb import ewm_mean_nb, zigzag_extremes_nb
from vbt.jit import njit

DEFAULT_ZIGZAG_THRESHOLD = 0.02
DEFAULT_HORIZON = 20


def _close_array(close) -> np.ndarray:
    arr = np.asarray(close, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"close must be one-dimensional, got shape {arr.shape}")
    return kernel_input(arr)


def _threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ConfigError(f"training.labels.zigzag_threshold: expected a number, got {threshold!r}")
    if not 0.0 < float(threshold) < 1.0:
        raise ConfigError(f"training.labels.zigzag_threshold: must be in (0, 1), got {threshold!r}")
    return float(threshold)


def zigzag_extremes(close, threshold: float = DEFAULT_ZIGZAG_THRESHOLD) -> np.ndarray:
    """Boolean mask of the zigzag extremes of ``close`` (older system's rules, §7.1).

    Bar 0 is an extreme. Until a direction exists, the first bar whose change vs bar 0 reaches
    +/- ``threshold`` becomes an extreme and sets the direction. In an up-leg a higher close moves
    the current extreme (the old one is erased); a fall of ``threshold`` or more from it marks a new
    extreme and turns the leg down (mirror for down-legs). Uses future data (see module docstring).
    The kernel is the ``zigzag`` indicator's (one copy of the rule).
    """
    return zigzag_extremes_nb(_close_array(close), _threshold(threshold))


def zigzag_segment_labels(close, threshold: float = DEFAULT_ZIGZAG_THRESHOLD) -> np.ndarray:
    """Segment labels (int64): 0 = BUY, 1 = HOLD, 2 = SELL.

    For consecutive extremes (i, j) every bar strictly between them is BUY if close[j] > close[i]
    else SELL; the extremes themselves and the bars after the last extreme stay HOLD.
    """
    c = _close_array(close)
    is_ext = zigzag_extremes(c, threshold)
    labels = np.full(c.shape[0], CLASS_HOLD, dtype=np.int64)
    ext_idx = np.flatnonzero(is_ext)
    if ext_idx.size < 2:
        return labels
    prices = c[ext_idx]
    seg_label = np.where(prices[1:] > prices[:-1], CLASS_BUY, CLASS_SELL)  # one per segment
    seg = np.cumsum(is_ext) - 1  # index of the extreme at or before each bar
    inside = ~is_ext & (seg < ext_idx.size - 1)  # strictly between two extremes
    labels[inside] = seg_label[seg[inside]]
    return labels


def forward_return_labels(close, horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """(close[t+h] - close[t]) / close[t] as float64; the last ``h`` bars are NaN (undefined)."""
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
        raise ConfigError(f"training.labels.horizon: expected a positive integer, got {horizon!r}")
    c = _close_array(close)
    h = int(horizon)
    out = np.full(c.shape[0], np.nan, dtype=np.float64)
    if c.shape[0] > h:
        out[:-h] = (c[h:] - c[:-h]) / c[:-h]
    return out


# --------------------------------------------------------------------------- triple barrier

TRIPLE_BARRIER_DEFAULTS = {
    "pt_multiplier": 2.0,
    "sl_multiplier": 1.5,
    "max_holding_period": 50,
    "vol_span": 50,
    "vol_method": "atr",
}
VOL_METHODS = ("atr", "close")


@njit(cache=True, nogil=True, error_model="numpy")
def ewm_std_nb(x, alpha):
    """pandas' ``ewm(alpha=alpha).std()`` (adjust=True, bias=False, ignore_na=False): the
    weighted variance updated online, with the unbiased correction; NaN until two observations."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    mean = np.nan
    cov = 0.0
    sum_wt = 1.0
    sum_wt2 = 1.0
    old_wt = 1.0
    nobs = 0
    factor = 1.0 - alpha
    for i in range(n):
        cur = x[i]
        is_obs = cur == cur
        if is_obs:
            nobs += 1
        if mean == mean:
            sum_wt *= factor
            sum_wt2 *= factor * factor
            old_wt *= factor
            if is_obs:
                old_mean = mean
                if mean != cur:
                    mean = (old_wt * old_mean + cur) / (old_wt + 1.0)
                cov = (old_wt * (cov + (old_mean - mean) ** 2) + (cur - mean) ** 2) / (old_wt + 1.0)
                sum_wt += 1.0
                sum_wt2 += 1.0
                old_wt += 1.0
        elif is_obs:
            mean = cur
        if nobs >= 1:
            denom = sum_wt * sum_wt - sum_wt2
            out[i] = np.sqrt(sum_wt * sum_wt / denom * cov) if denom > 0.0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _triple_barrier_nb(high, low, close, vol, pt, sl, hold):
    """Class ids (float64; NaN for the last ``hold`` bars and where the return is undefined)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(n - hold):
        entry = close[t]
        v = vol[t]
        upper = entry * (1.0 + pt * v)
        lower = entry * (1.0 - sl * v)
        label = 0
        for dt in range(1, hold + 1):
            up = high[t + dt] >= upper
            down = low[t + dt] <= lower
            if up and down:  # both inside one bar: the bar's close decides
                label = 1 if close[t + dt] >= entry else -1
                break
            if up:
                label = 1
                break
            if down:
                label = -1
                break
        if label == 0:  # the vertical barrier: a return inside the noise band is HOLD
            ret = (close[t + hold] - entry) / entry
            if ret != ret:
                continue
            if not abs(ret) < v * np.sqrt(hold) * 0.5:
                label = 1 if ret > 0.0 else (-1 if ret < 0.0 else 0)
        out[t] = CLASS_BUY if label == 1 else (CLASS_SELL if label == -1 else CLASS_HOLD)
    return out


def triple_barrier_volatility(high, low, close, *, vol_span: int, vol_method: str) -> np.ndarray:
    """The per-bar volatility the barriers scale with (before the early-bar fill).

    ``atr``: pandas' ``ewm(span=vol_span).mean()`` of the bar range ``(high - low) / close``;
    ``close``: ``ewm(span=vol_span).std()`` of the close-to-close log returns (NaN at bar 0).
    Causal: the value at bar t reads bars up to t.
    """
    h, lo, c = (_close_array(a) for a in (high, low, close))
    alpha = 2.0 / (1.0 + vol_span)
    if vol_method == "atr":
        return ewm_mean_nb(np.ascontiguousarray((h - lo) / c), alpha, True)
    vol = np.full(c.shape[0], np.nan)
    if c.shape[0] > 1:
        vol[1:] = ewm_std_nb(np.ascontiguousarray(np.diff(np.log(c))), alpha)
    return vol


def triple_barrier_labels(
    high,
    low,
    close,
    *,
    pt_multiplier: float = TRIPLE_BARRIER_DEFAULTS["pt_multiplier"],
    sl_multiplier: float = TRIPLE_BARRIER_DEFAULTS["sl_multiplier"],
    max_holding_period: int = TRIPLE_BARRIER_DEFAULTS["max_holding_period"],
    vol_span: int = TRIPLE_BARRIER_DEFAULTS["vol_span"],
    vol_method: str = TRIPLE_BARRIER_DEFAULTS["vol_method"],
) -> np.ndarray:
    """Triple-barrier labels (López de Prado), the older system's rules: float64 class ids
    0 = BUY (the profit-take barrier touched first), 1 = HOLD (the vertical barrier, with a return
    inside the noise band), 2 = SELL (the stop-loss barrier first); NaN for the last
    ``max_holding_period`` bars.

    Parameters
    ----------
    high, low, close : array_like
        The bars, one-dimensional, of equal length.
    pt_multiplier, sl_multiplier : float
        Bar t's barriers are ``close[t] * (1 + pt_multiplier * vol[t])`` and
        ``close[t] * (1 - sl_multiplier * vol[t])``, ``vol`` from
        :func:`triple_barrier_volatility`; its first ``vol_span`` values, where NaN or 0, take the
        value at bar ``vol_span`` (the older labeller's fill).
    max_holding_period : int
        The vertical barrier, in bars: bars t+1 .. t+max_holding_period are walked; a barrier is
        touched when a bar's high reaches the upper one or its low the lower one (both in one bar:
        the bar's close vs ``close[t]`` decides). Untouched: the return to bar t+max_holding_period
        is BUY or SELL by its sign when at least ``vol[t] * sqrt(max_holding_period) / 2`` in size,
        else HOLD.
    vol_span : int
        The EWM span of the volatility.
    vol_method : {"atr", "close"}
        Bar range or close-to-close log-return volatility.

    Returns
    -------
    numpy.ndarray
        float64 class ids, NaN where undefined. **Looks ahead** ``max_holding_period`` bars (and,
        for the first ``vol_span`` bars when their volatility is filled, to bar ``vol_span``):
        a training target only.
    """
    h, lo, c = (_close_array(a) for a in (high, low, close))
    if not h.shape == lo.shape == c.shape:
        raise ValueError("high, low and close must have the same length")
    vol = triple_barrier_volatility(h, lo, c, vol_span=vol_span, vol_method=vol_method)
    if c.shape[0]:
        first = min(int(vol_span), c.shape[0] - 1)
        head = vol[:first]
        head[np.isnan(head) | (head == 0.0)] = vol[first]
    return _triple_barrier_nb(
        h, lo, c, vol, float(pt_multiplier), float(sl_multiplier), int(max_holding_period)
    )


# --------------------------------------------------------------------------- context

CONTEXT_DEFAULTS = {"horizon": 5, "bullish_threshold": 0.005, "bearish_threshold": -0.005}
CONTEXT_BULLISH, CONTEXT_BEARISH, CONTEXT_NEUTRAL = 0, 1, 2


def context_labels(
    close,
    *,
    horizon: int = CONTEXT_DEFAULTS["horizon"],
    bullish_threshold: float = CONTEXT_DEFAULTS["bullish_threshold"],
    bearish_threshold: float = CONTEXT_DEFAULTS["bearish_threshold"],
) -> np.ndarray:
    """Context labels (the older system's ``ContextLabeler``): float64 classes 0 = BULLISH
    (forward return over ``horizon`` bars > ``bullish_threshold``), 1 = BEARISH
    (< ``bearish_threshold``), 2 = NEUTRAL; NaN for the last ``horizon`` bars (all of them when
    there are no more bars than ``horizon``). Looks ahead ``horizon`` bars: a target only.

    Parameters
    ----------
    close : array_like
        One-dimensional closes.
    horizon : int
        Bars ahead the return is measured.
    bullish_threshold, bearish_threshold : float
        The return bounds of the BULLISH and BEARISH classes.

    Returns
    -------
    numpy.ndarray
        float64 class ids, NaN where undefined.
    """
    c = _close_array(close)
    h = int(horizon)
    out = np.full(c.shape[0], np.nan)
    if c.shape[0] > h:
        ret = (c[h:] - c[:-h]) / c[:-h]
        lab = np.full(ret.shape[0], float(CONTEXT_NEUTRAL))
        lab[ret > bullish_threshold] = CONTEXT_BULLISH
        lab[ret < bearish_threshold] = CONTEXT_BEARISH
        out[:-h] = lab
    return out


# --------------------------------------------------------------------------- regime (multi-scale)

REGIME_DEFAULTS = {
    "macro_atr_mult": 3.0,
    "micro_atr_mult": 1.0,
    "atr_period": 14,
    "vol_lookback": 120,
    "vol_crisis_threshold": 2.0,
    "progression_tolerance": 0.5,
}
TRENDING_UP, TRENDING_DOWN, RANGING, VOLATILE = 0, 1, 2, 3


@njit(cache=True, nogil=True, error_model="numpy")
def regime_pivots_nb(close, threshold):
    """The multi-scale labeller's zigzag pivots (int64 bar indices): bar 0; then each extreme
    confirmed by a reversal of ``threshold`` (a fraction) from it; then the last, unconfirmed
    extreme. The first move of ``threshold`` from bar 0 sets the direction without a pivot."""
    n = close.shape[0]
    piv = np.empty(n + 1, dtype=np.int64)
    if n == 0:
        return piv[:0]
    piv[0] = 0
    k = 1
    if n < 3:
        return piv[:1]
    ext = 0
    direction = 0
    for i in range(1, n):
        p = close[i]
        if close[ext] == 0.0:
            continue
        change = (p - close[ext]) / close[ext]
        if direction == 0:
            if abs(change) >= threshold:
                direction = 1 if change > 0.0 else -1
                ext = i
        elif direction == 1:
            if p > close[ext]:
                ext = i
            elif change <= -threshold:
                piv[k] = ext
                k += 1
                direction = -1
                ext = i
        else:
            if p < close[ext]:
                ext = i
            elif change >= threshold:
                piv[k] = ext
                k += 1
                direction = 1
                ext = i
    if piv[k - 1] != ext:
        piv[k] = ext
        k += 1
    return piv[:k]


@njit(cache=True, nogil=True, error_model="numpy")
def _volatile_nb(close, lookback, window, crisis):
    """bar t is VOLATILE when the sample std of the log returns over [t, t+window) exceeds
    ``crisis`` times that over [t-lookback, t) (t from ``lookback`` to n-window-1)."""
    n = close.shape[0]
    mask = np.zeros(n, dtype=np.bool_)
    if n < lookback + 2:
        return mask
    lr = np.diff(np.log(np.maximum(close, 1e-10)))
    for t in range(lookback, n - window):
        fwd = np.std(lr[t : t + window]) * np.sqrt(window / (window - 1.0)) if window > 1 else 0.0
        hist = np.std(lr[t - lookback : t]) * np.sqrt(lookback / (lookback - 1.0))
        if hist > 0.0 and fwd / hist > crisis:
            mask[t] = True
    return mask


def regime_threshold(high, low, close, *, atr_mult: float, atr_period: int) -> float:
    """A zigzag threshold (fraction) of the multi-scale labeller: ``atr_mult`` times the median
    ATR (simple mean of the true range over ``atr_period`` bars) over the median close; 0 when
    there are fewer than ``atr_period`` bars or the median close is not positive."""
    h, lo, c = (_close_array(a) for a in (high, low, close))
    n = c.shape[0]
    if n < atr_period or n == 0:
        return 0.0
    tr = np.empty(n)
    tr[0] = h[0] - lo[0]
    tr[1:] = np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))
    atr = np.convolve(tr, np.ones(atr_period) / atr_period, mode="valid")
    median_close = float(np.median(c))
    return atr_mult * float(np.median(atr)) / median_close if median_close > 0 else 0.0


def _progressive(prices: np.ndarray, up: bool, tolerance: float) -> bool:
    """Whether a macro segment's micro pivots progress: its pivot lows rise (up) or its pivot
    highs fall (down) in at least ``tolerance`` of consecutive pairs (4 pivots at least)."""
    m = prices.shape[0]
    if m < 4:
        return False
    highs, lows = [], []
    for i in range(m):
        p = prices[i]
        if i == 0 or i == m - 1:
            other = prices[1] if i == 0 else prices[m - 2]
            (lows if p < other else highs).append(p)
        elif p > prices[i - 1] and p > prices[i + 1]:
            highs.append(p)
        elif p < prices[i - 1] and p < prices[i + 1]:
            lows.append(p)
    seq = np.asarray(lows if up else highs)
    if seq.shape[0] < 2:
        return False
    steps = np.diff(seq) > 0 if up else np.diff(seq) < 0
    return bool(steps.mean() >= tolerance)


def regime_labels(
    high,
    low,
    close,
    *,
    macro_atr_mult: float = REGIME_DEFAULTS["macro_atr_mult"],
    micro_atr_mult: float = REGIME_DEFAULTS["micro_atr_mult"],
    atr_period: int = REGIME_DEFAULTS["atr_period"],
    vol_lookback: int = REGIME_DEFAULTS["vol_lookback"],
    vol_crisis_threshold: float = REGIME_DEFAULTS["vol_crisis_threshold"],
    progression_tolerance: float = REGIME_DEFAULTS["progression_tolerance"],
) -> np.ndarray:
    """Regime labels, the older system's multi-scale labeller (what its trainer runs for
    ``source: regime``): float64 classes 0 = TRENDING_UP, 1 = TRENDING_DOWN, 2 = RANGING,
    3 = VOLATILE, NaN where undefined.

    Parameters
    ----------
    high, low, close : array_like
        The bars, one-dimensional, of equal length.
    macro_atr_mult, micro_atr_mult : float
        The two zigzag thresholds, as multiples of :func:`regime_threshold`'s median ATR / median
        close (:func:`regime_pivots_nb` gives the pivots).
    atr_period : int
        The ATR's period, and the forward window of the volatility test.
    vol_lookback : int
        The backward window of the volatility test.
    vol_crisis_threshold : float
        A bar is VOLATILE when the forward log-return std over ``atr_period`` bars exceeds this
        multiple of the backward one over ``vol_lookback`` bars.
    progression_tolerance : float
        The share of consecutive micro pivot lows (up segment) or highs (down segment) that must
        progress for the segment to be trending; otherwise it is RANGING.

    Returns
    -------
    numpy.ndarray
        Every bar from the first macro pivot (bar 0) to the last (the last, unconfirmed extreme)
        takes its macro segment's class (a bar shared by two segments, the later one's), VOLATILE
        first; bars after the last pivot, and every bar of a series with fewer than
        ``atr_period + 2`` bars or no price range, are NaN. **No bounded horizon**: the thresholds
        are medians over all the bars given and a pivot is known only once price reverses, so a
        label depends on every bar passed in (vbt passes one split's bars).
    """
    h, lo, c = (_close_array(a) for a in (high, low, close))
    n = c.shape[0]
    out = np.full(n, np.nan)
    if n < atr_period + 2:
        return out
    macro = regime_threshold(h, lo, c, atr_mult=macro_atr_mult, atr_period=atr_period)
    micro = regime_threshold(h, lo, c, atr_mult=micro_atr_mult, atr_period=atr_period)
    if not (macro > 0 and micro > 0):
        return out
    macro_piv = regime_pivots_nb(c, macro)
    micro_piv = regime_pivots_nb(c, micro)
    if macro_piv.shape[0] < 2:
        return out
    volatile = _volatile_nb(c, int(vol_lookback), int(atr_period), float(vol_crisis_threshold))
    for a, b in zip(macro_piv[:-1], macro_piv[1:], strict=True):
        up = c[b] > c[a]
        inside = micro_piv[(micro_piv >= a) & (micro_piv <= b)]
        if _progressive(c[inside], up, progression_tolerance):
            cls = TRENDING_UP if up else TRENDING_DOWN
        else:
            cls = RANGING
        out[a : b + 1] = np.where(volatile[a : b + 1], VOLATILE, cls)
    return out
