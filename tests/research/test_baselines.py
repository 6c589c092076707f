"""Random entries keep the strategy's trades (count, sides, holding times) and only move them;
buy-and-hold is one long position; p-values count how often chance did as well."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vbt.enums import LONG, SHORT
from vbt.research import baselines as bl
from vbt.sim.runner import ScanInputs, ScanParams, run_scan


def scan_inputs(n: int, seed: int = 0) -> ScanInputs:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return ScanInputs(ts_ns=np.arange(n, dtype=np.int64) * 3_600_000_000_000, open=open_,
                      close=close, raw=np.zeros(n, np.int8), confidence=np.ones(n, np.float32),
                      high=np.maximum(open_, close) * 1.001, low=np.minimum(open_, close) * 0.999)  # fmt: skip


def params(first: int) -> ScanParams:
    return bl.baseline_params(ScanParams().with_values(warmup_bars=first))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(60, 400),
    first=st.integers(0, 40),
    holds=st.lists(st.integers(1, 30), min_size=0, max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_entries_keep_count_sides_and_holding_times(n, first, holds, seed):
    holds = np.array(holds, dtype=np.int64)
    sides = np.where(np.arange(holds.size) % 3 == 0, SHORT, LONG).astype(np.int8)
    if (holds + 1).sum() > n - 1 - first:
        return  # the shortening rule is tested below
    raw = bl.random_entry_signals(n, first, holds, sides, np.random.default_rng(seed))
    assert not raw[:first].any() and raw[n - 1] == 0
    x = scan_inputs(n)
    x = ScanInputs(**{**x.__dict__, "raw": raw})
    trades = run_scan(x, params(first)).trades
    assert trades.shape[0] == holds.size
    # the same holding times and sides, in some order
    assert sorted(zip(trades["bars_held"], trades["side"], strict=True)) == sorted(
        zip(holds, sides, strict=True)
    )
    assert (trades["exit_reason"] == 0).all()  # every one closed by its exit signal
    assert (trades["entry_idx"] >= first + 1).all()


def test_trades_that_do_not_fit_are_shortened():
    raw = bl.random_entry_signals(50, 0, np.array([40, 40]), np.array([LONG, LONG]),
                                  np.random.default_rng(0))  # fmt: skip
    trades = run_scan(ScanInputs(**{**scan_inputs(50).__dict__, "raw": raw}), params(0)).trades
    assert trades.shape[0] == 2 and trades["bars_held"].sum() == 50 - 1 - 2


def test_random_entries_are_seeded():
    args = (500, 10, np.array([5, 9, 20]), np.array([LONG, SHORT, LONG]))
    a = bl.random_entry_signals(*args, np.random.default_rng(3))
    b = bl.random_entry_signals(*args, np.random.default_rng(3))
    c = bl.random_entry_signals(*args, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_buy_and_hold_is_one_position_to_the_end():
    n, first = 300, 20
    x = ScanInputs(**{**scan_inputs(n).__dict__, "raw": bl.buy_and_hold_signals(n, first)})
    trades = run_scan(x, params(first)).trades
    assert trades.shape[0] == 1
    assert trades["entry_idx"][0] == first + 1 and trades["exit_idx"][0] == n - 1
    assert trades["exit_reason"][0] == 1  # end of data


def test_p_value_counts_how_often_chance_did_as_well():
    sims = np.array([0.1, 0.5, 0.9, np.nan])
    assert bl.p_value(0.5, sims) == (1 + 2) / 5
    assert bl.p_value(2.0, sims) == 1 / 5
    assert bl.p_value(None, sims) is None
