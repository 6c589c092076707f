"""Sequence windows for LSTM/GRU models: the one rule training and inference share."""

from __future__ import annotations

import numpy as np


def sliding_windows(
    values: np.ndarray, valid: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``length`` rows ending at each bar, and whether each window is complete.

    values: float32[n, F]; valid: bool[n]. Returns (view float32[n, length, F], ok bool[n]):
    window i holds rows i−length+1..i (rows before 0 are NaN padding) and ok[i] is True only when
    all ``length`` rows exist and are valid. The view shares memory with a padded copy of
    ``values``; index it (e.g. ``view[rows]``) to get a contiguous batch.
    """
    if length < 1:
        raise ValueError(f"sequence length must be >= 1, got {length}")
    n, f = values.shape
    padded = np.concatenate([np.full((length - 1, f), np.nan, dtype=values.dtype), values])
    view = np.lib.stride_tricks.sliding_window_view(padded, (length, f))[:, 0]
    ok = np.concatenate([np.zeros(length - 1, dtype=bool), np.asarray(valid, dtype=bool)])
    complete = np.lib.stride_tricks.sliding_window_view(ok, length).all(axis=1)
    return view, complete
