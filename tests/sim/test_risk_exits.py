"""Risk exits, hand-computed: every expected number is worked out in the test.

Unless a test says otherwise: cash 10,000, position_fraction 0.25, no costs, no warm-up, no
separation, hourly bars from T0; a BUY at bar 0 enters at bar 1's open of 100, so
qty = floor(0.25 * 10,000 / 100) = 25.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vbt.enums import (
    BUY,
    EXIT_END_OF_DATA,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TIME_STOP,
    EXIT_TRAILING_STOP,
    HOLD,
    LONG,
    SELL,
    SHORT,
)
from vbt.errors import ConfigError
from vbt.metrics import METRIC_NAMES, metrics_dict
from vbt.sim import ScanInputs, ScanParams, run_scan

H = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000 // H * H


def scan(raw, open_, high=None, low=None, close=None, **kw):
    n = len(raw)
    close = open_ if close is None else close
    high = [max(o, c) for o, c in zip(open_, close, strict=True)] if high is None else high
    low = [min(o, c) for o, c in zip(open_, close, strict=True)] if low is None else low
    params = dict(initial_capital=10_000.0, commission=0.0, slippage=0.0, position_fraction=0.25,
                  warmup_bars=0, min_signal_separation=0)  # fmt: skip
    params.update(kw)
    f = np.array
    inputs = ScanInputs(
        f([T0 + i * H for i in range(n)], np.int64), f(open_, float), f(close, float),
        f(raw, np.int8), np.full(n, 0.9, np.float32), high=f(high, float), low=f(low, float),
    )  # fmt: skip
    return run_scan(inputs, ScanParams().with_values(**params))


def only_trade(res):
    assert len(res.trades) >= 1
    return res.trades[0]


def test_long_stop_loss_during_the_bar_fills_at_the_level():
    # level 100 * (1 - 0.05) = 95; bar 2 trades down to 94 without opening below 95
    res = scan([BUY, HOLD, HOLD, HOLD], open_=[100, 100, 99, 96], low=[100, 99, 94, 95],
               close=[100, 99, 96, 96], stop_loss=0.05)  # fmt: skip
    t = only_trade(res)
    assert (t["exit_reason"], t["exit_idx"], t["bars_held"]) == (EXIT_STOP_LOSS, 2, 1)
    assert t["exit_price"] == 95.0 and t["net_pnl"] == pytest.approx((95 - 100) * 25)
    assert t["exit_ts"] == T0 + 2 * H and np.isnan(t["exit_confidence"])
    assert res.position.tolist() == [0, LONG, 0, 0]
    assert res.equity[2] == pytest.approx(10_000 - 125)


def test_a_gap_through_the_stop_fills_at_the_open():
    res = scan([BUY, HOLD, HOLD], open_=[100, 100, 90], close=[100, 100, 91], stop_loss=0.05)
    t = only_trade(res)
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, 90.0)
    assert t["net_pnl"] == pytest.approx(-250.0)


def test_take_profit_long_and_gap_through_the_target():
    # target 100 * 1.1 = 110: touched at 111 during bar 2
    t = only_trade(scan([BUY, HOLD, HOLD], open_=[100, 100, 105], high=[100, 101, 111],
                        close=[100, 100, 106], take_profit=0.1))  # fmt: skip
    assert (t["exit_reason"], t["exit_idx"]) == (EXIT_TAKE_PROFIT, 2)
    assert t["exit_price"] == 100 * (1 + 0.1)  # the level, computed as the rule says
    assert t["net_pnl"] == pytest.approx(250.0)
    # bar 2 opens at 115, beyond the target: filled at the open, the trader keeps the gap
    t = only_trade(scan([BUY, HOLD, HOLD], open_=[100, 100, 115], close=[100, 100, 116],
                        take_profit=0.1))  # fmt: skip
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_TAKE_PROFIT, 115.0)


def test_a_bar_that_touches_both_levels_fills_the_stop():
    t = only_trade(scan([BUY, HOLD, HOLD], open_=[100, 100, 100], high=[100, 100, 120],
                        low=[100, 100, 80], stop_loss=0.05, take_profit=0.1))  # fmt: skip
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, 95.0)


def test_short_stop_and_target():
    kw = dict(allow_short_from_flat=True)
    # short from 100: stop 105, target 90
    t = only_trade(scan([SELL, HOLD, HOLD], open_=[100, 100, 101], high=[100, 100, 106],
                        low=[100, 100, 100], stop_loss=0.05, **kw))  # fmt: skip
    assert t["side"] == SHORT and (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, 105.0)
    assert t["net_pnl"] == pytest.approx((100 - 105) * 25)
    t = only_trade(scan([SELL, HOLD, HOLD], open_=[100, 100, 95], high=[100, 100, 96],
                        low=[100, 100, 89], take_profit=0.1, **kw))  # fmt: skip
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_TAKE_PROFIT, 90.0)
    assert t["net_pnl"] == pytest.approx((100 - 90) * 25)
    # a gap up through the short's stop fills at the open
    t = only_trade(scan([SELL, HOLD, HOLD], open_=[100, 100, 110], stop_loss=0.05, **kw))
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, 110.0)


def test_trailing_stop_ratchets_on_closes():
    # long from 100 (bar 1's open); closes 104 (bar 1), 108 (bar 2), then bar 3 dips to 102.
    # at bar 2 the level is 104 * 0.95 = 98.8 (low 103: held); at bar 3 it is 108 * 0.95 = 102.6
    # (low 102: out at 102.6), above the fixed stop of 100 * 0.9 = 90, so the reason is trailing
    res = scan([BUY, HOLD, HOLD, HOLD], open_=[100, 100, 104, 107], high=[100, 105, 109, 107],
               low=[100, 99, 103, 102], close=[100, 104, 108, 103], trailing_stop=0.05,
               stop_loss=0.1)  # fmt: skip
    t = only_trade(res)
    assert (t["exit_reason"], t["exit_idx"]) == (EXIT_TRAILING_STOP, 3)
    assert t["exit_price"] == pytest.approx(108 * 0.95)
    assert t["net_pnl"] == pytest.approx((108 * 0.95 - 100) * 25)
    # short: the level trails the lowest close from above
    res = scan([SELL, HOLD, HOLD, HOLD], open_=[100, 100, 96, 93], high=[100, 100, 97, 98],
               low=[100, 95, 91, 93], close=[100, 96, 92, 97], trailing_stop=0.05,
               allow_short_from_flat=True)  # fmt: skip
    t = only_trade(res)
    # bar 2: level 96 * 1.05 = 100.8 (high 97: held); bar 3: 92 * 1.05 = 96.6 (high 98: out)
    assert (t["exit_reason"], t["exit_idx"]) == (EXIT_TRAILING_STOP, 3)
    assert t["exit_price"] == pytest.approx(92 * 1.05)


def test_time_stop_closes_at_the_open_after_max_holding_bars():
    res = scan([BUY, HOLD, HOLD, HOLD, HOLD], open_=[100, 100, 101, 102, 103], max_holding_bars=2)
    t = only_trade(res)
    # entered at bar 1's open; held bars 1 and 2; out at bar 3's open
    assert (t["exit_reason"], t["exit_idx"], t["bars_held"]) == (EXIT_TIME_STOP, 3, 2)
    assert t["exit_price"] == 102.0 and t["net_pnl"] == pytest.approx(2 * 25)


def test_levels_are_checked_from_the_bar_after_entry():
    # bar 1 (the entry bar) trades down to 50, far below the stop: no exit on the entry bar
    res = scan([BUY, HOLD, HOLD], open_=[100, 100, 100], low=[100, 50, 99], stop_loss=0.05)
    t = only_trade(res)
    assert t["exit_reason"] == EXIT_END_OF_DATA


def test_slippage_works_against_the_trader_on_a_risk_exit():
    res = scan([BUY, HOLD, HOLD], open_=[100, 100, 99], low=[100, 100, 90], stop_loss=0.05,
               slippage=0.01)  # fmt: skip
    t = only_trade(res)
    # entry fill 101, qty floor(2500 / 100) = 25; level 101 * 0.95 = 95.95, fill 95.95 * 0.99
    assert t["entry_price"] == pytest.approx(101.0)
    assert t["exit_price"] == pytest.approx(101 * 0.95 * 0.99)
    assert t["slippage_cost"] == pytest.approx(25 * 1.0 + 25 * 101 * 0.95 * 0.01)


def test_a_risk_exit_counts_for_the_separation_filter():
    # 3 h separation: entry at bar 1 (T0 + 1h), stopped out during bar 2 (T0 + 2h); the BUYs at
    # bars 2..4 are within 3 h of T0 + 2h; the one at bar 5 (T0 + 5h) passes -> entry at bar 6
    raw = [BUY, HOLD, BUY, BUY, BUY, BUY, HOLD, HOLD]
    res = scan(raw, open_=[100] * 8, low=[100, 100, 90, 100, 100, 100, 100, 100],
               stop_loss=0.05, min_signal_separation=3)  # fmt: skip
    first, second = res.trades
    assert (first["exit_reason"], first["exit_idx"]) == (EXIT_STOP_LOSS, 2)
    assert second["entry_idx"] == 6


def test_a_pending_signal_on_the_bar_of_a_risk_exit():
    kw = dict(stop_loss=0.05, allow_short_from_flat=True)
    # bar 1 decides SELL (to close the long entered at bar 1's open); bar 2 gaps through the
    # stop: the stop closes the long at the open and the pending SELL is dropped (it does not
    # open a short from the now flat position)
    res = scan([BUY, SELL, HOLD, HOLD], open_=[100, 100, 90, 90], **kw)
    (t,) = res.trades
    assert (t["exit_reason"], t["exit_idx"], t["exit_price"]) == (EXIT_STOP_LOSS, 2, 90.0)
    assert res.position.tolist() == [0, LONG, 0, 0]
    # without a gap the pending SELL executes at the open first, as a signal exit, before the
    # bar's low reaches the stop
    res = scan([BUY, SELL, HOLD, HOLD], open_=[100, 100, 99, 99], low=[100, 100, 80, 99], **kw)
    t = res.trades[0]
    assert (t["exit_reason"], t["exit_idx"], t["exit_price"]) == (EXIT_SIGNAL, 2, 99.0)


def test_per_reason_statistics_in_the_metrics():
    raw = [BUY, HOLD, HOLD, BUY, HOLD, HOLD, BUY, HOLD]
    res = scan(raw, open_=[100, 100, 90, 100, 100, 112, 100, 100], stop_loss=0.05,
               take_profit=0.1)  # fmt: skip
    reasons = res.trades["exit_reason"].tolist()
    assert reasons == [EXIT_STOP_LOSS, EXIT_TAKE_PROFIT, EXIT_END_OF_DATA]
    m = metrics_dict(res.acc, 10_000.0, 8 * H, 8)
    assert (m["stop_loss_exits"], m["take_profit_exits"], m["end_of_data_exits"]) == (1, 1, 1)
    assert m["signal_exits"] == m["trailing_stop_exits"] == m["time_stop_exits"] == 0
    assert m["stop_loss_avg_pnl"] == pytest.approx(res.trades["net_pnl"][0])
    assert m["take_profit_avg_pnl"] == pytest.approx(res.trades["net_pnl"][1])


def test_risk_exits_need_high_and_low():
    inputs = ScanInputs(np.arange(3) * H, np.ones(3), np.ones(3), np.zeros(3, np.int8),
                        np.ones(3, np.float32))  # fmt: skip
    with pytest.raises(ConfigError, match="need the bars' high and low"):
        run_scan(inputs, ScanParams().with_values(stop_loss=0.1))
    run_scan(inputs, ScanParams())  # without risk exits they are not needed


@pytest.mark.parametrize(
    "field, value, message",
    [("stop_loss", 0.0, "greater than 0"), ("stop_loss", 1.0, "less than 1"),
     ("trailing_stop", -0.1, "greater than 0"), ("take_profit", float("nan"), "not a number"),
     ("max_holding_bars", 0, "greater than or equal to 1"),
     ("max_holding_bars", 2.5, "integer")],
)  # fmt: skip
def test_bad_risk_values_name_the_field(field, value, message):
    with pytest.raises(ConfigError, match=f"{field} = .*{message}"):
        ScanParams().with_values(**{field: value})


# Results with every risk parameter unset are bit-identical to those of the scan before risk
# exits existed: ``data/scan_before_risk_exits.npz`` holds the inputs and the results that the scan
# at commit 9076d02 (the last commit without them) gave, written by
# ``data/make_scan_before_risk_exits.py``. The inputs are integer ticks, stored with the results,
# so the comparison means the same on every machine: the scan's trades, equity and positions are
# sums and products of those inputs (exact IEEE arithmetic, compared bit for bit); the metrics
# also take powers and logarithms, whose last bit the platform's libm decides (compared to 1e-12).
BEFORE = Path(__file__).parent / "data" / "scan_before_risk_exits.npz"
CASES = [
    {},
    {"allow_short_from_flat": True, "min_signal_separation": 0, "confidence_threshold": 0.3},
    {"output_type": "regression", "output_format": "regression", "position_fraction": 0.9},
]


def test_results_without_risk_exits_are_unchanged():
    before = np.load(BEFORE)
    old_metrics = [str(k) for k in before["metric_names"]]
    assert old_metrics == list(METRIC_NAMES[: len(old_metrics)])
    for seed in (1, 2):
        x = {k: before[f"s{seed}_{k}"] for k in ("ts_ns", "open", "close", "raw", "confidence",
                                                  "value")}  # fmt: skip
        inputs = ScanInputs(
            x["ts_ns"], x["open"], x["close"], x["raw"], x["confidence"], x["value"]
        )
        n = len(x["ts_ns"])
        for c, case in enumerate(CASES):
            key = f"s{seed}_c{c}"
            p = ScanParams().with_values(**case)
            r = run_scan(inputs, p, chunk_bars=777)
            old_trades = before[f"{key}_trades"]
            assert len(old_trades) > 10, key  # the cases trade
            assert r.trades.dtype == old_trades.dtype, key
            assert r.trades.tobytes() == old_trades.tobytes(), key
            assert r.equity.tobytes() == before[f"{key}_equity"].tobytes(), key
            assert r.position.tobytes() == before[f"{key}_position"].tobytes(), key
            span = int(x["ts_ns"][-1] + H - x["ts_ns"][0])
            m = metrics_dict(r.acc, p.execution.initial_capital, span, n)
            got = np.array([float(m[k]) for k in old_metrics])
            np.testing.assert_allclose(got, before[f"{key}_metrics"], rtol=1e-12, atol=0,
                                       err_msg=key)  # fmt: skip
