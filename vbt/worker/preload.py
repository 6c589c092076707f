"""Imported once by the forkserver that job processes fork from: the heavy imports (torch,
polars, numba and vbt's pipeline) happen there, not in every job."""

import torch  # noqa: F401

import vbt.batches  # noqa: F401
import vbt.model.bundle  # noqa: F401
import vbt.signals  # noqa: F401
import vbt.stages  # noqa: F401
import vbt.sweeps  # noqa: F401
import vbt.worker.child  # noqa: F401
import vbt.worker.jobs.backtest  # noqa: F401
import vbt.worker.jobs.batch  # noqa: F401
import vbt.worker.jobs.sweep  # noqa: F401
