"""A model directory's problems name the directory and the file they are in (metadata_v3.json,
config.json, features.json, model.pt), never the strategy vbt reconstructs from them."""

from __future__ import annotations

import json

import pytest
from bad_input import DATA, raises

import vbt


def edit_json(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "file, change, fragment",
    [
        ("metadata_v3.json", lambda m: m["indicators"]["rsi_14"].update(period=0),
         "indicators.rsi_14.period: 0 is out of range"),
        ("metadata_v3.json", lambda m: m["fuzzy_sets"]["rsi_14"].update(neutral=[70, 50, 30]),
         "fuzzy_sets.rsi_14.neutral: triangular parameters must be in ascending order"),
        ("metadata_v3.json", lambda m: m["nn_inputs"][0].update(fuzzy_set="nope"),
         "nn_inputs[0].fuzzy_set: unknown fuzzy set 'nope'"),
        ("metadata_v3.json", lambda m: m.update(training_timeframes=["1x"]),
         "training_timeframes: timeframe '1x' is not valid"),
        ("metadata_v3.json", lambda m: m["resolved_features"].__setitem__(0, "1h_rsi_14_low"),
         "resolved_features: '1h_rsi_14_low' is not produced by the indicators"),
        ("config.json", lambda c: c["decisions"].update(confidence_threshold=-0.1),
         "decisions.confidence_threshold = -0.1: input should be greater than or equal to 0"),
        ("config.json", lambda c: c["decisions"].update(confidence_treshold=0.6),
         "decisions.confidence_treshold: unknown key (did you mean 'confidence_threshold'?)"),
        ("config.json", lambda c: c["decisions"]["filters"].update(min_signal_separation="4h"),
         "decisions.filters.min_signal_separation = '4h'"),
        ("config.json", lambda c: c["model"]["architecture"].update(dropout=2),
         "cannot build the network: model.architecture.dropout: expected a number in [0, 1)"),
    ],
)  # fmt: skip
def test_errors_name_the_model_file(model_copy, file, change, fragment):
    path = model_copy / file
    edit_json(path, change)
    with raises(vbt.ModelError, f"{path}: {fragment}") as info:
        vbt.ModelBundle.load(model_copy)
    assert "<strategy>" not in str(info.value) and "training_data" not in str(info.value)


def test_default_network_problems_name_the_metadata(model_copy):
    # without a model section in config.json, the network comes from metadata_v3.json
    edit_json(model_copy / "config.json", lambda c: c.pop("model"))
    edit_json(model_copy / "metadata_v3.json", lambda m: m.update(model_type="transformer"))
    with raises(vbt.ModelError, f"{model_copy / 'metadata_v3.json'}: cannot build the network: "
                                "unsupported model type 'transformer'"):  # fmt: skip
        vbt.ModelBundle.load(model_copy)


def test_backtest_reports_model_problems_before_data(model_copy, monkeypatch):
    import vbt.stages

    monkeypatch.setattr(vbt.stages, "load_data", lambda *a, **k: pytest.fail("data loaded"))
    edit_json(model_copy / "config.json", lambda c: c["decisions"].update(position_awareness=1))
    cfg = vbt.BacktestConfig(model_path=str(model_copy), data_dir=str(DATA))
    with raises(vbt.ModelError, f"{model_copy / 'config.json'}: decisions.position_awareness = 1"):
        vbt.BacktestEngine(cfg).run()


@pytest.mark.parametrize("name", ["metadata_v3.json", "config.json", "features.json", "model.pt"])
def test_a_folder_in_place_of_a_model_file(model_copy, name):
    (model_copy / name).unlink()
    (model_copy / name).mkdir()
    with raises(vbt.ModelError, f"{model_copy / name}: is a folder, not a"):
        vbt.ModelBundle.load(model_copy)


def test_json_nested_too_deep(model_copy):
    path = model_copy / "config.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with raises(vbt.ModelError, f"{path}: nesting too deep to read"):
        vbt.ModelBundle.load(model_copy)
