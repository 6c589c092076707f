"""``serve``: one worker on one state directory (locked), under uvicorn."""

from __future__ import annotations

import fcntl
import os

from vbt.errors import ConfigError
from vbt.worker.settings import WorkerSettings


def lock_state_dir(settings: WorkerSettings) -> int:
    """Hold ``<state_dir>/worker.lock`` for this process's life: two workers on one store would
    run the same jobs. The kernel releases it when the process dies, however it dies."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.state_dir / "worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"--state-dir {settings.state_dir}: another worker is using it") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def serve(settings: WorkerSettings) -> None:
    """Run the worker until SIGINT/SIGTERM (running jobs checkpoint and resume on next start)."""
    import uvicorn

    from vbt.worker.app import create_app

    lock_state_dir(settings)
    app = create_app(settings)
    print(f"vbt worker: http://{settings.host}:{settings.port} (models {settings.models_root}, "
          f"data {settings.data_root}, state {settings.state_dir}, "
          f"{settings.max_concurrent} at once, token {'required' if settings.token else 'off'})",
          flush=True)  # fmt: skip
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                access_log=False, server_header=False, timeout_graceful_shutdown=15)  # fmt: skip
