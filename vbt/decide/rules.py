"""The decision rules: the one copy of the output interpretation and of the three filters.

All functions are ``@njit(cache=True, nogil=True)``. The scan (``vbt.sim.nb``) and the per-bar
``DecisionFunction`` both call them, so there is exactly one implementation of each rule.
Signals, sides and reasons are the int8 codes of ``vbt.enums``.
"""

import numpy as np
from numba import prange

from vbt.enums import (
    BUY,
    CLASS_BUY,
    CLASS_HOLD,
    CLASS_SELL,
    FLAT,
    HOLD,
    LONG,
    REASON_LOW_CONFIDENCE,
    REASON_POSITION,
    REASON_RAW_HOLD,
    REASON_SEPARATION,
    REASON_SIGNAL,
    SELL,
    SHORT,
)
from vbt.jit import njit

# Tolerance of the "row already is a probability vector" test (as in the older system).
PROB_SUM_TOL = 1e-6


@njit(cache=True, nogil=True)
def _class_to_signal(k):
    if k == CLASS_BUY:
        return np.int8(BUY)
    if k == CLASS_SELL:
        return np.int8(SELL)
    if k == CLASS_HOLD:
        return np.int8(HOLD)
    return np.int8(HOLD)


@njit(cache=True, nogil=True)
def classify_into_nb(outputs, raw, conf, probs):
    """The classification rule, written into raw int8[n], conf float32[n], probs float32[n, k].

    ``outputs``: float32/float64 [n, k], logits or probabilities (k classes, index 0 = BUY,
    1 = HOLD, 2 = SELL). A row whose entries all lie in [0, 1] and sum to 1 within 1e-6 is used as
    probabilities as it is; any other row goes through a max-shifted softmax. raw = the argmax class
    mapped to BUY/HOLD/SELL (any other index -> HOLD, ties -> the first class); confidence = the max
    probability. A row with any non-finite value gives HOLD, confidence 0 and NaN probabilities.
    ``probs`` may have a single row: it is then scratch space, reused for every row.
    """
    n, k = outputs.shape
    e = np.empty(k)  # exp(x - max) of the current row, computed once
    keep = probs.shape[0] == n
    for i in range(n):
        p = probs[i] if keep else probs[0]
        raw[i] = HOLD
        conf[i] = 0.0
        finite = k > 0
        is_prob = True
        total = 0.0
        hi = -np.inf
        for j in range(k):
            v = np.float64(outputs[i, j])
            if not np.isfinite(v):
                finite = False
                break
            if v < 0.0 or v > 1.0:
                is_prob = False
            total += v
            if v > hi:
                hi = v
        if not finite:
            for j in range(k):
                p[j] = np.nan
            continue
        if is_prob and abs(total - 1.0) <= PROB_SUM_TOL:
            for j in range(k):
                p[j] = np.float32(outputs[i, j])
        else:
            denom = 0.0
            for j in range(k):
                e[j] = np.exp(np.float64(outputs[i, j]) - hi)
                denom += e[j]
            for j in range(k):
                p[j] = np.float32(e[j] / denom)
        best = 0
        for j in range(1, k):
            if p[j] > p[best]:
                best = j
        raw[i] = _class_to_signal(best)
        conf[i] = p[best]


#: rows per block of ``classify_blocks_nb`` (a block runs on one thread, with its own scratch)
CLASSIFY_BLOCK = 4096


@njit(cache=True, nogil=True, parallel=True)
def classify_blocks_nb(outputs, raw, conf):
    """``classify_into_nb`` over blocks of ``CLASSIFY_BLOCK`` rows on Numba's threads, without
    keeping the probabilities: the same rule on the same rows, so the same values."""
    n, k = outputs.shape
    for b in prange((n + CLASSIFY_BLOCK - 1) // CLASSIFY_BLOCK):
        lo = b * CLASSIFY_BLOCK
        hi = min(n, lo + CLASSIFY_BLOCK)
        classify_into_nb(outputs[lo:hi], raw[lo:hi], conf[lo:hi], np.empty((1, k), np.float32))


@njit(cache=True, nogil=True)
def classify_nb(outputs):
    """Classification outputs -> (raw int8[n], confidence float32[n], probs float32[n, k]): see
    ``classify_into_nb``."""
    n, k = outputs.shape
    raw = np.zeros(n, dtype=np.int8)
    conf = np.zeros(n, dtype=np.float32)
    probs = np.empty((n, k), dtype=np.float32)
    classify_into_nb(outputs, raw, conf, probs)
    return raw, conf, probs


@njit(cache=True, nogil=True)
def regress_one_nb(r, threshold):
    """The regression rule for one predicted return -> (raw int8, confidence float32).

    BUY if r > threshold, SELL if r < -threshold, else HOLD; confidence = min(|r| / (3 *
    threshold), 1) (1 for any r != 0 when threshold <= 0). A non-finite r gives HOLD with
    confidence 0.
    """
    r = np.float64(r)
    if not np.isfinite(r):
        return np.int8(HOLD), np.float32(0.0)
    raw = np.int8(BUY) if r > threshold else (np.int8(SELL) if r < -threshold else np.int8(HOLD))
    if threshold > 0.0:
        conf = np.float32(min(abs(r) / (3.0 * threshold), 1.0))
    else:
        conf = np.float32(1.0) if r != 0.0 else np.float32(0.0)
    return raw, conf


@njit(cache=True, nogil=True)
def regress_nb(outputs, threshold):
    """Regression outputs float [n] -> (raw int8[n], confidence float32[n]), by ``regress_one_nb``."""
    n = outputs.shape[0]
    raw = np.zeros(n, dtype=np.int8)
    conf = np.zeros(n, dtype=np.float32)
    for i in range(n):
        raw[i], conf[i] = regress_one_nb(outputs[i], threshold)
    return raw, conf


@njit(cache=True, nogil=True)
def decide_nb(
    raw,
    confidence,
    bar_ts_ns,
    last_trade_ts_ns,
    has_last_trade,
    position_side,
    is_regression,
    confidence_threshold,
    min_separation_ns,
    position_awareness,
    allow_short_from_flat,
):
    """Apply the filters to one raw signal -> (signal int8, reason int8).

    In order: raw HOLD -> (HOLD, REASON_RAW_HOLD); 1. classification only, confidence <
    confidence_threshold (strict) -> REASON_LOW_CONFIDENCE; 2. has_last_trade and
    bar_ts_ns - last_trade_ts_ns < min_separation_ns -> REASON_SEPARATION (times in ns, the last
    trade's time is its execution bar's open stamp); 3. if position_awareness: LONG+BUY, SHORT+SELL,
    and FLAT+SELL unless is_regression or allow_short_from_flat -> REASON_POSITION. Otherwise
    (raw, REASON_SIGNAL).
    """
    # Written as flags and selects (no early returns) so that, inlined in the scan, it compiles to
    # branch-free code: random signals would otherwise mispredict at every filter.
    is_hold = raw == HOLD
    low_conf = (not is_regression) & (confidence < confidence_threshold)
    too_soon = has_last_trade & (bar_ts_ns - last_trade_ts_ns < min_separation_ns)
    short_ok = is_regression | allow_short_from_flat
    redundant = (
        ((raw == BUY) & (position_side == LONG))
        | ((raw == SELL) & (position_side == SHORT))
        | ((raw == SELL) & (position_side == FLAT) & (not short_ok))
    )
    blocked_pos = position_awareness & redundant
    reason = REASON_SIGNAL
    reason = REASON_POSITION if blocked_pos else reason
    reason = REASON_SEPARATION if too_soon else reason
    reason = REASON_LOW_CONFIDENCE if low_conf else reason
    reason = REASON_RAW_HOLD if is_hold else reason
    signal = raw if reason == REASON_SIGNAL else HOLD
    return np.int8(signal), np.int8(reason)
