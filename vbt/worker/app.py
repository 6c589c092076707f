"""The worker's HTTP API (FastAPI): the older worker's endpoints (reference §9), plus sweeps,
batches and results, on one operation model.

- ``POST /<route>/start`` and ``/<route>/resume`` for each job kind (``backtests``, ``sweeps``,
  ``batches``);
- ``GET /api/v1/operations/{id}``, ``.../{id}/metrics``, ``.../{id}/results``,
  ``GET /api/v1/operations``, ``DELETE /api/v1/operations/{id}/cancel``;
- ``GET /health`` (no token), ``GET /metrics`` (Prometheus text), ``GET /``;
- with a backend URL, ``POST /backend-shutdown`` (the older backend's notice that it stops;
  ``vbt.worker.registration`` registers again when it is back).

Handlers are plain functions (FastAPI runs them in its thread pool), so store calls never block
the event loop. A start request whose validation may take long (a sweep's grid, a batch's spec)
is validated in a process of its own with a time limit (``vbt.worker.validation``), so no spec
can stall the server. Every refusal is a 4xx whose ``detail`` names the field; the only 5xx the
API gives by design is 503 when the queue is full (or too many validations run at once).
"""

import math
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from vbt.errors import DataError, VbtError
from vbt.worker import compat
from vbt.worker import jobs as job_kinds
from vbt.worker.errors import RequestError
from vbt.worker.metrics import prometheus_text
from vbt.worker.registration import Registrar, ShutdownNotice
from vbt.worker.scheduler import Scheduler
from vbt.worker.schemas import (
    CancelResponse,
    HealthResponse,
    OperationInfo,
    OperationListResponse,
    OperationStatus,
    OperationStatusResponse,
    OperationSummary,
    ResumeRequest,
    StartResponse,
)
from vbt.worker.security import Guard
from vbt.worker.settings import WorkerSettings
from vbt.worker.store import COMPLETED, FINISHED, PENDING, RUNNING, Job, JobStore, QueueFull
from vbt.worker.validation import Validator

SERVICE = "backtesting-worker"
OpId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$", max_length=128)]


def create_app(settings: WorkerSettings) -> Any:
    """The ASGI application of one worker (FastAPI behind the token and body-size guard)."""
    store = JobStore(settings.db_path)
    scheduler = Scheduler(settings, store)
    validator = Validator(scheduler.context, settings)  # slow validations in their own process
    kinds = job_kinds.kinds()
    by_type = {k.operation_type: k for k in kinds.values()}
    # the kinds the older response models accept; the list shows the others only when asked
    older_kinds = tuple(k.name for k in kinds.values()
                        if k.operation_type in compat.OLDER_OPERATION_TYPES)  # fmt: skip
    roots = (settings.models_root, settings.data_root)
    started = time.time()
    # with a backend URL: register there and stay registered (vbt.worker.registration)
    registrar = None
    if settings.backend_url:
        registrar = Registrar(settings, store,
                              lambda job: info(job).model_dump(mode="json")["result_summary"])  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scheduler.start()
        if registrar is not None:
            registrar.start()
        yield
        if registrar is not None:
            registrar.stop()
        scheduler.shutdown()

    app = FastAPI(title="vbt worker", version="1.0.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None)  # fmt: skip
    app.state.store, app.state.scheduler, app.state.settings = store, scheduler, settings

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError):
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # the echoed input may hold NaN or ±Infinity, which JSON cannot carry: written as text
        detail = _finite_json(jsonable_encoder(exc.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(VbtError)
    async def _bad_input(request: Request, exc: VbtError):
        return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc), "type": "vbt_error"}]},
                            status_code=422)  # fmt: skip

    def find(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise RequestError(404, "operation_id", f"Operation not found: {job_id}")
        return job

    def info(job: Job) -> OperationInfo:
        kind = kinds[job.kind]
        return OperationInfo(
            operation_id=job.id, operation_type=kind.operation_type, status=job.status,
            created_at=_dt(job.created_at), started_at=_dt(job.started_at),
            completed_at=_dt(job.completed_at), progress=_progress(job.progress),
            metadata=kind.metadata(job.request), error_message=job.error,
            errors=[job.error] if job.error else [], result_summary=older(job, job.result),
            attempts=job.attempts, events=job.events,
        )  # fmt: skip

    def older(job: Job, data: dict[str, Any] | None) -> dict[str, Any] | None:
        """A summary or full result as the older endpoints show it: paths relative to the
        roots (those in the job's own folder relative to it), in the older worker's shape (the
        kind's ``older_view``), JSON numbers only."""
        if data is None:
            return None
        job_dir = settings.job_dir(job.id)
        data = compat.relative_paths(data, (*roots, job_dir))
        return _json_clean(kinds[job.kind].older_view(data, job_dir))

    # ---- start / resume, one pair per job kind ------------------------------------------
    def add_kind_routes(kind: job_kinds.JobKind) -> None:
        Model = kind.request_model

        def start(body: Annotated[Model, Body()]) -> StartResponse:
            job_id = body.task_id or f"worker_{kind.name}_{uuid.uuid4().hex[:12]}"
            request = body.model_dump(mode="json")
            existing = store.get(job_id)
            if existing is None:
                spec = validator.plan(kind, body)
                try:
                    existing, created = store.create(job_id, kind.name, request, spec,
                                                     max_pending=settings.max_queue)  # fmt: skip
                except QueueFull as e:
                    raise RequestError(503, None, str(e)) from None
                if created:
                    scheduler.wake()
            _same_request(existing, kind.name, request)
            return StartResponse(operation_id=job_id, job_status=existing.status)

        def resume(body: ResumeRequest) -> StartResponse:
            job = find(body.operation_id)
            if job.kind != kind.name:
                raise RequestError(409, "operation_id", f"{job.id} is a {job.kind} job, not a "
                                   f"{kind.name}")  # fmt: skip
            if job.status == COMPLETED:
                raise RequestError(409, "operation_id", f"{job.id} has already completed")
            if job.status in FINISHED:
                has_checkpoint = kind.resumable(settings.job_dir(job.id))
                if not has_checkpoint and job.started_at is not None:
                    raise RequestError(
                        404, "operation_id", f"No checkpoint available for operation {job.id}"
                    )
                store.requeue(job.id, resume=has_checkpoint, event="resume requested")
                scheduler.wake()
            job = find(job.id)
            return StartResponse(operation_id=job.id, job_status=job.status)

        app.post(f"/{kind.route}/start", response_model=StartResponse,
                 summary=f"Start a {kind.name}",
                 responses={422: {}, 403: {}, 404: {}, 409: {}, 503: {}})(start)  # fmt: skip
        app.post(f"/{kind.route}/resume", response_model=StartResponse,
                 summary=f"Resume a cancelled or failed {kind.name} from its checkpoint",
                 responses={404: {}, 409: {}})(resume)  # fmt: skip

    for kind in kinds.values():
        add_kind_routes(kind)

    # ---- operations -----------------------------------------------------------------------
    @app.get("/api/v1/operations/{operation_id}", response_model=OperationStatusResponse,
             responses={404: {}})  # fmt: skip
    def get_operation(operation_id: OpId, force_refresh: bool = False) -> OperationStatusResponse:
        return OperationStatusResponse(data=info(find(operation_id)))

    @app.get("/api/v1/operations/{operation_id}/metrics", responses={404: {}})
    def get_operation_metrics(operation_id: OpId,
                              cursor: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict:  # fmt: skip
        job = find(operation_id)
        return {"success": True, "data": {
            "operation_id": job.id, "operation_type": kinds[job.kind].operation_type,
            "metrics": [], "cursor": cursor,
        }}  # fmt: skip

    @app.get("/api/v1/operations/{operation_id}/results", responses={404: {}, 409: {}})
    def get_operation_results(
        operation_id: OpId,
        offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> dict:
        """The full result of a completed job: a backtest's run info, metrics and trades; a
        sweep's summary and table rows; a batch's summary and job records (``offset``/``limit``
        page the trades, rows or records)."""
        job = find(operation_id)
        if job.status != COMPLETED:
            raise RequestError(409, "operation_id", f"{job.id} is {job.status}, not completed")
        try:
            data = kinds[job.kind].load_result(settings.job_dir(job.id), offset, limit)
        except DataError as exc:  # its files were damaged on disk: the job's fault, not the call's
            raise RequestError(
                409, "operation_id", f"{job.id}: its result cannot be read: {exc}"
            ) from None
        return {"success": True, "operation_id": job.id, "data": older(job, data)}

    @app.get("/api/v1/operations", response_model=OperationListResponse)
    def list_operations(
        status: OperationStatus | None = None,
        operation_type: Literal[tuple(by_type)] | None = None,  # type: ignore[valid-type]
        limit: Annotated[int, Query(ge=1, le=1000)] = 10,
        offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
        active_only: bool = False,
    ) -> OperationListResponse:
        """The older list. Without ``operation_type`` it holds only the operation types the older
        system knows (backtests): a sweep or batch would break its response models. Ask for
        ``sweep`` or ``batch`` to list those. ``active_count`` counts the same kinds."""
        names = (by_type[operation_type].name,) if operation_type else older_kinds
        found, total, active = store.list(status=status, kinds=names, active_only=active_only,
                                          limit=limit, offset=offset)  # fmt: skip
        return OperationListResponse(data=[_summary(info(j)) for j in found], total_count=total,
                                     active_count=active)  # fmt: skip

    @app.delete("/api/v1/operations/{operation_id}/cancel", response_model=CancelResponse,
                responses={404: {}})  # fmt: skip
    def cancel_operation(
        operation_id: OpId,
        reason: Annotated[str, Query(max_length=500)] | None = None,
    ) -> CancelResponse:
        """Cancel a job: a waiting one at once; a running one at its next chunk boundary, after
        writing its checkpoint (``POST /<route>/resume`` continues it). A finished job is left
        as it is: 200 with ``data.success`` false and the reason in ``data.error``, as the older
        worker answers."""
        job = find(operation_id)
        if job.status in FINISHED:  # the older worker's answer: 200, and success false inside
            return CancelResponse(data={
                "success": False, "operation_id": job.id, "status": job.status,
                "error": f"Operation {job.id} is already finished (status: {job.status})",
            })  # fmt: skip
        job = store.request_cancel(job.id, reason) or job
        if job.status == RUNNING:
            scheduler.cancel(job.id)
        return CancelResponse(data={
            "operation_id": job.id, "status": job.status, "cancel_requested": True,
            "cancellation_reason": reason,
            "cancelled_at": _dt(job.completed_at) if job.status != RUNNING else None,
        })  # fmt: skip

    # ---- service --------------------------------------------------------------------------
    @app.get("/health", response_model=HealthResponse)
    def health(request: Request) -> HealthResponse:
        """``busy`` when no slot is free (running + waiting ≥ max_concurrent)."""
        if registrar is not None:  # the backend's health check: it still knows this worker
            registrar.health_checked(request.client.host if request.client else None)
        running = store.with_status(RUNNING)
        queued = len(store.with_status(PENDING))
        return HealthResponse(
            healthy=True, service=SERVICE, timestamp=datetime.now(UTC), status="operational",
            worker_status="busy" if len(running) + queued >= settings.max_concurrent else "idle",
            current_operation=running[0].id if running else None, running=len(running),
            queued=queued, max_concurrent=settings.max_concurrent,
        )  # fmt: skip

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        text = prometheus_text(store.counts(), kinds, settings, time.time() - started)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/")
    def root() -> dict:
        return {"service": "vbt Backtesting Worker Service", "version": "1.0.0",
                "status": "running", "timestamp": datetime.now(UTC).isoformat(),
                "job_kinds": {k.name: f"/{k.route}/start" for k in kinds.values()}}  # fmt: skip

    if registrar is not None:

        @app.post("/backend-shutdown")
        def backend_shutdown(notice: Annotated[ShutdownNotice | None, Body()] = None) -> dict:
            """The older backend is stopping: poll for its return, then register again."""
            registrar.backend_shutdown()
            return {"acknowledged": True}

    return Guard(app, token=settings.token, max_body_bytes=settings.max_body_bytes,
                 trusted_networks=settings.trusted_networks)  # fmt: skip


def _same_request(job: Job, kind: str, request: dict) -> None:
    """A repeated ``task_id`` is the same operation only for the same request."""
    same = job.kind == kind and {k: v for k, v in job.request.items() if k != "task_id"} == {
        k: v for k, v in request.items() if k != "task_id"
    }
    if not same:
        raise RequestError(409, "task_id", f"{job.id} already names a different {job.kind} job")


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _progress(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("percentage", "current_step", "items_processed", "items_total", "context")
    return {k: p[k] for k in keys if k in p}


def _summary(op: OperationInfo) -> OperationSummary:
    end = op.completed_at or datetime.now(UTC)
    return OperationSummary(
        operation_id=op.operation_id, operation_type=op.operation_type, status=op.status,
        created_at=op.created_at, progress_percentage=op.progress.percentage,
        current_step=op.progress.current_step, symbol=op.metadata.symbol,
        duration_seconds=(end - op.started_at).total_seconds() if op.started_at else None,
    )  # fmt: skip


def _finite_json(x: Any) -> Any:
    """NaN and ±inf → their JSON-ish text ("NaN", "Infinity", "-Infinity"), recursively: a
    validation error echoes the input, and a response must stay valid JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    if isinstance(x, dict):
        return {k: _finite_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite_json(v) for v in x]
    return x


def _json_clean(x: Any) -> Any:
    """NaN and ±inf → None, recursively (JSON has no such numbers)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_clean(v) for v in x]
    return x


__all__ = ["create_app"]
