"""WorkerSettings: what one worker process serves, from where, and how many jobs at once."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vbt.errors import ConfigError

TOKEN_ENV = "VBT_WORKER_TOKEN"
TRUSTED_ENV = "VBT_WORKER_TRUSTED_NETWORKS"  # comma-separated, as --trusted-network
DEFAULT_PORT = 5003  # the older worker's port
#: the older workers' environment variables (ktrdr/config/settings.py), preferred name first
BACKEND_URL_ENV = ("KTRDR_API_CLIENT_BASE_URL", "KTRDR_API_URL")
WORKER_ID_ENV = ("KTRDR_WORKER_ID", "WORKER_ID")
PUBLIC_URL_ENV = ("KTRDR_WORKER_PUBLIC_BASE_URL", "WORKER_PUBLIC_BASE_URL")
#: re-check the registration after this long without a health check (the older workers' 30 s)
HEALTH_CHECK_TIMEOUT_S = 30.0
#: the longest a start request's validation (a sweep's grid, a batch's spec) may take
VALIDATE_TIMEOUT_S = 30.0
_WORKER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


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
    backend_url : str or None
        The older backend to register with (``vbt.worker.registration``), without a trailing
        ``/api/v1``; None: the worker registers nowhere.
    worker_id : str or None
        This worker's id at the backend; default (with a backend) ``backtest-<host name>``.
    public_url : str or None
        The URL the backend calls this worker at; default (with a backend)
        ``http://<host name>:<port>``.
    health_check_timeout_s : float
        Without a health check from the backend for this long, ask it whether it still knows
        this worker and register again if not; the other registration delays scale with it.
    trusted_networks : tuple of str
        Networks (CIDR) whose requests need no token: the older backend sends none, so a worker
        it calls across a private container network trusts that network. Every other client
        still needs the token; a network holding every address is refused.
    validate_timeout_s : float
        The longest a sweep's or batch's start request may take to validate (in its own
        process, ``vbt.worker.validation``): a slower one is refused with 422 naming the field.
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
    backend_url: str | None = None
    worker_id: str | None = None
    public_url: str | None = None
    health_check_timeout_s: float = HEALTH_CHECK_TIMEOUT_S
    trusted_networks: tuple[str, ...] = ()
    validate_timeout_s: float = VALIDATE_TIMEOUT_S

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
            ("validate_timeout_s", 0.1 <= self.validate_timeout_s <= 3600),
        )
        for name, ok in checks:
            if not ok:
                raise ConfigError(
                    f"--{name.replace('_', '-')} {getattr(self, name)!r}: out of range"
                )
        if not 0.1 <= self.health_check_timeout_s <= 3600:
            raise ConfigError(
                f"--health-check-timeout {self.health_check_timeout_s!r}: out of range (0.1-3600 s)"
            )
        if self.token is not None and len(self.token) < 16:
            raise ConfigError(f"{TOKEN_ENV}: the token must have at least 16 characters")
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"--host {self.host}: binding beyond loopback needs a bearer token in {TOKEN_ENV}"
            )
        object.__setattr__(self, "trusted_networks", _networks(self.trusted_networks))
        if self.backend_url is not None:
            self._registration_defaults()

    def _registration_defaults(self) -> None:
        """Check the backend URL (``/api/v1`` stripped, as the older workers do) and fill in the
        worker id and public URL from the host name."""
        url = _http_url(self.backend_url, f"--backend-url (or {BACKEND_URL_ENV[0]})").rstrip("/")
        if url.endswith("/api/v1"):
            url = url[: -len("/api/v1")]
        object.__setattr__(self, "backend_url", url)
        host = socket.gethostname()
        worker_id = self.worker_id or f"backtest-{host}"
        if not _WORKER_ID.match(worker_id):
            raise ConfigError(
                f"--worker-id (or {WORKER_ID_ENV[0]}) {worker_id!r}: use 1-128 of A-Z a-z 0-9 _ . : -"
            )
        object.__setattr__(self, "worker_id", worker_id)
        public = self.public_url or f"http://{host}:{self.port}"
        public = _http_url(public, f"--public-url (or {PUBLIC_URL_ENV[0]})").rstrip("/")
        object.__setattr__(self, "public_url", public)

    @classmethod
    def from_env(cls, **kwargs) -> WorkerSettings:
        """Settings with the token read from ``VBT_WORKER_TOKEN`` (empty = none), and the backend
        URL, worker id and public URL, when not given, from the older workers' variables
        (``BACKEND_URL_ENV``, ``WORKER_ID_ENV``, ``PUBLIC_URL_ENV``; the first set one wins)."""
        for key, names in (("backend_url", BACKEND_URL_ENV), ("worker_id", WORKER_ID_ENV),
                           ("public_url", PUBLIC_URL_ENV)):  # fmt: skip
            if not kwargs.get(key):
                kwargs[key] = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if not kwargs.get("trusted_networks") and os.environ.get(TRUSTED_ENV):
            kwargs["trusted_networks"] = tuple(os.environ[TRUSTED_ENV].split(","))
        return cls(token=os.environ.get(TOKEN_ENV) or None, **kwargs)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "jobs.sqlite3"

    def job_dir(self, job_id: str) -> Path:
        return self.state_dir / "jobs" / job_id


def _networks(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The trusted networks in canonical CIDR form; a ``ConfigError`` names a bad one."""
    out = []
    for value in values:
        text = str(value).strip()
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ConfigError(
                f"--trusted-network (or {TRUSTED_ENV}) {text!r}: not a network such as 172.28.0.0/16"
            ) from None
        if net.prefixlen == 0:
            raise ConfigError(
                f"--trusted-network (or {TRUSTED_ENV}) {text!r}: trusts every address; "
                "use the token instead"
            )
        out.append(str(net))
    return tuple(out)


def _http_url(value: str, option: str) -> str:
    """``value`` if it is an http(s) URL with a host, else a ``ConfigError`` naming ``option``."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{option} {value!r}: not an http:// or https:// URL with a host")
    return value.strip()
