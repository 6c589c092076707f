"""Numba kernels of the FeatureFrame assembly (indicator kernels live in ``indicators/nb.py``)."""

from __future__ import annotations

import numpy as np

from vbt.features.fuzzy import gaussian_one, trapezoidal_one, triangular_one
from vbt.jit import njit

#: ``kind`` codes of ``assemble_nb``'s columns
RAW, TRIANGULAR, TRAPEZOIDAL, GAUSSIAN = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def assemble_nb(sources, source_of, kind, params, out, valid):
    """Write every feature column of the model's input matrix and flag complete bars, without
    intermediate full-length feature rows: block by block of bars, each column's values go into a
    small block (a vectorized loop per column), which is then transposed into ``out`` while both
    are in cache.

    sources: float64[k, n] (indicator outputs already aligned onto the n base bars, NaN where
    unknown); source_of: int64[f] (the source row of output column j); kind: int64[f] (``RAW``:
    the value itself, else the membership function of ``vbt.features.fuzzy``); params:
    float64[f, 4] (the membership's parameters, left-aligned); out: float32[n, f] C-contiguous,
    written (each value rounded once, from float64); valid: bool[n], written (False where any of
    the f values is NaN).
    """
    n = out.shape[0]
    f = out.shape[1]
    block = 256
    tmp = np.empty((f, block), dtype=np.float32)
    for i0 in range(0, n, block):
        m = min(block, n - i0)
        for j in range(f):
            src = sources[source_of[j], i0 : i0 + m]
            row = tmp[j]
            k = kind[j]
            a, b, c, d = params[j, 0], params[j, 1], params[j, 2], params[j, 3]
            if k == TRIANGULAR:
                for t in range(m):
                    row[t] = triangular_one(src[t], a, b, c)
            elif k == TRAPEZOIDAL:
                for t in range(m):
                    row[t] = trapezoidal_one(src[t], a, b, c, d)
            elif k == GAUSSIAN:
                for t in range(m):
                    row[t] = gaussian_one(src[t], a, b)
            else:
                for t in range(m):
                    row[t] = src[t]
        for t in range(m):
            ok = True
            for j in range(f):
                x = tmp[j, t]
                out[i0 + t, j] = x
                ok &= x == x
            valid[i0 + t] = ok
