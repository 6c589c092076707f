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

from vbt.enums import CLASS_BUY, CLASS_HOLD, CLASS_SELL
from vbt.errors import ConfigError
from vbt.features.indicators.nb import zigzag_extremes_nb

DEFAULT_ZIGZAG_THRESHOLD = 0.02
DEFAULT_HORIZON = 20


def _close_array(close) -> np.ndarray:
    arr = np.asarray(close, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"close must be one-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


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
