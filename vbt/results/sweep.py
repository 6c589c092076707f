"""SweepResult: one row per combination (its parameters and every metric of a single run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from vbt.arguments import Arguments, count
from vbt.errors import ConfigError
from vbt.metrics import rank
from vbt.results.saved import SweepData, write_sweep

if TYPE_CHECKING:
    from vbt.sim.runner import ScanParams
    from vbt.sweeps.grid import Grid


#: ``best``'s row count (``vbt sweep --top`` goes through it)
BEST_ARGUMENTS = Arguments("best", k=count(0))


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
        ``vbt.metrics.LOWER_IS_BETTER``); ties keep grid order. ``k``: an integer >= 0 (a
        negative one, which polars would read as "all but the last", is a ``ConfigError``)."""
        BEST_ARGUMENTS.check(k=k)
        return rank(self.table, k, by)

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

    def as_saved(self) -> SweepData:
        """What reading the saved folder back gives (``vbt.results.saved.read_sweep``), without
        the best rows (the page ranks the table itself)."""
        return SweepData(table=self.table, summary=self.summary(k=0))

    def report(
        self,
        path: str | Path,
        *,
        by: str = "sharpe_ratio",
        params: tuple[str, str] | None = None,
        top: int = 10,
    ) -> Path:
        """Write the HTML report of this sweep to ``path``: a heatmap of metric ``by`` over the
        swept parameters ``params`` (x, y; default: the first two that vary), the ``top`` best
        rows and the metric's distribution. Returns the path."""
        from vbt.report import write_report

        return write_report(self.as_saved(), path, by=by, params=params, top=top)

    def save(self, out_dir: str | Path) -> Path:
        """Write ``results.parquet`` (the table) and ``summary.json`` into ``out_dir``
        (``vbt.results.saved``)."""
        return write_sweep(out_dir, self.table, self.summary())
