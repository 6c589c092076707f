"""Regenerate the synthetic bar fixtures in data_fixtures/ (deterministic, seed 7): the demo's
bars (``vbt.demo.demo_bars``) and the legacy CSV.

.venv/bin/python scripts/make_fixtures.py
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vbt.demo import demo_bars, write_demo_data

OUT = Path(__file__).resolve().parent.parent / "data_fixtures"


def main() -> None:
    write_demo_data(OUT)
    bars = demo_bars()
    legacy = (
        bars["1h"].head(500).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    (OUT / "legacy").mkdir(exist_ok=True)
    legacy.write_csv(OUT / "legacy" / "EURUSD_1h.csv")
    print(
        f"5m: {bars['5m'].height} bars, 1h: {bars['1h'].height} bars, legacy csv: {legacy.height}"
    )


if __name__ == "__main__":
    main()
