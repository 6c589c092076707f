"""Numba kernels of the FeatureFrame assembly (indicator kernels live in ``indicators/nb.py``)."""

from __future__ import annotations

from vbt.jit import njit


@njit(cache=True, nogil=True)
def pack_columns_nb(scratch, index, out, valid):
    """Transpose feature rows into the model's input matrix and flag complete bars, in one pass.

    scratch: float32[m, n] (one row per distinct feature); index: int64[f] (scratch row of output
    column j); out: float32[n, f] C-contiguous, written; valid: bool[n], written (False where any
    of the f values is NaN). Works in blocks of bars so both sides stay in cache.
    """
    f = index.shape[0]
    n = scratch.shape[1]
    block = 256
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        for i in range(i0, i1):
            valid[i] = True
        for j in range(f):
            row = index[j]
            for i in range(i0, i1):
                x = scratch[row, i]
                out[i, j] = x
                if x != x:
                    valid[i] = False
