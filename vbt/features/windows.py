"""Sequence windows for LSTM/GRU models: the one rule training and inference share."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from vbt.errors import ConfigError

MAX_SEQUENCE_LENGTH = 10_000  # bars in one window: padding and batches are sized by it
SEQUENCE_LENGTH_KEY = "model.architecture.sequence_length"


def check_sequence_length(value: Any, key: str = SEQUENCE_LENGTH_KEY) -> int:
    """``value`` as a window length: an integer in [1, MAX_SEQUENCE_LENGTH]; else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
    if value > MAX_SEQUENCE_LENGTH:
        raise ConfigError(f"{key} = {value}: more than {MAX_SEQUENCE_LENGTH:,} bars per window")
    return int(value)


def sliding_windows(
    values: np.ndarray, valid: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``length`` rows ending at each bar, and whether each window is complete.

    values: float32[n, F]; valid: bool[n]. Returns (view float32[n, length, F], ok bool[n]):
    window i holds rows i−length+1..i (rows before 0 are NaN padding) and ok[i] is True only when
    all ``length`` rows exist and are valid. The view shares memory with a padded copy of
    ``values``; index it (e.g. ``view[rows]``) to get a contiguous batch.
    """
    if not 1 <= length <= MAX_SEQUENCE_LENGTH:
        raise ValueError(f"sequence length must be in [1, {MAX_SEQUENCE_LENGTH}], got {length}")
    n, f = values.shape
    padded = np.concatenate([np.full((length - 1, f), np.nan, dtype=values.dtype), values])
    view = np.lib.stride_tricks.sliding_window_view(padded, (length, f))[:, 0]
    ok = np.concatenate([np.zeros(length - 1, dtype=bool), np.asarray(valid, dtype=bool)])
    complete = np.lib.stride_tricks.sliding_window_view(ok, length).all(axis=1)
    return view, complete
