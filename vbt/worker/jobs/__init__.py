"""Job kinds: what the worker can run. One module per kind, each exporting ``KIND``.

A ``JobKind`` says how its request is validated and resolved into a spec (in the server, before
the start call returns), how its operation is described, how it runs (in its own child process,
given a ``JobContext``), and how its full result is read back. The server builds the
``POST /<route>/start`` and ``/<route>/resume`` endpoints from this registry, so adding a kind
is one module and one line in ``_MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from vbt.worker.context import JobContext
from vbt.worker.settings import WorkerSettings

_MODULES = ("vbt.worker.jobs.backtest", "vbt.worker.jobs.sweep", "vbt.worker.jobs.batch")


def as_is(data: dict[str, Any], job_dir: Path) -> dict[str, Any]:
    """The default ``older_view``: a summary or result shown as the job wrote it."""
    return data


def has_checkpoint(job_dir: Path) -> bool:
    """Whether a stopped job left a scan or sweep checkpoint to resume from."""
    return (job_dir / "checkpoint.npz").is_file()


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    name : str
        Stored in the job row (``backtest``).
    route : str
        The endpoints' prefix (``backtests`` → ``POST /backtests/start``, ``/backtests/resume``).
    operation_type : str
        What the operations API reports (``backtesting``, as the older system).
    request_model : pydantic model
        The start body (it has ``task_id``).
    plan : (request, settings) → spec dict
        Validates and resolves the request (paths inside the roots, the config checked); raises
        ``RequestError`` naming the field. The spec is JSON and is all the child gets.
    metadata : request dict → dict
        The operation's ``metadata`` (symbol, timeframe, mode, dates, parameters).
    run : (spec, JobContext) → summary dict
        Runs in the child process; writes its result files through the context; raises
        ``vbt.CancelledError`` when cancelled (after its checkpoint) and ``VbtError`` on bad input.
    load_result : (job dir, offset, limit) → dict
        The full result of a completed job, read from its files.
    resumable : job dir → bool
        Whether a stopped job left something to resume from (default: its checkpoint file).
    older_view : (summary or full result, job dir) → dict
        How the older endpoints show it (``GET /api/v1/operations/{id}`` and ``.../results``;
        default: as written). A backtest's takes the older worker's names and numbers
        (``vbt.worker.compat``).

    slow_field : str or None
        The request field whose validation may take long (a sweep's grid, a batch's spec): then
        ``plan`` runs in a process of its own with a time limit (``vbt.worker.validation``), so
        the server keeps answering meanwhile; a refusal for time names this field. None: ``plan``
        is fast and runs in the request's thread.
    """

    name: str
    route: str
    operation_type: str
    request_model: type[BaseModel]
    plan: Callable[[Any, WorkerSettings], dict[str, Any]]
    metadata: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[dict[str, Any], JobContext], dict[str, Any]]
    load_result: Callable[[Path, int, int], dict[str, Any]]
    resumable: Callable[[Path], bool] = has_checkpoint
    older_view: Callable[[dict[str, Any], Path], dict[str, Any]] = as_is
    slow_field: str | None = None


def kinds() -> dict[str, JobKind]:
    """Every job kind by name, in route order."""
    out = {}
    for module in _MODULES:
        kind = import_module(module).KIND
        out[kind.name] = kind
    return out


def get(name: str) -> JobKind:
    return import_module(f"vbt.worker.jobs.{name}").KIND
