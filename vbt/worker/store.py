"""JobStore: the worker's jobs in one SQLite file (standard library), crash-safe.

The database runs in WAL mode with ``synchronous=FULL``: a committed change survives a kill -9 or
a power cut. Every change is one short transaction. The server and the job processes open their
own connections (one per thread); writers wait for each other (``busy_timeout``).

A job row holds what was asked (``request``), what the child runs (``spec``: resolved paths and
settings), its status (the older system's operation statuses), progress, the result summary or
the error, the child's pid and start time, and a log of events (started, resumed, cancelled...).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PENDING, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "pending", "running", "completed", "failed", "cancelled",
)  # fmt: skip
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED)
ACTIVE = (PENDING, RUNNING)
FINISHED = (COMPLETED, FAILED, CANCELLED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    request          TEXT NOT NULL,
    spec             TEXT NOT NULL,
    created_at       REAL NOT NULL,
    queued_at        REAL NOT NULL,
    started_at       REAL,
    completed_at     REAL,
    updated_at       REAL NOT NULL,
    progress         TEXT NOT NULL DEFAULT '{}',
    error            TEXT,
    result           TEXT,
    pid              INTEGER,
    pid_start        INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    resume           INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    cancel_reason    TEXT,
    events           TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, queued_at);
"""


@dataclass(frozen=True)
class Job:
    """One row of the store, JSON columns decoded. Times are Unix seconds."""

    id: str
    kind: str
    status: str
    request: dict[str, Any]
    spec: dict[str, Any]
    created_at: float
    queued_at: float
    started_at: float | None
    completed_at: float | None
    updated_at: float
    progress: dict[str, Any]
    error: str | None
    result: dict[str, Any] | None
    pid: int | None
    pid_start: int | None
    attempts: int
    resume: bool
    cancel_requested: bool
    cancel_reason: str | None
    events: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        d = dict(row)
        for key in ("request", "spec", "progress", "events"):
            d[key] = json.loads(d[key])
        d["result"] = json.loads(d["result"]) if d["result"] is not None else None
        d["resume"], d["cancel_requested"] = bool(d["resume"]), bool(d["cancel_requested"])
        return cls(**d)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class JobStore:
    """The job table of ``path``; safe to use from several threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(_SCHEMA)  # its own transaction

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the write lock is taken up front)."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- reading -------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row is not None else None

    def list(
        self,
        *,
        status: str | None = None,
        kinds: tuple[str, ...] | None = None,
        active_only: bool = False,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Job], int, int]:
        """(jobs newest first, total matching, active among ``kinds``) for the list endpoint."""
        where, args = [], []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if kinds is not None:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            args.extend(kinds)
        if active_only:
            where.append("status IN ('pending', 'running')")
        sql_where = f"WHERE {' AND '.join(where)}" if where else ""
        db = self._conn()
        rows = db.execute(
            f"SELECT * FROM jobs {sql_where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        total = db.execute(f"SELECT COUNT(*) FROM jobs {sql_where}", args).fetchone()[0]
        of_kinds = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds is not None else ""
        active = db.execute(
            f"SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'running'){of_kinds}",
            kinds or (),
        ).fetchone()[0]
        return [Job.from_row(r) for r in rows], int(total), int(active)

    def counts(self) -> dict[tuple[str, str], int]:
        """{(kind, status): number of jobs}."""
        rows = self._conn().execute("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")
        return {(k, s): int(n) for k, s, n in rows}

    def with_status(self, *statuses: str) -> list[Job]:
        """Jobs with one of ``statuses``, in queue order."""
        rows = (
            self._conn()
            .execute(
                f"SELECT * FROM jobs WHERE status IN ({','.join('?' * len(statuses))}) "
                "ORDER BY queued_at, rowid",
                statuses,
            )
            .fetchall()
        )
        return [Job.from_row(r) for r in rows]

    def finished_between(self, after: float, until: float, limit: int) -> list[Job]:
        """Jobs that finished (completed, failed, cancelled) in ``(after, until]``: the latest
        ``limit`` of them, oldest first (what the worker reports when it registers)."""
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') "
                "AND completed_at > ? AND completed_at <= ? "
                "ORDER BY completed_at DESC, rowid DESC LIMIT ?",
                (after, until, limit),
            )
            .fetchall()
        )
        return [Job.from_row(r) for r in reversed(rows)]

    # ---- writing -------------------------------------------------------------------------
    def create(
        self, job_id: str, kind: str, request: dict, spec: dict, *, max_pending: int | None = None
    ) -> tuple[Job, bool]:
        """Insert a pending job; ``(job, True)``. If ``job_id`` exists, ``(existing, False)`` and
        nothing changes. With ``max_pending``, raises ``QueueFull`` when that many jobs already
        wait. The row is committed (durable) when this returns."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is not None:
                return Job.from_row(row), False
            if max_pending is not None:
                waiting = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'pending'")
                if waiting.fetchone()[0] >= max_pending:
                    raise QueueFull(max_pending)
            events = [{"time": now, "event": "created"}]
            db.execute(
                "INSERT INTO jobs (id, kind, status, request, spec, created_at, queued_at, "
                "updated_at, events) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (job_id, kind, json.dumps(request), json.dumps(spec), now, now, now,
                 json.dumps(events)),
            )  # fmt: skip
        job = self.get(job_id)
        assert job is not None
        return job, True

    def _update(self, db: sqlite3.Connection, job_id: str, event: str | None, **cols: Any) -> None:
        now = time.time()
        cols["updated_at"] = now
        if event is not None:
            old = db.execute("SELECT events FROM jobs WHERE id = ?", (job_id,)).fetchone()
            events = json.loads(old[0]) if old is not None else []
            detail = cols.pop("_detail", None)
            events.append({"time": now, "event": event, **({"detail": detail} if detail else {})})
            cols["events"] = json.dumps(events)
        cols.pop("_detail", None)
        sets = ", ".join(f"{k} = ?" for k in cols)
        db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*cols.values(), job_id))

    def _status(self, db: sqlite3.Connection, job_id: str) -> str | None:
        row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row is not None else None

    def claim(self, job_id: str) -> bool:
        """pending → running (attempts + 1); False if the job is no longer pending."""
        with self._tx() as db:
            if self._status(db, job_id) != PENDING:
                return False
            self._update(db, job_id, None, status=RUNNING, started_at=time.time(),
                         attempts=_attempts(db, job_id) + 1, error=None)  # fmt: skip
            return True

    def set_process(self, job_id: str, pid: int, pid_start: int | None) -> None:
        """Record the child process of a running job (pid and its start time, in clock ticks
        since boot, which tells a reused pid apart)."""
        with self._tx() as db:
            row = db.execute("SELECT status, resume FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row[0] != RUNNING:
                return
            event = "resumed" if row[1] else "started"
            self._update(db, job_id, event, pid=pid, pid_start=pid_start, _detail=f"pid {pid}")

    def set_progress(self, job_id: str, progress: dict) -> None:
        with self._tx() as db:
            self._update(db, job_id, None, progress=json.dumps(progress))

    def complete(self, job_id: str, result: dict, progress: dict) -> bool:
        """running → completed with ``result`` (the summary); False if not running."""
        with self._tx() as db:
            if self._status(db, job_id) != RUNNING:
                return False
            self._update(db, job_id, "completed", status=COMPLETED, completed_at=time.time(),
                         result=json.dumps(result), progress=json.dumps(progress), pid=None,
                         resume=0)  # fmt: skip
            return True

    def fail(self, job_id: str, error: str, *, only_if: tuple[str, ...] = ACTIVE) -> bool:
        """→ failed with ``error`` when the status is one of ``only_if``."""
        with self._tx() as db:
            if self._status(db, job_id) not in only_if:
                return False
            self._update(db, job_id, "failed", status=FAILED, completed_at=time.time(),
                         error=error, pid=None, _detail=error)  # fmt: skip
            return True

    def cancelled(self, job_id: str, detail: str, progress: dict | None = None) -> bool:
        """running (or pending) → cancelled; False if it had already finished."""
        with self._tx() as db:
            if self._status(db, job_id) not in ACTIVE:
                return False
            cols: dict[str, Any] = {"status": CANCELLED, "completed_at": time.time(), "pid": None}
            if progress is not None:
                cols["progress"] = json.dumps(progress)
            self._update(db, job_id, "cancelled", _detail=detail, **cols)
            return True

    def request_cancel(self, job_id: str, reason: str | None) -> Job | None:
        """Flag a cancel; a pending job is cancelled at once. Returns the job after the change."""
        with self._tx() as db:
            status = self._status(db, job_id)
            if status == PENDING:
                self._update(db, job_id, "cancelled", status=CANCELLED, completed_at=time.time(),
                             cancel_requested=1, cancel_reason=reason, _detail=reason)  # fmt: skip
            elif status == RUNNING:
                self._update(db, job_id, "cancel requested", cancel_requested=1,
                             cancel_reason=reason, _detail=reason)  # fmt: skip
        return self.get(job_id)

    def requeue(self, job_id: str, *, resume: bool, event: str, detail: str = "") -> bool:
        """A failed, cancelled or interrupted (running) job → pending again, to continue from its
        checkpoint when ``resume``. An interrupted job keeps its place in the queue; a failed or
        cancelled one goes to the end. False if the job is pending or completed."""
        with self._tx() as db:
            status = self._status(db, job_id)
            if status not in (RUNNING, FAILED, CANCELLED):
                return False
            cols: dict[str, Any] = {"status": PENDING, "resume": int(resume), "pid": None,
                                    "cancel_requested": 0, "cancel_reason": None,
                                    "completed_at": None, "error": None}  # fmt: skip
            if status != RUNNING:
                cols["queued_at"] = time.time()
            self._update(db, job_id, event, _detail=detail, **cols)
            return True


def _attempts(db: sqlite3.Connection, job_id: str) -> int:
    return int(db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])


class QueueFull(Exception):
    """The queue holds its maximum of pending jobs."""

    def __init__(self, limit: int):
        super().__init__(f"the queue is full ({limit} jobs waiting); retry later or elsewhere")
        self.limit = limit
