"""Regenerate the synthetic bar fixtures in data_fixtures/ (deterministic, seed 7).

.venv/bin/python scripts/make_fixtures.py
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from vbt.data.resample import resample
from vbt.data.synth import synth_bars

OUT = Path(__file__).resolve().parent.parent / "data_fixtures"
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 7, 1, tzinfo=UTC)  # exclusive: six months


def main() -> None:
    five = synth_bars(60_000, seed=7, start=START).filter(pl.col("timestamp") < END)
    hour = resample(five, "1h")
    five.write_parquet(OUT / "EURUSD_5m.parquet", statistics=True)
    hour.write_parquet(OUT / "EURUSD_1h.parquet", statistics=True)
    legacy = hour.head(500).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (OUT / "legacy").mkdir(exist_ok=True)
    legacy.write_csv(OUT / "legacy" / "EURUSD_1h.csv")
    print(f"5m: {five.height} bars, 1h: {hour.height} bars, legacy csv: {legacy.height} rows")


if __name__ == "__main__":
    main()
