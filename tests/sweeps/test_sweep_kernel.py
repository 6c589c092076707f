"""The sweep kernel against single scans: every combination of a random grid, on random data and
signals (classification and regression), equals a single run with that combination's parameters,
with any chunking, any block size and any number of threads, and after a cancel and resume."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from vbt.errors import CancelledError, ConfigError
from vbt.metrics import finish_metrics, json_safe, metrics_dict
from vbt.sim import ScanInputs, ScanParams, run_scan
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.runner import load_sweep_checkpoint, run_sweep

H = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000 // H * H

AXES = {
    "confidence_threshold": st.floats(0, 1),
    "min_signal_separation": st.integers(0, 6).map(lambda k: k * 0.5),
    "position_awareness": st.booleans(),
    "allow_short_from_flat": st.booleans(),
    "round_trip_cost": st.floats(0, 0.01),
    "min_edge_multiplier": st.floats(0, 3),
    "position_fraction": st.floats(0.01, 1),
    "commission": st.floats(0, 0.01),
    "slippage": st.floats(0, 0.01),
    "initial_capital": st.floats(1, 1e6),
    # risk exits: None is off
    "stop_loss": st.none() | st.floats(0.005, 0.2),
    "take_profit": st.none() | st.floats(0.005, 0.3),
    "trailing_stop": st.none() | st.floats(0.005, 0.2),
    "max_holding_bars": st.none() | st.integers(1, 10),
}
CLASSIFICATION = [k for k in AXES if k not in ("round_trip_cost", "min_edge_multiplier")]
REGRESSION = [k for k in AXES if k not in ("confidence_threshold", "allow_short_from_flat")]


def random_inputs(rng, n):
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.01, n))
    ts = T0 + np.cumsum(rng.integers(1, 4, n)) * H
    raw = rng.choice(np.array([-1, 0, 1], np.int8), n, p=[0.2, 0.6, 0.2])
    conf = rng.random(n).astype(np.float32)
    value = rng.normal(0, 0.01, n).astype(np.float32)
    value[rng.random(n) < 0.05] = np.nan
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.02, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.02, n)))
    return ScanInputs(ts, open_, close, raw, conf, value, high=high, low=low)


@st.composite
def sweeps(draw):
    regression = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(REGRESSION if regression else CLASSIFICATION),
                          min_size=1, max_size=4, unique=True))  # fmt: skip
    grid = {name: draw(st.lists(AXES[name], min_size=1, max_size=3, unique=True)) for name in names}
    fmt = "regression" if regression else "classification"
    base = ScanParams().with_values(
        output_type=fmt, output_format=fmt, warmup_bars=draw(st.integers(0, 5)),
        min_signal_separation=draw(st.sampled_from([0.0, 1.0, 4.0])),
    )  # fmt: skip
    n = draw(st.integers(1, 150))
    seed = draw(st.integers(0, 2**32 - 1))
    chunk = draw(st.integers(1, n + 2))
    block = draw(st.integers(1, 8))
    return grid, base, n, seed, chunk, block


def single_metrics(inputs, params, span, chunk):
    res = run_scan(inputs, params, chunk_bars=chunk)
    return metrics_dict(res.acc, params.execution.initial_capital, span, len(inputs))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(sweeps())
def test_every_combination_equals_a_single_run(case):
    grid_spec, base, n, seed, chunk, block = case
    inputs = random_inputs(np.random.default_rng(seed), n)
    grid = Grid.parse(grid_spec, base)
    combos = select(grid, base)
    accs = run_sweep(inputs, base, grid, combos, chunk_bars=chunk, block_combos=block, threads=1)
    span = int(inputs.ts_ns[-1] + base.bar_ns - inputs.ts_ns[0])
    capital = grid.decode(combos).get("initial_capital", base.execution.initial_capital)
    cols = finish_metrics(accs, capital, span, n)
    records = grid.records(base, combos)
    for row, combo in enumerate(combos):
        params = grid.row_params(base, int(combo))
        # the kernel's parameters are decoded exactly as the single run builds them
        assert records[row : row + 1].tobytes() == params.to_record().tobytes()
        single = single_metrics(inputs, params, span, max(1, n // 3))
        swept = {k: json_safe(v[row]) for k, v in cols.items()}
        assert swept == single, params  # integers and floats alike: identical, not close


def test_threads_blocks_and_chunks_do_not_change_a_bit():
    rng = np.random.default_rng(7)
    inputs = random_inputs(rng, 3000)
    base = ScanParams().with_values(warmup_bars=10, min_signal_separation=1.0)
    grid = Grid.parse({"confidence_threshold": "0.3:0.7:0.05", "commission": [0, 0.001, 0.003],
                       "allow_short_from_flat": [True, False]}, base)  # fmt: skip
    combos = select(grid, base)
    one = run_sweep(inputs, base, grid, combos, chunk_bars=3000, threads=1)
    two = run_sweep(inputs, base, grid, combos, chunk_bars=257, block_combos=7, threads=2)
    assert one.tobytes() == two.tobytes()
    assert len(set(one["trades"].tolist())) > 5  # the grid really changes the outcome


@pytest.mark.parametrize("cut", [1, 3, 9])
def test_cancel_and_resume_at_a_chunk_is_exact(tmp_path, cut):
    rng = np.random.default_rng(cut)
    inputs = random_inputs(rng, 2000)
    base = ScanParams().with_values(warmup_bars=5)
    grid = Grid.parse({"slippage": [0, 0.001, 0.002], "position_fraction": [0.1, 0.5, 1.0]}, base)
    combos = select(grid, base)
    kw = dict(chunk_bars=300, block_combos=4, threads=2, fingerprint="fp")
    whole = run_sweep(inputs, base, grid, combos, **kw)
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > cut

    ck = tmp_path / "sweep.ckpt.npz"
    with pytest.raises(CancelledError, match="checkpoint written"):
        run_sweep(inputs, base, grid, combos, cancel=cancel, checkpoint=ck, **kw)
    saved = load_sweep_checkpoint(ck)
    assert saved.done.shape[0] + saved.states.shape[0] <= len(combos)
    resumed = run_sweep(inputs, base, grid, combos, resume_from=ck, **kw)
    assert resumed.tobytes() == whole.tobytes()
    # a checkpoint of another run, grid or combination set is refused
    with pytest.raises(ConfigError, match="another run"):
        run_sweep(inputs, base, grid, combos, resume_from=ck, **{**kw, "fingerprint": "x"})
    other = Grid.parse({"slippage": [0, 0.001], "position_fraction": [0.1, 0.5, 1.0]}, base)
    with pytest.raises(ConfigError, match="another grid"):
        run_sweep(inputs, base, other, select(other, base), resume_from=ck, **kw)


def test_progress_counts_combination_bars():
    inputs = random_inputs(np.random.default_rng(1), 1000)
    base = ScanParams()
    grid = Grid.parse({"commission": [0, 0.001, 0.002]}, base)
    seen = []
    run_sweep(inputs, base, grid, select(grid, base), chunk_bars=400, block_combos=2,
              progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert seen == [(800, 3000), (1600, 3000), (2000, 3000), (2400, 3000), (2800, 3000),
                    (3000, 3000)]  # fmt: skip
