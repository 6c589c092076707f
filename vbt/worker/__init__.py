"""The HTTP worker: backtests and sweeps as jobs, over the older system's worker API.

``vbt worker --models-root DIR --data-root DIR --state-dir DIR`` serves it (``serve``);
``create_app(settings)`` is the ASGI application. Modules: ``settings`` (options), ``schemas``
(request/response bodies), ``paths`` (roots and path checks), ``store`` (SQLite job store),
``scheduler`` (queue and child processes), ``child`` (the job process), ``context`` (what a job
sees), ``jobs/`` (one module per job kind), ``security`` (token, body limit), ``metrics``
(Prometheus text), ``app`` (routes), ``server`` (uvicorn), ``registration`` (registering with
the older backend).
"""

from vbt.worker.settings import WorkerSettings

__all__ = ["WorkerSettings"]
