"""The files a run saves: their names, columns and keys, the one writer and the one reader of each.

- a backtest (``BacktestResult.save``): ``metrics.json`` (the run's description, its metrics,
  ``trade_count`` and ``equity_curve_length``), ``trades.parquet`` (``trades_frame``) and
  ``equity.parquet`` (``equity_frame``);
- a sweep (``SweepResult.save``): ``results.parquet`` (one row per combination) and
  ``summary.json`` (the run, the grid and the settings);
- a research run (``vbt.research.run``, in ``<out>/runs/<run>/``): ``report.json`` (the run, the
  split or folds, the metrics, baselines, statistics and verdict), ``equity.parquet`` (the
  out-of-sample curve with buy-and-hold's beside it) and ``trades.parquet``;
- a batch (``vbt.batch``, in its ``out_dir``): ``results.jsonl`` (one record per job, appended as
  each finishes: ``ResultsFile``, ``read_records``), ``summary.json`` (the jobs ranked:
  ``write_batch_summary``; its content ``vbt.results.batch``) and a grid job's table
  ``sweeps/<id>.parquet`` (``write_batch_table``);
- the output folders of research and batches: ``models/`` (trained models: ``MODELS_DIR``),
  ``runs/`` (``RUNS_DIR``: research runs, a batch's saved backtests) and the trial ledger
  ``trials.jsonl`` (``vbt.research.ledger``).

What a reader returns (``BacktestData``, ``SweepData``, ``ResearchData``) is plain data, the same
whether the result is in memory (a result's ``as_saved()``) or read back from its folder
(``load``), so ``vbt report RESULT_DIR`` and ``result.report(path)`` draw the same page
(``vbt.report`` renders nothing else).

Every reader checks what it reads, one check per format, and a damaged or foreign file is a
``DataError`` of one line naming the file, then the key, the line or the column, and what is
wrong: ``metrics.json`` (``BacktestDocument``), ``summary.json`` (``SweepSummary``),
``report.json`` (``ResearchDocument``), ``equity.parquet`` (``check_equity``),
``trades.parquet`` (``check_trades``), ``results.parquet`` (``check_sweep_table``) and each line
of ``results.jsonl`` (``OkRecord``, ``ErrorRecord``; the trial ledger's lines:
``vbt.research.ledger``). A batch's ``summary.json`` and ``sweeps/<id>.parquet`` are written,
never read back (a resume rebuilds the summary from ``results.jsonl``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from vbt.arguments import shown
from vbt.atomic import append_line, atomic_write
from vbt.data.timeframe import timeframe_ns
from vbt.enums import EXIT_REASON_NAMES, SIDE_NAMES
from vbt.errors import ConfigError, DataError
from vbt.metrics import METRICS, UNDEFINED_WHEN
from vbt.paths import check_input_dir, check_output_dir, read_bytes

METRICS_FILE, TRADES_FILE, EQUITY_FILE = "metrics.json", "trades.parquet", "equity.parquet"
TABLE_FILE, SUMMARY_FILE = "results.parquet", "summary.json"
REPORT_FILE = "report.json"
BACKTEST_FILES = (METRICS_FILE, TRADES_FILE, EQUITY_FILE)
SWEEP_FILES = (TABLE_FILE, SUMMARY_FILE)
RESEARCH_FILES = (REPORT_FILE, EQUITY_FILE)
RESULTS_FILE = "results.jsonl"  # a batch's records; its summary is SUMMARY_FILE
#: the folders of a research or batch output folder
MODELS_DIR, RUNS_DIR, SWEEPS_DIR = "models", "runs", "sweeps"

#: the verdicts of a research run (``report.json``'s ``verdict.verdict``; ``vbt.research.verdict``)
PROMISING, INCONCLUSIVE, NOT_BETTER = "promising", "inconclusive", "not better than chance"

TS = pl.Datetime("ns", "UTC")


# ---------------------------------------------------------------------------------- the frames


def _ts(ns: np.ndarray) -> pl.Series:
    """int64 ns since the epoch → Datetime[ns, UTC] (a view of a contiguous ``ns``, no copy)."""
    return pl.Series(np.asarray(ns, dtype=np.int64)).cast(TS)


def _names(names: dict[int, str], codes: np.ndarray) -> np.ndarray:
    """int8 codes → their names (a lookup, not a Python loop over the trades)."""
    low = min(names)
    table = np.array([names.get(k, "") for k in range(low, max(names) + 1)], dtype=object)
    return table[codes.astype(np.int64) - low]


def trades_frame(records: np.ndarray) -> pl.DataFrame:
    """Polars view of TRADE_DTYPE records with readable side, times and exit reason: the columns
    of ``trades.parquet``."""
    r = records
    return pl.DataFrame(
        {
            "entry_idx": r["entry_idx"],
            "exit_idx": r["exit_idx"],
            "entry_time": _ts(r["entry_ts"]),
            "exit_time": _ts(r["exit_ts"]),
            "side": _names(SIDE_NAMES, r["side"]),
            "qty": r["qty"],
            "entry_price": r["entry_price"],
            "exit_price": r["exit_price"],
            "entry_commission": r["entry_commission"],
            "exit_commission": r["exit_commission"],
            "slippage_cost": r["slippage_cost"],
            "gross_pnl": r["gross_pnl"],
            "net_pnl": r["net_pnl"],
            "return_pct": r["return_pct"],
            "bars_held": r["bars_held"],
            "holding_hours": (r["exit_ts"] - r["entry_ts"]) / 3.6e12,
            "mfe": r["mfe"],
            "mae": r["mae"],
            "exit_reason": _names(EXIT_REASON_NAMES, r["exit_reason"]),
            "confidence": r["confidence"],
        },
        schema_overrides={"side": pl.String, "exit_reason": pl.String},
    )


def equity_frame(ts_ns: np.ndarray, close: np.ndarray, equity: np.ndarray, position: np.ndarray):
    """Polars equity curve: timestamp (bar open), close, equity (marked at close), position: the
    columns of ``equity.parquet`` (a research run's adds ``buy_and_hold``)."""
    return pl.DataFrame(
        {"timestamp": _ts(ts_ns), "close": close, "equity": equity, "position": position}
    )


# ---------------------------------------------------------------------------------- writers


def write_backtest(
    out_dir: str | Path, doc: dict[str, Any], trades: pl.DataFrame, equity: pl.DataFrame
) -> Path:
    """Write ``metrics.json`` (``doc``: ``BacktestResult.to_dict(include_trades=False)``),
    ``trades.parquet`` and ``equity.parquet`` into ``out_dir`` (atomically; created if needed).
    A path that cannot be a folder is a ``ConfigError`` naming it."""
    out = check_output_dir(out_dir, "out_dir")
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, default=str)
    atomic_write(out / METRICS_FILE, lambda f: f.write(text.encode("utf-8")))
    atomic_write(out / TRADES_FILE, trades.write_parquet)
    atomic_write(out / EQUITY_FILE, equity.write_parquet)
    return out


def write_sweep(out_dir: str | Path, table: pl.DataFrame, summary: dict[str, Any]) -> Path:
    """Write ``results.parquet`` (``table``) and ``summary.json`` (``summary``:
    ``SweepResult.summary()``) into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / TABLE_FILE, table.write_parquet)
    text = json.dumps(summary, indent=2, default=str)
    atomic_write(out / SUMMARY_FILE, lambda f: f.write(text.encode("utf-8")))
    return out


def write_research(
    run_dir: Path, report: dict[str, Any], equity: pl.DataFrame, trades: pl.DataFrame
) -> Path:
    """Write a research run's ``equity.parquet``, ``trades.parquet`` and ``report.json``
    (``report``, strict JSON: no NaN) into its existing folder ``run_dir``."""
    atomic_write(run_dir / EQUITY_FILE, equity.write_parquet)
    atomic_write(run_dir / TRADES_FILE, trades.write_parquet)
    text = json.dumps(report, indent=2, default=str, allow_nan=False)
    atomic_write(run_dir / REPORT_FILE, lambda f: f.write(text.encode("utf-8")))
    return run_dir


class ResultsFile:
    """Appends a batch's records to ``results.jsonl`` in ``folder``: a line is a complete JSON
    record, appended with one write, flushed and fsynced (``vbt.atomic.append_line``), so a
    killed batch leaves whole lines and at most a partial last one. That partial line is cut
    first, and so are the lines of the ``drop`` ids (their jobs run again). ``vbt.batch`` reads
    the file with ``read_records`` first, which refuses a line that is not a record.

    A record: ``{"id", "index", "name", "status": "ok", "job": <canonical job>, "run": {strategy,
    symbol, timeframe, start, end, model_path, output_type, bars, valid_bars}, "params": {...},
    "metrics": {...}, "sweep": {...} (grid jobs), "timings": {...}, "shared": {...}, "worker":
    pid, "finished_at"}`` (``OkRecord``) or, for a job that failed, ``"status": "error"`` and
    ``"error": {"type", "message"}`` (one line naming the problem) in place of the run, params
    and metrics (``ErrorRecord``).
    """

    def __init__(self, folder: str | Path, drop: Iterable[str] = ()):
        self.path = Path(folder) / RESULTS_FILE
        drop = set(drop)
        if self.path.is_file():
            data = self.path.read_bytes()
            keep = data[: data.rfind(b"\n") + 1]  # cut a partial last line
            if drop:
                lines = keep.splitlines(keepends=True)
                keep = b"".join(ln for ln in lines if _id(ln) not in drop)
            if keep != data:
                atomic_write(self.path, lambda f: f.write(keep))

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str, allow_nan=False) + "\n").encode()
        append_line(self.path, line)


def _id(line: bytes) -> Any:
    """The id of a record's line (``read_records`` has checked the lines before a batch drops
    any)."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return rec.get("id") if isinstance(rec, dict) else None


def write_batch_summary(folder: str | Path, summary: dict[str, Any]) -> Path:
    """Write a batch's ``summary.json`` (``summary``, strict JSON) atomically."""
    path = Path(folder) / SUMMARY_FILE
    text = json.dumps(summary, indent=2, default=str, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return path


def write_batch_table(folder: str | Path, job_id: str, table: pl.DataFrame) -> str:
    """Write a batch grid job's sweep table (one row per combination, as ``results.parquet``)
    to ``sweeps/<job_id>.parquet`` in ``folder``; returns that path relative to ``folder``."""
    sweeps = Path(folder) / SWEEPS_DIR
    sweeps.mkdir(parents=True, exist_ok=True)
    path = sweeps / f"{job_id}.parquet"
    atomic_write(path, table.write_parquet)
    return f"{SWEEPS_DIR}/{path.name}"


# ---------------------------------------------------------------------------------- checks
#
# A file vbt wrote is read back through the one check of its format: a damaged or foreign file
# is a ``DataError`` of one line naming the file, then the key (dotted), the line or the column,
# and what is wrong: ``metrics.json: metrics.total_trades = 'x': input should be a valid
# integer``, ``results.jsonl: line 3: status: input should be 'ok' or 'error'``,
# ``equity.parquet: column timestamp: missing``.

#: the largest JSON file read back (a result's JSON is kilobytes; more is not one of vbt's)
MAX_JSON_BYTES = 64 << 20
#: the largest line of results.jsonl or trials.jsonl read back
MAX_LINE_BYTES = 16 << 20

#: a number that is finite (JSON ``NaN`` and ``Infinity`` are refused); ints count
Number = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Scalar = bool | int | Number | str | None


def _timestamp(value: str) -> str:
    try:
        stamp = np.datetime64(value.replace("+00:00", "").rstrip("Z"), "ns")
    except (ValueError, OverflowError):
        stamp = np.datetime64("NaT")
    if np.isnat(stamp):
        raise PydanticCustomError("vbt_file", "not a timestamp (ISO 8601)")
    return value


def _timeframe(value: str) -> str:
    try:
        timeframe_ns(value)
    except ConfigError:
        raise PydanticCustomError("vbt_file", "not a timeframe (e.g. 1h, 5m)") from None
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("vbt_file", "empty")
    return value


Timestamp = Annotated[str, AfterValidator(_timestamp)]
Timeframe = Annotated[str, AfterValidator(_timeframe)]
Text = Annotated[str, AfterValidator(_non_empty)]
TimePair = Annotated[list[Timestamp], Field(min_length=2, max_length=2)]
BarPair = Annotated[list[Count], Field(min_length=2, max_length=2)]


class _Doc(BaseModel):
    """A JSON object of a saved file: its known keys typed (strict: a string is not a number),
    any other key kept as it is. Built when first used (``defer_build``): a run that saves or
    reads nothing does not pay for the readers' schemas."""

    model_config = ConfigDict(extra="allow", strict=True, protected_namespaces=(), defer_build=True)


def _metrics_model(name: str, *, every: bool) -> type[BaseModel]:
    """The metrics of a run (``vbt.metrics.METRICS``): counts are integers >= 0, a metric that
    can be undefined (``UNDEFINED_WHEN``) a finite number or null, any other a finite number.
    ``every``: each metric must be there; else only the types of those present are checked."""
    fields: dict[str, Any] = {}
    for m in METRICS:
        kind: Any = Count if m.integer else Number
        if m.name in UNDEFINED_WHEN:
            kind = kind | None
        fields[m.name] = (kind, ...) if every else (kind | None, None)
    return create_model(name, __base__=_Doc, **fields)


#: ``metrics`` of metrics.json and of report.json: every metric
Metrics = _metrics_model("Metrics", every=True)
#: the metrics a research run shows beside its own (buy and hold) or per fold: those present
SomeMetrics = _metrics_model("SomeMetrics", every=False)


class BacktestDocument(_Doc):
    """metrics.json (``BacktestResult.to_dict(include_trades=False)``): the run
    (``RunInfo.to_dict()``), ``metrics``, ``trade_count`` and ``equity_curve_length``."""

    strategy: str
    symbol: str
    timeframe: Timeframe
    timeframes: list[str] | None = None
    start: Timestamp
    end: Timestamp
    model_path: str | None = None
    output_type: str | None = None
    bars: Annotated[int, Field(ge=1)]
    valid_bars: Count | None = None
    params: dict[str, Any] = {}
    config: dict[str, Any] = {}
    trade_count: Count | None = None
    equity_curve_length: Count | None = None
    metrics: Metrics


class SweepSummary(_Doc):
    """A sweep's summary.json (``SweepResult.summary()``): the run, the grid (each swept
    parameter's values: at least one parameter, one value each), the settings."""

    run: dict[str, Any]
    grid: Annotated[dict[str, Annotated[list[Scalar], Field(min_length=1)]], Field(min_length=1)]
    base_params: dict[str, Any] = {}
    constraint: str | None = None
    max_combos: Annotated[int, Field(ge=1)] | None = None
    seed: int | None = None
    grid_size: Annotated[int, Field(ge=1)] = None  # type: ignore[assignment]  # absent: the rows
    combinations: Count | None = None


class _Thresholds(_Doc):
    alpha: Number | None = None
    min_trades: Count | None = None


class _Verdict(_Doc):
    verdict: Text
    reasons: list[str] = []
    checks: dict[str, bool | None] = {}
    thresholds: _Thresholds | None = None


class _Period(_Doc):
    start: Timestamp | None = None
    end: Timestamp | None = None
    bars: Count | None = None


class _Split(_Doc):
    data_start: Timestamp | None = None
    data_end: Timestamp | None = None
    train: TimePair | None = None
    validation: TimePair | None = None
    test: TimePair | None = None
    train_bars: BarPair | None = None
    validation_bars: BarPair | None = None
    test_bars: BarPair | None = None


class _Fold(_Doc):
    fold: int
    train: TimePair | None = None
    test: TimePair | None = None
    train_bars: BarPair | None = None
    test_bars: BarPair | None = None
    metrics: SomeMetrics | None = None


class _WalkForward(_Doc):
    folds: list[_Fold] = []
    purge_bars: Count | None = None
    embargo_bars: Count | None = None


class _FitPart(_Doc):
    samples: Count | None = None
    loss: Number | None = None
    accuracy: Number | None = None


class _Fit(_Doc):
    train: _FitPart | None = None
    validation: _FitPart | None = None
    test: _FitPart | None = None
    accuracy_kind: str | None = None
    best_epoch: int | None = None
    epochs_trained: int | None = None
    early_stopped: bool | None = None


class _Histogram(_Doc):
    edges: list[Number] = []
    counts: list[Count] = []


class _Quantiles(_Doc):
    p05: Number | None = None
    p50: Number | None = None
    p95: Number | None = None
    mean: Number | None = None
    histogram: _Histogram | None = None


class _RandomEntry(_Doc):
    simulations: Count | None = None
    seed: int | None = None
    trades: Count | None = None
    p_value: Number | None = None
    strategy: Number | None = None
    sharpe_ratio: _Quantiles | None = None
    total_return_pct: _Quantiles | None = None


class _Settings(_Doc):
    config: dict[str, Any] | None = None


class ResearchDocument(_Doc):
    """A research run's report.json (``vbt.research.run``): what its page reads, typed (a
    section a run did not record may be missing; one that is there must be whole)."""

    verdict: _Verdict
    metrics: Metrics
    out_of_sample: _Period
    buy_and_hold: SomeMetrics | None = None
    walk_forward: _WalkForward | None = None
    split: _Split | None = None
    training: list[_Fit | None] | None = None
    random_entry: _RandomEntry | None = None
    sharpe_statistics: dict[str, Number | str | None] | None = None
    settings: _Settings | None = None
    models: list[str] | None = None
    ledger: dict[str, Any] | None = None
    strategy: str | None = None
    strategy_file: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    data_dir: str | None = None
    mode: str | None = None
    saved: str | None = None


class _ErrorText(_Doc):
    type: Text
    message: str


class _Sweep(_Doc):
    combinations: Count | None = None
    best_params: dict[str, Any] | None = None


class _Record(_Doc):
    id: Text
    index: Count
    name: str | None = None
    job: dict[str, Any]


class OkRecord(_Record):
    """A line of results.jsonl for a job that succeeded (see ``ResultsFile``)."""

    status: Literal["ok"]
    run: dict[str, Any]
    params: dict[str, Any] | None = None
    metrics: dict[str, Number | None]
    sweep: _Sweep = None  # type: ignore[assignment]  # absent for a backtest; never null


class ErrorRecord(_Record):
    """A line of results.jsonl for a job that failed."""

    status: Literal["error"]
    error: _ErrorText


Record = TypeAdapter(
    Annotated[OkRecord | ErrorRecord, Field(discriminator="status")],
    config=ConfigDict(defer_build=True),
)


def problem(exc: ValidationError, doc: Any) -> str:
    """The first problem of ``doc``'s validation as ``<key>: <what>`` (``<key> = <value>:
    <what>`` when the value is not a mapping or a list; the key dotted, list items ``[i]``),
    one line."""
    err = exc.errors()[0]
    key = _key(doc, err["loc"], err["type"] == "missing") or "(the whole object)"
    if err["type"] == "missing":
        return f"{key}: missing"
    value = err.get("input")
    if isinstance(value, float) and not math.isfinite(value):
        return f"{key}: {'not a number' if math.isnan(value) else 'not finite'}"
    text = err["msg"] if err["type"] == "vbt_file" else err["msg"][:1].lower() + err["msg"][1:]
    if isinstance(value, dict | list):
        return f"{key}: {text}"
    return f"{key} = {shown(value)}: {text}"


def _key(doc: Any, loc: tuple, missing: bool) -> str:
    """The path of ``loc`` in ``doc`` (pydantic adds the names of union members and validators
    to it: those are left out, being no key of ``doc``)."""
    out, node = "", doc
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out, node = (f"{out}.{part}" if out else str(part)), node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out, node = f"{out}[{part}]", node[part]
        elif missing and i == len(loc) - 1 and isinstance(node, dict):
            out = f"{out}.{part}" if out else str(part)
    return out


def _validate(model: Any, doc: Any, where: Any) -> Any:
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(doc)
        return model.model_validate(doc)
    except ValidationError as exc:
        raise DataError(f"{where}: {problem(exc, doc)}") from None


# the columns of each table: name -> dtype
EQUITY_COLUMNS = {"timestamp": TS, "close": pl.Float64, "equity": pl.Float64,
                  "position": pl.Int8}  # fmt: skip
#: research runs add buy-and-hold's equity beside the strategy's (older ones do not)
RESEARCH_EQUITY_COLUMNS = {**EQUITY_COLUMNS, "buy_and_hold": pl.Float64}
TRADE_COLUMNS = {
    "entry_idx": pl.Int64, "exit_idx": pl.Int64, "entry_time": TS, "exit_time": TS,
    "side": pl.String, "qty": pl.Float64, "entry_price": pl.Float64, "exit_price": pl.Float64,
    "entry_commission": pl.Float64, "exit_commission": pl.Float64, "slippage_cost": pl.Float64,
    "gross_pnl": pl.Float64, "net_pnl": pl.Float64, "return_pct": pl.Float64,
    "bars_held": pl.Int64, "holding_hours": pl.Float64, "mfe": pl.Float64, "mae": pl.Float64,
    "exit_reason": pl.String, "confidence": pl.Float64,
}  # fmt: skip
#: trade columns that may be NaN or null (a trade without those numbers); every other is finite
TRADE_NAN_COLUMNS = ("mfe", "mae", "confidence")
#: a sweep table's columns beside the swept parameters: the combination, then every metric
SWEEP_COLUMNS = {"combo": pl.Int64, **{m.name: pl.Int64 if m.integer else pl.Float64
                                       for m in METRICS}}  # fmt: skip
#: the dtypes a swept parameter's column may have (the values of a grid)
PARAMETER_DTYPES = (pl.Float64, pl.Int64, pl.Boolean, pl.String, pl.Null)


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def check_frame(
    frame: pl.DataFrame,
    path: Any,
    columns: dict[str, Any],
    *,
    what: str,
    optional: tuple[str, ...] = (),
    nan_ok: tuple[str, ...] = (),
    rows: int = 0,
) -> pl.DataFrame:
    """``frame`` if it has ``columns`` (name -> dtype; those of ``optional`` may be missing),
    no null, no NaN or infinity in a float column (but in those of ``nan_ok``: undefined
    values) and at least ``rows`` rows; else a ``DataError`` naming ``path`` and the column
    (and the row)."""
    for name, dtype in columns.items():
        if name not in frame.columns:
            if name in optional:
                continue
            raise DataError(f"{path}: column {name}: missing; not {what}")
        col = frame.get_column(name)
        if col.dtype != dtype:
            raise DataError(f"{path}: column {name}: {col.dtype}, expected {dtype}; not {what}")
        if name in nan_ok:
            continue
        if col.null_count():
            raise DataError(f"{path}: column {name}: row {_first(col.is_null())}: null")
        if dtype == pl.Float64:
            bad = ~col.is_finite()
            if bad.any():
                row = _first(bad)
                kind = "not a number" if math.isnan(col[row]) else "not finite"
                raise DataError(f"{path}: column {name}: row {row}: {kind}")
    if frame.height < rows:
        raise DataError(f"{path}: {frame.height} rows; {what} has at least {rows}")
    return frame


def check_equity(frame: pl.DataFrame, path: Any, columns: dict[str, Any] = EQUITY_COLUMNS):
    """An equity curve (``equity_frame``): the columns, one row at least, timestamps strictly
    increasing, closes above zero, positions -1, 0 or 1."""
    what = "an equity curve (timestamp, close, equity, position)"
    check_frame(frame, path, columns, what=what, optional=("buy_and_hold",), rows=1)
    ts = frame.get_column("timestamp")
    if frame.height > 1:
        bad = ts.diff().slice(1).dt.total_nanoseconds() <= 0
        if bad.any():
            raise DataError(f"{path}: column timestamp: row {_first(bad) + 1}: not after the "
                            "row before")  # fmt: skip
    for name, bad in (("close", frame.get_column("close") <= 0),
                      ("position", ~frame.get_column("position").is_in([-1, 0, 1]))):  # fmt: skip
        if bad.any():
            row = _first(bad)
            raise DataError(f"{path}: column {name}: row {row}: {frame[name][row]!r} is out of "
                            "range")  # fmt: skip
    return frame


def check_trades(frame: pl.DataFrame, path: Any) -> pl.DataFrame:
    """A trade table (``trades_frame``): the columns, finite numbers, known sides and exit
    reasons."""
    check_frame(frame, path, TRADE_COLUMNS, what="a trade table", nan_ok=TRADE_NAN_COLUMNS)
    for name, known in (("side", ("LONG", "SHORT")),
                        ("exit_reason", tuple(EXIT_REASON_NAMES.values()))):  # fmt: skip
        bad = ~frame.get_column(name).is_in(known)
        if bad.any():
            row = _first(bad)
            raise DataError(f"{path}: column {name}: row {row}: {shown(frame[name][row])} is "
                            f"not one of {', '.join(known)}")  # fmt: skip
    return frame


def check_sweep_table(frame: pl.DataFrame, path: Any, grid: list[str]) -> pl.DataFrame:
    """A sweep's table: ``combo``, a column per swept parameter of ``grid`` (numbers, booleans,
    text or null; no NaN), every metric (``SWEEP_COLUMNS``), one row at least."""
    for name in grid:
        if name not in frame.columns:
            raise DataError(f"{path}: column {name}: missing; summary.json's grid sweeps it")
        col = frame.get_column(name)
        if col.dtype not in PARAMETER_DTYPES:
            raise DataError(f"{path}: column {name}: {col.dtype}, expected one of "
                            f"{', '.join(map(str, PARAMETER_DTYPES))}")  # fmt: skip
        if col.dtype == pl.Float64 and col.is_nan().any():
            raise DataError(f"{path}: column {name}: row {_first(col.is_nan())}: not a number")
    floats = tuple(m.name for m in METRICS if not m.integer)  # NaN: undefined
    return check_frame(frame, path, SWEEP_COLUMNS, what="a sweep's table", nan_ok=floats,
                       rows=1)  # fmt: skip


# ---------------------------------------------------------------------------------- readers


@dataclass(frozen=True, eq=False)
class BacktestData:
    """run: the ``RunInfo.to_dict()`` of the run (strategy, model, span, params, config) with
    ``trade_count`` and ``equity_curve_length``; metrics: the metrics dict; trades and equity:
    the result's frames."""

    run: dict[str, Any]
    metrics: dict[str, Any]
    trades: pl.DataFrame
    equity: pl.DataFrame

    @classmethod
    def from_document(
        cls, doc: dict, trades: pl.DataFrame, equity: pl.DataFrame, where: Any = "the backtest"
    ) -> BacktestData:
        """The data of ``metrics.json``'s content ``doc`` and the two frames; a ``DataError``
        naming ``where`` when ``doc`` is not a backtest's (``check_document``)."""
        cls.check_document(doc, where)
        run = {k: v for k, v in doc.items() if k not in ("metrics", "trades")}
        return cls(run=run, metrics=doc["metrics"], trades=trades, equity=equity)

    @staticmethod
    def check_document(doc: dict, where: Any) -> None:
        """A ``DataError`` naming ``where`` when ``doc`` is not metrics.json's content
        (``BacktestDocument``)."""
        if not isinstance(doc.get("metrics"), dict):
            raise DataError(f"{where}: no 'metrics' mapping; not a saved backtest result")
        _validate(BacktestDocument, doc, where)


@dataclass(frozen=True, eq=False)
class SweepData:
    """table: one row per combination (``combo``, the swept parameters, every metric);
    summary: ``SweepResult.summary()`` (run, base_params, grid, settings, timings)."""

    table: pl.DataFrame
    summary: dict[str, Any]

    @property
    def grid_names(self) -> list[str]:
        return list(self.summary.get("grid", {}))


@dataclass(frozen=True, eq=False)
class ResearchData:
    """report: the run's ``report.json`` (as JSON reads it back); equity: its out-of-sample curve
    (timestamp, close, equity, position and, from runs that record it, buy_and_hold)."""

    report: dict[str, Any]
    equity: pl.DataFrame

    @classmethod
    def from_memory(cls, report: dict[str, Any], equity: pl.DataFrame) -> ResearchData:
        """The data of a run in memory: ``report`` through JSON, so that the page from memory is
        the page from report.json."""
        doc = json.loads(json.dumps(report, default=str, allow_nan=False))
        return cls.checked(doc, equity, "the research run")

    @classmethod
    def checked(cls, doc: dict, equity: pl.DataFrame, where: Any) -> ResearchData:
        """``doc`` and ``equity``; a ``DataError`` naming ``where`` when ``doc`` is not a
        research run's report (``ResearchDocument``)."""
        missing = [
            k for k in ("verdict", "metrics", "out_of_sample") if not isinstance(doc.get(k), dict)
        ]
        if missing:
            raise DataError(f"{where}: no {', '.join(repr(k) for k in missing)} mapping; not the "
                            "report.json of a research run")  # fmt: skip
        _validate(ResearchDocument, doc, where)
        return cls(report=doc, equity=equity)


def read_backtest(folder: Path) -> BacktestData:
    """A saved backtest (``BACKTEST_FILES``), each file checked (``BacktestDocument``,
    ``check_trades``, ``check_equity``) and the three consistent."""
    path = folder / METRICS_FILE
    doc = read_json(path)
    BacktestData.check_document(doc, path)
    trades = check_trades(read_parquet(folder / TRADES_FILE), folder / TRADES_FILE)
    equity = check_equity(read_parquet(folder / EQUITY_FILE), folder / EQUITY_FILE)
    data = BacktestData.from_document(doc, trades, equity, path)
    for key, frame, name in (("trade_count", trades, TRADES_FILE),
                             ("equity_curve_length", equity, EQUITY_FILE)):  # fmt: skip
        if doc.get(key) is not None and doc[key] != frame.height:
            raise DataError(f"{path}: {key} = {doc[key]}, but {name} has {frame.height} rows; "
                            "the files are not of one run")  # fmt: skip
    return data


def read_sweep(folder: Path) -> SweepData:
    """A saved sweep (``SWEEP_FILES``): ``summary.json`` (``SweepSummary``) and the table
    (``check_sweep_table``)."""
    path = folder / SUMMARY_FILE
    summary = read_json(path)
    _validate(SweepSummary, summary, path)
    table = check_sweep_table(read_parquet(folder / TABLE_FILE), folder / TABLE_FILE,
                              list(summary["grid"]))  # fmt: skip
    return SweepData(table=table, summary=summary)


def read_sweep_rows(folder: Path, offset: int, limit: int) -> list[dict[str, Any]]:
    """Rows ``[offset, offset + limit)`` of a saved sweep's ``results.parquet`` (only those are
    read; its columns are checked first: ``SWEEP_COLUMNS``)."""
    path = folder / TABLE_FILE
    try:
        scan = pl.scan_parquet(path)
        schema = scan.collect_schema()
        for name, dtype in SWEEP_COLUMNS.items():
            if schema.get(name) != dtype:
                got = "missing" if name not in schema else f"{schema[name]}, expected {dtype}"
                raise DataError(f"{path}: column {name}: {got}; not a sweep's table")
        return scan.slice(offset, limit).collect().to_dicts()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: cannot read it as Parquet ({_first_line(exc)})") from None


def read_research(folder: Path) -> ResearchData:
    """A research run's folder (``RESEARCH_FILES``: ``<out>/runs/<run>/``): ``report.json``
    (``ResearchDocument``) and its equity curve (``check_equity``)."""
    path = folder / REPORT_FILE
    doc = read_json(path)
    equity = read_parquet(folder / EQUITY_FILE)
    check_equity(equity, folder / EQUITY_FILE, RESEARCH_EQUITY_COLUMNS)
    return ResearchData.checked(doc, equity, path)


def parse_line(line: bytes, path: Any, number: int) -> Any:
    """The JSON value of line ``number`` (from 1) of a JSON-lines file; a ``DataError`` naming
    the file and the line when it is not JSON (or is too long or nested too deeply)."""
    if len(line) > MAX_LINE_BYTES:
        raise DataError(f"{path}: line {number}: longer than {MAX_LINE_BYTES:,} bytes")
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{path}: line {number}: not valid JSON ({_first_line(exc)})") from None


def complete_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line) of each complete line of a JSON-lines file vbt appends to
    (``vbt.atomic.append_line``: one write per line, so a process killed while appending
    leaves at most a partial last line without its newline; that line is left out, and the
    next append cuts it)."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                return  # a partial last line: a killed append
            yield number, line


def read_records(folder: str | Path) -> dict[str, dict[str, Any]]:
    """{job id: its record} from a batch's ``results.jsonl`` (the last line of each id; none
    when there is no file). Every complete line must be a record (``OkRecord`` or
    ``ErrorRecord``): one that is not is a ``DataError`` naming the file and the line, so a
    resume never trusts nor silently skips a line it cannot read. A partial last line (a batch
    killed while appending) is the one line left out (``complete_lines``)."""
    path = Path(folder) / RESULTS_FILE
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for number, line in complete_lines(path):
        rec = parse_line(line, path, number)
        where = f"{path}: line {number}"
        if not isinstance(rec, dict):
            raise DataError(f"{where}: not a JSON object; not a job's record")
        if "status" not in rec:
            raise DataError(f"{where}: status: missing")
        if rec["status"] not in ("ok", "error"):
            raise DataError(f"{where}: status = {shown(rec['status'])}: must be 'ok' or 'error'")
        _validate(Record, rec, where)
        out[rec["id"]] = rec
    return out


def load(folder: str | Path) -> BacktestData | SweepData | ResearchData:
    """The data of a saved result folder: a backtest (``BACKTEST_FILES``), a sweep
    (``SWEEP_FILES``) or a research run (``RESEARCH_FILES``: ``<out>/runs/<run>/``). A folder
    that holds none is a ``ConfigError`` naming it; a damaged or foreign file in one a
    ``DataError`` naming the file and the key, line or column."""
    folder = check_input_dir(folder, "result folder")
    if all((folder / f).is_file() for f in BACKTEST_FILES):
        return read_backtest(folder)
    if all((folder / f).is_file() for f in SWEEP_FILES):
        return read_sweep(folder)
    if all((folder / f).is_file() for f in RESEARCH_FILES):
        return read_research(folder)
    raise ConfigError(
        f"result folder {folder}: holds neither a backtest result ({', '.join(BACKTEST_FILES)}), "
        f"a sweep result ({', '.join(SWEEP_FILES)}) nor a research run "
        f"({', '.join(RESEARCH_FILES)}: <out>/runs/<run>/)"
    )


def read_json(path: Path, *, max_bytes: int | None = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object in ``path`` (a ``DataError`` naming it when it is not one, or when it is
    larger than ``max_bytes``; None: no limit, for a file whose size the caller bounds)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if max_bytes is not None and size > max_bytes:
        raise DataError(f"{path}: larger than {max_bytes:,} bytes; not one of vbt's files")
    try:
        doc = json.loads(read_bytes(path, "result file"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not valid JSON ({_first_line(exc)})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def read_parquet(path: Path) -> pl.DataFrame:
    """The table in ``path`` (a ``DataError`` naming it when it is not Parquet)."""
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: cannot read it as Parquet ({_first_line(exc)})") from None
    except BaseException as exc:  # polars' Rust panics (a malformed file) are BaseExceptions
        if type(exc).__name__ != "PanicException":
            raise
        raise DataError(f"{path}: cannot read it as Parquet ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
