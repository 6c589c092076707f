"""minmax_indices keeps every bucket's lowest and highest point, so no peak or trough is lost."""

from __future__ import annotations

import numpy as np
import pytest

from vbt.report.downsample import minmax_indices


@pytest.mark.parametrize("n, buckets", [(1, 3), (6, 3), (7, 3), (1000, 7), (1_000_003, 1500)])
def test_every_bucket_keeps_its_extremes(n, buckets):
    y = np.cumsum(np.random.default_rng(n).normal(size=n))
    idx = minmax_indices(y, buckets)
    assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)  # sorted, unique
    if n <= 2 * buckets:
        assert np.array_equal(idx, np.arange(n))
        return
    assert idx.size <= 2 * buckets + 2 and idx[0] == 0 and idx[-1] == n - 1
    kept = set(idx.tolist())
    size = -(-n // buckets)
    for start in range(0, n, size):  # brute force: each bucket's min and max are kept
        block = y[start : start + size]
        assert start + int(block.argmin()) in kept and start + int(block.argmax()) in kept
    assert y[idx].min() == y.min() and y[idx].max() == y.max()


def test_a_single_spike_survives():
    y = np.zeros(2_000_000)
    y[1_234_567] = 5.0
    y[345] = -3.0
    idx = minmax_indices(y, 100)
    assert {1_234_567, 345} <= set(idx.tolist())
