"""The job process: runs one job and records how it ended in the store.

Started by the scheduler (``multiprocessing``, forkserver: torch and vbt are already imported),
one process per job. A watcher thread holds a pidfd of the worker and SIGKILLs this process the
moment the worker exits, however it exits, so a killed worker leaves no job running (its row
stays ``running`` and the next worker resumes it from the last checkpoint). Outcomes:

- success: result files written atomically, then the row → completed with the summary;
- cancel: the checkpoint is written, the row → cancelled;
- worker shutdown: the checkpoint is written and the row stays running, so the next worker
  resumes it;
- bad input (``VbtError``) or any other exception: the row → failed with the one-line reason
  (the traceback of an unexpected error goes to ``error.log`` in the job folder).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from vbt.errors import CancelledError, VbtError
from vbt.worker.context import JobContext
from vbt.worker.jobs import get
from vbt.worker.procs import process_start_time
from vbt.worker.store import JobStore


def die_with(worker_pid: int, worker_start: int | None) -> None:
    """SIGKILL this process as soon as ``worker_pid`` exits (a pidfd wakes the watcher; without
    pidfds, the worker's start time is polled every 0.1 s)."""

    def kill_self() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        fd = os.pidfd_open(worker_pid)
    except ProcessLookupError:
        kill_self()
    except (OSError, AttributeError):
        fd = None
    if fd is not None and process_start_time(worker_pid) != worker_start:
        kill_self()  # the pid was reused before we looked: the worker is gone

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while process_start_time(worker_pid) == worker_start:
                time.sleep(0.1)
        kill_self()

    threading.Thread(target=watch, name="vbt-worker-watch", daemon=True).start()


def run_job(db_path: str, job_id: str, job_dir: str, kind_name: str, chunk_delay_s: float,
            worker_pid: int, worker_start: int | None) -> None:  # fmt: skip
    """Entry point of a job process (see the module docstring)."""
    die_with(worker_pid, worker_start)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us
    store = JobStore(db_path)
    job = store.get(job_id)
    if job is None or job.status != "running":
        return
    kind = get(kind_name)
    ctx = JobContext(
        job_dir=Path(job_dir), resume=job.resume,
        chunk_delay_s=chunk_delay_s,
        write_progress=lambda p: store.set_progress(job_id, p),
    )  # fmt: skip
    try:
        summary = kind.run(job.spec, ctx)
    except CancelledError as e:
        if ctx.stopping():
            return  # shutdown: stays running, resumed by the next worker from the checkpoint
        store.cancelled(job_id, str(e), progress=ctx.progress)
        return
    except VbtError as e:
        store.fail(job_id, str(e))
        return
    except Exception as e:
        (ctx.job_dir / "error.log").write_text(traceback.format_exc())
        store.fail(job_id, f"internal error: {type(e).__name__}: {e}")
        return
    finally:
        sys.stdout.flush()
    if store.complete(job_id, summary, progress={**ctx.progress, "percentage": 100.0}):
        ctx.checkpoint.unlink(missing_ok=True)
