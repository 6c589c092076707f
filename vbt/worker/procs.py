"""Processes named for good: a pid with its start time (from ``/proc``), so a reused pid is never
mistaken for the process it once named. Used by the scheduler (leftover job processes) and by the
job process (watching its worker)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def signal_name(exitcode: int) -> str:
    """The signal that ended a process whose ``exitcode`` is negative (``SIGKILL``, or
    ``signal 99`` for a number Python does not name)."""
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


def process_start_time(pid: int) -> int | None:
    """A process's start time (clock ticks after boot, /proc/<pid>/stat field 22), or None if
    there is no such live process. With the pid it names one process for good."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # zombie or dead
        return None
    return int(fields[19])


def kill_leftover(pid: int | None, start: int | None, timeout: float = 10.0) -> bool:
    """SIGKILL the process ``pid`` if it is still the one that started at ``start``; wait until
    it is gone. True if one was killed."""
    if not pid or start is None or process_start_time(pid) != start:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while process_start_time(pid) == start and time.monotonic() < deadline:
        time.sleep(0.02)
    return True
