"""Request and response bodies: the older worker API's shapes (reference §9), validated.

Requests forbid unknown fields, so a misspelt field is a 422 naming it rather than a default
silently used. Numbers are strict and finite: a string where a number belongs, NaN, ±Infinity or
a number too large for a float (1e400) is a 422 naming the field. Names that become file names
(task ids, symbols, timeframes, strategy names) are restricted to a safe alphabet.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from vbt.params import CostFraction, PositiveMoney

#: an operation id: a file name in the state dir, so no '/', no leading dot
OperationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.^=-]{0,63}$")]
Timeframe = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,4}(m|h|d|w|M)$")]
PathText = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
DateText = Annotated[str, StringConstraints(min_length=4, max_length=40)]

OperationStatus = Literal["pending", "running", "completed", "failed", "cancelled"]


class Strict(BaseModel):
    """A request body: no unknown field, no type coercion ("100000" is not a number), no NaN or
    ±Infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def non_finite(value: Any, where: str) -> str | None:
    """The dotted path of the first NaN or ±Infinity in ``value`` (JSON), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        items = [(f"{where}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for at, item in items:
        found = non_finite(item, at)
        if found is not None:
            return found
    return None


def parse_date(value: str) -> datetime:
    """An ISO 8601 date or date-time (``Z`` accepted; naive = UTC), as the older worker's
    ``fromisoformat``; raises ``ValueError``."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


class RunRequest(Strict):
    """The older ``BacktestStartRequest`` (same fields, same defaults), plus ``data_dir``.

    ``model_path`` is relative to ``--models-root`` (the older system's host paths are rewritten
    under it); without it the model is ``<strategy_name>/<timeframe>_latest``. ``data_dir`` is
    relative to ``--data-root``. ``timeframes`` empty = the model's training timeframes.
    """

    task_id: OperationId | None = None
    symbol: Name
    timeframe: Timeframe
    strategy_name: Name
    start_date: DateText
    end_date: DateText
    initial_capital: PositiveMoney = 100_000.0
    commission: CostFraction = 0.001
    slippage: CostFraction = 0.0005
    model_path: PathText | None = None
    timeframes: Annotated[list[Timeframe], Field(max_length=16)] = Field(default_factory=list)
    data_dir: PathText = "."

    @field_validator("start_date", "end_date")
    @classmethod
    def _iso(cls, v: str) -> str:
        try:
            parse_date(v)
        except ValueError:
            raise ValueError("not an ISO 8601 date or date-time") from None
        return v


class BacktestStartRequest(RunRequest):
    """``POST /backtests/start``."""


Scalar = float | bool
AxisRange = dict[Literal["start", "stop", "step"], float]
AxisSpec = Annotated[list[Scalar], Field(min_length=1, max_length=100_000)] | str | AxisRange


class SweepStartRequest(RunRequest):
    """``POST /sweeps/start``: a run (as for a backtest) and the grid swept over it.

    grid: {parameter: values} as ``vbt.sweep`` takes it (a list, ``"a:b:s"``, ``"a,b,c"`` or
    ``{"start", "stop", "step"}``); constraint, max_combos, seed: as ``vbt.sweep``; threads:
    Numba threads (default: the cores shared among the concurrent jobs); top / by: the best rows
    the result summary lists.
    """

    grid: Annotated[dict[str, AxisSpec], Field(min_length=1, max_length=12)]
    constraint: Annotated[str, StringConstraints(max_length=1000)] | None = None
    max_combos: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    threads: Annotated[int, Field(ge=1, le=256)] | None = None
    top: Annotated[int, Field(ge=1, le=1000)] = 10
    by: Annotated[str, StringConstraints(max_length=64)] = "sharpe_ratio"


class BatchStartRequest(Strict):
    """``POST /batches/start``: a batch spec as ``vbt.batch`` takes it (``defaults``, ``jobs``,
    ``rank_by``; ``vbt schema batch`` prints its schema), with every ``model`` and ``strategy``
    relative to ``--models-root`` and every ``data_dir`` relative to ``--data-root`` (default: the
    data root itself). jobs: worker processes (default: the cores shared among the concurrent
    jobs)."""

    task_id: OperationId | None = None
    spec: dict[str, Any]
    jobs: Annotated[int, Field(ge=1, le=64)] | None = None

    @field_validator("spec")
    @classmethod
    def _finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        where = non_finite(v, "spec")
        if where is not None:
            raise ValueError(f"{where}: not a finite number (JSON has no NaN or Infinity)")
        return v


class ResumeRequest(Strict):
    """``POST /backtests/resume`` (and ``/sweeps/resume``, ``/batches/resume``): the older
    body."""

    operation_id: OperationId
    task_id: OperationId | None = None


class StartResponse(BaseModel):
    """The older start payload; ``job_status`` (vbt) says whether it runs or waits."""

    success: bool = True
    operation_id: str
    status: Literal["started"] = "started"
    job_status: OperationStatus


class OperationProgress(BaseModel):
    percentage: float = 0.0
    current_step: str | None = None
    steps_completed: int = 0
    steps_total: int = 0
    items_processed: int = 0
    items_total: int | None = None
    current_item: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class OperationMetadata(BaseModel):
    symbol: str | None = None
    timeframe: str | None = None
    mode: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class OperationInfo(BaseModel):
    """The older ``OperationInfo``; ``result_summary`` is the run's whole summary (a backtest's in
    the older worker's shape: ``vbt.worker.compat``), and vbt adds ``attempts`` and ``events``."""

    operation_id: str
    parent_operation_id: str | None = None
    operation_type: str
    status: OperationStatus
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    progress: OperationProgress
    metadata: OperationMetadata
    error_message: str | None = None
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    result_summary: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    is_backend_local: bool = False
    attempts: int = 0
    events: list[dict[str, Any]] = Field(default_factory=list)


class OperationStatusResponse(BaseModel):
    success: bool = True
    data: OperationInfo


class OperationSummary(BaseModel):
    operation_id: str
    operation_type: str
    status: OperationStatus
    created_at: datetime
    progress_percentage: float = 0.0
    current_step: str | None = None
    symbol: str | None = None
    duration_seconds: float | None = None


class OperationListResponse(BaseModel):
    success: bool = True
    data: list[OperationSummary]
    total_count: int
    active_count: int


class CancelResponse(BaseModel):
    success: bool = True
    data: dict[str, Any]


class HealthResponse(BaseModel):
    healthy: bool
    service: str
    timestamp: datetime
    status: str
    worker_status: Literal["busy", "idle"]
    current_operation: str | None
    running: int
    queued: int
    max_concurrent: int
