"""Imported once by the forkserver that job processes fork from: the heavy imports (torch,
polars, numba and vbt's pipeline) happen there, not in every job; so does loading the cached
Numba kernels (``vbt.jit.load_cached_kernels``: all but the parallel ones), about 0.1 s that
every backtest job paid before its first bar."""

import sys

import torch  # noqa: F401

import vbt.batches  # noqa: F401
import vbt.data.nb  # noqa: F401  (kernels that stages import lazily, for load_cached_kernels)
import vbt.features.frame  # noqa: F401
import vbt.model.bundle  # noqa: F401
import vbt.signals  # noqa: F401
import vbt.stages  # noqa: F401
import vbt.sweeps  # noqa: F401
import vbt.worker.child  # noqa: F401
import vbt.worker.jobs.backtest  # noqa: F401
import vbt.worker.jobs.batch  # noqa: F401
import vbt.worker.jobs.sweep  # noqa: F401
from vbt.jit import load_cached_kernels

try:
    load_cached_kernels()
except Exception as exc:  # an optimisation only: the jobs load their kernels themselves
    print(
        f"vbt worker: cached kernels not preloaded ({type(exc).__name__}: {exc})", file=sys.stderr
    )
