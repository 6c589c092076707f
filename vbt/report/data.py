"""What a report page is built from, the same whether the result is in memory or saved.

A page reads exactly what ``save`` writes, so ``vbt report RESULT_DIR`` and ``result.report(path)``
draw the same page:

- a backtest: ``metrics.json`` (the run's description and its metrics), ``trades.parquet`` and
  ``equity.parquet`` (``BacktestResult.save``);
- a sweep: ``results.parquet`` (one row per combination) and ``summary.json`` (the run, the
  grid and the settings; ``SweepResult.save``);
- a research run: ``report.json`` (the run, the split or folds, the metrics, baselines,
  statistics and verdict) and ``equity.parquet`` (the out-of-sample curve with buy-and-hold's
  beside it), from ``runs/<run>/`` (``vbt.research``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vbt.errors import ConfigError
from vbt.paths import check_input_dir, read_bytes

BACKTEST_FILES = ("metrics.json", "trades.parquet", "equity.parquet")
SWEEP_FILES = ("results.parquet", "summary.json")
RESEARCH_FILES = ("report.json", "equity.parquet")


@dataclass(frozen=True, eq=False)
class BacktestData:
    """run: the ``RunInfo.to_dict()`` of the run (strategy, model, span, params, config);
    metrics: the metrics dict; trades and equity: the result's frames."""

    run: dict[str, Any]
    metrics: dict[str, Any]
    trades: pl.DataFrame
    equity: pl.DataFrame

    @classmethod
    def from_result(cls, result: Any) -> BacktestData:
        return cls._from_doc(result.to_dict(include_trades=False), result.trades, result.equity)

    @classmethod
    def from_dir(cls, folder: Path) -> BacktestData:
        doc = _read_json(folder / "metrics.json")
        return cls._from_doc(
            doc, _read_parquet(folder / "trades.parquet"), _read_parquet(folder / "equity.parquet")
        )

    @classmethod
    def _from_doc(cls, doc: dict, trades: pl.DataFrame, equity: pl.DataFrame) -> BacktestData:
        if not isinstance(doc.get("metrics"), dict):
            raise ConfigError("metrics.json: no 'metrics' mapping; not a saved backtest result")
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

    @classmethod
    def from_result(cls, result: Any) -> SweepData:
        return cls(table=result.table, summary=result.summary(k=0))

    @classmethod
    def from_dir(cls, folder: Path) -> SweepData:
        return cls(
            table=_read_parquet(folder / "results.parquet"),
            summary=_read_json(folder / "summary.json"),
        )


@dataclass(frozen=True, eq=False)
class ResearchData:
    """report: the run's ``report.json`` (as JSON reads it back); equity: its out-of-sample curve
    (timestamp, close, equity, position and, from runs that record it, buy_and_hold)."""

    report: dict[str, Any]
    equity: pl.DataFrame

    @classmethod
    def from_result(cls, result: Any) -> ResearchData:
        # through JSON, so that the page from memory is the page from report.json
        doc = json.loads(json.dumps(result.report, default=str, allow_nan=False))
        return cls._checked(doc, result.equity, "the research run")

    @classmethod
    def from_dir(cls, folder: Path) -> ResearchData:
        doc = _read_json(folder / "report.json")
        return cls._checked(doc, _read_parquet(folder / "equity.parquet"), folder / "report.json")

    @classmethod
    def _checked(cls, doc: dict, equity: pl.DataFrame, where: Any) -> ResearchData:
        missing = [
            k for k in ("verdict", "metrics", "out_of_sample") if not isinstance(doc.get(k), dict)
        ]
        if missing:
            raise ConfigError(f"{where}: no {', '.join(repr(k) for k in missing)} mapping; not the "
                              "report.json of a research run")  # fmt: skip
        return cls(report=doc, equity=equity)


def load(folder: str | Path) -> BacktestData | SweepData | ResearchData:
    """The page data of a saved result folder: a backtest (``BACKTEST_FILES``), a sweep
    (``SWEEP_FILES``) or a research run (``RESEARCH_FILES``: ``<out>/runs/<run>/``). Anything
    else, or a file that cannot be read, is a ``ConfigError`` naming the folder or the file."""
    folder = check_input_dir(folder, "result folder")
    if all((folder / f).is_file() for f in BACKTEST_FILES):
        return BacktestData.from_dir(folder)
    if all((folder / f).is_file() for f in SWEEP_FILES):
        return SweepData.from_dir(folder)
    if all((folder / f).is_file() for f in RESEARCH_FILES):
        return ResearchData.from_dir(folder)
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
