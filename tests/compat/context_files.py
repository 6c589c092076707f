"""Generated context files for the context-data tests: another symbol's bars and external series.

Nothing here is market data. Each series is stamped with the time its value became known.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

import vbt
from vbt.data.synth import synth_bars

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "data_fixtures"


def series_frame(stamps: list[datetime], values: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {"timestamp": pl.Series(stamps, dtype=pl.Datetime("ns", "UTC")), "value": values}
    )


def daily_series(start: datetime, days: int, seed: int, level: float, step: float):
    """One value per weekday, known at 21:00 UTC (after the US close): stamps and values."""
    rng = np.random.default_rng(seed)
    stamps = [
        start + timedelta(days=d, hours=21)
        for d in range(days)
        if (start + timedelta(days=d)).weekday() < 5
    ]
    return stamps, level + np.cumsum(rng.normal(0.0, step, len(stamps)))


def write_context_files(data_dir: Path, days: int = 190) -> Path:
    """Into ``data_dir``: the EURUSD fixtures, GBPUSD 5m bars (another seed and level), the FRED
    series DGS2 / IRLTLT01DEM156N and their spread (CSV, with FRED's '.' for a few missing days),
    and weekly COT net positions and percentiles (Parquet, known Fridays 20:30 UTC)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("EURUSD_5m.parquet", "EURUSD_1h.parquet"):
        (data_dir / name).write_bytes((FIXTURES / name).read_bytes())
    eur = vbt.load_bars(FIXTURES / "EURUSD_5m.parquet")
    gbp = synth_bars(eur.height, seed=11, price=1.27)
    gbp.write_parquet(data_dir / "GBPUSD_5m.parquet")
    start = datetime(2023, 12, 25, tzinfo=UTC)  # a few values before the first EURUSD bar
    stamps, us = daily_series(start, days, seed=1, level=4.3, step=0.04)
    _, de = daily_series(start, days, seed=2, level=2.4, step=0.03)
    for sid, values in (
        ("fred_DGS2", us),
        ("fred_IRLTLT01DEM156N", de),
        ("yield_spread_DGS2_IRLTLT01DEM156N", us - de),
    ):
        text = ["date,value"]
        for k, (t, v) in enumerate(zip(stamps, values, strict=True)):
            shown = "." if k % 37 == 5 else f"{v:.4f}"  # FRED writes '.' for a missing day
            text.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{shown}")
        (data_dir / f"{sid}.csv").write_text("\n".join(text) + "\n")
    fridays = [start + timedelta(days=4 + 7 * w, hours=20, minutes=30) for w in range(days // 7)]
    rng = np.random.default_rng(3)
    net = np.cumsum(rng.normal(0, 5000, len(fridays)))
    pct = 100 * (np.argsort(np.argsort(net)) + 0.5) / len(net)
    series_frame(fridays, net).write_parquet(data_dir / "cot_EUR_net_pos.parquet")
    series_frame(fridays, pct).write_parquet(data_dir / "cot_EUR_net_pct.parquet")
    return data_dir
