"""The one parameter model: the strategy's decisions block, BacktestConfig and ScanParams refuse
unknown keys, wrong types and out-of-range values, naming the key."""

from __future__ import annotations

import pytest
import yaml
from enginekit import STRATEGIES

import vbt
from vbt.params import DecisionParams, DecisionsBlock, ExecutionParams
from vbt.sim import ScanParams


def strategy_with(decisions):
    raw = yaml.safe_load((STRATEGIES / "rsi_single_tf.yaml").read_text())
    return {**raw, "decisions": decisions}


@pytest.mark.parametrize(
    "decisions, message",
    [
        # unknown keys, with the closest known key suggested
        ({"filters": {"min_signal_seperation": 4}},
         r"decisions\.filters\.min_signal_seperation: unknown key \(did you mean "
         r"'min_signal_separation'\?\)"),
        ({"confidence_treshold": 0.6}, r"decisions\.confidence_treshold: unknown key"),
        ({"cost_model": {"round_trip": 0.001}}, r"decisions\.cost_model\.round_trip: unknown key"),
        # wrong types: no coercion of strings or numbers to booleans
        ({"confidence_threshold": "high"}, r"decisions\.confidence_threshold = 'high': .*number"),
        ({"position_awareness": "yes"}, r"decisions\.position_awareness = 'yes': .*boolean"),
        ({"allow_short_from_flat": 1}, r"decisions\.allow_short_from_flat = 1: .*boolean"),
        ({"filters": 4}, r"decisions\.filters = 4: must be a mapping"),
        ({"output_format": "ranking"}, r"decisions\.output_format = 'ranking'"),
        ({"num_classes": 3.0}, r"decisions\.num_classes = 3\.0: .*integer"),
        # out of range, and NaN named as such
        ({"confidence_threshold": 1.5}, r"decisions\.confidence_threshold = 1\.5: .*less than"),
        ({"filters": {"min_signal_separation": -1}},
         r"decisions\.filters\.min_signal_separation = -1: .*greater than"),
        ({"filters": {"min_signal_separation": 1e30}}, r"min_signal_separation = 1e\+30"),
        ({"cost_model": {"min_edge_multiplier": -0.5}},
         r"decisions\.cost_model\.min_edge_multiplier = -0\.5"),
        ({"confidence_threshold": float("nan")}, r"decisions\.confidence_threshold = nan: not a number"),
    ],
)  # fmt: skip
def test_bad_decisions_block_is_refused_when_the_strategy_loads(decisions, message):
    with pytest.raises(vbt.ConfigError, match=message):
        vbt.load_strategy(strategy_with(decisions))


def test_decisions_block_of_the_older_system_loads():
    # every key the older system's strategy files use, including the two it ignores
    block = {
        "output_format": "classification", "confidence_threshold": 0.6,
        "position_awareness": True, "allow_short_from_flat": False, "num_classes": 3,
        "filters": {"min_signal_separation": 4, "volume_filter": False},
        "cost_model": {"round_trip_cost": 0.003, "min_edge_multiplier": 1.5},
    }  # fmt: skip
    s = vbt.load_strategy(strategy_with(block))
    p = DecisionParams.from_config(s.decisions, "classification")
    assert (p.confidence_threshold, p.min_signal_separation) == (0.6, 4.0)


def test_defaults_live_in_the_models():
    # an empty block, a default DecisionParams and a default ScanParams agree
    assert DecisionParams.from_config({}) == DecisionParams()
    assert ScanParams().decisions == DecisionParams()
    cfg = vbt.BacktestConfig(model_path="m")
    assert cfg.execution() == ExecutionParams() == ScanParams().execution
    assert all(v is None for v in cfg.decision_overrides().values())
    assert DecisionsBlock.parse(None).flat() == {}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("confidence_threshold", 2.0, r"confidence_threshold = 2\.0"),
        ("commission", -0.1, r"commission = -0\.1"),
        ("commission", float("nan"), r"commission = nan: not a number"),
        ("slippage", 1.0, r"slippage = 1\.0"),
        ("position_fraction", 0.0, r"position_fraction = 0\.0"),
        ("initial_capital", float("inf"), r"initial_capital = inf"),
        ("warmup_bars", 2.5, r"warmup_bars = 2\.5"),
        ("min_edge_multiplier", -1.0, r"min_edge_multiplier = -1\.0"),
        ("periods_per_year", float("inf"), r"periods_per_year = inf"),
        ("chunk_bars", 0, r"chunk_bars = 0"),
        ("chunk_bars", 10**12, r"chunk_bars = 1000000000000"),
        ("min_signal_seperation", 1.0, r"min_signal_seperation: unknown key \(did you mean"),
    ],
)
def test_backtest_config_names_the_field(field, value, message):
    with pytest.raises(vbt.ConfigError, match=message):
        vbt.BacktestConfig(model_path="m", **{field: value})


def test_scan_params_with_values():
    p = ScanParams().with_values(commission=0.002, confidence_threshold=0.7, warmup_bars=3)
    assert p.execution.commission == 0.002 and p.decisions.confidence_threshold == 0.7
    assert p.to_record()[0]["warmup_bars"] == 3
    with pytest.raises(vbt.ConfigError, match="unknown parameter 'comission'"):
        ScanParams().with_values(comission=0.002)
    with pytest.raises(vbt.ConfigError, match=r"slippage = 2"):
        ScanParams().with_values(slippage=2)
    with pytest.raises(vbt.ConfigError, match="bar_ns"):
        ScanParams(bar_ns=0)


def test_regression_threshold_is_a_kernel_parameter():
    p = ScanParams().with_values(round_trip_cost=0.002, min_edge_multiplier=2.0)
    assert p.to_record()[0]["regression_threshold"] == 0.004
