"""WorkerSettings: what one worker process serves, from where, and how many jobs at once."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from vbt.errors import ConfigError

TOKEN_ENV = "VBT_WORKER_TOKEN"
DEFAULT_PORT = 5003  # the older worker's port


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WorkerSettings:
    """One worker's configuration (the ``vbt worker`` options).

    models_root, data_root : Path
        Every model and data path of a request resolves inside these (after symlinks).
    state_dir : Path
        The job store (``jobs.sqlite3``), each job's folder (checkpoint, results) and the lock.
    max_concurrent : int
        Jobs running at once, each in its own child process; the rest wait in the queue.
    max_queue : int
        Jobs waiting at most; a start beyond that is answered 503 (the older backend retries
        another worker).
    token : str or None
        Bearer token every endpoint but ``/health`` requires; mandatory off loopback.
    max_body_bytes : int
        Larger request bodies are refused with 413.
    checkpoint_bars : int
        Bars per scan chunk: progress, cancellation and checkpoints happen between chunks.
    chunk_delay_s : float
        Pause after each chunk (0 in service; lets tests and demos catch a job mid-run).
    ray_address : str or None
        Send sweeps and batches to this Ray cluster (``ray://head:10001``, ``auto``) instead of running them
        in the job's own process; None: run them here.
    """

    models_root: Path
    data_root: Path
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_concurrent: int = 1
    max_queue: int = 64
    token: str | None = None
    max_body_bytes: int = 1 << 20
    checkpoint_bars: int = 65_536
    chunk_delay_s: float = 0.0
    ray_address: str | None = None

    def __post_init__(self) -> None:
        for name in ("models_root", "data_root"):
            p = Path(getattr(self, name))
            if not p.is_dir():
                raise ConfigError(f"--{name.replace('_', '-')} {p}: not a directory")
            object.__setattr__(self, name, p.resolve())
        object.__setattr__(self, "state_dir", Path(self.state_dir).resolve())
        checks = (
            ("max_concurrent", self.max_concurrent >= 1),
            ("max_queue", self.max_queue >= 0),
            ("max_body_bytes", self.max_body_bytes >= 1024),
            ("checkpoint_bars", self.checkpoint_bars >= 1),
            ("chunk_delay_s", 0 <= self.chunk_delay_s <= 60),
            ("port", 0 <= self.port <= 65535),
        )
        for name, ok in checks:
            if not ok:
                raise ConfigError(
                    f"--{name.replace('_', '-')} {getattr(self, name)!r}: out of range"
                )
        if self.token is not None and len(self.token) < 16:
            raise ConfigError(f"{TOKEN_ENV}: the token must have at least 16 characters")
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"--host {self.host}: binding beyond loopback needs a bearer token in {TOKEN_ENV}"
            )

    @classmethod
    def from_env(cls, **kwargs) -> WorkerSettings:
        """Settings with the token read from ``VBT_WORKER_TOKEN`` (empty = none)."""
        return cls(token=os.environ.get(TOKEN_ENV) or None, **kwargs)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "jobs.sqlite3"

    def job_dir(self, job_id: str) -> Path:
        return self.state_dir / "jobs" / job_id
