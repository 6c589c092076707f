"""Scheduler: runs pending jobs, each in its own child process, at most ``max_concurrent`` at once.

One thread starts jobs in queue order and reaps finished processes. Child processes come from a
forkserver that has imported torch and vbt once, so a job starts in milliseconds rather than the
seconds a fresh interpreter needs. The store is the only shared state: a job is claimed (pending →
running) before its process starts, and a process that exits while its row still says running is
marked failed with the reason (exit code or signal).

On start, ``recover`` takes over what a previous worker left: leftover job processes (same pid
and start time) are killed, and running jobs go back to the queue, to resume from their last
checkpoint. So a kill -9 of the worker loses no job and runs none twice at once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing import forkserver

from vbt.worker.child import run_job
from vbt.worker.context import CANCEL_FLAG, STOP_FLAG
from vbt.worker.procs import kill_leftover, process_start_time, signal_name
from vbt.worker.settings import WorkerSettings
from vbt.worker.store import PENDING, RUNNING, JobStore

PRELOAD = ["vbt.worker.preload"]
POLL_S = 0.1


def exit_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "the job process vanished"
    if exitcode < 0:
        return f"the job process was killed by {signal_name(exitcode)}"
    return f"the job process exited with code {exitcode} before recording a result"


class Scheduler:
    """Starts, watches and stops job processes for one worker."""

    def __init__(self, settings: WorkerSettings, store: JobStore):
        self.settings = settings
        self.store = store
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(PRELOAD)
        self._procs: dict[str, multiprocessing.process.BaseProcess] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vbt-scheduler", daemon=True)

    @property
    def context(self):
        """The multiprocessing context job processes start from (a forkserver that has imported
        torch and vbt): the request validation's processes start from it too."""
        return self._mp

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self._thread.start()

    def recover(self) -> list[str]:
        """Requeue the jobs a previous worker left running (their processes killed first)."""
        requeued = []
        for job in self.store.with_status(RUNNING):
            killed = kill_leftover(job.pid, job.pid_start)
            detail = "worker restarted" + ("; its leftover process was killed" if killed else "")
            if self.store.requeue(job.id, resume=True, event="interrupted", detail=detail):
                requeued.append(job.id)
        return requeued

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop starting jobs; ask running ones to checkpoint and stop (they stay running in the
        store and resume on the next start); kill those still running after ``timeout``."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            procs = dict(self._procs)
        for job_id in procs:
            self._flag(job_id, STOP_FLAG)
        deadline = time.monotonic() + timeout
        for proc in procs.values():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)

    # ---- requests from the API ------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """Tell a running job to stop at its next chunk boundary (the store has the request)."""
        self._flag(job_id, CANCEL_FLAG)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._procs)

    # ---- the loop -------------------------------------------------------------------------
    def _flag(self, job_id: str, name: str) -> None:
        folder = self.settings.job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).touch()

    def _loop(self) -> None:
        forkserver.ensure_running()  # import torch and vbt there now, not at the first job
        while not self._stop.is_set():
            try:
                self._reap()
                self._launch()
            except Exception as e:  # keep scheduling; the error is on stderr
                print(f"vbt worker: scheduler error: {type(e).__name__}: {e}", flush=True)
            self._wake.wait(POLL_S)
            self._wake.clear()

    def _reap(self) -> None:
        with self._lock:
            done = {k: p for k, p in self._procs.items() if not p.is_alive()}
            for k in done:
                del self._procs[k]
        for job_id, proc in done.items():
            proc.join()
            job = self.store.get(job_id)
            if job is not None and job.status == RUNNING:
                self.store.fail(job_id, exit_reason(proc.exitcode), only_if=(RUNNING,))

    def _launch(self) -> None:
        while len(self._procs) < self.settings.max_concurrent and not self._stop.is_set():
            pending = self.store.with_status(PENDING)
            if not pending:
                return
            job = pending[0]
            if not self.store.claim(job.id):
                continue
            folder = self.settings.job_dir(job.id)
            folder.mkdir(parents=True, exist_ok=True)
            for name in (CANCEL_FLAG, STOP_FLAG):
                (folder / name).unlink(missing_ok=True)
            if not job.resume:  # a fresh start must not pick up an older checkpoint
                (folder / "checkpoint.npz").unlink(missing_ok=True)
            proc = self._mp.Process(
                target=run_job, name=f"vbt-job-{job.id}",
                args=(str(self.store.path), job.id, str(folder), job.kind,
                      self.settings.chunk_delay_s, os.getpid(), process_start_time(os.getpid())),
            )  # fmt: skip
            proc.start()
            with self._lock:
                self._procs[job.id] = proc
            self.store.set_process(job.id, proc.pid, process_start_time(proc.pid))
