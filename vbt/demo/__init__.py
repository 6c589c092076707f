"""The demo's inputs, shipped with the package so ``vbt demo`` runs from any install and any
directory: the strategy file (``rsi_bbands_mtf.yaml``, package data) and the bars, generated.

``demo_bars()`` is the one definition of the bundled synthetic bars: EURUSD-like 5m bars from
``vbt.data.synth.synth_bars`` (seed 7) for 2024-01-01 to 2024-06-30 and their 1h resample.
``data_fixtures/`` holds exactly these (``scripts/make_fixtures.py`` writes them with this
function; a test checks they agree).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import polars as pl

from vbt.data.resample import resample
from vbt.data.synth import synth_bars

DEMO_SYMBOL = "EURUSD"
DEMO_SEED = 7
DEMO_START = datetime(2024, 1, 1, tzinfo=UTC)
DEMO_END = datetime(2024, 7, 1, tzinfo=UTC)  # exclusive: six months
_STRATEGY_FILE = "rsi_bbands_mtf.yaml"


def demo_strategy_path() -> Path:
    """The demo strategy file inside the installed package."""
    return Path(str(resources.files(__package__).joinpath(_STRATEGY_FILE)))


def demo_bars() -> dict[str, pl.DataFrame]:
    """``{"5m": bars, "1h": bars}``: the demo's synthetic bars (deterministic)."""
    five = synth_bars(60_000, seed=DEMO_SEED, start=DEMO_START).filter(
        pl.col("timestamp") < DEMO_END
    )
    return {"5m": five, "1h": resample(five, "1h")}


def write_demo_data(folder: str | Path) -> Path:
    """Write ``EURUSD_5m.parquet`` and ``EURUSD_1h.parquet`` into ``folder`` (created) and
    return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for tf, bars in demo_bars().items():
        bars.write_parquet(folder / f"{DEMO_SYMBOL}_{tf}.parquet", statistics=True)
    return folder
