"""HTML reports: one self-contained file per backtest, sweep or research run, readable offline.

``write_report(source, path)`` takes a saved result folder, what ``vbt.results.saved`` reads
from one (``BacktestData``, ``SweepData``, ``ResearchData``) or a result in memory that gives
the same (``as_saved()``: ``BacktestResult``, ``SweepResult``, ``ResearchReport``), and writes
one HTML file (plotly.js inlined once, no network needed); ``render_report`` returns the text.
``result.report(path)``, ``research.write_report(path)``, ``vbt report RESULT_DIR`` and
``--report`` call it.

A page is one module with ``build(data, **options) -> Page``: ``backtest``, ``sweep`` and
``research``. Pages read only what a run saves (``vbt.results.saved``), and take their metric
names, units and formatting from ``vbt.summary``, as the CLI summary does. Nothing here imports
what produces a result (``vbt.stages``, ``vbt.sweeps``, ``vbt.research``, ``vbt.batches``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vbt.report.html import Page, render
from vbt.results.saved import BacktestData, ResearchData, SweepData, load

__all__ = [
    "BacktestData", "ResearchData", "SweepData", "build_page", "load", "render_report",
    "write_report",
]  # fmt: skip

PageData = BacktestData | SweepData | ResearchData


def _page_data(source: Any) -> PageData:
    if isinstance(source, PageData):
        return source
    if isinstance(source, str | Path):
        return load(source)
    as_saved = getattr(source, "as_saved", None)  # a result in memory
    if callable(as_saved):
        return as_saved()
    raise TypeError(
        f"report: expected a BacktestResult, SweepResult, ResearchReport or folder, not {source!r}"
    )


def build_page(source: Any, **options: Any) -> Page:
    """The page of ``source``. Options: for a sweep, ``by`` (metric), ``params`` (two swept
    parameters: x, y) and ``top`` (rows in the best table); a backtest or a research run takes
    none. Raises ``ConfigError`` for a bad option or an unreadable folder."""
    from vbt.errors import ConfigError
    from vbt.report import backtest, research, sweep

    data = _page_data(source)
    if isinstance(data, SweepData):
        return sweep.build(data, **{k: v for k, v in options.items() if v is not None})
    given = [k for k, v in options.items() if v is not None]
    kind = "a research run" if isinstance(data, ResearchData) else "a backtest"
    if given:
        raise ConfigError(f"report: {', '.join(given)}: only for a sweep; this is {kind}")
    return research.build(data) if isinstance(data, ResearchData) else backtest.build(data)


def render_report(source: Any, **options: Any) -> str:
    """The HTML text of ``source``'s report (see ``build_page``)."""
    return render(build_page(source, **options))


def write_report(source: Any, path: str | Path, **options: Any) -> Path:
    """Write ``source``'s report to ``path`` (atomically; its folder must exist) and return it.
    An unreadable result folder, then a path that cannot be written, is a ``ConfigError``
    naming it, raised before the page is built."""
    from vbt.atomic import atomic_write
    from vbt.paths import check_output_file

    data = _page_data(source)  # a bad result folder is named before the output path
    path = check_output_file(path, "report")
    text = render_report(data, **options).encode("utf-8")
    return atomic_write(path, lambda f: f.write(text))
