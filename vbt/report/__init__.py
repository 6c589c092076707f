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

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import PlainValidator

from vbt.arguments import PATH, Arguments, check_path, count, failure, is_path
from vbt.atomic import atomic_write
from vbt.errors import ConfigError
from vbt.paths import check_output_file
from vbt.report.html import Page, render
from vbt.results.saved import BacktestData, ResearchData, SweepData, load

__all__ = [
    "BacktestData", "ResearchData", "SweepData", "build_page", "load", "render_report",
    "write_report",
]  # fmt: skip

PageData = BacktestData | SweepData | ResearchData
#: the most rows of a sweep's table of best rows (``top``)
MAX_TOP = 100_000


def _source(value: Any) -> Any:
    if isinstance(value, PageData) or callable(getattr(value, "as_saved", None)):
        return value
    if is_path(value):
        return check_path(value)
    raise failure(
        "must be a result folder (a path), a BacktestResult, SweepResult or ResearchReport, or "
        "what one's as_saved() gives"
    )


def _axes(value: Any) -> Any:
    ok = (
        isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
        and all(isinstance(v, str) for v in value)
    )  # fmt: skip
    if value is not None and not ok:
        raise failure("must be two swept parameters' names, x and y (--heatmap X,Y)")
    return value


def _metric_name(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise failure("must be a metric's name (--by)")
    return value


#: the arguments of ``write_report``, ``render_report`` and ``build_page`` (``vbt report``'s
#: argument and flags go through them): the source, the page's path and the options
SOURCE = Arguments("report", source=Annotated[Any, PlainValidator(_source)])
OUTPUT = Arguments("write_report", path=PATH)
OPTIONS = Arguments(
    "report", by=Annotated[Any, PlainValidator(_metric_name)],
    params=Annotated[Any, PlainValidator(_axes)],
    top=count(1, MAX_TOP, optional=True, flag="--top"),
)  # fmt: skip


def check_options(options: dict[str, Any]) -> None:
    """A ``ConfigError`` naming the first unknown or bad option (``by``, ``params``, ``top``):
    ``--top 0`` is ``top = 0: must be an integer in [1, 100,000] (--top)``."""
    unknown = [k for k in options if k not in OPTIONS.names]
    if unknown:
        raise ConfigError(
            f"report: {unknown[0]}: not an option; options: {', '.join(OPTIONS.names)}"
        )
    OPTIONS.check(**{k: options.get(k) for k in OPTIONS.names})


def _page_data(source: Any) -> PageData:
    if isinstance(source, PageData):
        return source
    as_saved = getattr(source, "as_saved", None)  # a result in memory
    if callable(as_saved):
        return as_saved()
    return load(source)


def build_page(source: Any, **options: Any) -> Page:
    """The page of ``source``. Options: for a sweep, ``by`` (metric), ``params`` (two swept
    parameters: x, y) and ``top`` (rows in the best table, at least 1); a backtest or a research
    run takes none. Raises ``ConfigError`` for a bad source or option (naming it) or a folder
    that holds no result, ``DataError`` for a damaged or foreign file in it (naming the file and
    the key, line or column: ``vbt.results.saved``)."""
    from vbt.report import backtest, research, sweep

    SOURCE.check(source=source)
    check_options(options)
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
    The arguments are checked first (``SOURCE``, ``OUTPUT``, ``OPTIONS``: a ``ConfigError``
    naming the first bad one), then the result is read (a folder without a result is a
    ``ConfigError``, a damaged file in it a ``DataError``), then a path that cannot be written
    is a ``ConfigError`` naming it, all before the page is built."""
    SOURCE.check(source=source)
    OUTPUT.check(path=path)
    check_options(options)
    data = _page_data(source)  # a bad result folder is named before the output path
    path = check_output_file(path, "report")
    text = render_report(data, **options).encode("utf-8")
    return atomic_write(path, lambda f: f.write(text))
