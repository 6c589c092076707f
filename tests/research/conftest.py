"""Research fixtures: tiny strategies (two training epochs) researched once per session on the
bundled EURUSD bars."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import vbt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"


def tiny(name: str, **overrides) -> dict:
    """A small 1h RSI classifier that trades (confidence threshold 0)."""
    strategy = {
        "name": name,
        "version": "3.0",
        "training_data": {"symbols": {"mode": "single", "symbol": "EURUSD"},
                          "timeframes": {"mode": "single", "timeframe": "1h"}},
        "indicators": {"rsi": {"type": "rsi", "period": 14}},
        "fuzzy_sets": {"rsi_fz": {"indicator": "rsi", "low": [0, 25, 45], "mid": [30, 50, 70],
                                  "high": [55, 75, 100]}},
        "nn_inputs": [{"fuzzy_set": "rsi_fz", "timeframes": "all"}],
        "model": {"type": "mlp", "architecture": {"hidden_layers": [8], "dropout": 0.0}},
        "decisions": {"output_format": "classification", "confidence_threshold": 0.0,
                      "filters": {"min_signal_separation": 2}},
        "training": {"labels": {"source": "zigzag", "zigzag_threshold": 0.004}, "epochs": 2,
                     "batch_size": 64},
    }  # fmt: skip
    strategy.update(overrides)
    return strategy


def regression(name: str) -> dict:
    """A small forward-return (12 bars) regression model that trades both sides."""
    return tiny(
        name,
        decisions={"output_format": "regression", "filters": {"min_signal_separation": 2},
                   "cost_model": {"round_trip_cost": 0.0002, "min_edge_multiplier": 1.0}},
        training={"labels": {"source": "forward_return", "horizon": 12}, "epochs": 2,
                  "batch_size": 64},
    )  # fmt: skip


def write(folder: Path, strategy: dict) -> Path:
    path = folder / f"{strategy['name']}.yaml"
    path.write_text(yaml.safe_dump(strategy))
    return path


@pytest.fixture(scope="session")
def strategy_file(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("strategies"), tiny("tiny_rsi"))


@pytest.fixture(scope="session")
def held_out_run(tmp_path_factory, strategy_file):
    out = tmp_path_factory.mktemp("research")
    return vbt.research.run(strategy_file, data_dir=DATA, out_dir=out, simulations=200)


def walk_forward_research(tmp_path_factory):
    """A 3-fold walk-forward research run of the tiny regression strategy (100 simulations)."""
    folder = tmp_path_factory.mktemp("research_wf")
    path = write(folder, regression("tiny_regression"))
    return vbt.research.run(path, data_dir=DATA, out_dir=folder / "out", walk_forward=3,
                            simulations=100)  # fmt: skip


@pytest.fixture(scope="session")
def walk_forward_run(tmp_path_factory):
    return walk_forward_research(tmp_path_factory)
