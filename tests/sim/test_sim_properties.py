"""Property tests: the Numba scan equals the plain-Python reference engine exactly, and its
running metric accumulators agree with the metric formulas applied to the reference's arrays."""

import math

import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis.extra.numpy import arrays
from reference_engine import Params, run_reference
from reference_metrics import reference_metrics

from vbt.metrics import INTEGER_METRICS, METRIC_NAMES, metrics_dict
from vbt.params import DecisionParams, ExecutionParams
from vbt.sim import TRADE_DTYPE, ScanInputs, ScanParams, run_scan
from vbt.sim.funnel import signal_counts

HOUR_NS = 3_600_000_000_000


def scan_params(p: Params) -> ScanParams:
    """The reference's flat parameters as the engine's ScanParams."""
    fmt = "regression" if p.is_regression else "classification"
    return ScanParams(
        decisions=DecisionParams(
            output_type=fmt, output_format=fmt, confidence_threshold=p.confidence_threshold,
            min_signal_separation=p.min_separation_ns / HOUR_NS,
            position_awareness=p.position_awareness,
            allow_short_from_flat=p.allow_short_from_flat,
            round_trip_cost=p.regression_threshold, min_edge_multiplier=1.0,
        ),
        execution=ExecutionParams(
            initial_capital=p.initial_cash, commission=p.commission, slippage=p.slippage,
            position_fraction=p.position_fraction, warmup_bars=p.warmup_bars,
            stop_loss=p.stop_loss or None, take_profit=p.take_profit or None,
            trailing_stop=p.trailing_stop or None, max_holding_bars=p.max_holding_bars or None,
        ),
        bar_ns=p.bar_ns,
    )  # fmt: skip


def assert_metrics_agree(got: dict, want: dict, rel: float = 1e-9) -> None:
    """Integer metrics exactly; float metrics to ``rel`` (the accumulators sum in another order);
    undefined (None) in both or neither."""
    assert set(got) == set(METRIC_NAMES) == set(want)
    for k in METRIC_NAMES:
        w = want[k]
        if k in INTEGER_METRICS or w is None or got[k] is None:
            assert got[k] == w, (k, got[k], w)
        else:
            assert abs(got[k] - w) <= rel * max(abs(w), abs(got[k])) + 1e-12, (k, got[k], w)


MIN_NS = 60_000_000_000
T0 = 1_700_000_000_000_000_000


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 120))
    steps = draw(arrays(np.float64, n, elements=st.floats(-0.25, 0.25), fill=st.nothing()))
    gaps = draw(arrays(np.float64, n, elements=st.floats(-0.15, 0.15), fill=st.nothing()))
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(gaps)
    wick = draw(arrays(np.float64, (2, n), elements=st.floats(0, 0.1), fill=st.nothing()))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    raw = draw(arrays(np.int8, n, elements=st.sampled_from([-1, 0, 1]), fill=st.nothing()))
    # Signal density: dense, or sparse with long HOLD runs (the scan's fast path for such runs).
    density = draw(st.sampled_from([1.0, 0.3, 0.05]))
    keep = draw(
        arrays(np.float64, n, elements=st.floats(0, 1, exclude_max=True), fill=st.nothing())
    )
    raw = np.where(keep < density, raw, 0).astype(np.int8)
    conf_elems = st.one_of(st.sampled_from([0.25, 0.5, 0.75, 1.0]), st.floats(0, 1, width=32))
    conf = draw(arrays(np.float32, n, elements=conf_elems, fill=st.nothing()))
    value_elems = st.one_of(
        st.sampled_from([0.0, 0.0045, -0.0045, 0.01, -0.01, float("nan")]),
        st.floats(-0.03125, 0.03125, width=32),
    )
    value = draw(arrays(np.float32, n, elements=value_elems, fill=st.nothing()))
    # bar gaps in half hours so the separation boundary (a multiple of 30 min) is hit exactly
    gap = draw(arrays(np.int64, n, elements=st.integers(1, 8))) * 30 * MIN_NS
    ts = T0 + np.cumsum(gap)
    p = Params(
        initial_cash=draw(st.sampled_from([5e3, 1e5]) | st.floats(2e3, 1e6) | st.floats(1, 2e3)),
        commission=draw(st.sampled_from([0.0, 0.001, 0.01]) | st.floats(0, 0.01)),
        slippage=draw(st.sampled_from([0.0, 0.0005, 0.01]) | st.floats(0, 0.01)),
        position_fraction=draw(st.sampled_from([0.25, 1.0]) | st.floats(0.01, 1.0)),
        warmup_bars=draw(st.integers(0, 3) | st.integers(0, n + 1)),
        bar_ns=30 * MIN_NS,
        is_regression=draw(st.booleans()),
        confidence_threshold=draw(st.sampled_from([0.0, 0.5, 0.75]) | st.floats(0, 1)),
        min_separation_ns=draw(st.just(0) | st.integers(0, 4) | st.integers(0, 20)) * 30 * MIN_NS,
        position_awareness=draw(st.booleans()),
        allow_short_from_flat=draw(st.booleans()),
        regression_threshold=draw(st.sampled_from([0.0, 0.0045]) | st.floats(0, 0.02)),
        # risk exits: each off or at a level that random prices often reach
        stop_loss=draw(st.just(0.0) | st.floats(0.005, 0.2)),
        take_profit=draw(st.just(0.0) | st.floats(0.005, 0.3)),
        trailing_stop=draw(st.just(0.0) | st.floats(0.005, 0.2)),
        max_holding_bars=draw(st.just(0) | st.integers(1, 10)),
    )
    chunk = draw(st.integers(1, n + 2))
    return ts, open_, high, low, close, raw, conf, value, p, chunk


def as_records(trades):
    out = np.zeros(len(trades), dtype=TRADE_DTYPE)
    for k, t in enumerate(trades):
        for name in TRADE_DTYPE.names:
            out[k][name] = t[name]
    return out


@settings(
    max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(scenarios())
def test_scan_equals_reference(case):
    ts, open_, high, low, close, raw, conf, value, p, chunk = case
    params = scan_params(p)
    inputs = ScanInputs(ts, open_, close, raw, conf, value, high=high, low=low)
    res = run_scan(inputs, params, chunk_bars=chunk)
    ref_trades, ref_equity, ref_position, ref_funnel = run_reference(
        ts, open_, close, raw, conf, p, value, high=high, low=low
    )

    expected = as_records(ref_trades)
    assert res.trades.shape == expected.shape
    for name in TRADE_DTYPE.names:  # exact equality, NaN == NaN
        np.testing.assert_array_equal(res.trades[name], expected[name], err_msg=name)
    # same operation order as the reference, so the equity is exactly equal too (spec: 1e-9 rel)
    np.testing.assert_array_equal(res.equity, np.array(ref_equity))
    np.testing.assert_array_equal(res.position, np.array(ref_position, dtype=np.int8))

    event(f"trades: {min(len(res.trades), 3)}{'+' if len(res.trades) >= 3 else ''}")
    if (res.trades["side"] == -1).any():
        event("short trade")
    for code in np.unique(res.trades["exit_reason"]):
        event(f"exit reason {code}")

    # the running accumulators agree with the formulas over the reference's arrays
    w = min(p.warmup_bars, len(ts))
    span = int(ts[-1] + p.bar_ns - ts[0])
    want = reference_metrics(
        np.array(ref_equity[w:]), np.array(ref_position[w:], dtype=np.int8), expected,
        p.initial_cash, span, len(ts),
    )  # fmt: skip
    want.update(ref_funnel)
    d = params.decisions
    signals = signal_counts(
        inputs, p.warmup_bars, d.is_regression, d.confidence_threshold, d.regression_threshold
    )
    assert_metrics_agree(metrics_dict(res.acc, p.initial_cash, span, len(ts), None, signals), want)
    # and the scan without per-bar outputs keeps the same state and accumulators, bit for bit
    lean = run_scan(inputs, params, chunk_bars=chunk, record=False)
    assert lean.acc.tobytes() == res.acc.tobytes() and lean.state.tobytes() == res.state.tobytes()
    assert lean.trades.size == 0 and lean.equity.size == 0

    # invariants
    t = res.trades
    assert np.all(t["mfe"] >= 0) and np.all(t["mae"] <= 0)
    assert np.all(t["exit_idx"] > t["entry_idx"] - (t["exit_reason"] == 1))
    assert np.all(t["qty"] > 0) and np.all(t["qty"] == np.floor(t["qty"]))
    assert res.state[0]["done"] and res.state[0]["pending_signal"] == 0
    if len(ts) > p.warmup_bars:
        # all money is accounted for: final cash = initial + sum of net P&L
        final = res.equity[-1]
        assert math.isclose(final, p.initial_cash + t["net_pnl"].sum(), rel_tol=1e-9, abs_tol=1e-6)
        assert res.position[-1] == 0
    else:
        assert np.isnan(res.equity).all() and len(t) == 0
