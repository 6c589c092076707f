"""Bar data: load + validate OHLCV files, resample to coarser timeframes, synthetic bars;
context data (another symbol's bars, external series)."""

from vbt.data.context import ContextFrame, ContextSource, load_context, strategy_context
from vbt.data.load import BAR_COLUMNS, find_bar_file, load_bars, load_data, validate_bars
from vbt.data.resample import resample
from vbt.data.timeframe import parse_timeframe, timeframe_ns, timeframe_seconds

__all__ = [
    "BAR_COLUMNS",
    "ContextFrame",
    "ContextSource",
    "load_context",
    "strategy_context",
    "find_bar_file",
    "load_bars",
    "load_data",
    "parse_timeframe",
    "resample",
    "timeframe_ns",
    "timeframe_seconds",
    "validate_bars",
]
