"""Grids: value specs, mixed-radix decoding, constraints, max_combos, and every bad grid named."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from vbt.errors import ConfigError
from vbt.sim import ScanParams
from vbt.sweeps.grid import Grid, parse_values, select

CLS = ScanParams()
REG = ScanParams().with_values(output_type="regression", output_format="regression")


def test_value_specs():
    assert parse_values("confidence_threshold", "0.4:0.8:0.05") == [
        0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]  # fmt: skip
    assert parse_values("commission", "0.0005,0.001") == [0.0005, 0.001]
    assert parse_values("commission", {"start": 0, "stop": 0.002, "step": 0.001}) == [
        0,
        0.001,
        0.002,
    ]
    assert parse_values("commission", range(2)) == [0, 1]
    assert parse_values("commission", np.array([0.1, 0.2])) == [0.1, 0.2]
    assert parse_values("commission", 0.001) == [0.001]
    assert parse_values("position_awareness", "true,false") == [True, False]
    assert parse_values("initial_capital", "1e4:3e4:1e4") == [1e4, 2e4, 3e4]


def test_mixed_radix_decoding_last_axis_fastest():
    g = Grid.parse({"confidence_threshold": [0.4, 0.5, 0.6], "commission": [0.0, 0.001]}, CLS)
    assert g.size == 6 and g.shape == (3, 2)
    cols = g.decode(np.arange(6))
    assert cols["confidence_threshold"].tolist() == [0.4, 0.4, 0.5, 0.5, 0.6, 0.6]
    assert cols["commission"].tolist() == [0.0, 0.001] * 3
    p = g.row_params(CLS, 3)
    assert (p.decisions.confidence_threshold, p.execution.commission) == (0.5, 0.001)


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"comission": [0.001]}, r"grid\.comission: not a sweepable parameter"),
        ({"warmup_bars": [10]}, r"grid\.warmup_bars: not a sweepable parameter"),
        ({"commission": []}, r"grid\.commission: no values"),
        ({"commission": ""}, r"grid\.commission: no values"),
        ({"commission": [0.001, 2.0]}, r"grid\.commission = 2\.0: .*less than 1"),
        ({"confidence_threshold": [-0.1]}, r"grid\.confidence_threshold = -0\.1"),
        ({"commission": [float("nan")]}, r"grid\.commission = nan: not a number"),
        ({"initial_capital": [0]}, r"grid\.initial_capital = 0: .*greater than 0"),
        ({"commission": [0.001, 0.001]}, r"grid\.commission = 0\.001: given twice"),
        ({"commission": "a,b"}, r"grid\.commission: 'a' is not a number"),
        ({"commission": "0.002:0.001:0.001"}, r"grid\.commission: range .* stop >= start"),
        ({"commission": "0:1:0"}, r"grid\.commission: range .* step > 0"),
        ({"commission": {"start": 0, "stop": 1}}, r"grid\.commission: a range needs"),
        ({"position_awareness": [1]}, r"grid\.position_awareness = 1: must be true or false"),
        ({"position_awareness": "yes"}, r"grid\.position_awareness: 'yes' is not true or false"),
        ({"min_edge_multiplier": [1, 2]}, r"grid\.min_edge_multiplier: only a regression model"),
        ({}, r"grid: give at least one parameter"),
    ],
)
def test_bad_grid_names_the_parameter_and_value(grid, message):
    with pytest.raises(ConfigError, match=message):
        Grid.parse(grid, CLS)


def test_parameters_without_effect_on_a_regression_model_are_refused():
    with pytest.raises(ConfigError, match=r"grid\.confidence_threshold: has no effect"):
        Grid.parse({"confidence_threshold": [0.5]}, REG)
    Grid.parse({"min_edge_multiplier": [1, 2], "round_trip_cost": [0.001]}, REG)
    regime = ScanParams().with_values(output_type="regime_classification")
    with pytest.raises(ConfigError, match="never trades"):
        Grid.parse({"commission": [0.001]}, regime)


def test_constraint_expression_and_callable_agree():
    g = Grid.parse({"commission": "0:0.003:0.001", "slippage": "0:0.003:0.001"}, CLS)
    by_text = select(g, CLS, "slippage <= commission / 2 or commission == 0")
    by_call = select(g, CLS, lambda p: p.slippage <= p.commission / 2 or p.commission == 0)
    assert by_text.tolist() == by_call.tolist()
    cols = g.decode(by_text)
    assert np.all((cols["slippage"] <= cols["commission"] / 2) | (cols["commission"] == 0))
    assert 0 < len(by_text) < g.size
    # unswept parameters read as their base value; chained comparisons and not work: only
    # commission 0.002 lies in (0.001, 0.002], so 3 of 4 commissions x 4 slippages remain
    kept = select(g, CLS, "position_fraction == 0.25 and not 0.001 < commission <= 0.002")
    assert len(kept) == 12 and 0.002 not in g.decode(kept)["commission"]


@pytest.mark.parametrize(
    "expr, message",
    [
        ("__import__('os').system('x')", "Call is not allowed"),
        ("commission.real > 0", "Attribute is not allowed"),
        ("bogus > 1", "unknown parameter 'bogus'"),
        ("commission > 'a'", "is not a number"),
        ("commission >", "not an expression"),
        ("[x for x in ()]", "ListComp is not allowed"),
    ],
)
def test_constraint_cannot_run_code(expr, message):
    g = Grid.parse({"commission": [0.0, 0.001]}, CLS)
    with pytest.raises(ConfigError, match=message):
        select(g, CLS, expr)


def test_constraint_that_keeps_nothing_is_an_error():
    g = Grid.parse({"commission": [0.0, 0.001]}, CLS)
    with pytest.raises(ConfigError, match="no combination"):
        select(g, CLS, "commission > 1")


def test_max_combos_is_a_seeded_subset_of_what_the_constraint_keeps():
    g = Grid.parse({"commission": "0:0.009:0.001", "slippage": "0:0.009:0.001"}, CLS)
    keep = set(select(g, CLS, "slippage < commission").tolist())
    a = select(g, CLS, "slippage < commission", max_combos=10, seed=3)
    b = select(g, CLS, "slippage < commission", max_combos=10, seed=3)
    c = select(g, CLS, "slippage < commission", max_combos=10, seed=4)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert len(a) == 10 and set(a.tolist()) <= keep and np.all(np.diff(a) > 0)
    assert len(select(g, CLS, max_combos=1000)) == g.size  # more than the grid: all of it
    with pytest.raises(ConfigError, match="max_combos = 0"):
        select(g, CLS, max_combos=0)


def test_a_billion_point_grid_costs_nothing_to_describe():
    axes = {name: list(np.linspace(0, 0.009, 10)) for name in ("commission", "slippage")}
    axes |= {"confidence_threshold": list(np.linspace(0, 0.999, 1000)),
             "initial_capital": list(np.linspace(1e4, 1e6, 1000))}  # fmt: skip
    g = Grid.parse(axes, CLS)
    assert g.size == 10**8
    g = Grid.parse({**axes, "position_fraction": list(np.linspace(0.1, 1, 10))}, CLS)
    assert g.size == 10**9
    tracemalloc.start()
    idx = select(g, CLS, "slippage <= commission", max_combos=500, seed=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20  # no billion-element array is ever made (it would take 8 GB)
    cols = g.decode(idx)
    assert len(idx) == 500 and np.all(cols["slippage"] <= cols["commission"])
    with pytest.raises(ConfigError, match="set max_combos"):
        select(g, CLS)


def test_risk_exits_sweep_with_off_as_none():
    g = Grid.parse({"stop_loss": "off,0.01,0.02", "max_holding_bars": [None, 5]}, CLS)
    assert g.values == ((None, 0.01, 0.02), (None, 5))
    cols = g.decode(np.arange(6))
    assert np.isnan(cols["stop_loss"][:2]).all() and cols["max_holding_bars"].tolist()[:2] == [
        pytest.approx(float("nan"), nan_ok=True), 5.0]  # fmt: skip
    rec = g.records(CLS, np.arange(6))
    assert rec["stop_loss"].tolist() == [0, 0, 0.01, 0.01, 0.02, 0.02]  # off is 0 in the kernel
    assert rec["max_holding_bars"].tolist() == [0, 5, 0, 5, 0, 5]
    assert g.row_params(CLS, 0).execution.stop_loss is None
    assert g.row_params(CLS, 5).execution.max_holding_bars == 5
    # a constraint and a callable see off as NaN / None
    assert select(g, CLS, "stop_loss > 0.015").tolist() == [4, 5]
    assert select(g, CLS, lambda p: p.stop_loss is None).tolist() == [0, 1]
    with pytest.raises(ConfigError, match=r"grid\.commission = None: only a risk exit"):
        Grid.parse({"commission": [None]}, CLS)
    with pytest.raises(ConfigError, match=r"grid\.max_holding_bars: '2\.5' is not a whole number"):
        Grid.parse({"max_holding_bars": "2.5"}, CLS)
    with pytest.raises(ConfigError, match=r"grid\.stop_loss = 1\.5"):
        Grid.parse({"stop_loss": [1.5]}, CLS)


def test_signal_counts_for_one_threshold_and_for_many_agree():
    from vbt.sim import ScanInputs
    from vbt.sim.funnel import signal_counts

    rng = np.random.default_rng(5)
    n = 2000
    conf = rng.random(n).astype(np.float32)
    conf[:50] = np.float32(0.3)  # exactly at a threshold that float32 cannot hold
    value = rng.normal(0, 0.01, n).astype(np.float32)
    x = ScanInputs(np.arange(n) * 10**9, np.ones(n), np.ones(n),
                   rng.integers(-1, 2, n).astype(np.int8), conf, value)  # fmt: skip
    thresholds = np.array([0.0, 0.3, 0.5, 0.99])
    for reg in (False, True):
        many = signal_counts(x, 10, reg, thresholds, thresholds / 50)
        for k, t in enumerate(thresholds):
            one = signal_counts(x, 10, reg, t, t / 50)
            assert {key: v[0] for key, v in one.items()} == pytest.approx(
                {key: v[k] for key, v in many.items()}, nan_ok=True
            )
    # the count compares in float64, as the scan: float32(0.3) < 0.3 is False, not True
    low = signal_counts(x, 0, False, 0.3, 0.0)["removed_by_confidence"][0]
    signalled = x.raw != 0
    assert low == np.count_nonzero(signalled & (conf.astype(np.float64) < 0.3))
