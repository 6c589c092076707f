"""SweepResult: one row per combination (its parameters and every metric of a single run)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from vbt.atomic import atomic_write
from vbt.errors import ConfigError
from vbt.metrics import METRIC_NAMES
from vbt.sim.runner import ScanParams
from vbt.sweeps.grid import Grid

#: metrics for which a smaller value is the better one (``best`` sorts them ascending)
LOWER_IS_BETTER = frozenset(
    ("volatility", "max_drawdown", "max_drawdown_pct", "max_drawdown_duration", "losing_trades")
)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The outcome of a sweep.

    table : polars DataFrame, one row per combination run, in grid order
        ``combo`` (the combination's index in the grid), one column per swept parameter, then
        every metric of ``METRIC_NAMES`` (the numbers a single ``BacktestEngine`` run with those
        parameters reports).
    grid : Grid; base : ScanParams (the unswept parameters); info : RunInfo of the prepared run;
    settings : constraint, max_combos, seed and the grid's size; timings : seconds per stage;
    prepared : the PreparedRun, kept so that ``rerun`` needs no new inference (None once saved
    and read back).
    """

    table: pl.DataFrame
    grid: Grid
    base: ScanParams
    info: Any
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    prepared: Any = None

    def best(self, k: int = 10, by: str = "sharpe_ratio") -> pl.DataFrame:
        """The ``k`` best rows by metric ``by`` (highest first; lowest first for the metrics of
        ``LOWER_IS_BETTER``); undefined (null) values last; ties keep grid order."""
        if by not in METRIC_NAMES:
            raise ConfigError(f"by = {by!r}: not a metric; metrics: {', '.join(METRIC_NAMES)}")
        descending = by not in LOWER_IS_BETTER
        return self.table.sort(by, descending=descending, nulls_last=True,
                               maintain_order=True).head(k)  # fmt: skip

    def params(self, i: int) -> ScanParams:
        """The full parameters of row ``i`` of ``table``."""
        if not 0 <= i < self.table.height:
            raise ConfigError(f"row {i}: the table has {self.table.height} rows")
        return self.grid.row_params(self.base, int(self.table["combo"][i]))

    def rerun(self, i: int):
        """The full ``BacktestResult`` (trades, equity) of row ``i``, from the same inference."""
        from vbt.stages import backtest

        if self.prepared is None:
            raise ConfigError("rerun: this sweep result holds no prepared run (it was read back)")
        return backtest(self.prepared, self.params(i))

    def summary(self, k: int = 10, by: str = "sharpe_ratio") -> dict[str, Any]:
        """JSON-safe description: the run, the grid, the settings, timings and the ``k`` best."""
        return {
            "run": self.info.to_dict(),
            "base_params": self.base.values(),
            "grid": self.grid.to_dict(),
            **self.settings,
            "combinations": self.table.height,
            "timings": self.timings,
            "best_by": by,
            "best": self.best(k, by).to_dicts(),
        }

    def save(self, out_dir: str | Path) -> Path:
        """Write ``results.parquet`` (the table) and ``summary.json`` into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "results.parquet", self.table.write_parquet)
        text = json.dumps(self.summary(), indent=2, default=str)
        atomic_write(out / "summary.json", lambda f: f.write(text.encode("utf-8")))
        return out
