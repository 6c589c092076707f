"""write_model_dir: the older system's v3 directory layout (§6.1/6.2), versioning, latest pointer."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime

import pytest
import torch
from model_fixtures import RSI_FEATURES, make_model_dir, reference_output, sample_input

from vbt.errors import ConfigError
from vbt.model import ModelBundle
from vbt.model.metadata import load_metadata

V3_FIELDS = [
    "model_name",
    "strategy_name",
    "created_at",
    "strategy_version",
    "indicators",
    "fuzzy_sets",
    "nn_inputs",
    "resolved_features",
    "training_symbols",
    "training_timeframes",
    "training_metrics",
    "output_type",
    "model_type",
    "sequence_length",
    "normalization_params",
    "context_data_config",
    "context_source_ids",
]


def test_layout_and_files(tmp_path):
    path, _ = make_model_dir(tmp_path)
    assert path == tmp_path / "unit_strategy" / "1h_v1"
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "features.json",
        "metadata_v3.json",
        "metrics.json",
        "model.pt",
    ]
    assert not (path / "model_full.pt").exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left
    latest = path.parent / "1h_latest"
    assert latest.is_symlink() and os.readlink(latest) == "1h_v1"


def test_metadata_v3_fields(tmp_path):
    path, _ = make_model_dir(tmp_path, features=["1h_a", "4h_b"], timeframes=("1h", "4h"))
    meta = json.loads((path / "metadata_v3.json").read_text())
    assert list(meta) == V3_FIELDS
    assert meta["model_name"] == meta["strategy_name"] == "unit_strategy"
    assert meta["resolved_features"] == ["1h_a", "4h_b"]
    assert meta["training_timeframes"] == ["1h", "4h"]
    assert meta["training_symbols"] == ["EURUSD"]
    assert meta["output_type"] == "classification" and meta["model_type"] == "mlp"
    assert meta["sequence_length"] is None
    assert meta["normalization_params"] == {}
    assert meta["indicators"] == {"rsi_14": {"type": "rsi", "period": 14}}
    assert meta["fuzzy_sets"]["rsi_14"]["oversold"] == [0, 25, 40]  # shorthand preserved
    assert meta["nn_inputs"] == [{"fuzzy_set": "rsi_14", "timeframes": "all"}]
    created = datetime.fromisoformat(meta["created_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert meta["training_metrics"] == json.loads((path / "metrics.json").read_text())
    assert load_metadata(path).base_timeframe == "1h"


def test_features_json_pure_fuzzy_shape(tmp_path):
    path, _ = make_model_dir(tmp_path)
    info = json.loads((path / "features.json").read_text())
    assert info == {
        "model_version": "pure_fuzzy_v1",
        "feature_type": "pure_fuzzy",
        "fuzzy_features": RSI_FEATURES,
        "feature_count": 3,
        "temporal_config": {"lookback_periods": 0, "enabled": False},
        "scaling_info": {"requires_scaling": False, "reason": "fuzzy_values_already_normalized"},
        "feature_importance": {},
    }


def test_config_json_is_the_strategy(tmp_path):
    path, _ = make_model_dir(tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["name"] == "unit_strategy"
    assert cfg["model"]["architecture"]["hidden_layers"] == [8, 4]
    assert "output_format" not in cfg["model"]
    assert {
        "training_data",
        "indicators",
        "fuzzy_sets",
        "nn_inputs",
        "decisions",
        "training",
    } <= set(cfg)


def test_metrics_are_strict_json(tmp_path):
    path, _ = make_model_dir(tmp_path)
    text = (path / "metrics.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["test_loss"] is None  # NaN written as null


def test_model_pt_is_a_plain_cpu_state_dict(tmp_path):
    path, model = make_model_dir(tmp_path, model_type="lstm")
    state = torch.load(path / "model.pt", weights_only=True)  # no map_location needed
    assert list(state) == list(model.state_dict())
    for key, value in state.items():
        assert value.device.type == "cpu"
        assert value.untyped_storage().nbytes() == value.numel() * value.element_size()
        assert torch.equal(value, model.state_dict()[key])
    with zipfile.ZipFile(path / "model.pt") as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_versions_increment_and_latest_moves(tmp_path):
    p1, _ = make_model_dir(tmp_path, seed=1)
    (tmp_path / "unit_strategy" / "1h_v7").mkdir()  # gaps are fine: N = 1 + max
    p2, m2 = make_model_dir(tmp_path, seed=2)
    assert p1.name == "1h_v1" and p2.name == "1h_v8"
    latest = tmp_path / "unit_strategy" / "1h_latest"
    assert os.readlink(latest) == "1h_v8"
    x = sample_input("mlp", 3)
    assert torch.equal(
        torch.from_numpy(ModelBundle.load(latest).predict(x)), reference_output(m2, x)
    )
    p3, _ = make_model_dir(tmp_path, features=["4h_a"], timeframes=("4h",))
    assert p3.name == "4h_v1"


def test_latest_falls_back_to_a_text_file_without_symlinks(tmp_path, monkeypatch):
    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported here")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    make_model_dir(tmp_path, seed=1)
    path, model = make_model_dir(tmp_path, seed=2)
    latest = tmp_path / "unit_strategy" / "1h_latest"
    assert latest.is_file() and not latest.is_symlink()
    assert latest.read_text().strip() == "1h_v2"
    x = sample_input("mlp", 3)
    assert torch.equal(
        torch.from_numpy(ModelBundle.load(latest).predict(x)), reference_output(model, x)
    )


def test_regression_injects_output_format(tmp_path):
    path, _ = make_model_dir(tmp_path, output_type="regression")
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["model"]["output_format"] == "regression"
    meta = json.loads((path / "metadata_v3.json").read_text())
    assert meta["output_type"] == "regression"


def test_sequence_length_recorded(tmp_path):
    path, _ = make_model_dir(tmp_path, model_type="gru")
    meta = json.loads((path / "metadata_v3.json").read_text())
    assert meta["model_type"] == "gru" and meta["sequence_length"] == 4


def test_bad_strategy_name(tmp_path):
    from vbt.model.artifacts import write_model_dir

    with pytest.raises(ConfigError, match="strategy name = '../escape': must be a plain folder"):
        write_model_dir(
            tmp_path,
            torch.nn.Linear(2, 3),
            strategy_name="../escape",
            raw_config={},
            resolved_features=["a", "b"],
            training_symbols=["X"],
            training_timeframes=["1h"],
            output_type="classification",
            model_type="mlp",
            metrics={},
        )
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("output_type", ["classification", "regression", "regime_classification"])
def test_decisions_output_format_written_for_signal_models(tmp_path, output_type):
    from vbt.model.artifacts import write_model_dir

    raw = {"name": "s", "model": {"type": "mlp"}}  # no decisions block
    path = write_model_dir(
        tmp_path,
        torch.nn.Linear(2, 1 if output_type == "regression" else 3),
        strategy_name="s",
        raw_config=raw,
        resolved_features=["a", "b"],
        training_symbols=["X"],
        training_timeframes=["1h"],
        output_type=output_type,
        model_type="mlp",
        metrics={},
    )
    cfg = json.loads((path / "config.json").read_text())
    if output_type == "regime_classification":
        assert "decisions" not in cfg  # never trades: nothing to read
    else:
        assert cfg["decisions"] == {"output_format": output_type}
    assert "decisions" not in raw  # the caller's dict is untouched
    # An explicit format is kept as written.
    raw = {"name": "s", "decisions": {"output_format": "classification", "x": 1}}
    path = write_model_dir(
        tmp_path,
        torch.nn.Linear(2, 3),
        strategy_name="s",
        raw_config=raw,
        resolved_features=["a", "b"],
        training_symbols=["X"],
        training_timeframes=["1h"],
        output_type="classification",
        model_type="mlp",
        metrics={},
    )
    assert json.loads((path / "config.json").read_text())["decisions"] == raw["decisions"]
