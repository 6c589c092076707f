"""Arrays as vbt's Numba kernels take them (NumPy only: importing this loads no Numba).

Numba compiles a kernel once per type of its arguments, and whether an array is writable is part
of that type. polars hands out a read-only array for a column in one chunk and a writable copy
for a column in several (a file of several row groups): passed on as they come, the same kernel
would compile again, for seconds, at a user's first run on such a file, missing what
``python -m vbt.warmup`` cached. So every function that calls a kernel on bar data passes the
arrays through :func:`kernel_input`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def kernel_input(values: Any, dtype: Any = None) -> np.ndarray:
    """``values`` as a C-contiguous, read-only array of ``dtype`` (default: its own): a view of
    ``values`` when it already is one, else a copy."""
    a = np.ascontiguousarray(values, dtype=dtype)
    view = a.view()
    view.setflags(write=False)
    return view
