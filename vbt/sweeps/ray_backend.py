"""Sweeps on a Ray cluster: blocks of combinations as Ray tasks, over inputs shared once.

Ray (the ``vbt[ray]`` extra) is imported only here. The scan inputs are put in Ray's object store
once, so every task on a node reads the same arrays without a copy. The selected combinations are
cut into blocks big enough to be worth shipping (``task_combo_bars`` combination-bars each); each
task runs the local sweep kernel on its block with as many Numba threads as Ray gave it CPUs, so
every block's numbers are the bits the local backend computes. Tasks are submitted with
back-pressure (a bounded number in flight), gathered as they finish (progress counts
combination-bars), retried up to ``max_retries`` times when their worker process dies, and
cancelled when ``cancel`` says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vbt.errors import CancelledError, ConfigError
from vbt.sim.records import ACC_DTYPE
from vbt.sim.runner import ProgressFn, ScanInputs, ScanParams, is_cancelled
from vbt.sweeps.grid import Grid
from vbt.sweeps.runner import run_sweep

DEFAULT_TASK_COMBO_BARS = 50_000_000  # about a second of kernel time per task on one core
INPUT_FIELDS = ("ts_ns", "open", "close", "raw", "confidence", "value", "high", "low")


def ray_module():
    """The ``ray`` package, or a ``ConfigError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "backend 'ray' needs Ray: pip install 'vbt[ray]' (or set backend='local')"
        ) from None
    return ray


def connect(address: str | None = None) -> Any:
    """Ray, initialised: the cluster at ``address`` (e.g. ``ray://head:10001`` or ``auto``), or,
    when Ray is not initialised and no address is given, a local cluster on this machine."""
    ray = ray_module()
    if not ray.is_initialized():
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local cluster"
            raise ConfigError(f"ray: cannot connect to {where} ({exc})") from None
    return ray


def _sweep_block(arrays: dict, base: dict, bar_ns: int, grid: dict, combos: np.ndarray,
                 chunk_bars: int) -> np.ndarray:  # fmt: skip
    """One Ray task: the local sweep kernel on a block of combinations (ACC_DTYPE[len(combos)])."""
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    inputs = ScanInputs(**{k: arrays[k] for k in INPUT_FIELDS})  # read-only views, no copy
    params = ScanParams(bar_ns=bar_ns).with_values(**base)
    g = Grid(tuple(grid), tuple(tuple(v) for v in grid.values()))
    return run_sweep(inputs, params, g, combos, chunk_bars=chunk_bars,
                     threads=max(1, math.floor(cpus)))  # fmt: skip


def run_sweep_ray(
    inputs: ScanInputs,
    base: ScanParams,
    grid: Grid,
    combos: np.ndarray,
    *,
    chunk_bars: int = 65_536,
    address: str | None = None,
    task_cpus: float = 1.0,
    task_combo_bars: int = DEFAULT_TASK_COMBO_BARS,
    max_in_flight: int | None = None,
    max_retries: int = 3,
    progress: ProgressFn | None = None,
    cancel: Any = None,
) -> np.ndarray:
    """``vbt.sweeps.runner.run_sweep`` on a Ray cluster: ACC_DTYPE[len(combos)], in order, equal
    bit for bit to the local backend's.

    address: the cluster (None: the one Ray is initialised with, else a local one); task_cpus:
    CPUs per task (its Numba threads); task_combo_bars: the work per task; max_in_flight: tasks
    submitted and not yet gathered (default: twice the cluster's CPUs over task_cpus); max_retries:
    attempts after a task's worker process dies (a task that raises is not retried: the error is
    the answer). ``cancel`` is checked whenever a task finishes and at least every second;
    cancelling stops the tasks in flight and raises ``CancelledError``.
    """
    ray = connect(address)
    n, m = len(inputs), len(combos)
    per_task = max(1, int(task_combo_bars) // max(n, 1))
    blocks = [combos[k : k + per_task] for k in range(0, m, per_task)]
    arrays = ray.put({k: getattr(inputs, k) for k in INPUT_FIELDS})
    base_values = {k: v for k, v in base.values().items()}
    grid_values = grid.to_dict()
    remote = ray.remote(_sweep_block).options(num_cpus=task_cpus, max_retries=max_retries,
                                              retry_exceptions=False)  # fmt: skip
    if max_in_flight is None:
        cluster_cpus = ray.cluster_resources().get("CPU", 1.0)
        max_in_flight = max(1, int(2 * cluster_cpus / task_cpus))
    out = np.empty(m, dtype=ACC_DTYPE)
    starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
    pending: dict[Any, int] = {}
    done_bars = 0
    next_block = 0
    try:
        while next_block < len(blocks) or pending:
            while next_block < len(blocks) and len(pending) < max_in_flight:
                ref = remote.remote(arrays, base_values, base.bar_ns, grid_values,
                                    blocks[next_block], chunk_bars)  # fmt: skip
                pending[ref] = next_block
                next_block += 1
            if is_cancelled(cancel):
                raise CancelledError(f"sweep cancelled with {done_bars:,} of {m * n:,} "
                                     "combination-bars done")  # fmt: skip
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                k = pending.pop(ref)
                try:
                    accs = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the task raised: its own error
                    cause = exc.cause if isinstance(exc.cause, Exception) else exc
                    raise cause from None
                except ray.exceptions.RayError as exc:  # its worker died max_retries + 1 times
                    raise ConfigError(f"sweep block {k} failed on Ray after {max_retries} "
                                      f"retries: {type(exc).__name__}") from None  # fmt: skip
                out[starts[k] : starts[k] + len(blocks[k])] = accs
                done_bars += len(blocks[k]) * n
                if progress is not None:
                    progress(done_bars, m * n)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return out
