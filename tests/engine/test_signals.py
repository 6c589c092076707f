"""Batched inference agrees with per-row model calls and with the per-bar DecisionFunction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vbt
from vbt.enums import BUY, FLAT, HOLD, SELL
from vbt.model.networks import build_model
from vbt.signals import model_outputs, signals_from_outputs


def features(n=300, f=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)).astype(np.float32)
    x[:7] = np.nan  # warm-up
    x[150, 2] = np.nan  # a gap in the middle
    return np.ascontiguousarray(x), ~np.isnan(x).any(axis=1)


def test_mlp_batched_equals_row_by_row():
    torch.manual_seed(1)
    model = build_model(
        {"type": "mlp", "architecture": {"hidden_layers": [8, 4]}}, 5, "classification"
    ).eval()
    x, valid = features()
    out = model_outputs(model, x, valid, chunk_rows=64)  # several chunks
    assert out.shape == (300, 3) and out.dtype == np.float32
    assert np.isnan(out[~valid]).all() and not np.isnan(out[valid]).any()
    with torch.inference_mode():
        for i in (7, 63, 64, 149, 151, 299):
            # batched and single-row BLAS paths may differ in the last float32 bit
            expect = model(torch.from_numpy(x[i : i + 1]))[0].numpy()
            np.testing.assert_allclose(out[i], expect, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_sequence_models_use_sliding_windows(kind):
    torch.manual_seed(2)
    arch = {"hidden_size": 6, "num_layers": 1, "sequence_length": 10}
    model = build_model({"type": kind, "architecture": arch}, 5, "classification").eval()
    x, valid = features()
    out = model_outputs(model, x, valid, sequence_length=10, chunk_rows=50)
    runnable = np.array([i >= 9 and valid[i - 9 : i + 1].all() for i in range(300)])
    assert np.array_equal(~np.isnan(out).any(axis=1), runnable)
    assert not runnable[150:160].any() and runnable[160] and runnable[16]
    with torch.inference_mode():
        for i in (16, 100, 160, 299):
            expect = model(torch.from_numpy(x[i - 9 : i + 1][None]))[0].numpy()
            np.testing.assert_allclose(out[i], expect, rtol=1e-6, atol=1e-7)


def test_signal_rules_classification_regression_and_non_signal():
    logits = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3], [np.nan, 0, 0]], dtype=np.float32)
    s = signals_from_outputs(logits, "classification", 0.0045)
    assert s.raw.tolist() == [BUY, HOLD, SELL, HOLD]
    p = np.exp(3) / (np.exp(3) + 2)
    np.testing.assert_allclose(s.confidence[:3], p, rtol=1e-6)
    assert s.confidence[3] == 0
    r = np.array([[0.02], [-0.005], [0.001], [np.inf]], dtype=np.float32)
    s = signals_from_outputs(r, "regression", 0.0045)
    assert s.raw.tolist() == [BUY, SELL, HOLD, HOLD]
    np.testing.assert_allclose(s.confidence[:3], [1.0, 0.005 / 0.0135, 0.001 / 0.0135], rtol=1e-6)
    for kind in ("regime_classification", "context_classification"):
        s = signals_from_outputs(logits, kind, 0.0045)
        assert (s.raw == HOLD).all()


def test_decision_function_agrees_with_batched_signals():
    torch.manual_seed(3)
    model = build_model(
        {"type": "mlp", "architecture": {"hidden_layers": [8]}}, 5, "classification"
    ).eval()
    x, valid = features()
    names = [f"f{j}" for j in range(5)]
    batched = signals_from_outputs(model_outputs(model, x, valid), "classification", 0.0045)
    decide = vbt.DecisionFunction(model, names, {"confidence_threshold": 0.0}, "classification")
    t = np.datetime64("2024-01-01T00:00", "ns")
    for i in range(0, 300, 7):
        d = decide(dict(zip(names, x[i].tolist(), strict=True)), FLAT, t)
        expect = batched.raw[i] if batched.raw[i] != SELL else HOLD  # FLAT + SELL is blocked
        assert d.signal == expect, i
        if valid[i]:
            assert d.confidence == pytest.approx(float(batched.confidence[i]), rel=1e-6)


def test_inference_restores_torch_thread_count():
    model = build_model(
        {"type": "mlp", "architecture": {"hidden_layers": [4]}}, 5, "classification"
    ).eval()
    x, valid = features()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model_outputs(model, x, valid, threads=2)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_decision_function_from_bundle_matches_the_backtest_signals(tmp_path):
    """A trained sequence model: the per-bar function fed its (L, F) windows agrees with batched
    inference bar for bar."""
    from vbt.features import build_features
    from vbt.model.artifacts import write_model_dir
    from vbt.strategy import resolve_features

    raw = {
        "name": "seq",
        "training_data": {"symbols": "EURUSD", "timeframes": "1h"},
        "indicators": {"rsi": {"type": "rsi"}},
        "fuzzy_sets": {"r": {"indicator": "rsi", "lo": [0, 30, 50], "hi": [50, 70, 100]}},
        "nn_inputs": [{"fuzzy_set": "r", "timeframes": "all"}],
        "model": {
            "type": "lstm",
            "architecture": {"hidden_size": 4, "num_layers": 1, "sequence_length": 6},
        },
        "decisions": {"output_format": "classification", "confidence_threshold": 0.0},
    }
    strategy = vbt.load_strategy(raw)
    torch.manual_seed(4)
    names = resolve_features(strategy)
    model = build_model(raw["model"], len(names), "classification")
    model_dir = write_model_dir(
        tmp_path, model, strategy_name="seq", raw_config=raw, resolved_features=names,
        training_symbols=["EURUSD"], training_timeframes=["1h"], output_type="classification",
        model_type="lstm", metrics={}, sequence_length=6,
    )  # fmt: skip
    bundle = vbt.ModelBundle.load(model_dir)
    bars = vbt.load_data("data_fixtures", "EURUSD", ["1h"])
    frame = build_features(strategy, bars, feature_names=bundle.feature_names)
    sig = signals_from_outputs(
        model_outputs(bundle.model, frame.values, frame.valid, bundle.sequence_length),
        "classification", 0.0045,
    )  # fmt: skip
    decide = vbt.DecisionFunction.from_bundle(bundle)
    t = np.datetime64("2024-01-01T00:00", "ns")
    checked = 0
    for i in range(20, 400, 13):
        d = decide(frame.values[i - 5 : i + 1], FLAT, t)
        expect = sig.raw[i] if sig.raw[i] != SELL else HOLD
        assert d.signal == expect, i
        checked += 1
    assert checked > 20


def test_signals_computed_per_chunk_equal_the_rule_over_all_outputs():
    from types import SimpleNamespace

    from vbt.signals import infer_signals

    torch.manual_seed(3)
    model = build_model(
        {"type": "mlp", "architecture": {"hidden_layers": [8]}}, 5, "classification"
    ).eval()
    x, valid = features(n=1000)
    bundle = SimpleNamespace(model=model, sequence_length=None, output_type="classification")
    frame = SimpleNamespace(values=x, valid=valid, n_bars=1000)
    fused = infer_signals(bundle, frame, 0.0045, chunk_rows=128)  # several chunks
    whole = signals_from_outputs(fused.outputs, "classification", 0.0045)
    assert fused.raw.tobytes() == whole.raw.tobytes()
    assert fused.confidence.tobytes() == whole.confidence.tobytes()
    assert (fused.raw[~valid] == HOLD).all() and (fused.confidence[~valid] == 0).all()
    assert set(np.unique(fused.raw[valid])) > {HOLD}  # the model does signal
