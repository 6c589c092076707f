"""Trainer: training data (valid rows only, windows), fitting, determinism, and end-to-end runs.

Tests named ``test_e2e_*`` (marked ``slow``) train the bundled example strategies on the fixtures
with their own settings and load the result back.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import strategy_dict

import vbt
from vbt.errors import ConfigError, DataError, ModelError
from vbt.model import ModelBundle
from vbt.model.labels import forward_return_labels, zigzag_segment_labels
from vbt.model.trainer import (
    class_weights,
    fit,
    fit_strategy,
    prepare_training_data,
    save_fit,
    split_bounds,
    train,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data_fixtures"
STRATEGIES = sorted((DATA / "strategies").glob("*.yaml"))
SHORT = {"start_date": "2024-01-01", "end_date": "2024-02-29"}


@pytest.fixture(scope="module")
def bars_1h():
    return vbt.load_data(DATA, "EURUSD", ["1h"], **SHORT)


def _torch_out(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x))


# --------------------------------------------------------------------------- training data


def test_training_rows_are_valid_bars_with_their_labels(bars_1h):
    strategy = vbt.load_strategy(strategy_dict())
    frame = vbt.build_features(strategy, bars_1h)
    data = prepare_training_data(strategy, bars_1h)
    assert data.feature_names == tuple(frame.names)
    assert data.output_type == "classification" and data.sequence_length is None
    assert frame.valid[data.bar_index].all()
    assert len(data.bar_index) == int(frame.valid.sum())  # every valid bar, nothing zero-filled
    assert data.bar_index[0] == np.flatnonzero(frame.valid)[0] > 0  # warm-up bars dropped
    np.testing.assert_array_equal(data.X, frame.values[data.bar_index])
    close = bars_1h["1h"]["close"].to_numpy()
    for name, (a, b) in data.split_bars.items():  # labels from each split's own closes
        rows = slice(*data.splits[name])
        labels = zigzag_segment_labels(close[a:b], 0.005)
        np.testing.assert_array_equal(data.y[rows], labels[data.bar_index[rows] - a])
    assert data.X.dtype == np.float32 and data.y.dtype == np.int64
    assert not np.isnan(data.X).any()


def test_regression_rows_drop_undefined_labels(bars_1h):
    raw = strategy_dict(labels={"source": "forward_return", "horizon": 7})
    data = prepare_training_data(raw, bars_1h)
    n = len(bars_1h["1h"])
    assert data.output_type == "regression"
    assert data.bar_index.max() == n - 8  # the last 7 bars have no label
    for name, (_, b) in data.split_bars.items():  # nor the last 7 of the other splits
        rows = slice(*data.splits[name])
        assert data.bar_index[rows].max() == b - 8
    close = bars_1h["1h"]["close"].to_numpy()
    a, b = data.split_bars["test"]
    rows = slice(*data.splits["test"])
    np.testing.assert_array_equal(
        data.y[rows],
        forward_return_labels(close[a:b], 7)[data.bar_index[rows] - a].astype(np.float32),
    )
    assert data.y.dtype == np.float32


def test_sequence_windows_end_at_the_labelled_bar_and_skip_invalid(bars_1h):
    model = {"type": "lstm", "architecture": {"sequence_length": 5, "hidden_size": 4}}
    strategy = vbt.load_strategy(strategy_dict(model=model))
    frame = vbt.build_features(strategy, bars_1h)
    # Knock out bar 100: no window containing it may survive.
    values = frame.values.copy()
    values[100, 0] = np.nan
    valid = frame.valid.copy()
    valid[100] = False
    frame = dataclasses.replace(frame, values=values, valid=valid)
    data = prepare_training_data(strategy, bars_1h, frame=frame)
    assert data.X.shape[1:] == (5, frame.n_features)
    for i, t in enumerate(data.bar_index):
        np.testing.assert_array_equal(data.X[i], frame.values[t - 4 : t + 1])
    assert not np.isin(np.arange(100, 105), data.bar_index).any()
    expected = [t for t in range(4, frame.n_bars) if valid[t - 4 : t + 1].all()]
    assert data.bar_index.tolist() == expected


def _perturbed_after(bars, start: int, level: float = 0.9, seed: int = 5):
    """Bars whose prices from bar ``start`` on jump by ``level`` and then follow a random walk
    (OHLC scaled together, so the bars stay coherent)."""
    import polars as pl

    df = bars["1h"]
    rng = np.random.default_rng(seed)
    factor = np.ones(len(df))
    factor[start:] = np.exp(np.cumsum(rng.normal(0.0, 0.01, len(df) - start))) * level
    scaled = df.with_columns(
        [(pl.col(c) * pl.Series(factor)).alias(c) for c in ("open", "high", "low", "close")]
    )
    return {"1h": scaled}


def _first_bar_of(name: str, frame, fractions=(0.7, 0.15, 0.15)) -> int:
    """Independent bar-space boundary: the split fractions applied to the valid-feature rows."""
    cand = np.flatnonzero(frame.valid)
    bounds = split_bounds(len(cand), fractions)
    return int(cand[bounds[name][0]])


def test_forward_return_labels_never_cross_the_split_boundary(bars_1h):
    h = 7
    raw = strategy_dict(labels={"source": "forward_return", "horizon": h})
    strategy = vbt.load_strategy(raw)
    frame = vbt.build_features(strategy, bars_1h)
    data = prepare_training_data(strategy, bars_1h)
    close = bars_1h["1h"]["close"].to_numpy()
    val_start, test_start = _first_bar_of("validation", frame), _first_bar_of("test", frame)
    assert data.split_bars == {
        "train": (0, val_start),
        "validation": (val_start, test_start),
        "test": (test_start, len(close)),
    }
    for name, (a, b) in data.splits.items():
        bars_a, bars_b = data.split_bars[name]
        idx = data.bar_index[a:b]
        assert len(idx) > 0
        assert (idx >= bars_a).all() and (idx + h < bars_b).all()  # the horizon ends inside
        # each split's labels come from its own closes only
        own = forward_return_labels(close[bars_a:bars_b], h)[idx - bars_a].astype(np.float32)
        np.testing.assert_array_equal(data.y[a:b], own)
        # every valid bar whose horizon fits in the split is kept
        expected = [t for t in range(bars_a, bars_b - h) if frame.valid[t]]
        assert idx.tolist() == expected
    assert data.splits["train"] == (0, len([t for t in range(val_start - h) if frame.valid[t]]))

    # Changing prices after the train split changes no train sample or label.
    for start, name in ((val_start, "train"), (test_start, "validation")):
        other = prepare_training_data(strategy, _perturbed_after(bars_1h, start))
        assert other.split_bars == data.split_bars and other.splits == data.splits
        a, b = data.splits[name]
        a0 = 0 if name == "train" else a
        np.testing.assert_array_equal(other.bar_index[a0:b], data.bar_index[a0:b])
        np.testing.assert_array_equal(other.X[a0:b], data.X[a0:b])
        np.testing.assert_array_equal(other.y[a0:b], data.y[a0:b])
        assert not np.array_equal(other.y[b:], data.y[b:])  # the perturbation did bite


def test_zigzag_labels_use_only_their_own_splits_prices(bars_1h):
    raw = strategy_dict()  # zigzag 0.005
    strategy = vbt.load_strategy(raw)
    frame = vbt.build_features(strategy, bars_1h)
    data = prepare_training_data(strategy, bars_1h)
    close = bars_1h["1h"]["close"].to_numpy()
    val_start = _first_bar_of("validation", frame)
    assert data.split_bars["train"] == (0, val_start)
    for name, (a, b) in data.splits.items():
        bars_a, bars_b = data.split_bars[name]
        idx = data.bar_index[a:b]
        assert (idx >= bars_a).all() and (idx < bars_b).all()
        np.testing.assert_array_equal(
            data.y[a:b], zigzag_segment_labels(close[bars_a:bars_b], 0.005)[idx - bars_a]
        )
    # A jump right after the train split: zigzag labels of the whole series would change before
    # the boundary (the last train segment ends at a later extreme); the per-split labels do not.
    perturbed = _perturbed_after(bars_1h, val_start, level=1.05)
    whole = zigzag_segment_labels(perturbed["1h"]["close"], 0.005)
    assert not np.array_equal(whole[:val_start], zigzag_segment_labels(close, 0.005)[:val_start])
    other = prepare_training_data(strategy, perturbed)
    a, b = data.splits["train"]
    np.testing.assert_array_equal(other.bar_index[a:b], data.bar_index[a:b])
    np.testing.assert_array_equal(other.X[a:b], data.X[a:b])
    np.testing.assert_array_equal(other.y[a:b], data.y[a:b])


def test_fit_uses_the_per_split_samples(bars_1h):
    raw = strategy_dict(labels={"source": "forward_return", "horizon": 5})
    data = prepare_training_data(raw, bars_1h)
    result = fit(raw, data, epochs=1, progress=False)
    assert result.splits == data.splits
    m = result.metrics
    assert m["label_scope"] == "per_split"
    assert m["samples"] == {k: b - a for k, (a, b) in data.splits.items()}
    assert m["split_bars"] == {k: list(v) for k, v in data.split_bars.items()}
    other = strategy_dict(
        labels={"source": "forward_return", "horizon": 5},
        training={"data_split": {"train": 0.6, "validation": 0.2, "test": 0.2}},
    )
    with pytest.raises(ConfigError, match="data_split"):
        fit(other, data, epochs=1, progress=False)


def test_unsupported_label_source(bars_1h):
    with pytest.raises(ConfigError, match="training.labels.source: 'hmm'"):
        prepare_training_data(strategy_dict(labels={"source": "hmm"}), bars_1h)


def test_class_weights_and_split():
    w = class_weights(np.array([0] * 10 + [1] * 30), 3)
    np.testing.assert_allclose(w, [2.25, 0.75, 0.0])
    assert w.sum() == pytest.approx(3.0)
    np.testing.assert_allclose(class_weights(np.array([0, 1, 2]), 3), [1.0, 1.0, 1.0])
    assert split_bounds(100, (0.7, 0.15, 0.15)) == {
        "train": (0, 70),
        "validation": (70, 85),
        "test": (85, 100),
    }


# --------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("model_type", ["mlp", "lstm"])
def test_train_then_load_predicts_like_the_in_memory_model(tmp_path, model_type):
    model = (
        {"type": "mlp", "architecture": {"hidden_layers": [8, 4]}}
        if model_type == "mlp"
        else {"type": "lstm", "architecture": {"sequence_length": 6, "hidden_size": 8}}
    )
    raw = strategy_dict(model=model)
    result = fit_strategy(raw, DATA, "EURUSD", epochs=2, progress=False, **SHORT)
    path = save_fit(result, raw, tmp_path)
    bundle = ModelBundle.load(path)
    # The loaded model scoring every bar (the backtest's inference, windows built from the feature
    # matrix) gives, at the trained bars, what the in-memory model gives on the training samples:
    # training and inference feed the same inputs.
    bars = vbt.load_data(DATA, "EURUSD", ["1h"], **SHORT)
    frame = vbt.build_features(vbt.load_strategy(raw), bars)
    out = bundle.predict(frame.values, frame.valid)
    expected = _torch_out(result.model, result.data.X).numpy()
    np.testing.assert_allclose(out[result.data.bar_index], expected, rtol=1e-6, atol=1e-7)
    windowed = np.flatnonzero(np.isfinite(out).all(axis=1))
    assert set(result.data.bar_index) <= set(windowed)
    assert bundle.feature_names == result.data.feature_names
    assert bundle.sequence_length == (6 if model_type == "lstm" else None)
    metrics = json.loads((path / "metrics.json").read_text())
    for key in (
        "epochs_trained",
        "final_train_loss",
        "final_train_accuracy",
        "best_train_accuracy",
        "training_time",
        "history",
        "final_val_loss",
        "final_val_accuracy",
        "best_val_accuracy",
        "test_accuracy",
        "test_loss",
    ):
        assert key in metrics
    assert metrics["epochs_trained"] == 2
    assert set(metrics["history"]) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}


def test_train_returns_the_model_dir_and_is_deterministic(tmp_path):
    raw = strategy_dict()
    kwargs = {"epochs": 3, "progress": False, **SHORT}
    a = train(raw, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path / "a", seed=7, **kwargs)
    b = train(raw, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path / "b", seed=7, **kwargs)
    c = train(raw, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path / "c", seed=8, **kwargs)
    assert a == tmp_path / "a" / "unit_strategy" / "1h_v1"
    sa, sb, sc = (torch.load(p / "model.pt", weights_only=True) for p in (a, b, c))
    assert list(sa) == list(sb)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_fit_leaves_global_torch_state_alone(bars_1h):
    raw = strategy_dict()
    data = prepare_training_data(raw, bars_1h)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    fit(raw, data, epochs=1, progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == det


def test_seeded_rng_on_cpu_seeds_like_manual_seed_and_restores():
    from vbt.model.trainer import seeded_rng

    torch.manual_seed(99)
    before = torch.get_rng_state()
    with seeded_rng(torch.device("cpu"), 7):
        inside = torch.rand(5)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(7)
    assert torch.equal(inside, torch.rand(5))  # the same CPU stream as before the change


def test_seeded_rng_on_cuda_seeds_and_restores_only_that_device(monkeypatch):
    """No GPU here: a stand-in torch.cuda records what the trainer's RNG handling does."""
    from vbt.model.trainer import seeded_rng

    states = {0: torch.tensor([0], dtype=torch.uint8), 1: torch.tensor([1], dtype=torch.uint8)}
    calls = []
    current = [0]

    class _Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            self.prev, current[0] = current[0], self.index

        def __exit__(self, *exc):
            current[0] = self.prev

    def manual_seed(seed):
        calls.append(("seed", current[0], seed))
        states[current[0]] = torch.tensor([200 + seed], dtype=torch.uint8)

    def set_rng_state(state, index):
        calls.append(("restore", index))
        states[index] = state

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda index: states[index].clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    monkeypatch.setattr(torch.cuda, "manual_seed", manual_seed)
    monkeypatch.setattr(
        torch.cuda, "manual_seed_all", lambda seed: calls.append(("seed_all", seed))
    )
    monkeypatch.setattr(torch.cuda, "device", _Device)
    cpu_before = torch.get_rng_state()
    with seeded_rng(torch.device("cuda:1"), 5):
        assert states[1].item() == 205 and states[0].item() == 0  # only the training device
    assert calls == [("seed", 1, 5), ("restore", 1)]
    assert states[1].item() == 1 and states[0].item() == 0  # restored
    assert torch.equal(torch.get_rng_state(), cpu_before)
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"), seeded_rng(torch.device("cuda"), 3):
        raise RuntimeError("boom")
    assert calls == [("seed", 0, 3), ("restore", 0)] and states[0].item() == 0


def test_early_stopping_restores_the_best_weights(bars_1h):
    raw = strategy_dict(training={"learning_rate": 0.05, "early_stopping": {"patience": 2}})
    data = prepare_training_data(raw, bars_1h)
    result = fit(raw, data, epochs=200, progress=False)
    m = result.metrics
    assert m["early_stopped"] is True and m["epochs_trained"] < 200
    val = m["history"]["val_loss"]
    assert m["best_val_loss"] == min(val)
    assert m["epochs_trained"] == m["best_epoch"] + 2
    # The returned model is the best epoch's: its validation loss is the best one.
    a, b = result.splits["validation"]
    w = torch.from_numpy(np.asarray(m["class_weights"], dtype=np.float32))
    loss = torch.nn.CrossEntropyLoss(weight=w)(
        _torch_out(result.model, data.X[a:b]), torch.from_numpy(data.y[a:b])
    )
    assert float(loss) == pytest.approx(min(val), rel=1e-5)
    assert not result.model.training
    assert all(p.device.type == "cpu" for p in result.model.parameters())


def test_regression_fit(tmp_path):
    raw = strategy_dict(labels={"source": "forward_return", "horizon": 5})
    path = train(
        raw, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path, epochs=2, progress=False, **SHORT
    )
    bundle = ModelBundle.load(path)
    assert bundle.output_type == "regression"
    assert json.loads((path / "config.json").read_text())["model"]["output_format"] == "regression"
    metrics = json.loads((path / "metrics.json").read_text())
    assert "test_loss" in metrics and "test_accuracy" not in metrics


def test_progress_bar(tmp_path, capsys):
    train(
        strategy_dict(),
        data_dir=DATA,
        symbol="EURUSD",
        out_dir=tmp_path,
        epochs=1,
        progress=True,
        **SHORT,
    )
    err = capsys.readouterr().err
    assert "1/1" in err and "epochs" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_device(bars_1h):
    data = prepare_training_data(strategy_dict(), bars_1h)
    with pytest.raises(ModelError, match="'cuda' is not available"):
        fit(strategy_dict(), data, device="cuda", epochs=1, progress=False)
    with pytest.raises(ConfigError, match="device"):
        fit(strategy_dict(), data, device="tpu", epochs=1, progress=False)


def test_training_data_dates_from_the_strategy():
    raw = strategy_dict()
    raw["training_data"].update(SHORT)
    a = fit_strategy(raw, DATA, "EURUSD", epochs=1, progress=False)
    b = fit_strategy(strategy_dict(), DATA, "EURUSD", epochs=1, progress=False, **SHORT)
    np.testing.assert_array_equal(a.data.X, b.data.X)
    assert a.metrics["data_start"].startswith("2024-01-01")
    assert a.metrics["data_end"].startswith("2024-02-29")


def test_too_little_data():
    with pytest.raises(DataError, match="labelled bars with valid features"):
        fit_strategy(
            strategy_dict(),
            DATA,
            "EURUSD",
            epochs=1,
            progress=False,
            start_date="2024-01-01",
            end_date="2024-01-01",
        )


def test_bad_training_values(bars_1h):
    data = prepare_training_data(strategy_dict(), bars_1h)
    for training, key in (
        ({"learning_rate": "fast"}, "training.learning_rate"),
        ({"batch_size": 0}, "training.batch_size"),
        ({"data_split": {"train": 0.9, "validation": 0.2, "test": 0.1}}, "training.data_split"),
    ):
        with pytest.raises(ConfigError, match=key):
            fit(strategy_dict(training=training), data, epochs=1, progress=False)


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("strategy_path", STRATEGIES, ids=[p.stem for p in STRATEGIES])
def test_e2e_train_example_strategy(tmp_path, strategy_path):
    t0 = time.perf_counter()
    path = train(strategy_path, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path, progress=False)
    elapsed = time.perf_counter() - t0
    assert elapsed < 60, f"training {strategy_path.stem} took {elapsed:.1f} s"
    strategy = vbt.load_strategy(strategy_path)
    assert path == tmp_path / strategy.name / f"{strategy.base_timeframe}_v1"

    bundle = ModelBundle.load(path)
    meta = bundle.metadata
    assert meta.training_timeframes[0] == strategy.base_timeframe
    assert set(meta.training_timeframes) == set(strategy.timeframes)
    assert bundle.output_type == strategy.output_type
    assert list(bundle.feature_names) == list(vbt.resolve_features(strategy))

    # The reconstructed strategy recomputes the same features, and the model scores every bar.
    rebuilt = vbt.load_strategy(bundle.strategy_config)
    bars = vbt.load_data(DATA, "EURUSD", list(meta.training_timeframes))
    frame = vbt.build_features(rebuilt, bars, feature_names=bundle.feature_names)
    original = vbt.build_features(strategy, bars, feature_names=bundle.feature_names)
    np.testing.assert_array_equal(frame.values, original.values)
    out = bundle.predict(frame.values, frame.valid)
    assert out.shape == (frame.n_bars, 1 if bundle.output_type == "regression" else 3)
    np.testing.assert_array_equal(np.isfinite(out).all(axis=1), frame.valid)


# --------------------------------------------------------------------------- no decisions block


def test_regression_strategy_without_decisions_trains_and_backtests(tmp_path):
    """A forward-return strategy with no ``decisions`` block: the trained model must backtest."""
    import yaml

    raw = yaml.safe_load((DATA / "strategies" / "regression_forward_return.yaml").read_text())
    del raw["decisions"]
    raw["training"]["epochs"] = 1
    path = train(
        raw, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path, epochs=1, progress=False, **SHORT
    )
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["decisions"]["output_format"] == "regression"  # written for signal models
    bundle = ModelBundle.load(path)
    assert bundle.output_type == "regression"
    assert bundle.strategy_config["decisions"]["output_format"] == "regression"
    result = vbt.BacktestEngine(
        vbt.BacktestConfig(
            model_path=str(path), data_dir=str(DATA), symbol="EURUSD", timeframe="1h", **SHORT
        )
    ).run()
    assert result.metrics is not None
