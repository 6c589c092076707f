"""JobContext: what a job sees inside its child process (its folder, checkpoint, progress and
cancellation), so that a job kind's ``run`` knows nothing of the store or the server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbt.atomic import atomic_write

CANCEL_FLAG = "cancel"  # a user's cancel: the job stops, checkpointed, as cancelled
STOP_FLAG = "stop"  # the worker is shutting down: checkpoint and leave the job to be resumed
PROGRESS_EVERY_S = 0.25  # progress reaches the store at most this often (and at the end)


@dataclass
class JobContext:
    """A running job's surroundings.

    job_dir : Path
        The job's folder (checkpoint, result files); it exists.
    resume : bool
        Continue from ``checkpoint`` when that file exists.
    chunk_delay_s : float
        Pause after each chunk (testing).
    write_progress : callable(dict)
        Stores the progress (the server's store, or anything in tests).
    """

    job_dir: Path
    resume: bool
    write_progress: Callable[[dict[str, Any]], None]
    chunk_delay_s: float = 0.0
    progress: dict[str, Any] = field(default_factory=dict)
    _last_write: float = 0.0

    @property
    def checkpoint(self) -> Path:
        return self.job_dir / "checkpoint.npz"

    @property
    def result_dir(self) -> Path:
        return self.job_dir / "result"

    def resume_from(self) -> Path | None:
        """The checkpoint to continue from, or None for a fresh run."""
        return self.checkpoint if self.resume and self.checkpoint.is_file() else None

    def stopping(self) -> bool:
        """The worker is shutting down and asked this job to stop."""
        return (self.job_dir / STOP_FLAG).exists()

    def cancel(self) -> bool:
        """Checked at every chunk boundary: a cancel or a shutdown."""
        return (self.job_dir / CANCEL_FLAG).exists() or self.stopping()

    def report(self, done: int, total: int, step: str, **context: Any) -> None:
        """Progress at a chunk boundary: ``done`` of ``total`` items (bars, combination-bars)."""
        pct = 100.0 * done / total if total else 0.0
        self.progress = {
            "percentage": round(min(pct, 100.0), 3), "current_step": step,
            "items_processed": int(done), "items_total": int(total),
            "context": {**self.progress.get("context", {}), **context},
        }  # fmt: skip
        now = time.monotonic()
        if done >= total or now - self._last_write >= PROGRESS_EVERY_S:
            self._last_write = now
            self.write_progress(self.progress)
        if self.chunk_delay_s and done < total:
            time.sleep(self.chunk_delay_s)

    def step(self, step: str, **context: Any) -> None:
        """A phase without a count (loading, inference), written at once."""
        self.progress = {**self.progress, "current_step": step,
                         "context": {**self.progress.get("context", {}), **context}}  # fmt: skip
        self.write_progress(self.progress)

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as JSON into the job folder, atomically."""
        text = json.dumps(obj, default=str)
        return atomic_write(self.job_dir / name, lambda f: f.write(text.encode("utf-8")))
