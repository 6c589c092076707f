"""Property tests: the Numba scan equals the plain-Python reference engine exactly."""

import math

import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis.extra.numpy import arrays
from reference_engine import Params, run_reference

from vbt.sim import TRADE_DTYPE, ScanInputs, ScanParams, run_scan

MIN_NS = 60_000_000_000
T0 = 1_700_000_000_000_000_000


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 120))
    steps = draw(arrays(np.float64, n, elements=st.floats(-0.25, 0.25), fill=st.nothing()))
    gaps = draw(arrays(np.float64, n, elements=st.floats(-0.15, 0.15), fill=st.nothing()))
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(gaps)
    raw = draw(arrays(np.int8, n, elements=st.sampled_from([-1, 0, 1]), fill=st.nothing()))
    # Signal density: dense, or sparse with long HOLD runs (the scan's fast path for such runs).
    density = draw(st.sampled_from([1.0, 0.3, 0.05]))
    keep = draw(
        arrays(np.float64, n, elements=st.floats(0, 1, exclude_max=True), fill=st.nothing())
    )
    raw = np.where(keep < density, raw, 0).astype(np.int8)
    conf_elems = st.one_of(st.sampled_from([0.25, 0.5, 0.75, 1.0]), st.floats(0, 1, width=32))
    conf = draw(arrays(np.float32, n, elements=conf_elems, fill=st.nothing()))
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
    )
    chunk = draw(st.integers(1, n + 2))
    return ts, open_, close, raw, conf, p, chunk


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
    ts, open_, close, raw, conf, p, chunk = case
    params = ScanParams(**vars(p))
    res = run_scan(ScanInputs(ts, open_, close, raw, conf), params, chunk_bars=chunk)
    ref_trades, ref_equity, ref_position = run_reference(ts, open_, close, raw, conf, p)

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
    if (res.trades["exit_reason"] == 1).any():
        event("force close")

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
