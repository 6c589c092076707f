"""Downsampling long series for plotting, keeping every peak and trough.

A plot a few thousand pixels wide cannot show a million points, and the report must stay small.
``minmax_indices`` splits a series into equal buckets and keeps, from each, the positions of its
smallest and largest value (and the first and last point), so the drawn line reaches every
extreme the full series reaches: a drawdown's trough or an equity peak is never smoothed away.
"""

from __future__ import annotations

import numpy as np

#: buckets per plotted series: up to 2 points each, enough for a page a few thousand pixels wide
DEFAULT_BUCKETS = 1500


def minmax_indices(y: np.ndarray, n_buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """Sorted, unique positions into ``y`` to plot instead of all of it.

    y : ndarray of shape (n,), finite floats
    n_buckets : int, default=DEFAULT_BUCKETS
        The series is cut into this many buckets of (nearly) equal length; from each, the
        positions of its minimum and maximum are kept, plus positions 0 and n - 1. A series of
        at most 2 × n_buckets points is kept whole.

    Returns int64 positions, at most 2 × n_buckets + 2 of them. Every bucket's extremes, hence
    the series' global minimum and maximum, are among them.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if n <= 2 * n_buckets:
        return np.arange(n, dtype=np.int64)
    size = -(-n // n_buckets)  # ceil: the last bucket may be shorter
    k = -(-n // size)
    padded = np.empty(k * size)
    padded[:n] = y
    padded[n:] = y[-1]  # padding repeats the last value, whose position is kept anyway
    blocks = padded.reshape(k, size)
    offsets = np.arange(k, dtype=np.int64) * size
    lo = offsets + blocks.argmin(axis=1)
    hi = offsets + blocks.argmax(axis=1)
    keep = np.concatenate(([0, n - 1], np.minimum(lo, n - 1), np.minimum(hi, n - 1)))
    return np.unique(keep)
