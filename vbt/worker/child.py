"""The job process: runs one job and records how it ended in the store.

Started by the scheduler (``multiprocessing``, forkserver: torch and vbt are already imported),
one process per job. It dies with its parent (``PR_SET_PDEATHSIG``), and also stops at the next
chunk boundary if its parent is gone, so a killed worker leaves no job running. Outcomes:

- success: result files written atomically, then the row → completed with the summary;
- cancel: the checkpoint is written, the row → cancelled;
- worker shutdown: the checkpoint is written and the row stays running, so the next worker
  resumes it;
- bad input (``VbtError``) or any other exception: the row → failed with the one-line reason
  (the traceback of an unexpected error goes to ``error.log`` in the job folder).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback
from pathlib import Path

from vbt.errors import CancelledError, VbtError
from vbt.worker.context import JobContext
from vbt.worker.store import JobStore

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run_job(db_path: str, job_id: str, job_dir: str, kind_name: str, chunk_delay_s: float) -> None:
    """Entry point of a job process (see the module docstring)."""
    parent = os.getppid()
    die_with_parent()
    if parent == 1 or os.getppid() != parent:  # orphaned before prctl took effect
        os._exit(3)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us
    from vbt.worker.jobs import get

    store = JobStore(db_path)
    job = store.get(job_id)
    if job is None or job.status != "running":
        return
    kind = get(kind_name)
    ctx = JobContext(
        job_dir=Path(job_dir), resume=job.resume,
        chunk_delay_s=chunk_delay_s, parent_pid=parent,
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
