"""Registration with the older backend: the worker lifecycle of the older system's workers.

With a backend URL (``vbt worker --backend-url``), one background thread keeps this worker in the
backend's registry, as the older workers did (reference §9):

- **Register** with ``POST {backend}/api/v1/workers/register``: worker id, ``worker_type``
  ``backtesting``, the endpoint URL the backend calls, capabilities, the operation running now
  (``current_operation_id``) and the operations that finished since the last registration
  (``completed_operations``: id, ``COMPLETED``/``FAILED``/``CANCELLED``, result summary, error,
  completion time), which the backend reconciles with its database. Unreachable, 503 (the backend
  is shutting down) or any other failure: one log line, then again after a doubling delay, for as
  long as it takes.
- **Health checks.** The backend calls ``GET /health`` every few seconds. Without one for
  ``health_check_timeout_s`` (30 s, as the older workers), the worker asks the backend
  ``GET /api/v1/workers/{id}`` and registers again on a 404 (the backend restarted).
- **``POST /backend-shutdown``** (sent by a backend that stops): the worker tries to register every
  ``timeout / 15`` seconds (2 s) for at most ``4 × timeout`` (120 s); a 503 or no answer means
  the backend is not back yet. Then the health-check watch takes over again.

None of this blocks the worker's own API: it runs in its own thread, with its own store
connection, and uses only the standard library's HTTP client.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints

from vbt.atomic import atomic_write
from vbt.worker.settings import WorkerSettings, is_loopback
from vbt.worker.store import PENDING, RUNNING, Job, JobStore

WORKER_TYPE = "backtesting"
HTTP_TIMEOUT_S = 10.0  # the older workers' client timeout
MAX_REPORTED = 100  # finished operations reported in one registration, at most (the latest)
STATE_FILE = "registration.json"  # in the state dir: finished operations reported up to when


class ShutdownNotice(BaseModel):
    """The body of ``POST /backend-shutdown`` as the older backend sends it."""

    model_config = ConfigDict(extra="forbid")
    message: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Registrar:
    """Keeps one worker registered with the older backend (see the module docstring).

    settings : WorkerSettings
        ``backend_url``, ``worker_id``, ``public_url``, ``health_check_timeout_s``, the state dir
        and ``max_concurrent``.
    store : JobStore
        The job store; the registrar opens its own connection from its thread.
    summary : callable(Job) -> dict or None
        A finished job's ``result_summary``, exactly as ``GET /api/v1/operations/{id}`` shows it.
    """

    def __init__(self, settings: WorkerSettings, store: JobStore,
                 summary: Callable[[Job], dict[str, Any] | None]):  # fmt: skip
        assert settings.backend_url and settings.worker_id and settings.public_url
        self.backend_url, self.worker_id = settings.backend_url, settings.worker_id
        self.endpoint_url = settings.public_url
        self.max_concurrent = settings.max_concurrent
        # the older workers' delays, all in proportion to the health-check timeout (30 s):
        t = settings.health_check_timeout_s
        self.health_check_timeout = t  # no health check this long: is the worker still known?
        self.check_every = t / 3  # 10 s: how often that is looked at
        self.poll_every, self.poll_for = t / 15, 4 * t  # 2 s for 120 s after /backend-shutdown
        self.first_delay, self.max_delay = t / 30, t  # registration retries: 1 s doubling to 30 s
        self.store, self.summary = store, summary
        self.state_file = settings.state_dir / STATE_FILE
        self._backend_local = is_loopback(urlsplit(self.backend_url).hostname or "")
        self._last_health: float | None = None  # monotonic time of the backend's last check
        self._stop, self._wake = threading.Event(), threading.Event()
        self._notice = threading.Event()  # a /backend-shutdown not yet acted on
        self._thread: threading.Thread | None = None

    # ---- called from the server ------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vbt-registration", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def last_health_check(self) -> float | None:
        """``time.monotonic()`` of the backend's last health check (or registration), or None."""
        return self._last_health

    def health_checked(self, client_host: str | None) -> None:
        """``GET /health`` was called. It counts as the backend's health check unless it comes
        from loopback while the backend is elsewhere (a container's own HEALTHCHECK)."""
        if self._backend_local or not client_host or not is_loopback(client_host):
            self._last_health = time.monotonic()

    def backend_shutdown(self) -> None:
        """``POST /backend-shutdown``: poll until the backend is back, then register."""
        self._notice.set()
        self._wake.set()

    # ---- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        self._register_until_done()
        while not self._stop.is_set():
            self._sleep(self.check_every)
            if self._stop.is_set():
                break
            try:
                if self._notice.is_set():
                    self._poll_for_return()
                    continue
                last = self._last_health
                if last is None or time.monotonic() - last > self.health_check_timeout:
                    self._ensure_registered(last)
            except Exception as e:  # logged, and the watch goes on
                self._log(f"{type(e).__name__}: {e}")

    def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when stopped or woken (a shutdown notice)."""
        self._wake.wait(seconds)
        self._wake.clear()

    def _register_until_done(self) -> bool:
        """Register, retrying after 1, 2, 4 … 30 s (at the default timeout) until it succeeds.
        A shutdown notice meanwhile switches to polling."""
        delay = self.first_delay
        while not self._stop.is_set():
            if self._notice.is_set():
                return self._poll_for_return()
            if self.register_once():
                return True
            self._sleep(delay)
            delay = min(2 * delay, self.max_delay)
        return False

    def _poll_for_return(self) -> bool:
        """After ``POST /backend-shutdown``: try to register every ``poll_every`` seconds for at
        most ``poll_for`` (a repeated notice starts the period again)."""
        self._log(f"the backend is shutting down: polling for its return every "
                  f"{self.poll_every:g} s")  # fmt: skip
        deadline = 0.0
        while not self._stop.is_set():
            if self._notice.is_set():
                self._notice.clear()
                deadline = time.monotonic() + self.poll_for
            if time.monotonic() >= deadline:
                self._log(f"the backend did not return in {self.poll_for:g} s: watching for "
                          "its health checks again")  # fmt: skip
                return False
            if self.register_once():
                return True
            self._sleep(self.poll_every)
        return False

    def _ensure_registered(self, last: float | None) -> None:
        """No health check for too long (or none yet): does the backend still know us?"""
        if last is not None:
            self._log(f"no health check from the backend for {time.monotonic() - last:.0f} s: "
                      "checking the registration")  # fmt: skip
            self._last_health = time.monotonic()  # look again after a full timeout
        status, _ = self._request("GET", f"/api/v1/workers/{quote(self.worker_id, safe='')}")
        if status == 404:
            self._log("the backend does not know this worker (it restarted): registering again")
            self._register_until_done()
        elif status is not None and status != 200:
            self._log(f"checking the registration: HTTP {status}")

    def register_once(self) -> bool:
        """One ``POST /api/v1/workers/register``; True when the backend accepted it."""
        until = time.time()
        try:
            body = self.payload(self._reported_until(), until)
        except Exception as e:  # the store, a summary: logged, and tried again later
            self._log(f"registering: could not build the body: {type(e).__name__}: {e}")
            return False
        status, detail = self._request("POST", "/api/v1/workers/register", body)
        if status is not None and 200 <= status < 300:
            self._last_health = time.monotonic()
            self._save_reported_until(until)
            done = body["completed_operations"]
            self._log(f"registered as {self.worker_id} at {self.backend_url} (endpoint "
                      f"{self.endpoint_url}; running {body['current_operation_id'] or 'nothing'}; "
                      f"{len(done)} finished operation(s) reported)")  # fmt: skip
            return True
        if status == 503:
            self._log(f"registering: the backend is shutting down (HTTP 503{detail}); retrying")
        elif status is not None:
            self._log(f"registering: HTTP {status}{detail}; retrying")
        return False

    # ---- the body ------------------------------------------------------------------------------
    def payload(self, after: float, until: float) -> dict[str, Any]:
        """The registration body: who and where this worker is, what it runs now, and the
        operations that finished in ``(after, until]``."""
        running = self.store.with_status(RUNNING) or self.store.with_status(PENDING)
        finished = self.store.finished_between(after, until, MAX_REPORTED)
        return {
            "worker_id": self.worker_id,
            "worker_type": WORKER_TYPE,
            "endpoint_url": self.endpoint_url,
            "capabilities": self.capabilities(),
            "current_operation_id": running[0].id if running else None,
            "completed_operations": [self._report(job) for job in finished],
        }

    def capabilities(self) -> dict[str, Any]:
        """The older backtest workers' capabilities (cores, memory, platform, Python), plus the
        jobs this worker runs at once."""
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            memory = 0
        return {
            "cores": os.cpu_count() or 1, "memory_gb": round(memory / 2**30, 2),
            "platform": platform.system(), "python_version": platform.python_version(),
            "engine": "vbt", "max_concurrent": self.max_concurrent,
        }  # fmt: skip

    def _report(self, job: Job) -> dict[str, Any]:
        """The older ``CompletedOperationReport`` of a finished job."""
        completed_at = datetime.fromtimestamp(job.completed_at or time.time(), UTC)
        return {
            "operation_id": job.id,
            "status": job.status.upper(),
            "result": _finite(self.summary(job)) if job.status == "completed" else None,
            "error_message": job.error if job.status == "failed" else None,
            "completed_at": completed_at.isoformat(),
        }

    def _reported_until(self) -> float:
        """How far finished operations were reported (0: never; the latest MAX_REPORTED go)."""
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return 0.0
        try:
            until = float(json.loads(text)["reported_until"])
            if math.isfinite(until):
                return until
        except (ValueError, KeyError, TypeError):
            pass
        self._log(f"{self.state_file}: no reported_until number in it; reporting the latest "
                  f"{MAX_REPORTED} finished operations")  # fmt: skip
        return 0.0

    def _save_reported_until(self, until: float) -> None:
        text = json.dumps({"backend_url": self.backend_url, "reported_until": until})
        try:
            atomic_write(self.state_file, lambda f: f.write(text.encode("utf-8")))
        except OSError as e:
            self._log(f"could not write {self.state_file}: {e}")

    # ---- HTTP ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> tuple[int | None, str]:
        """(HTTP status, ``": <detail>"``), or (None, "") after logging why there was no answer."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        request = urllib.request.Request(
            self.backend_url + path, data=data, method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                response.read()
                return response.status, ""
        except urllib.error.HTTPError as e:
            text = e.read(300).decode("utf-8", "replace").replace("\n", " ").strip()
            return e.code, f": {text}" if text else ""
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            self._log(f"{method} {self.backend_url}{path}: the backend is unreachable ({reason})")
            return None, ""

    def _log(self, message: str) -> None:
        print(f"vbt worker: registration: {message}", file=sys.stderr, flush=True)


def _finite(x: Any) -> Any:
    """NaN and ±inf → None, recursively (the body is strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


__all__ = ["Registrar", "ShutdownNotice"]
