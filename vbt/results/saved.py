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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vbt.atomic import append_line, atomic_write
from vbt.enums import EXIT_REASON_NAMES, SIDE_NAMES
from vbt.errors import ConfigError
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
    return pl.Series(ns.astype("datetime64[ns]")).dt.replace_time_zone("UTC")


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
    record, appended with one write, flushed and fsynced, so a killed batch leaves whole lines.
    A partial last line is cut first, and so are the lines of the ``drop`` ids (their jobs run
    again).

    A record: ``{"id", "index", "name", "status": "ok", "job": <canonical job>, "run": {strategy,
    symbol, timeframe, start, end, model_path, output_type, bars, valid_bars}, "params": {...},
    "metrics": {...}, "sweep": {...} (grid jobs), "timings": {...}, "shared": {...}, "worker":
    pid, "finished_at"}`` or, for a job that failed, ``"status": "error"`` and ``"error":
    {"type", "message"}`` (one line naming the problem) in place of the run, params and metrics.
    """

    def __init__(self, folder: str | Path, drop: Iterable[str] = ()):
        self.path = Path(folder) / RESULTS_FILE
        drop = set(drop)
        if self.path.is_file():
            data = self.path.read_bytes()
            keep = data[: data.rfind(b"\n") + 1]  # cut a partial last line
            if drop:
                lines = [ln for ln in keep.splitlines(keepends=True) if _id(ln) not in drop]
                keep = b"".join(lines)
            if keep != data:
                atomic_write(self.path, lambda f: f.write(keep))

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str, allow_nan=False) + "\n").encode()
        append_line(self.path, line)


def _id(line: bytes) -> str | None:
    try:
        rec = json.loads(line)
    except ValueError:
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
    def from_document(cls, doc: dict, trades: pl.DataFrame, equity: pl.DataFrame) -> BacktestData:
        """The data of ``metrics.json``'s content ``doc`` and the two frames."""
        if not isinstance(doc.get("metrics"), dict):
            raise ConfigError(f"{METRICS_FILE}: no 'metrics' mapping; not a saved backtest result")
        run = {k: v for k, v in doc.items() if k not in ("metrics", "trades")}
        return cls(run=run, metrics=doc["metrics"], trades=trades, equity=equity)


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
        """``doc`` and ``equity``; a ``ConfigError`` naming ``where`` when ``doc`` is not a
        research run's report."""
        missing = [
            k for k in ("verdict", "metrics", "out_of_sample") if not isinstance(doc.get(k), dict)
        ]
        if missing:
            raise ConfigError(f"{where}: no {', '.join(repr(k) for k in missing)} mapping; not the "
                              "report.json of a research run")  # fmt: skip
        return cls(report=doc, equity=equity)


def read_backtest(folder: Path) -> BacktestData:
    """A saved backtest (``BACKTEST_FILES``)."""
    doc = _read_json(folder / METRICS_FILE)
    return BacktestData.from_document(
        doc, _read_parquet(folder / TRADES_FILE), _read_parquet(folder / EQUITY_FILE)
    )


def read_sweep(folder: Path) -> SweepData:
    """A saved sweep (``SWEEP_FILES``)."""
    return SweepData(
        table=_read_parquet(folder / TABLE_FILE), summary=_read_json(folder / SUMMARY_FILE)
    )


def read_sweep_rows(folder: Path, offset: int, limit: int) -> list[dict[str, Any]]:
    """Rows ``[offset, offset + limit)`` of a saved sweep's ``results.parquet`` (only those are
    read)."""
    return pl.scan_parquet(folder / TABLE_FILE).slice(offset, limit).collect().to_dicts()


def read_research(folder: Path) -> ResearchData:
    """A research run's folder (``RESEARCH_FILES``: ``<out>/runs/<run>/``)."""
    doc = _read_json(folder / REPORT_FILE)
    return ResearchData.checked(doc, _read_parquet(folder / EQUITY_FILE), folder / REPORT_FILE)


def read_records(folder: str | Path) -> dict[str, dict[str, Any]]:
    """{job id: its record} from a batch's ``results.jsonl`` (the last complete line of each
    id; none when there is no file)."""
    path = Path(folder) / RESULTS_FILE
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                out[rec["id"]] = rec
    return out


def load(folder: str | Path) -> BacktestData | SweepData | ResearchData:
    """The data of a saved result folder: a backtest (``BACKTEST_FILES``), a sweep
    (``SWEEP_FILES``) or a research run (``RESEARCH_FILES``: ``<out>/runs/<run>/``). Anything
    else, or a file that cannot be read, is a ``ConfigError`` naming the folder or the file."""
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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(read_bytes(path, "result file"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return doc


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot read it as Parquet ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
