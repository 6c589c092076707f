"""ResearchReport: a research run (``vbt.research.run``) as it returns and saves it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbt.results.saved import ResearchData


@dataclass(frozen=True, eq=False)
class ResearchReport:
    """A research run: ``report`` (the JSON-safe dict written to ``report.json``), ``verdict``
    (its verdict string), ``path`` (the run's folder), ``equity`` and ``trades`` (polars, the
    out-of-sample equity curve, buy-and-hold's beside it, and trades)."""

    report: dict[str, Any]
    path: Path
    equity: Any
    trades: Any

    @property
    def verdict(self) -> str:
        return self.report["verdict"]["verdict"]

    def to_dict(self) -> dict[str, Any]:
        return self.report

    def as_saved(self) -> ResearchData:
        """What reading the run's folder back gives (``vbt.results.saved.read_research``)."""
        return ResearchData.from_memory(self.report, self.equity)

    def write_report(self, path: str | Path) -> Path:
        """Write the HTML page of this run to ``path`` (one self-contained file, the same as
        ``vbt report`` writes from the run's folder; see ``vbt.report``) and return the path.
        (``report`` is the run's report.json dict, hence the name.)"""
        from vbt.report import write_report

        return write_report(self.as_saved(), path)
