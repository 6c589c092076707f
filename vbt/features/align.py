"""Look-ahead-free alignment of one timeframe's rows onto the base timeframe's bars.

A row of timeframe T (open stamp s, duration d) is complete at s + d. A base bar (stamp t, duration
b) is decided at its close t + b. The base bar sees the latest T row with s + d ≤ t + b: an as-of
backward join on close times. Rows before any T row has closed get no match (NaN): never back-fill.
The same function serves training and backtesting.

Context data (another symbol's bars, external series) joins by the same rule, with the moment
each row became known in place of a bar close: a context bar when it closes, a series value at
its own timestamp (``known_after_ns`` 0).
"""

from __future__ import annotations

import numpy as np

from vbt.arrays import kernel_input
from vbt.data.timeframe import timeframe_ns
from vbt.jit import njit


def asof_index(
    base_ts_ns: np.ndarray, base_tf: str, other_ts_ns: np.ndarray, other_tf: str
) -> np.ndarray:
    """For each base bar, the index of the latest ``other`` row closed by the base bar's close.

    Inputs are sorted int64 ns open stamps. Returns int64[n_base]; -1 where nothing has closed yet.
    Works whether ``other_tf`` is coarser or finer than ``base_tf``.
    """
    return asof_index_ns(base_ts_ns, timeframe_ns(base_tf), other_ts_ns, timeframe_ns(other_tf))


def asof_index_ns(
    base_ts_ns: np.ndarray, base_ns: int, other_ts_ns: np.ndarray, known_after_ns: int
) -> np.ndarray:
    """For each base bar (open stamp t, duration ``base_ns``), the index of the latest ``other``
    row known by the bar's close: other stamp + ``known_after_ns`` ≤ t + ``base_ns``; -1 if none.

    Inputs are sorted int64 ns stamps; returns int64[n_base].
    """
    out = np.empty(base_ts_ns.shape[0], dtype=np.int64)
    _asof_merge_nb(
        kernel_input(base_ts_ns, np.int64),
        int(base_ns),
        kernel_input(other_ts_ns, np.int64),
        int(known_after_ns),
        out,
    )
    return out


def align_context(ts_ns: np.ndarray, bar_ns: int, frame) -> tuple[dict[str, np.ndarray], int]:
    """A context frame's columns as known at the close of each bar (open stamps ``ts_ns``,
    duration ``bar_ns``), and the first bar at which anything is known (``len(ts_ns)`` if none).

    ``frame`` is a :class:`vbt.data.context.ContextFrame`. Each bar takes the latest context row
    known by its close (:func:`asof_index_ns`); bars before that are NaN (never back-filled).
    Returns ({column: float64[n]}, first).
    """
    other = frame.data.get_column("timestamp").dt.epoch("ns").to_numpy()
    index = asof_index_ns(ts_ns, bar_ns, other, frame.known_after_ns)
    cols = {
        c: take_aligned(kernel_input(frame.data.get_column(c).to_numpy(), np.float64), index)
        for c in frame.columns
    }
    first = int(np.searchsorted(index, 0, side="left"))  # index is non-decreasing
    return cols, first


@njit(cache=True, nogil=True)
def _asof_merge_nb(base_ts, base_ns, other_ts, other_ns, out):
    """Linear merge of two sorted close-time sequences: out[i] = the last j with
    other_ts[j] + other_ns <= base_ts[i] + base_ns, else -1 (= searchsorted(..., "right") - 1)."""
    j = -1
    m = other_ts.shape[0]
    for i in range(base_ts.shape[0]):
        t = base_ts[i] + base_ns
        while j + 1 < m and other_ts[j + 1] + other_ns <= t:
            j += 1
        out[i] = j


@njit(cache=True, nogil=True)
def _take_nb(values, index, out):
    for i in range(index.shape[0]):
        j = index[i]
        out[i] = values[max(j, 0)] if j >= 0 else np.nan


def take_aligned(
    values: np.ndarray, index: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``values[index]`` with NaN where ``index`` is -1. values: float[m]; index: int64[n]."""
    if out is None:
        out = np.empty(index.shape[0], dtype=values.dtype)
    if values.shape[0] == 0:
        out[...] = np.nan
        return out
    _take_nb(kernel_input(values), kernel_input(index, np.int64), out)
    return out
