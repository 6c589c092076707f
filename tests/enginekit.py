"""Helpers of the engine and sweep tests (a module of its own: ``conftest`` is not importable
by name once several test folders each have one)."""

from __future__ import annotations

from pathlib import Path

import vbt

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data_fixtures"
STRATEGIES = DATA / "strategies"


def config(model_dir, **kw) -> vbt.BacktestConfig:
    """A BacktestConfig of ``model_dir`` on the bundled EURUSD 1h fixtures (``kw`` override)."""
    kw = {"data_dir": str(DATA), "symbol": "EURUSD", "timeframe": "1h", **kw}
    return vbt.BacktestConfig(model_path=str(model_dir), **kw)
