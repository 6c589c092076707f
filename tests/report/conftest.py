"""Fixtures for the report tests (helpers: ``reportkit.py``): runs with and without trades, a
sweep, and a 1M-bar run on synthetic bars, all of one fast model; two research runs of the
research tests' tiny strategies (``tests/research/conftest.py``): a held-out split and a
walk-forward."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportkit import DATA, centred_model, config

import vbt


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return centred_model(
        tmp_path_factory.mktemp("models"), vbt.load_bars(DATA / "EURUSD_1h.parquet")
    )


@pytest.fixture(scope="session")
def traded(model_dir):
    """A run with trades (and signals removed by each filter)."""
    result = vbt.BacktestEngine(config(model_dir, confidence_threshold=0.4)).run()
    assert result.metrics["total_trades"] >= 20 and result.metrics["removed_by_confidence"] > 0
    return result


@pytest.fixture(scope="session")
def untraded(model_dir):
    """A run without trades: the confidence threshold removes every signal."""
    result = vbt.BacktestEngine(config(model_dir, confidence_threshold=0.95)).run()
    assert result.metrics["total_trades"] == 0
    return result


@pytest.fixture(scope="session")
def swept(model_dir):
    grid = {"confidence_threshold": "0.4:0.6:0.05", "commission": [0.0, 0.0005, 0.001],
            "min_signal_separation": [0, 4]}  # fmt: skip
    return vbt.sweep(config(model_dir), grid)


@pytest.fixture(scope="session")
def million(tmp_path_factory, model_dir):
    """A backtest over 1,000,000 synthetic 1h bars (about 160 years, weekends skipped), without
    costs, so that its equity wanders up and down (with costs it only sinks)."""
    from vbt.data.synth import synth_bars

    data = tmp_path_factory.mktemp("big_data")
    synth_bars(1_000_000, seed=11, timeframe="1h").write_parquet(data / "EURUSD_1h.parquet")
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data),
                             confidence_threshold=0.4, commission=0.0, slippage=0.0)  # fmt: skip
    return vbt.BacktestEngine(cfg).run()


@pytest.fixture(scope="session")
def researched(tmp_path_factory):
    """A held-out research run: the tiny RSI classifier (two epochs), 100 random-entry runs."""
    from tests.research.conftest import tiny, write

    folder = tmp_path_factory.mktemp("research")
    strategy = write(folder, tiny("tiny_rsi"))
    return vbt.research.run(strategy, data_dir=DATA, out_dir=folder / "out", simulations=100)


@pytest.fixture(scope="session")
def walked(tmp_path_factory):
    """A 3-fold walk-forward research run of the tiny regression strategy."""
    from tests.research.conftest import walk_forward_research

    return walk_forward_research(tmp_path_factory)
