"""A batch's units of jobs as Ray tasks (``vbt.batch(..., backend="ray")``).

Each unit (the jobs of one model, see ``vbt.batches.pool``) is one task: it loads its model once,
shares bars, features and inference between its jobs as a local worker process does, and returns
the unit's records, which the driver writes to ``results.jsonl`` as each task finishes. The model
and data paths (and the output folder, for jobs that write sweep tables) must be reachable from
the cluster's nodes, e.g. on shared storage. A task whose worker dies is retried by Ray up to
``max_retries`` times; after that each of its jobs gets an ``error`` record saying so, and the
batch goes on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numba

from vbt.batches.cache import SharedSources
from vbt.batches.job import JobSettings, Trainer, run_job
from vbt.batches.pool import Unit, _died, cancelled
from vbt.sim.runner import is_cancelled
from vbt.sweeps.ray_backend import connect


def _run_unit(unit: Unit, settings: JobSettings) -> list[dict[str, Any]]:
    """One Ray task: every job of a unit, in order, with shared work (records)."""
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    threads = max(1, math.floor(cpus))
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    settings = dataclasses.replace(settings, threads=threads)
    sources, trainer = SharedSources(threads=threads), Trainer()
    return [run_job(job, sources, settings, trainer) for job in unit]


def run_units_ray(
    units: list[Unit],
    settings: JobSettings,
    on_record: Callable[[dict[str, Any]], None],
    *,
    address: str | None = None,
    task_cpus: float = 1.0,
    max_retries: int = 3,
    cancel: Any = None,
) -> int:
    """Run every unit as a Ray task, calling ``on_record`` with each record as its task ends.
    Returns the number of tasks. ``cancel`` is checked at least every second; cancelling stops
    the tasks in flight and raises ``CancelledError``."""
    ray = connect(address)
    remote = ray.remote(_run_unit).options(num_cpus=task_cpus, max_retries=max_retries,
                                           retry_exceptions=False)  # fmt: skip
    limit = max(1, int(2 * ray.cluster_resources().get("CPU", 1.0) / task_cpus))
    waiting = list(reversed(units))
    pending: dict[Any, Unit] = {}
    done, total = 0, sum(len(u) for u in units)
    try:
        while waiting or pending:
            if is_cancelled(cancel):
                raise cancelled(done, total)
            while waiting and len(pending) < limit:
                unit = waiting.pop()
                pending[remote.remote(unit, settings)] = unit
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                unit = pending.pop(ref)
                try:
                    records = ray.get(ref)
                except ray.exceptions.RayError:  # its worker died max_retries + 1 times
                    records = [_died(job, None) for job in unit]
                for record in records:
                    on_record(record)
                done += len(records)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return len(units)
