"""Session fixtures: models trained once on the bundled fixtures, shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import vbt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"
STRATEGIES = DATA / "strategies"


@pytest.fixture(scope="session")
def mtf_model(tmp_path_factory) -> Path:
    """rsi_bbands_mtf (RSI + Bollinger on 1h and 5m, EURUSD) trained on the fixtures."""
    out = tmp_path_factory.mktemp("models")
    return Path(
        vbt.train(STRATEGIES / "rsi_bbands_mtf.yaml", data_dir=DATA, symbol="EURUSD", out_dir=out,
                  progress=False)
    )  # fmt: skip


@pytest.fixture(scope="session")
def regression_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    return Path(
        vbt.train(STRATEGIES / "regression_forward_return.yaml", data_dir=DATA, symbol="EURUSD",
                  out_dir=out, progress=False)
    )  # fmt: skip


def config(model_dir, **kw) -> vbt.BacktestConfig:
    kw = {"data_dir": str(DATA), "symbol": "EURUSD", "timeframe": "1h", **kw}
    return vbt.BacktestConfig(model_path=str(model_dir), **kw)
