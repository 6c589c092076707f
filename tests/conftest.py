"""Session fixtures shared by several test folders: models trained once on the bundled fixtures
(the engine and sweep tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginekit import DATA, STRATEGIES

import vbt


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
