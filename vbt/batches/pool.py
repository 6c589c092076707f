"""Running a batch's jobs: units of work, worker processes, and a worker that dies.

**Units.** Jobs that use the same model (or train the same strategy) form one unit, sorted so
that jobs sharing an inference follow each other; a unit runs in one process, so the model is
loaded (or trained) once there. When there are fewer units than workers, the largest unit of a
model is split between inferences (never a training unit: a strategy is trained once); a model
split that way is loaded once in each process that takes a part.

**Processes.** With one worker (or one unit) the jobs run in this process. Otherwise ``workers``
processes are started (``spawn``: nothing of this process's state is inherited), each keeping
its ``SharedSources`` and trained models for the whole batch and taking the next unit when idle;
each gets ``usable_cores() // workers`` torch and Numba threads. Records come back as each job
finishes. A worker that dies (killed, out of memory) costs the job it was running, which gets an
``error`` record saying so; the rest of its unit goes to a new worker. A worker process dies with
the process that started it (Linux: ``PR_SET_PDEATHSIG``), so a killed batch leaves none behind.

**Cancellation.** ``cancel`` (a callable or an Event) is checked between jobs and, with worker
processes, every ``POLL_S``; then the workers are stopped at once (the jobs they were running get
no record, so running the batch again into the same folder runs them) and ``CancelledError`` is
raised.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
from collections import deque
from collections.abc import Callable
from typing import Any

import numba

from vbt.batches.cache import SharedSources
from vbt.batches.job import JobSettings, Trainer, run_job
from vbt.batches.spec import PlannedJob
from vbt.errors import CancelledError
from vbt.sim.runner import is_cancelled

Unit = list[PlannedJob]
POLL_S = 0.2


def plan_units(jobs: list[PlannedJob], workers: int) -> list[Unit]:
    """The jobs grouped into units (see the module docstring), largest first."""
    groups: dict[str, Unit] = {}
    for job in jobs:
        groups.setdefault(job.unit, []).append(job)
    units = []
    for unit in groups.values():
        order = {key: k for k, key in enumerate(dict.fromkeys(j.inference for j in unit))}
        units.append(sorted(unit, key=lambda j: order[j.inference]))
    while len(units) < workers:
        splittable = [u for u in units if not u[0].unit.startswith("train:")
                      and len({j.inference for j in u}) > 1]  # fmt: skip
        if not splittable:
            break
        big = max(splittable, key=len)
        keys = list(dict.fromkeys(j.inference for j in big))
        half = set(keys[: len(keys) // 2])
        units.remove(big)
        units += [
            [j for j in big if j.inference in half],
            [j for j in big if j.inference not in half],
        ]
    return sorted(units, key=len, reverse=True)


def run_units(
    units: list[Unit],
    workers: int,
    settings: JobSettings,
    on_record: Callable[[dict[str, Any]], None],
    cancel: Any = None,
) -> int:
    """Run every job of ``units`` with ``workers`` processes, calling ``on_record`` (in this
    process) with each record as it arrives. Returns the number of processes used (0: in this
    process). Raises ``CancelledError`` when ``cancel`` says so (see the module docstring)."""
    workers = max(1, min(workers, len(units)))
    total = sum(len(u) for u in units)
    if workers == 1:
        sources, trainer = SharedSources(threads=settings.threads), Trainer()
        done = 0
        for unit in units:
            for job in unit:
                if is_cancelled(cancel):
                    raise cancelled(done, total)
                on_record(run_job(job, sources, settings, trainer))
                done += 1
        return 0
    _Pool(units, workers, settings, on_record, cancel).run()
    return workers


def cancelled(done: int, total: int) -> CancelledError:
    return CancelledError(f"batch cancelled with {done} of {total} jobs done; run it again into "
                          "the same folder to finish it")  # fmt: skip


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(tasks, results, settings: JobSettings) -> None:
    """A worker process: take a unit, run its jobs, report each; until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _die_with_parent()
    if settings.threads:
        numba.set_num_threads(min(settings.threads, numba.config.NUMBA_NUM_THREADS))
    sources, trainer, pid = SharedSources(threads=settings.threads), Trainer(), os.getpid()
    while True:
        results.put(("ready", pid, None))
        unit = tasks.get()
        if unit is None:
            return
        for job in unit:
            results.put(("start", pid, job.id))
            results.put(("done", pid, run_job(job, sources, settings, trainer)))


class _Pool:
    def __init__(self, units, workers, settings, on_record, cancel=None):
        self.ctx = mp.get_context("spawn")
        self.pending: deque[Unit] = deque(units)
        self.workers, self.settings, self.on_record = workers, settings, on_record
        self.results = self.ctx.Queue()
        self.procs: dict[int, tuple[Any, Any]] = {}  # pid -> (process, its task queue)
        self.assigned: dict[int, Unit] = {}  # pid -> the unit it is running
        self.running: dict[int, str] = {}  # pid -> the job id it is running
        self.recorded: set[str] = set()
        self.restarts = 0
        self.total = sum(len(u) for u in units)
        self.cancel = cancel

    def start(self) -> None:
        tasks = self.ctx.Queue()
        proc = self.ctx.Process(target=_worker, args=(tasks, self.results, self.settings),
                                daemon=True)  # fmt: skip
        proc.start()
        self.procs[proc.pid] = (proc, tasks)

    def run(self) -> None:
        try:
            for _ in range(self.workers):
                self.start()
            while len(self.recorded) < self.total:
                if is_cancelled(self.cancel):
                    self.stop(now=True)
                    raise cancelled(len(self.recorded), self.total)
                try:
                    kind, pid, payload = self.results.get(timeout=POLL_S)
                except queue.Empty:
                    self.check_workers()
                    continue
                self.handle(kind, pid, payload)
        finally:
            self.stop()

    def handle(self, kind: str, pid: int, payload: Any) -> None:
        if pid not in self.procs:
            return
        if kind == "ready":
            if not self.procs[pid][0].is_alive():
                return  # it died since: check_workers hands its unit on
            self.assigned.pop(pid, None)
            unit = self.pending.popleft() if self.pending else None
            if unit is not None:
                self.assigned[pid] = unit
            self.procs[pid][1].put(unit)
        elif kind == "start":
            self.running[pid] = payload
        elif kind == "done":
            self.running.pop(pid, None)
            if payload["id"] not in self.recorded:
                self.recorded.add(payload["id"])
                self.on_record(payload)

    def check_workers(self) -> None:
        for pid, (proc, _) in list(self.procs.items()):
            if proc.is_alive():
                continue
            self.drain()  # what it sent before it died
            del self.procs[pid]
            lost = [j for j in self.assigned.pop(pid, []) if j.id not in self.recorded]
            current = self.running.pop(pid, None)
            culprit = next((j for j in lost if j.id == current), None)
            if culprit is not None:  # the job it was running failed; the rest run elsewhere
                self.recorded.add(culprit.id)
                self.on_record(_died(culprit, proc.exitcode))
                lost.remove(culprit)
            if lost:
                self.pending.appendleft(lost)
            if self.pending and len(self.procs) < self.workers:
                self.restarts += 1
                if self.restarts > 2 * self.workers + self.total:
                    raise RuntimeError(f"batch worker processes keep exiting (last exit code "
                                       f"{proc.exitcode}) before running a job")  # fmt: skip
                self.start()

    def drain(self) -> None:
        while True:
            try:
                kind, pid, payload = self.results.get_nowait()
            except queue.Empty:
                return
            self.handle(kind, pid, payload)

    def stop(self, now: bool = False) -> None:
        """Stop the workers: ask them to finish (or, ``now``, terminate them mid-job)."""
        for proc, tasks in self.procs.values():
            if now and proc.is_alive():
                proc.kill()
            elif proc.is_alive():
                try:
                    tasks.put(None)
                except (OSError, ValueError):
                    pass
            tasks.cancel_join_thread()  # never wait on a message nobody will read
        for proc, _ in self.procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self.procs.clear()


def _died(job: PlannedJob, exitcode: int | None) -> dict[str, Any]:
    return {
        "id": job.id, "index": job.index, "name": job.name, "status": "error",
        "job": job.canonical, "timings": {}, "shared": {}, "worker": None,
        "error": {"type": "WorkerDied", "message": f"the worker process running this job exited "
                  f"(exit code {exitcode}); the job was not finished"},
    }  # fmt: skip
