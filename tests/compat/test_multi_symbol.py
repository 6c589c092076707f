"""Multi-symbol training (``training_data.symbols.mode: multi_symbol``): samples from each symbol,
each labelled from its own prices, split at common times (not the older system's stacking, F14)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from context_files import write_context_files

import vbt
from vbt.model.dataset import (
    bar_split_bounds,
    prepare_symbols_training_data,
    prepare_training_data,
    split_labels,
    time_split_bounds,
)
from vbt.model.train_config import TrainParams

SYMBOLS = ("EURUSD", "GBPUSD")


def strategy_dict(labels=None, model=None):
    return {
        "name": "multi_symbol_rsi",
        "training_data": {
            "symbols": {"mode": "multi_symbol", "list": list(SYMBOLS)},
            "timeframes": {"mode": "single", "timeframe": "1h"},
        },
        "indicators": {"rsi_14": {"type": "rsi", "period": 14}, "adx_14": {"type": "adx"}},
        "fuzzy_sets": {
            "rsi_14": {"indicator": "rsi_14", "low": [0, 30, 50], "high": [50, 70, 100]},
        },
        "nn_inputs": [
            {"fuzzy_set": "rsi_14", "timeframes": "all"},
            {"raw_indicator": "adx_14.plus_di", "timeframes": "all"},
        ],
        "model": model or {"type": "mlp", "architecture": {"hidden_layers": [8], "dropout": 0.0}},
        "decisions": {"output_format": "classification", "confidence_threshold": 0.4},
        "training": {
            "labels": labels or {"source": "zigzag", "zigzag_threshold": 0.004},
            "epochs": 1,
            "batch_size": 256,
        },
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_context_files(tmp_path_factory.mktemp("multi"))


@pytest.fixture(scope="module")
def bars(data_dir):
    return {s: vbt.load_data(data_dir, s, ["1h"]) for s in SYMBOLS}


@pytest.mark.parametrize(
    "labels", [None, {"source": "forward_return", "horizon": 5}], ids=["zigzag", "forward"]
)
def test_every_label_comes_from_its_own_symbol(bars, labels):
    strategy = vbt.load_strategy(strategy_dict(labels=labels))
    params = TrainParams.from_strategy(strategy)
    data = prepare_symbols_training_data(strategy, bars, params=params)
    assert data.symbols == SYMBOLS
    assert data.X.shape[0] == data.y.shape[0] == data.bar_index.shape[0] == len(data.symbol_index)
    for k, sym in enumerate(SYMBOLS):
        rows = data.symbol_index == k
        assert rows.sum() > 1000
        close = bars[sym]["1h"]["close"].to_numpy()
        own, defined = split_labels(close, data.split_bars_by_symbol[sym], params)
        idx = data.bar_index[rows]
        assert defined[idx].all()
        np.testing.assert_array_equal(data.y[rows], own[idx].astype(data.y.dtype))
        frame = vbt.build_features(strategy, bars[sym])
        np.testing.assert_array_equal(data.X[rows], frame.values[idx])
    # the two symbols' labels really differ (a label taken from the other symbol would show)
    y_eur, _ = split_labels(
        bars["EURUSD"]["1h"]["close"].to_numpy(), data.split_bars_by_symbol["EURUSD"], params
    )
    y_gbp, _ = split_labels(
        bars["GBPUSD"]["1h"]["close"].to_numpy(), data.split_bars_by_symbol["GBPUSD"], params
    )
    n = min(len(y_eur), len(y_gbp))
    assert (y_eur[:n] != y_gbp[:n]).mean() > 0.3


def test_other_symbols_prices_never_reach_a_symbols_samples(bars):
    strategy = vbt.load_strategy(strategy_dict())
    data = prepare_symbols_training_data(strategy, bars)
    shaken = dict(bars)
    g = bars["GBPUSD"]["1h"]
    shaken["GBPUSD"] = {
        "1h": g.with_columns(
            *(pl.col(c) * np.exp(np.sin(np.arange(g.height) / 7.0) * 0.01)
              for c in ("open", "high", "low", "close"))
        )
    }  # fmt: skip
    other = prepare_symbols_training_data(strategy, shaken)
    eur = data.symbol_index == 0
    assert other.splits == data.splits  # same candidates, same split times
    np.testing.assert_array_equal(other.y[eur], data.y[eur])
    np.testing.assert_array_equal(other.X[eur], data.X[eur])
    np.testing.assert_array_equal(other.bar_index[eur], data.bar_index[eur])
    assert not np.array_equal(other.y[~eur], data.y[~eur])


def test_split_times_are_common_to_all_symbols(bars):
    strategy = vbt.load_strategy(strategy_dict())
    # GBPUSD starts later: the split times still hold for both
    late = {**bars, "GBPUSD": {"1h": bars["GBPUSD"]["1h"].slice(700)}}
    data = prepare_symbols_training_data(strategy, late)
    times = {}
    for k, sym in enumerate(SYMBOLS):
        ts = late[sym]["1h"]["timestamp"].dt.epoch("ns").to_numpy()
        times[sym] = ts
        rows = np.flatnonzero(data.symbol_index == k)
        for name, (a, b) in data.splits.items():
            mine = rows[(rows >= a) & (rows < b)]
            assert len(mine) > 0, (sym, name)
    t = np.empty(len(data.y), np.int64)
    for k, sym in enumerate(SYMBOLS):
        rows = data.symbol_index == k
        t[rows] = times[sym][data.bar_index[rows]]
    (tr_a, tr_b), (va_a, va_b), (te_a, te_b) = (
        data.splits[n] for n in ("train", "validation", "test")
    )
    assert t[tr_a:tr_b].max() < t[va_a:va_b].min() and t[va_a:va_b].max() < t[te_a:te_b].min()
    # the pooled candidate count is split 70/15/15
    total = len(data.y)
    assert abs((tr_b - tr_a) / total - 0.7) < 0.02 and abs((te_b - te_a) / total - 0.15) < 0.02


def test_one_symbol_split_is_the_single_symbol_split(bars):
    ts = bars["EURUSD"]["1h"]["timestamp"].dt.epoch("ns").to_numpy()
    cand = np.flatnonzero(np.arange(len(ts)) % 3 != 0)[40:]
    for fr in ((0.7, 0.15, 0.15), (0.5, 0.3, 0.2), (1.0, 0.0, 0.0)):
        assert time_split_bounds({"X": ts}, {"X": cand}, fr)["X"] == bar_split_bounds(
            cand, len(ts), fr
        )
    strategy = vbt.load_strategy(strategy_dict())
    one = prepare_symbols_training_data(strategy, {"EURUSD": bars["EURUSD"]})
    single = prepare_training_data(strategy, bars["EURUSD"])
    np.testing.assert_array_equal(one.X, single.X)
    np.testing.assert_array_equal(one.y, single.y)
    assert one.splits == single.splits and one.split_bars_by_symbol["EURUSD"] == single.split_bars


def test_train_on_every_symbol_and_backtest_each(data_dir, tmp_path):
    model_dir = vbt.train(strategy_dict(), data_dir=data_dir, symbol=None, out_dir=tmp_path,
                          progress=False)  # fmt: skip
    meta = json.loads((model_dir / "metadata_v3.json").read_text())
    assert meta["training_symbols"] == list(SYMBOLS)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["symbol"] == "MULTI" and metrics["symbols"] == list(SYMBOLS)
    assert set(metrics["samples_by_symbol"]) == set(SYMBOLS)
    assert all(v > 1000 for v in metrics["samples_by_symbol"].values())
    assert set(metrics["split_bars"]) == set(SYMBOLS)
    bundle = vbt.ModelBundle.load(model_dir)
    assert vbt.load_strategy(bundle.strategy_config).symbols == SYMBOLS
    for sym in SYMBOLS:
        cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data_dir), symbol=sym)
        result = vbt.BacktestEngine(cfg).run()
        assert result.info.symbol == sym and result.metrics["bars"] > 3000
    # a symbol given trains on that symbol alone
    one = vbt.train(strategy_dict(), data_dir=data_dir, symbol="GBPUSD", out_dir=tmp_path / "one",
                    progress=False)  # fmt: skip
    assert json.loads((one / "metadata_v3.json").read_text())["training_symbols"] == ["GBPUSD"]
