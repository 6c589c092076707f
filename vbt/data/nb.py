"""Numba kernels of the bar contract (``vbt.data.load.validate_bars``; the rules' text there)."""

from __future__ import annotations

import numpy as np

from vbt.jit import njit

#: Rule numbers (``vbt.data.load.BAR_RULES`` in this order): 0 duplicate and 1 unsorted timestamp;
#: from PRICE_RULES, three per price column (open, high, low, close): NaN or missing, infinite,
#: not positive; from CROSS_RULES: high < low, high < max(open, close), low > min(open, close),
#: volume NaN or infinite, volume negative.
PRICE_RULES = 2
CROSS_RULES = PRICE_RULES + 12
_BLOCK = 4096  # rows checked at once, branch-free, before any row is looked at alone


@njit(cache=True, nogil=True)
def _block_holds_nb(ts, open_, high, low, close, volume, lo_row, hi_row):
    """True when rows [lo_row, hi_row) break no rule: one branch-free pass over the fewest
    comparisons that imply every rule (e.g. high >= low > 0 implies a positive high; a
    comparison with NaN is False)."""
    ok = True
    for i in range(max(lo_row, 1), hi_row):
        ok &= ts[i] > ts[i - 1]
    for i in range(lo_row, hi_row):
        o, h, lo, c, v = open_[i], high[i], low[i], close[i], volume[i]
        ok &= (o > 0.0) & (o < np.inf) & (c > 0.0) & (c < np.inf) & (lo > 0.0) & (h < np.inf)
        ok &= (h >= lo) & (h >= o) & (h >= c) & (lo <= o) & (lo <= c) & (v >= 0.0) & (v < np.inf)
    return ok


@njit(cache=True, nogil=True)
def _first_in_block_nb(ts, open_, high, low, close, volume, lo_row, hi_row):
    """``first_bad_bar_nb`` over rows [lo_row, hi_row), one row and one rule at a time."""
    prices = (open_, high, low, close)
    for i in range(lo_row, hi_row):
        if i > 0:
            if ts[i] == ts[i - 1]:
                return i, 0
            if ts[i] < ts[i - 1]:
                return i, 1
        for k in range(4):
            x = prices[k][i]
            if np.isnan(x):
                return i, PRICE_RULES + 3 * k
            if np.isinf(x):
                return i, PRICE_RULES + 3 * k + 1
            if x <= 0.0:
                return i, PRICE_RULES + 3 * k + 2
        o, h, lo, c = open_[i], high[i], low[i], close[i]
        if h < lo:
            return i, CROSS_RULES
        if h < max(o, c):
            return i, CROSS_RULES + 1
        if lo > min(o, c):
            return i, CROSS_RULES + 2
        v = volume[i]
        if not np.isfinite(v):
            return i, CROSS_RULES + 3
        if v < 0.0:
            return i, CROSS_RULES + 4
    return -1, -1


@njit(cache=True, nogil=True)
def first_bad_bar_nb(ts, open_, high, low, close, volume):
    """(row, rule) of the first row that breaks a bar rule, or (-1, -1).

    ts: int64 ns (n,); the prices and volume: float64 (n,), NaN where missing. Rows are checked in
    order and each row's rules in their numbered order (see the module), so a row's later rules
    see its earlier ones hold (the rules across columns see finite, positive prices).
    """
    n = ts.shape[0]
    for lo_row in range(0, n, _BLOCK):
        hi_row = min(n, lo_row + _BLOCK)
        if not _block_holds_nb(ts, open_, high, low, close, volume, lo_row, hi_row):
            i, rule = _first_in_block_nb(ts, open_, high, low, close, volume, lo_row, hi_row)
            if i >= 0:  # (always, while the block check is exactly the rules)
                return i, rule
    return -1, -1
