"""Batch fixtures: a data folder with two symbols and three tiny models trained once per session.

Models A and B read the same features (RSI(14) fuzzy sets on 1h) with different networks, so a
batch shares their features; model C reads other features (RSI(7)). Two training epochs each:
the tests are about sharing and bookkeeping, not about skill.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import vbt
from vbt.data.synth import synth_bars

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "data_fixtures"


def tiny_strategy(name: str, hidden: list[int], rsi_period: int = 14) -> dict:
    """A small single-timeframe strategy that trades (confidence threshold 0)."""
    fuzzy = {"indicator": "rsi", "low": [0, 25, 45], "mid": [30, 50, 70], "high": [55, 75, 100]}
    return {
        "name": name,
        "version": "3.0",
        "training_data": {"symbols": {"mode": "single", "symbol": "EURUSD"},
                          "timeframes": {"mode": "single", "timeframe": "1h"}},
        "indicators": {"rsi": {"type": "rsi", "period": rsi_period}},
        "fuzzy_sets": {"rsi_fz": fuzzy},
        "nn_inputs": [{"fuzzy_set": "rsi_fz", "timeframes": "all"}],
        "model": {"type": "mlp", "architecture": {"hidden_layers": hidden, "dropout": 0.0}},
        "decisions": {"output_format": "classification", "confidence_threshold": 0.0,
                      "filters": {"min_signal_separation": 2}},
        "training": {"labels": {"source": "zigzag", "zigzag_threshold": 0.004}, "epochs": 2,
                     "batch_size": 64},
    }  # fmt: skip


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """EURUSD 1h (the bundled fixture) and a synthetic GBPUSD 1h."""
    d = tmp_path_factory.mktemp("batch_data")
    shutil.copy(FIXTURES / "EURUSD_1h.parquet", d / "EURUSD_1h.parquet")
    synth_bars(2000, seed=5, timeframe="1h", price=1.27).write_parquet(d / "GBPUSD_1h.parquet")
    return d


@pytest.fixture(scope="session")
def strategies(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("batch_strategies")
    out = {}
    for key, hidden, period in (("a", [8], 14), ("b", [16], 14), ("c", [8], 7)):
        path = d / f"tiny_{key}.yaml"
        path.write_text(yaml.safe_dump(tiny_strategy(f"tiny_{key}", hidden, period)))
        out[key] = path
    return out


@pytest.fixture(scope="session")
def models(tmp_path_factory, data_dir, strategies) -> dict[str, Path]:
    """Models A, B (same features as A) and C (other features), trained on EURUSD."""
    out_dir = tmp_path_factory.mktemp("batch_models")
    return {
        key: Path(vbt.train(path, data_dir=data_dir, symbol="EURUSD", out_dir=out_dir,
                            progress=False))
        for key, path in strategies.items()
    }  # fmt: skip
