"""v3 strategy loading: shapes the older system accepts, resolver order, and every config error."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import vbt
from vbt.strategy import load_strategy, resolve_features

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = sorted((ROOT / "data_fixtures" / "strategies").glob("*.yaml"))

BASE = {
    "name": "t",
    "training_data": {
        "symbols": {"mode": "single", "symbol": "EURUSD"},
        "timeframes": {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1h"},
    },
    "indicators": {
        "rsi_14": {"type": "rsi", "period": 14},
        "macd_12_26_9": {"type": "MACD", "fast_period": 12, "slow_period": 26, "signal_period": 9},
    },
    "fuzzy_sets": {
        "rsi_fast": {"indicator": "rsi_14", "low": [0, 30, 50], "high": [50, 70, 100]},
        "macd_fz": {
            "indicator": "macd_12_26_9.histogram",
            "neg": {"type": "gaussian", "parameters": [-0.001, 0.001]},
            "pos": {"type": "trapezoidal", "parameters": [0, 0.001, 0.01, 0.02]},
        },
    },
    "nn_inputs": [
        {"fuzzy_set": "rsi_fast", "timeframes": "all"},
        {"raw_indicator": "macd_12_26_9.line", "timeframes": ["4h"]},
        {"fuzzy_set": "macd_fz", "timeframes": ["4h", "1h"]},
    ],
    "model": {"type": "mlp", "architecture": {"hidden_layers": [8]}},
    "decisions": {"output_format": "classification"},
    "training": {"labels": {"source": "zigzag"}},
}


def with_change(path: str, value, base=BASE):
    d = copy.deepcopy(base)
    keys = path.split(".")
    node = d
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


DELETE = object()


@pytest.mark.parametrize("path", STRATEGIES, ids=lambda p: p.stem)
def test_example_strategies_load_and_build(path):
    s = load_strategy(path)
    bars = vbt.load_data(ROOT / "data_fixtures", "EURUSD", list(s.timeframes))
    frame = vbt.build_features(s, bars)
    assert frame.names == tuple(resolve_features(s))
    assert frame.n_bars == bars[s.base_timeframe].height
    assert frame.valid.mean() > 0.9  # warm-up NaN rows only


def test_examples_cover_required_kinds():
    kinds = {p.stem: load_strategy(p) for p in STRATEGIES}
    assert kinds["rsi_single_tf"].timeframes == ("1h",)
    mtf = kinds["rsi_bbands_mtf"]
    assert set(mtf.timeframes) == {"1h", "5m"} and mtf.symbol == "EURUSD"
    assert {i.type for i in mtf.indicators.values()} == {"rsi", "bollingerbandwidth"}
    assert kinds["regression_forward_return"].output_type == "regression"


def test_resolver_order_follows_reference():
    s = load_strategy(BASE)
    assert resolve_features(s) == [
        "1h_rsi_fast_low", "1h_rsi_fast_high", "4h_rsi_fast_low", "4h_rsi_fast_high",
        "4h_macd_12_26_9.line_raw",
        "4h_macd_fz_neg", "4h_macd_fz_pos", "1h_macd_fz_neg", "1h_macd_fz_pos",
    ]  # fmt: skip
    assert s.base_timeframe == "1h"
    assert s.indicators["macd_12_26_9"].type == "macd"  # case-insensitive type
    assert [m.type for m in s.fuzzy_sets["rsi_fast"].memberships] == ["triangular"] * 2
    assert s.fuzzy_sets["macd_fz"].output == "histogram"


def test_bare_string_timeframes_mean_one_element_list():
    s = load_strategy(with_change("nn_inputs.1.timeframes", "4h"))
    assert "4h_macd_12_26_9.line_raw" in resolve_features(s)
    assert s.nn_inputs[1].timeframes == ("4h",)
    single = with_change("training_data.timeframes", "1h")
    single["nn_inputs"] = [{"fuzzy_set": "rsi_fast", "timeframes": "1h"}]
    assert load_strategy(single).timeframes == ("1h",)


def test_aliases_list_and_symbols_multi():
    d = with_change("training_data.symbols", {"mode": "multi_symbol", "list": ["EURUSD", "GBPUSD"]})
    assert load_strategy(d).symbols == ("EURUSD", "GBPUSD")
    d = with_change(
        "training_data.timeframes", {"mode": "multi_timeframe", "timeframes": ["4h", "1h"]}
    )
    assert load_strategy(d).base_timeframe == "4h"  # no base given: the first listed


def test_membership_order_is_yaml_order(tmp_path):
    text = yaml.safe_dump(BASE, sort_keys=False).replace("low:", "zzz:")
    p = tmp_path / "s.yaml"
    p.write_text(text)
    s = load_strategy(p)
    assert [m.name for m in s.fuzzy_sets["rsi_fast"].memberships] == ["zzz", "high"]


def test_default_params_filled():
    s = load_strategy(with_change("indicators.rsi_14", {"type": "rsi"}))
    assert s.indicators["rsi_14"].params["period"] == 14


BAD = [
    ("indicators.rsi_14.type", "rsx", "indicators.rsi_14.type", "rsx"),
    ("indicators.rsi_14", {"type": "rsi", "length": 14}, "indicators.rsi_14", "length"),
    ("indicators.rsi_14", {"type": "rsi", "period": 14.0}, "indicators.rsi_14", "period"),
    ("indicators.rsi_14", {"type": "rsi", "period": "14"}, "indicators.rsi_14", "period"),
    ("indicators.rsi_14", {"period": 14}, "indicators.rsi_14.type", "required"),
    ("fuzzy_sets.rsi_fast.low", [30, 0, 50], "fuzzy_sets.rsi_fast.low", "ascending"),
    ("fuzzy_sets.rsi_fast.low", [0, 30, 40, 50], "fuzzy_sets.rsi_fast.low", "3 parameters"),
    ("fuzzy_sets.rsi_fast.low", {"type": "trapezoidal", "parameters": [0, 1, 2]},
     "fuzzy_sets.rsi_fast.low", "4 parameters"),
    ("fuzzy_sets.rsi_fast.low", {"type": "gaussian", "parameters": [50, 0]},
     "fuzzy_sets.rsi_fast.low", "sigma"),
    ("fuzzy_sets.rsi_fast.low", {"type": "bell", "parameters": [1, 2]},
     "fuzzy_sets.rsi_fast.low.type", "bell"),
    ("fuzzy_sets.rsi_fast.low", [0, "x", 50], "fuzzy_sets.rsi_fast.low.parameters", "numbers"),
    ("fuzzy_sets.rsi_fast.indicator", "rsi_99", "fuzzy_sets.rsi_fast.indicator", "rsi_99"),
    ("fuzzy_sets.macd_fz.indicator", "macd_12_26_9.nope", "fuzzy_sets.macd_fz.indicator", "nope"),
    ("fuzzy_sets.rsi_fast.indicator", "rsi_14.line", "fuzzy_sets.rsi_fast.indicator", "single output"),
    ("fuzzy_sets.rsi_fast", {"indicator": "rsi_14"}, "fuzzy_sets.rsi_fast", "at least one"),
    ("nn_inputs.0.fuzzy_set", "rsi_slow", "nn_inputs[0].fuzzy_set", "rsi_slow"),
    ("nn_inputs.1.timeframes", ["1d"], "nn_inputs[1].timeframes", "1d"),
    ("nn_inputs.1.raw_indicator", "ema_9", "nn_inputs[1].raw_indicator", "ema_9"),
    ("nn_inputs.0", {"fuzzy_set": "rsi_fast", "raw_indicator": "rsi_14"}, "nn_inputs[0]", "exactly one"),
    ("training_data.timeframes.base_timeframe", "15m", "base_timeframe", "15m"),
    ("training_data.timeframes.list", ["1h", "7x"], "training_data.timeframes", "7x"),
    ("training_data.symbols", {"mode": "single"}, "training_data.symbols.symbol", "required"),
    ("name", DELETE, "name", "field required"),
]  # fmt: skip


@pytest.mark.parametrize(
    "path,value,key,fragment", BAD, ids=[b[0] + "-" + str(i) for i, b in enumerate(BAD)]
)
def test_bad_config_names_the_key(path, value, key, fragment):
    with pytest.raises(vbt.ConfigError) as exc:
        load_strategy(with_change(path, value))
    msg = str(exc.value)
    assert key in msg, msg
    assert fragment in msg, msg


def test_not_v3_missing_and_bad_yaml(tmp_path):
    with pytest.raises(vbt.ConfigError, match="not a v3 strategy"):
        load_strategy({k: v for k, v in BASE.items() if k != "nn_inputs"})
    with pytest.raises(vbt.ConfigError, match="strategy file not found"):
        load_strategy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(vbt.ConfigError, match=r"bad.yaml: line 2, column 1: not valid YAML"):
        load_strategy(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(vbt.ConfigError, match="mapping at the top level"):
        load_strategy(lst)


def test_error_message_names_the_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(with_change("indicators.rsi_14.type", "rsx")))
    with pytest.raises(vbt.ConfigError, match=r"s\.yaml: indicators\.rsi_14\.type"):
        load_strategy(p)
