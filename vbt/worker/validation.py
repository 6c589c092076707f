"""Validation of start requests that may take long, away from the server.

A sweep's grid (up to a million values per axis) and a batch's spec (thousands of jobs, each
with its model files, data folder, grid and constraint) can take seconds or more to validate.
``Validator.plan`` runs such a kind's ``plan`` (``JobKind.slow_field``) in a process of its own,
forked from the job processes' forkserver (torch and vbt already imported, so it starts in
milliseconds), while the request's thread only waits for the answer:

- the server process stays idle meanwhile, so ``/health`` and every other request are answered
  at once, whatever the spec;
- the process is killed after ``WorkerSettings.validate_timeout_s`` (the request is refused with
  422 naming the field) and may use ``MEMORY_BYTES`` of memory beyond what it starts with (more
  is a 422 too);
- at most ``MAX_PARALLEL`` validations run at once; a request beyond that gets 503, the
  designed "busy" answer, so a flood of hostile specs cannot take every thread of the server;
- the process dies with the worker (a pidfd watch, as job processes).

Its answer is the plan (the job's spec), or the refusal it raised (``RequestError``, or a
``VbtError``, which the app answers with 422 as if it had been raised in the handler).
"""

from __future__ import annotations

import os
import resource
import signal
import threading
from typing import Any

import vbt.errors
from vbt.errors import VbtError
from vbt.worker.child import die_with
from vbt.worker.errors import RequestError
from vbt.worker.jobs import get
from vbt.worker.procs import process_start_time, signal_name
from vbt.worker.settings import WorkerSettings

#: validations running at once; a request beyond that is answered 503
MAX_PARALLEL = 4
#: address space a validation may add to what its process starts with
MEMORY_BYTES = 4 << 30


class Validator:
    """Runs the ``plan`` of a kind with a ``slow_field`` in a child process of ``context``."""

    def __init__(self, context: Any, settings: WorkerSettings):
        self.context = context
        self.settings = settings
        self._slots = threading.BoundedSemaphore(MAX_PARALLEL)

    def plan(self, kind: Any, body: Any) -> dict[str, Any]:
        """``kind.plan(body, settings)``: in this thread for a fast kind, else in a process of
        its own with a time and memory limit (see the module docstring)."""
        if kind.slow_field is None:
            return kind.plan(body, self.settings)
        if not self._slots.acquire(blocking=False):
            raise RequestError(503, None, f"the worker is validating {MAX_PARALLEL} requests "
                               "already; try again shortly")  # fmt: skip
        try:
            outcome = self._run(kind, body)
        finally:
            self._slots.release()
        return _answer(outcome, kind.slow_field)

    def _run(self, kind: Any, body: Any) -> tuple:
        limit = self.settings.validate_timeout_s
        receive, send = self.context.Pipe(duplex=False)
        me = os.getpid()
        proc = self.context.Process(
            target=validate, args=(send, kind.name, body, self.settings, me,
                                   process_start_time(me)),
            name=f"vbt-validate-{kind.name}", daemon=True,
        )  # fmt: skip
        try:
            proc.start()  # returns once forked (the forkserver's imports are done by then)
            send.close()
            if not receive.poll(limit):
                return ("refused", 422, kind.slow_field,
                        f"validation took longer than {limit:g} s and was stopped; split the "
                        "work into smaller requests")  # fmt: skip
            try:
                return receive.recv()
            except (EOFError, OSError):
                proc.join(5)
                return ("refused", 422, kind.slow_field,
                        f"validation stopped: {_ended(proc.exitcode)}")  # fmt: skip
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            receive.close()


def _ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"its process was killed by {signal_name(exitcode)} (out of memory?)"
    return f"its process exited with code {exitcode}"


def _answer(outcome: tuple, field: str) -> dict[str, Any]:
    tag, *rest = outcome
    if tag == "ok":
        return rest[0]
    if tag == "refused":
        raise RequestError(*rest)
    if tag == "vbt":
        cls = getattr(vbt.errors, rest[0], None)
        cls = cls if isinstance(cls, type) and issubclass(cls, VbtError) else VbtError
        raise cls(rest[1])
    raise RuntimeError(f"validating {field} failed: {rest[0]}")  # a bug: the app's 500


def _limit_memory() -> None:
    """Cap this process's address space at what it has now plus ``MEMORY_BYTES``."""
    try:
        with open("/proc/self/status") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_BYTES, resource.RLIM_INFINITY))
    except (OSError, ValueError, StopIteration):  # no /proc, or a lower hard limit: as it is
        pass


def validate(conn: Any, kind_name: str, body: Any, settings: WorkerSettings, worker_pid: int,
             worker_start: int | None) -> None:  # fmt: skip
    """Entry point of a validation process: send ``("ok", plan)`` or the refusal."""
    die_with(worker_pid, worker_start)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server
    _limit_memory()
    kind = get(kind_name)
    try:
        outcome: tuple = ("ok", kind.plan(body, settings))
    except RequestError as e:
        outcome = ("refused", e.status, e.field, e.message)
    except VbtError as e:
        outcome = ("vbt", type(e).__name__, str(e))
    except MemoryError:
        outcome = ("refused", 422, kind.slow_field, "validation needs more than "
                   f"{MEMORY_BYTES >> 30} GiB of memory; split the work into smaller requests")  # fmt: skip
    except RecursionError:
        outcome = ("refused", 422, kind.slow_field, "nested too deeply")
    except Exception as e:  # a bug: the server answers 500 and logs it
        outcome = ("error", f"{type(e).__name__}: {e}")
    conn.send(outcome)
    conn.close()


__all__ = ["MAX_PARALLEL", "MEMORY_BYTES", "Validator", "validate"]
