"""Absurd sizes are refused up front: a ConfigError naming the field, never a MemoryError, an
allocator message or an overflow; buffers are sized from the data."""

from __future__ import annotations

import json
import re
import tracemalloc

import numpy as np
import pytest
from bad_input import DATA, raises, strategy_dict

import vbt
from vbt.model import networks, trainer
from vbt.model.networks import build_model
from vbt.sim.runner import ScanInputs, ScanParams, run_scan

MLP = {"type": "mlp", "architecture": {"hidden_layers": [8]}}


@pytest.mark.parametrize(
    "model, field",
    [
        ({"type": "mlp", "architecture": {"hidden_layers": [10**12]}},
         "model.architecture.hidden_layers[0] = 1000000000000: more than 65,536 units"),
        ({"type": "mlp", "architecture": {"hidden_layers": [8, 60_000, 60_000]}},
         "model.architecture.hidden_layers[2] = 60000: the network would hold 3,600,"),
        ({"type": "mlp", "architecture": {"hidden_layers": [8]}, "num_classes": 10**9},
         "model.num_classes = 1000000000: more than 65,536 units"),
        ({"type": "lstm", "architecture": {"hidden_size": 60_000, "sequence_length": 5}},
         "model.architecture.hidden_size = 60000: the network would hold"),
        ({"type": "gru", "architecture": {"hidden_size": 512, "num_layers": 10**6,
                                          "sequence_length": 5}},
         "model.architecture.num_layers = 1000000: the network would hold"),
        ({"type": "lstm", "architecture": {"sequence_length": 10**9}},
         "model.architecture.sequence_length = 1000000000: more than 10,000 bars per window"),
    ],
)  # fmt: skip
def test_network_sizes_name_the_field(model, field):
    with raises(vbt.ConfigError, field):
        build_model(model, 3, "classification")


@pytest.mark.parametrize("model_type", ["mlp", "lstm", "gru"])
def test_parameter_count_is_the_networks(model_type, monkeypatch):
    arch = {"hidden_layers": [7, 5]} if model_type == "mlp" else {
        "hidden_size": 6, "num_layers": 3, "sequence_length": 4}  # fmt: skip
    cfg = {"type": model_type, "architecture": arch}
    real = sum(p.numel() for p in build_model(cfg, 9, "classification").parameters())
    monkeypatch.setattr(networks, "MAX_PARAMETERS", 10)
    with pytest.raises(vbt.ConfigError) as exc:
        build_model(cfg, 9, "classification")
    assert re.search(r"would hold ([\d,]+) parameters", str(exc.value))[1] == f"{real:,}"


def test_train_refuses_a_huge_hidden_layer_before_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "fit_strategy", lambda *a, **k: pytest.fail("data loaded"))
    s = strategy_dict(**{"model.architecture.hidden_layers": [32, 10**10]})
    with raises(vbt.ConfigError, "model.architecture.hidden_layers[1] = 10000000000"):
        vbt.train(s, data_dir=DATA, symbol=None, out_dir=tmp_path, progress=False)


def test_model_dir_with_a_huge_layer_names_config_json(model_copy):
    cfg_path = model_copy / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["architecture"]["hidden_layers"] = [2**40]
    cfg_path.write_text(json.dumps(cfg))
    with raises(vbt.ModelError, cfg_path, "model.architecture.hidden_layers[0] = 1099511627776"):
        vbt.ModelBundle.load(model_copy)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"seed": 2**64}, "seed = 18446744073709551616: must be an integer in [0, 2**64 - 1]"),
        ({"seed": -1}, "seed = -1: must be an integer"),
        ({"epochs": 10**12}, "epochs = 1000000000000: more than 100,000"),
    ],
)
def test_train_arguments_out_of_range(kwargs, field, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "fit_strategy", lambda *a, **k: pytest.fail("data loaded"))
    with raises(vbt.ConfigError, field):
        vbt.train(strategy_dict(), data_dir=DATA, symbol=None, out_dir=tmp_path, progress=False,
                  **kwargs)  # fmt: skip


def test_training_settings_out_of_range(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "fit_strategy", lambda *a, **k: pytest.fail("data loaded"))
    for key, value, field in [
        ("training.num_threads", 10**9, "training.num_threads = 1000000000: more than 1,024"),
        ("training.epochs", 10**9, "training.epochs = 1000000000: more than 100,000"),
    ]:
        with raises(vbt.ConfigError, field):
            vbt.train(strategy_dict(**{key: value}), data_dir=DATA, symbol=None, out_dir=tmp_path,
                      progress=False)  # fmt: skip


def test_batch_of_activations_too_large_names_batch_size():
    n = 30_000  # 21,000 training rows x 65,536 units > 2**30 activations
    rng = np.random.default_rng(0)
    data = trainer.TrainingData(
        X=rng.random((n, 3), dtype=np.float32), y=rng.integers(0, 3, n), bar_index=np.arange(n),
        feature_names=("a", "b", "c"), output_type="classification", label_source="zigzag",
        sequence_length=None, n_bars=n,
    )  # fmt: skip
    s = strategy_dict(**{"model.architecture.hidden_layers": [65_536], "training.batch_size": n})
    with raises(vbt.ConfigError, "training.batch_size = 30000: a batch of 21,000 rows"):
        trainer.fit(s, data, epochs=1, progress=False)


@pytest.mark.parametrize("value", [0, 10**12, 2**26 + 1])
def test_chunk_bars_out_of_range(value):
    with raises(vbt.ConfigError, f"chunk_bars = {value}"):
        vbt.BacktestConfig(model_path="m", chunk_bars=value)


def test_scan_buffers_are_sized_from_the_data_not_chunk_bars():
    n = 200
    ts = np.arange(n, dtype=np.int64) * 3_600_000_000_000
    price = np.full(n, 1.1)
    raw = np.tile(np.array([1, 0, -1, 0], dtype=np.int8), n // 4)
    inputs = ScanInputs(ts, price, price, raw, np.full(n, 0.9, np.float32))
    params = ScanParams().with_values(warmup_bars=0, min_signal_separation=0.0)
    small = run_scan(inputs, params, chunk_bars=7)  # compiled and loaded before tracing
    tracemalloc.start()
    try:
        big = run_scan(inputs, params, chunk_bars=1 << 26)  # the largest chunk_bars allowed
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"{peak:,} bytes traced for {n} bars"
    assert big.trades.tobytes() == small.trades.tobytes() and len(big.trades) > 10
