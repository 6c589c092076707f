"""ModelBundle.load: round trips, the one-torch.load contract, and every error it reports."""

from __future__ import annotations

import builtins
import dataclasses
import io
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import (
    RSI_FEATURES,
    assert_outputs_equal,
    make_model_dir,
    reference_output,
    sample_input,
    sequence_length_of,
    strategy_dict,
)

from vbt.errors import ModelError, VbtError
from vbt.model import ModelBundle, is_v3_model


@pytest.fixture
def mlp_dir(tmp_path):
    return make_model_dir(tmp_path / "models")


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("model_type", ["mlp", "lstm", "gru"])
def test_round_trip_predicts_exactly(tmp_path, model_type):
    path, model = make_model_dir(tmp_path, model_type=model_type)
    bundle = ModelBundle.load(path)
    x = sample_input(model_type, len(RSI_FEATURES))
    out = bundle.predict(x)
    assert out.dtype == np.float32 and out.shape == (len(x), 3)
    assert_outputs_equal(out, reference_output(model, x, sequence_length_of(model_type)))
    assert bundle.model_type == model_type
    assert type(bundle.model) is type(model)
    if model_type == "mlp":
        assert bundle.sequence_length is None
    else:
        assert bundle.sequence_length == sequence_length_of(model_type)


@pytest.mark.parametrize("model_type", ["mlp", "lstm"])
def test_regression_round_trip(tmp_path, model_type):
    path, model = make_model_dir(tmp_path, model_type=model_type, output_type="regression")
    bundle = ModelBundle.load(path)
    assert bundle.output_type == "regression"
    x = sample_input(model_type, len(RSI_FEATURES))
    out = bundle.predict(x)
    assert out.shape == (len(x), 1)
    assert_outputs_equal(out, reference_output(model, x, sequence_length_of(model_type)))
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["model"]["output_format"] == "regression"


def test_bundle_fields(mlp_dir):
    path, _ = mlp_dir
    bundle = ModelBundle.load(path)
    assert bundle.path == path
    assert bundle.feature_names == tuple(RSI_FEATURES)
    assert isinstance(bundle.feature_names, tuple)
    assert bundle.metadata.resolved_features == tuple(RSI_FEATURES)
    assert bundle.output_type == "classification"
    assert bundle.input_size == 3
    sc = bundle.strategy_config
    for key in ("indicators", "fuzzy_sets", "nn_inputs", "model", "decisions", "training"):
        assert key in sc
    assert sc["training_data"]["symbols"] == {"mode": "single", "symbol": "EURUSD"}
    assert sc["training_data"]["timeframes"]["timeframe"] == "1h"
    assert sc["model"]["architecture"]["hidden_layers"] == [8, 4]


def test_model_eval_and_cpu(mlp_dir):
    bundle = ModelBundle.load(mlp_dir[0])
    assert not bundle.model.training
    assert all(not m.training for m in bundle.model.modules())
    assert all(p.device.type == "cpu" for p in bundle.model.parameters())
    assert all(b.device.type == "cpu" for b in bundle.model.buffers())


def test_frozen(mlp_dir):
    bundle = ModelBundle.load(mlp_dir[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.model = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.feature_names = ("x",)


def test_multi_timeframe_strategy_config_base_first(tmp_path):
    feats = ["1h_rsi_14_oversold", "4h_rsi_14_oversold"]
    path, _ = make_model_dir(tmp_path, features=feats, timeframes=("1h", "4h"))
    sc = ModelBundle.load(path).strategy_config
    tf = sc["training_data"]["timeframes"]
    assert tf == {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1h"}


def test_strategy_config_loads_as_strategy(mlp_dir):
    pytest.importorskip("vbt.features.indicators")
    import vbt

    bundle = ModelBundle.load(mlp_dir[0])
    strategy = vbt.load_strategy(bundle.strategy_config)
    assert strategy.base_timeframe == "1h"
    assert list(vbt.resolve_features(strategy)) == list(bundle.feature_names)


# --------------------------------------------------------------------------- one load, no model_full.pt


def test_exactly_one_torch_load_and_model_full_never_opened(mlp_dir, tmp_path, monkeypatch):
    path, model = mlp_dir
    sentinel = tmp_path / "model_full_was_unpickled"

    class Trap:  # unpickling this (weights_only=False) would create the sentinel directory
        def __reduce__(self):
            return (os.mkdir, (str(sentinel),))

    (path / "model_full.pt").write_bytes(pickle.dumps(Trap(), protocol=2))

    calls = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        calls.append((str(f), args, kwargs))
        return real_load(f, *args, **kwargs)

    opened = []

    def guard(real):
        def wrapper(file, *args, **kwargs):
            if "model_full" in str(file):
                opened.append(str(file))
                raise AssertionError(f"model_full.pt must never be opened ({file})")
            return real(file, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(torch, "load", counting_load)
    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    bundle = ModelBundle.load(path)
    monkeypatch.undo()

    assert len(calls) == 1
    f, args, kwargs = calls[0]
    assert Path(f).name == "model.pt"
    assert kwargs.get("map_location") == "cpu"
    assert kwargs.get("weights_only") is True
    assert not args
    assert opened == []
    assert not sentinel.exists()
    x = sample_input("mlp", 3)
    assert torch.equal(torch.from_numpy(bundle.predict(x)), reference_output(model, x))


def test_import_vbt_model_does_not_import_torch():
    code = (
        "import sys, vbt, vbt.model, vbt.model.metadata, vbt.model.bundle;"
        "from vbt.model import ModelBundle, ModelMetadata, is_v3_model;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_label_source_table_is_shared_and_light():
    """One label-source -> output_type table, used by the strategy and the model metadata alike;
    reading model metadata imports neither the strategy loader (pydantic, Numba) nor torch."""
    code = (
        "import sys, vbt.model.metadata as m, vbt.model.label_sources as ls;"
        "heavy = [x for x in ('torch', 'numba', 'pydantic', 'vbt.strategy') if x in sys.modules];"
        "assert not heavy, heavy;"
        "import vbt.strategy.schema as s;"
        "assert s.OUTPUT_TYPE_BY_LABEL_SOURCE is ls.OUTPUT_TYPE_BY_LABEL_SOURCE;"
        "assert m.OUTPUT_TYPE_BY_LABEL_SOURCE is ls.OUTPUT_TYPE_BY_LABEL_SOURCE;"
        "assert not hasattr(s, '_OUTPUT_TYPE_BY_LABEL_SOURCE')"
    )
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import vbt
    from vbt.model.label_sources import OUTPUT_TYPE_BY_LABEL_SOURCE
    from vbt.model.metadata import OUTPUT_TYPES

    assert set(OUTPUT_TYPE_BY_LABEL_SOURCE.values()) <= set(OUTPUT_TYPES)
    for source, output_type in OUTPUT_TYPE_BY_LABEL_SOURCE.items():
        strategy = vbt.load_strategy(strategy_dict(labels={"source": source}))
        assert strategy.output_type == output_type


# --------------------------------------------------------------------------- legacy directory by hand


def test_legacy_directory_built_by_hand(tmp_path):
    """A directory laid out exactly as the older system writes it (§6.1/6.2), built by hand."""
    features = [
        "1h_rsi_fast_oversold",
        "1h_rsi_fast_neutral",
        "1h_rsi_fast_overbought",
        "4h_rsi_fast_oversold",
        "4h_rsi_fast_neutral",
        "4h_rsi_fast_overbought",
        "1h_macd_12_26_9.line_raw",
    ]
    torch.manual_seed(3)
    net = torch.nn.Sequential(
        torch.nn.Linear(7, 16),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.3),
        torch.nn.Linear(16, 8),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.3),
        torch.nn.Linear(8, 3),
    )
    d = tmp_path / "models" / "legacy_strategy" / "1h_v3"
    d.mkdir(parents=True)
    torch.save(net.state_dict(), d / "model.pt")  # an OrderedDict, as model_storage.py saves it
    torch.save(net, d / "model_full.pt")  # pickled nn.Module: refused by weights_only, never read
    strategy = {
        "name": "legacy_strategy",
        "version": "3.0",
        "training_data": {
            "symbols": {"mode": "single", "symbol": "EURUSD"},
            "timeframes": {"mode": "multi_timeframe", "list": ["4h", "1h"], "base_timeframe": "1h"},
            "history_required": 200,
        },
        "indicators": {
            "rsi_fast": {"type": "rsi", "period": 7},
            "macd_12_26_9": {"type": "macd"},
        },
        "fuzzy_sets": {
            "rsi_fast": {
                "indicator": "rsi_fast",
                "oversold": [0, 25, 40],
                "neutral": {"type": "triangular", "parameters": [30, 50, 70]},
                "overbought": [60, 75, 100],
            }
        },
        "nn_inputs": [
            {"fuzzy_set": "rsi_fast", "timeframes": ["1h", "4h"]},
            {"raw_indicator": "macd_12_26_9.line", "timeframes": ["1h"]},
        ],
        "model": {
            "type": "mlp",
            "architecture": {
                "hidden_layers": [16, 8],
                "dropout": 0.3,
                "activation": "relu",
                "output_activation": "softmax",
            },
            "features": {"lookback_periods": 0},
            "training": {"epochs": 100},
        },
        "decisions": {"output_format": "classification", "confidence_threshold": 0.6},
        "training": {"method": "supervised", "labels": {"source": "zigzag"}, "epochs": 100},
    }
    (d / "config.json").write_text(json.dumps(strategy, indent=2))
    (d / "metrics.json").write_text(json.dumps({"epochs_trained": 12, "final_train_loss": 0.9}))
    (d / "features.json").write_text(
        json.dumps(
            {
                "model_version": "pure_fuzzy_v1",
                "feature_type": "pure_fuzzy",
                "fuzzy_features": features,
                "feature_count": 7,
                "temporal_config": {"lookback_periods": 0, "enabled": False},
                "scaling_info": {
                    "requires_scaling": False,
                    "reason": "fuzzy_values_already_normalized",
                },
                "feature_importance": {},
            }
        )
    )
    (d / "metadata.json").write_text(
        json.dumps(
            {
                "strategy_name": "legacy_strategy",
                "symbol": "EURUSD",
                "timeframe": "1h",
                "created_at": "2025-02-11T10:00:00",
                "is_trained": True,
                "model_type": "Sequential",
                "model_version": "pure_fuzzy_v1",
                "architecture_type": "pure_fuzzy",
                "input_size": None,
                "pytorch_version": "2.5.1",
                "training_summary": {"epochs": 12, "final_accuracy": 0.5, "best_val_accuracy": 0.5},
                "feature_engineering": {
                    "removed": True,
                    "scaler_required": False,
                    "fuzzy_only": True,
                },
            }
        )
    )
    (d / "metadata_v3.json").write_text(
        json.dumps(
            {
                "model_name": "legacy_strategy",
                "strategy_name": "legacy_strategy",
                "created_at": "2025-02-11T10:00:05+00:00",
                "strategy_version": "3.0",
                "indicators": strategy["indicators"],
                "fuzzy_sets": strategy["fuzzy_sets"],
                "nn_inputs": strategy["nn_inputs"],
                "resolved_features": features,
                "training_symbols": ["EURUSD"],
                "training_timeframes": ["1h", "4h"],
                "training_metrics": {"epochs_trained": 12},
                "output_type": "classification",
                "model_type": "mlp",
                "sequence_length": None,
                "normalization_params": {},
                "context_data_config": None,
                "context_source_ids": [],
            }
        )
    )
    (d.parent / "1h_latest").symlink_to("1h_v3")

    assert is_v3_model(d)
    assert set(net.state_dict()) == {f"{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")}
    for path in (d, d.parent / "1h_latest"):
        bundle = ModelBundle.load(path)
        x = np.random.default_rng(0).random((100, 7), dtype=np.float32)
        assert torch.equal(torch.from_numpy(bundle.predict(x)), reference_output(net, x))
        assert bundle.feature_names == tuple(features)
        sc = bundle.strategy_config
        assert sc["training_data"]["timeframes"]["list"] == ["1h", "4h"]
        assert sc["training_data"]["timeframes"]["base_timeframe"] == "1h"
        assert sc["decisions"]["confidence_threshold"] == 0.6
        assert sc["fuzzy_sets"]["rsi_fast"]["oversold"] == [0, 25, 40]


def test_config_with_top_level_architecture_and_default(tmp_path, mlp_dir):
    path, model = mlp_dir
    cfg = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps(cfg["model"]))  # a bare model config
    x = sample_input("mlp", 3)
    assert torch.equal(
        torch.from_numpy(ModelBundle.load(path).predict(x)), reference_output(model, x)
    )
    # No config.json at all: the default MLP [64, 32] is built, so an [8, 4] state dict misfits.
    (path / "config.json").unlink()
    with pytest.raises(ModelError, match=r"shape mismatch for '0\.weight'"):
        ModelBundle.load(path)


# --------------------------------------------------------------------------- errors


def _err(path) -> str:
    with pytest.raises(ModelError) as info:
        ModelBundle.load(path)
    assert isinstance(info.value, VbtError)
    return str(info.value)


def test_missing_directory(tmp_path):
    missing = tmp_path / "nope" / "1h_v1"
    msg = _err(missing)
    assert str(missing) in msg and "model directory not found" in msg


def test_not_a_v3_directory(mlp_dir):
    path, _ = mlp_dir
    (path / "metadata_v3.json").unlink()
    msg = _err(path)
    assert str(path) in msg and "not a v3 model directory" in msg and "metadata_v3.json" in msg
    assert not is_v3_model(path)


def test_model_pt_missing(mlp_dir):
    path, _ = mlp_dir
    (path / "model.pt").unlink()
    msg = _err(path)
    assert str(path / "model.pt") in msg and "not found" in msg


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a torch file", os.urandom(512), "truncated"],
    ids=["empty", "text", "random", "truncated_zip"],
)
def test_model_pt_corrupt(mlp_dir, content):
    path, _ = mlp_dir
    pt = path / "model.pt"
    if content == "truncated":
        content = pt.read_bytes()[: pt.stat().st_size // 2]
    pt.write_bytes(content)
    msg = _err(path)
    assert str(pt) in msg and "corrupt" in msg


def test_model_pt_with_pickled_objects(mlp_dir):
    path, model = mlp_dir
    torch.save(model, path / "model.pt")  # a whole nn.Module, as model_full.pt
    msg = _err(path)
    assert str(path / "model.pt") in msg
    assert "pickled Python objects" in msg
    assert "weights_only=True" in msg and "security" in msg
    assert "plain state dicts" in msg
    assert "torch.nn.modules.container.Sequential" in msg


def test_model_pt_with_malicious_reduce(mlp_dir, tmp_path):
    path, _ = mlp_dir
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(sentinel),))

    torch.save({"0.weight": Evil()}, path / "model.pt")
    msg = _err(path)
    assert "pickled Python objects" in msg
    assert not sentinel.exists()


def test_model_pt_not_a_dict(mlp_dir):
    path, _ = mlp_dir
    torch.save(torch.zeros(3), path / "model.pt")
    msg = _err(path)
    assert "expected a state dict" in msg and "Tensor" in msg


def test_missing_keys(mlp_dir):
    path, model = mlp_dir
    state = model.state_dict()
    del state["6.weight"]
    torch.save(state, path / "model.pt")
    msg = _err(path)
    assert str(path / "model.pt") in msg and "missing keys" in msg and "'6.weight'" in msg


def test_unexpected_keys(mlp_dir):
    path, model = mlp_dir
    state = model.state_dict()
    state["9.weight"] = torch.zeros(3, 3)
    torch.save(state, path / "model.pt")
    msg = _err(path)
    assert "unexpected keys" in msg and "'9.weight'" in msg


def test_shape_mismatch_names_key_and_both_shapes(mlp_dir):
    path, model = mlp_dir
    state = model.state_dict()
    state["3.weight"] = torch.zeros(4, 9)
    torch.save(state, path / "model.pt")
    msg = _err(path)
    assert "shape mismatch for '3.weight'" in msg
    assert "(4, 9)" in msg and "(4, 8)" in msg


def test_feature_count_disagrees(mlp_dir):
    path, _ = mlp_dir
    info = json.loads((path / "features.json").read_text())
    info["feature_count"] = 7
    (path / "features.json").write_text(json.dumps(info))
    msg = _err(path)
    assert str(path / "features.json") in msg
    assert "feature_count 7" in msg and "3 resolved_features" in msg


def test_unsupported_model_type(mlp_dir):
    path, _ = mlp_dir
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["type"] = "transformer"
    (path / "config.json").write_text(json.dumps(cfg))
    msg = _err(path)
    assert str(path) in msg and "'transformer'" in msg
    assert "mlp" in msg and "lstm" in msg and "gru" in msg


def test_invalid_metadata_json(mlp_dir):
    path, _ = mlp_dir
    (path / "metadata_v3.json").write_text("{not json")
    msg = _err(path)
    assert "metadata_v3.json" in msg and "not valid JSON" in msg


def test_bad_metadata_field(mlp_dir):
    path, _ = mlp_dir
    meta = json.loads((path / "metadata_v3.json").read_text())
    meta["resolved_features"] = "1h_rsi"
    (path / "metadata_v3.json").write_text(json.dumps(meta))
    msg = _err(path)
    assert "resolved_features" in msg


def test_lstm_without_sequence_length(tmp_path):
    path, _ = make_model_dir(tmp_path, model_type="lstm")
    cfg = json.loads((path / "config.json").read_text())
    del cfg["model"]["architecture"]["sequence_length"]
    (path / "config.json").write_text(json.dumps(cfg))
    msg = _err(path)
    assert "sequence_length" in msg and str(path) in msg


def test_path_is_a_file(mlp_dir):
    path, _ = mlp_dir
    msg = _err(path / "model.pt")
    assert "not a directory" in msg


def test_predict_rejects_wrong_shape(mlp_dir, tmp_path):
    bundle = ModelBundle.load(mlp_dir[0])
    with pytest.raises(ModelError, match=r"predict expects the feature matrix of shape \(n, 3\)"):
        bundle.predict(np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(ModelError, match=r"valid of shape \(4,\)"):
        bundle.predict(np.zeros((4, 3), dtype=np.float32), valid=np.ones(5, dtype=bool))
    lstm = ModelBundle.load(make_model_dir(tmp_path / "lstm", model_type="lstm")[0])
    with pytest.raises(ModelError, match="windows are built internally"):  # no pre-cut windows
        lstm.predict(np.zeros((4, 5, 3), dtype=np.float32))


@pytest.mark.parametrize("model_type", ["mlp", "gru"])
def test_predict_is_the_backtest_inference(tmp_path, model_type):
    """predict is model_outputs: invalid rows (and, for sequence models, any window holding one)
    give NaN rows; every other row is the model applied to its input."""
    from vbt.signals.inference import model_outputs

    path, model = make_model_dir(tmp_path, model_type=model_type)
    bundle = ModelBundle.load(path)
    x = sample_input(model_type, 3, n=40)
    x[10, 1] = np.nan  # an invalid bar
    out = bundle.predict(x)
    seq = sequence_length_of(model_type) or 1
    bad = np.zeros(len(x), dtype=bool)
    bad[: seq - 1] = True
    bad[10 : 10 + seq] = True
    np.testing.assert_array_equal(np.isnan(out).all(axis=1), bad)
    ref = reference_output(model, np.nan_to_num(x), sequence_length_of(model_type)).numpy()
    np.testing.assert_array_equal(out[~bad], ref[~bad])
    valid = np.isfinite(x).all(axis=1)
    np.testing.assert_array_equal(
        out, model_outputs(bundle.model, x, valid, bundle.sequence_length)
    )
    # An explicit valid mask wins over finiteness.
    valid[20] = False
    assert np.isnan(bundle.predict(x, valid)[20]).all()


def test_copied_directory_loads(mlp_dir, tmp_path):
    path, model = mlp_dir
    copy = tmp_path / "elsewhere" / "m"
    shutil.copytree(path, copy)
    x = sample_input("mlp", 3)
    assert torch.equal(
        torch.from_numpy(ModelBundle.load(copy).predict(x)), reference_output(model, x)
    )


# --------------------------------------------------------------------------- decisions default


@pytest.mark.parametrize(
    ("output_type", "decisions", "expected"),
    [
        ("regression", None, "regression"),
        ("regression", {"confidence_threshold": 0.7}, "regression"),
        ("classification", None, "classification"),
        ("regime_classification", None, "classification"),
        ("regression", {"output_format": "regression"}, "regression"),
    ],
)
def test_missing_decisions_output_format_defaults_to_output_type(
    tmp_path, output_type, decisions, expected
):
    """A legacy config.json without decisions (or without decisions.output_format) is read with
    the format the model's output_type implies, not always "classification"."""
    signal = output_type in ("classification", "regression")
    path, _ = make_model_dir(tmp_path, output_type=output_type if signal else "classification")
    cfg = json.loads((path / "config.json").read_text())
    if decisions is None:
        cfg.pop("decisions", None)
    else:
        cfg["decisions"] = decisions
    (path / "config.json").write_text(json.dumps(cfg))
    meta = json.loads((path / "metadata_v3.json").read_text())
    meta["output_type"] = output_type
    (path / "metadata_v3.json").write_text(json.dumps(meta))
    if output_type == "regime_classification":  # 4 outputs: rebuild the weights to fit
        cfg["model"]["num_classes"] = 4
        cfg["model"].pop("output_format", None)
        (path / "config.json").write_text(json.dumps(cfg))
        from vbt.model.networks import build_model

        torch.save(build_model(cfg["model"], 3, output_type).state_dict(), path / "model.pt")
    bundle = ModelBundle.load(path)
    sc = bundle.strategy_config
    assert sc["decisions"]["output_format"] == expected
    if decisions:
        for key, value in decisions.items():
            assert sc["decisions"][key] == value
    from vbt.decide.function import DecisionParams
    from vbt.strategy import load_strategy

    params = DecisionParams.from_config(load_strategy(sc).decisions, bundle.output_type)
    assert params.output_format == expected


# --------------------------------------------------------------------------- output type and width


def _set_meta(path, **fields):
    meta = json.loads((path / "metadata_v3.json").read_text())
    meta.update(fields)
    (path / "metadata_v3.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("value", ["softmax", "Classification", "", 3])
def test_unknown_output_type(mlp_dir, value):
    path, _ = mlp_dir
    _set_meta(path, output_type=value)
    msg = _err(path)
    assert repr(str(value)) in msg and str(path / "metadata_v3.json") in msg
    assert "regime_classification" in msg  # the supported values are listed


@pytest.mark.parametrize("output_type", ["regime_classification", "context_classification"])
def test_non_signal_output_types_load(tmp_path, output_type):
    path, model = make_model_dir(tmp_path)  # 3 outputs
    _set_meta(path, output_type=output_type)
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["num_classes"] = 3
    (path / "config.json").write_text(json.dumps(cfg))
    assert ModelBundle.load(path).output_type == output_type


def _rewrite_model(path, model_cfg, output_type):
    from vbt.model.networks import build_model

    cfg = json.loads((path / "config.json").read_text())
    cfg["model"] = model_cfg
    (path / "config.json").write_text(json.dumps(cfg))
    torch.save(build_model(model_cfg, 3, output_type).state_dict(), path / "model.pt")


@pytest.mark.parametrize("model_type", ["mlp", "gru"])
def test_classification_needs_three_outputs(tmp_path, model_type):
    path, _ = make_model_dir(tmp_path, model_type=model_type)
    from model_fixtures import MODEL_CONFIGS

    model_cfg = {**MODEL_CONFIGS[model_type], "num_classes": 2}
    _rewrite_model(path, model_cfg, "classification")  # a consistent 2-class state dict
    msg = _err(path)
    assert str(path) in msg and "classification" in msg
    assert "2 outputs" in msg and "at least 3" in msg
    # A classification model whose config says regression: one output.
    model_cfg = {**MODEL_CONFIGS[model_type], "output_format": "regression"}
    _rewrite_model(path, model_cfg, "classification")
    msg = _err(path)
    assert "1 output" in msg and "at least 3" in msg


def test_regression_needs_exactly_one_output(tmp_path, monkeypatch):
    path, _ = make_model_dir(tmp_path, output_type="regression")
    from vbt.model import networks

    real = networks.build_model
    # A network with 3 outputs whatever the output type (as a hand-edited or foreign build).
    monkeypatch.setattr(networks, "build_model", lambda cfg, n, ot: real(cfg, n, "classification"))
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"].pop("output_format")
    (path / "config.json").write_text(json.dumps(cfg))
    torch.save(real(cfg["model"], 3, "classification").state_dict(), path / "model.pt")
    msg = _err(path)
    assert str(path) in msg and "regression" in msg
    assert "3 outputs" in msg and "exactly 1" in msg


# --------------------------------------------------------------------------- <tf>_latest pointers


def _pointer_err(pointer) -> str:
    msg = _err(pointer)
    assert str(pointer) in msg and "pointer" in msg and "strategy folder" in msg
    return msg


@pytest.mark.parametrize("target", ["..", ".", "../other/1h_v1", "/abs/1h_v1", "a\\b", "x\0y"])
def test_text_latest_pointer_must_name_a_folder_inside(tmp_path, target):
    outside, _ = make_model_dir(tmp_path / "models")  # a valid model the pointer must not reach
    strategy_dir = outside / "inner"  # ".." from here is a loadable model directory
    strategy_dir.mkdir()
    pointer = strategy_dir / "1h_latest"
    pointer.write_text(target + "\n")
    _pointer_err(pointer)


def test_text_latest_pointer_to_an_escaping_symlink(tmp_path):
    outside, _ = make_model_dir(tmp_path / "models")
    strategy_dir = tmp_path / "models" / "victim"
    strategy_dir.mkdir()
    (strategy_dir / "1h_v9").symlink_to(outside, target_is_directory=True)
    pointer = strategy_dir / "1h_latest"
    pointer.write_text("1h_v9\n")
    _pointer_err(pointer)


@pytest.mark.parametrize("absolute", [True, False])
def test_symlink_latest_pointer_outside_the_strategy_folder(tmp_path, absolute):
    outside, _ = make_model_dir(tmp_path / "models")  # models/unit_strategy/1h_v1
    strategy_dir = tmp_path / "models" / "victim"
    strategy_dir.mkdir()
    pointer = strategy_dir / "1h_latest"
    pointer.symlink_to(outside if absolute else Path("..") / "unit_strategy" / "1h_v1")
    assert (pointer / "metadata_v3.json").is_file()  # it does lead to a loadable model
    _pointer_err(pointer)


def test_latest_pointers_inside_the_strategy_folder_load(tmp_path):
    path, model = make_model_dir(tmp_path / "models")
    latest = path.parent / "1h_latest"
    assert latest.is_symlink()
    x = sample_input("mlp", 3)
    for pointer in (latest, path.parent / "custom_latest"):
        if not pointer.exists():
            pointer.write_text("1h_v1\n")  # a text pointer naming a sibling folder
        out = ModelBundle.load(pointer).predict(x)
        assert torch.equal(torch.from_numpy(out), reference_output(model, x))
    assert ModelBundle.load(latest).path.resolve() == path.resolve()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("context_source_ids", 5),
        ("context_source_ids", "abc"),
        ("context_source_ids", {"a": 1}),
        ("context_data_config", 3),
        ("nn_inputs", "rsi"),
    ],
)
def test_list_fields_must_be_lists(mlp_dir, field, value):
    path, _ = mlp_dir
    _set_meta(path, **{field: value})
    msg = _err(path)
    assert repr(field) in msg and str(path / "metadata_v3.json") in msg and "list" in msg


def test_context_source_ids_list_and_null_load(mlp_dir):
    path, _ = mlp_dir
    _set_meta(path, context_source_ids=None)
    assert ModelBundle.load(path).metadata.context_source_ids == []
    _set_meta(path, context_source_ids=["ctx_a", 2])
    assert ModelBundle.load(path).metadata.context_source_ids == ["ctx_a", 2]
