"""Aggregate finer bars into coarser, open-stamped bars anchored on UTC boundaries."""

from __future__ import annotations

import polars as pl

from vbt.data.timeframe import timeframe_seconds


def resample(bars: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """Resample validated ``bars`` to ``timeframe`` ("1h", "4h", "1d", "1w", ...).

    Each output bar is stamped with its period's open time; periods are anchored on UTC boundaries
    (days at 00:00 UTC, weeks on Monday 00:00 UTC). open = first open, high = max, low = min,
    close = last close, volume = sum. Periods with no input bars are not emitted.
    """
    timeframe_seconds(timeframe)
    return (
        bars.with_columns(pl.col("timestamp").dt.truncate(timeframe))
        .group_by("timestamp", maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .sort("timestamp")
    )
