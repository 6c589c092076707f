"""Hand-computed scan scenarios: every expected number is worked out by hand in the test."""

import math

import numpy as np
import pytest

from vbt.enums import BUY, EXIT_END_OF_DATA, EXIT_SIGNAL, FLAT, HOLD, LONG, SELL, SHORT
from vbt.sim import ScanInputs, ScanParams, run_scan

H = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000 // H * H  # an hour boundary
NAN = float("nan")


def scan(raw, conf=None, open_=None, close=None, ts=None, value=None, **kw):
    n = len(raw)
    conf = [0.9] * n if conf is None else conf
    open_ = [100.0] * n if open_ is None else open_
    close = open_ if close is None else close
    ts = [T0 + i * H for i in range(n)] if ts is None else ts
    params = dict(
        initial_capital=10_000.0,
        commission=0.0,
        slippage=0.0,
        position_fraction=0.25,
        warmup_bars=0,
        min_signal_separation=0,
    )
    params.update(kw)
    if params.pop("is_regression", False):
        params.update(output_type="regression", output_format="regression")
    inputs = ScanInputs(
        np.array(ts, dtype=np.int64),
        np.array(open_, dtype=np.float64),
        np.array(close, dtype=np.float64),
        np.array(raw, dtype=np.int8),
        np.array(conf, dtype=np.float32),
        None if value is None else np.array(value, dtype=np.float32),
    )
    return run_scan(inputs, ScanParams().with_values(**params))


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-9)


COSTS = dict(commission=0.001, slippage=0.0005)


def test_long_entry_and_exit():
    res = scan(
        raw=[BUY, HOLD, SELL, HOLD, HOLD],
        conf=[0.8, 0.9, 0.7, 0.9, 0.9],
        open_=[100, 101, 102, 98, 99],
        close=[100, 103, 99, 97, 100],
        **COSTS,
    )
    # bar 1: buy at open 101. qty = floor(0.25*10000/1.001/101) = floor(24.73) = 24
    # fill 101*1.0005 = 101.0505; cost 101.0505*24*1.001 = 2427.637212
    cash1 = 10_000 - 2427.637212  # 7572.362788
    (t,) = res.trades
    assert t["side"] == LONG and t["qty"] == 24
    assert t["entry_idx"] == 1 and t["entry_ts"] == T0 + H
    assert t["entry_price"] == approx(101.0505)
    assert t["entry_commission"] == approx(2.425212)
    # bar 1 close 103: u = 1.9495*24 = 46.788; bar 2 close 99: u = -2.0505*24 = -49.212
    assert t["mfe"] == approx(46.788) and t["mae"] == approx(-49.212)
    # bar 3: sell at open 98: fill 97.951; proceeds 97.951*24*0.999 = 2348.473176
    assert t["exit_idx"] == 3 and t["exit_ts"] == T0 + 3 * H and t["bars_held"] == 2
    assert t["exit_price"] == approx(97.951)
    assert t["exit_commission"] == approx(2.350824)
    assert t["gross_pnl"] == approx(-74.388)  # (97.951 - 101.0505) * 24
    assert t["net_pnl"] == approx(-79.164036)  # -74.388 - 2.425212 - 2.350824
    assert t["return_pct"] == approx(-79.164036 / 2425.212 * 100)
    assert t["slippage_cost"] == approx(2.388)  # 0.0505*24 + 0.049*24
    assert t["exit_reason"] == EXIT_SIGNAL
    assert t["confidence"] == np.float32(0.8) and t["exit_confidence"] == np.float32(0.7)
    cash3 = cash1 + 2348.473176  # 9920.835964
    assert res.equity.tolist() == approx([10_000, cash1 + 103 * 24, cash1 + 99 * 24, cash3, cash3])
    assert res.position.tolist() == [FLAT, LONG, LONG, FLAT, FLAT]
    assert res.equity[-1] == approx(10_000 + t["net_pnl"])


def test_short_entry_and_exit_counts_entry_commission():
    res = scan(
        raw=[SELL, HOLD, BUY, HOLD],
        open_=[100, 100, 97, 95],
        close=[100, 98, 96, 95],
        position_fraction=0.5,
        allow_short_from_flat=True,
        **COSTS,
    )
    # bar 1: short at 100. qty = floor(5000/1.001/100) = 49; fill 99.95;
    # reserve 99.95*49*1.001 = 4902.44755; entry commission 4.89755
    cash1 = 10_000 - 4902.44755  # 5097.55245
    # open short equity = cash + entry*qty + (entry - close)*qty = 10000 - 4.89755 + P&L
    eq1 = cash1 + 4897.55 + 95.55  # close 98: (99.95-98)*49 = 95.55 -> 10090.65245
    eq2 = cash1 + 4897.55 + 193.55  # close 96: 3.95*49
    assert eq1 == approx(10_000 - 4.89755 + 95.55)
    # bar 3: cover at 95: fill 95.0475, exit commission 95.0475*49*0.001 = 4.6573275
    # gross (99.95-95.0475)*49 = 240.2225; cash += 4897.55 + 240.2225 - 4.6573275
    cash3 = cash1 + 4897.55 + 240.2225 - 4.6573275  # 10230.6676225
    (t,) = res.trades
    assert t["side"] == SHORT and t["qty"] == 49
    assert (t["entry_idx"], t["exit_idx"]) == (1, 3)
    assert t["entry_price"] == approx(99.95) and t["exit_price"] == approx(95.0475)
    assert t["gross_pnl"] == approx(240.2225)
    assert t["net_pnl"] == approx(230.6676225)  # 240.2225 - 4.89755 - 4.6573275
    assert t["mfe"] == approx(193.55) and t["mae"] == 0.0
    assert t["slippage_cost"] == approx(0.05 * 49 + 0.0475 * 49)
    assert res.equity.tolist() == approx([10_000, eq1, eq2, cash3])
    assert res.equity[-1] == approx(10_000 + 230.6676225)
    assert res.position.tolist() == [FLAT, SHORT, SHORT, FLAT]


def test_confidence_filter_strict_and_classification_only():
    # conf 0.4999 < 0.5 -> filtered; conf exactly 0.5 is not below -> trades
    assert len(scan([BUY, HOLD], conf=[0.4999, 0.9]).trades) == 0
    res = scan([BUY, HOLD], conf=[0.5, 0.9])
    assert len(res.trades) == 1 and res.trades[0]["entry_idx"] == 1
    # regression ignores filter 1: a predicted return of 0.005 is a BUY (> 0.003 * 1.5) with
    # confidence 0.005 / 0.0135 = 0.37, below the 0.5 threshold, and it trades
    res = scan([HOLD, HOLD], value=[0.005, 0.0], is_regression=True)
    assert len(res.trades) == 1 and res.trades[0]["confidence"] == pytest.approx(0.005 / 0.0135)


def test_separation_boundary():
    raw = [BUY, SELL, SELL, SELL, SELL, HOLD]
    # entry executes at bar 1 (stamp T0+1h); SELL at bar 2 is 1h later (< 2h: filtered),
    # at bar 3 exactly 2h later (not < 2h: passes) -> exit at bar 4's open
    (t,) = scan(raw, min_signal_separation=2).trades
    assert (t["entry_idx"], t["exit_idx"], t["exit_reason"]) == (1, 4, EXIT_SIGNAL)
    # one ns more: bar 3 is filtered too, bar 4 passes -> exit at bar 5
    (t,) = scan(raw, min_signal_separation=(2 * H + 1) / H).trades
    assert (t["entry_idx"], t["exit_idx"]) == (1, 5)
    # without the filter the SELL at bar 1 exits at bar 2
    (t,) = scan(raw, min_signal_separation=0).trades
    assert (t["entry_idx"], t["exit_idx"]) == (1, 2)


def test_separation_uses_bar_time_not_bar_count():
    # a 3h gap between bars 1 and 2: the SELL at bar 2 is 3h after the entry -> passes
    ts = [T0, T0 + H, T0 + 4 * H, T0 + 5 * H]
    (t,) = scan([BUY, HOLD, SELL, HOLD], ts=ts, min_signal_separation=3).trades
    assert t["exit_idx"] == 3 and t["exit_ts"] == T0 + 5 * H


def test_position_awareness():
    # FLAT + SELL, classification: filtered (long only)
    res = scan([SELL, HOLD, HOLD])
    assert len(res.trades) == 0 and (res.position == FLAT).all()
    # ... unless allow_short_from_flat, or regression, or awareness is off
    for kw in (
        dict(allow_short_from_flat=True),
        dict(is_regression=True, value=[-0.01, 0.0, 0.0]),
        dict(position_awareness=False),
    ):
        (t,) = scan([SELL, HOLD, HOLD], **kw).trades
        assert t["side"] == SHORT and t["entry_idx"] == 1 and t["exit_reason"] == EXIT_END_OF_DATA
    # LONG + BUY is filtered: the BUY at bar 1 does not become pending, so the SELL at bar 2 is
    # decided and executes at bar 3
    (t,) = scan([BUY, BUY, SELL, HOLD, HOLD]).trades
    assert (t["entry_idx"], t["exit_idx"]) == (1, 3)


def test_pending_signal_that_no_longer_applies_is_not_executed():
    # awareness off: BUY at bar 0 and bar 1; at bar 2 the second BUY finds a long and does nothing
    res = scan([BUY, BUY, HOLD, HOLD], position_awareness=False)
    (t,) = res.trades
    assert t["entry_idx"] == 1 and t["exit_reason"] == EXIT_END_OF_DATA
    assert res.state[0]["last_trade_ts"] == T0 + H  # the no-op at bar 2 is not a trade


def test_no_reversal_in_one_step():
    res = scan([BUY, SELL, HOLD, HOLD], allow_short_from_flat=True)
    (t,) = res.trades  # the SELL closes the long and does not open a short
    assert (t["side"], t["entry_idx"], t["exit_idx"]) == (LONG, 1, 2)
    assert res.position.tolist() == [FLAT, LONG, FLAT, FLAT]
    # a second SELL is needed to open the short
    res = scan([BUY, SELL, SELL, HOLD], allow_short_from_flat=True)
    assert res.trades["side"].tolist() == [LONG, SHORT]
    assert res.position.tolist() == [FLAT, LONG, FLAT, FLAT]  # short opened at bar 3, force-closed


def test_insufficient_cash_recomputes_qty():
    # fraction 1, no commission, slippage 1%: qty = floor(1000/100) = 10, but 10 * 101 = 1010 >
    # 1000 cash -> qty = floor(1000/101) = 9; cash 1000 - 909 = 91
    res = scan([BUY, HOLD, HOLD], open_=[100, 100, 100], initial_capital=1000.0,
               position_fraction=1.0, slippage=0.01)  # fmt: skip
    (t,) = res.trades
    assert t["qty"] == 9 and t["entry_price"] == approx(101.0)
    assert res.equity[1] == approx(91 + 9 * 100)
    # with commission 0.001: floor(1000/1.001/100) = 9 -> 101*9*1.001 = 909.909 <= cash: kept
    res = scan([BUY, HOLD, HOLD], open_=[100, 100, 100], initial_capital=1000.0,
               position_fraction=1.0, slippage=0.01, commission=0.001)  # fmt: skip
    assert res.trades[0]["qty"] == 9
    assert res.equity[1] == approx(1000 - 909.909 + 900)


def test_zero_qty_is_no_trade_and_keeps_last_trade_time():
    # cash 100, fraction 1: at open 150 qty = floor(100/150) = 0 -> no trade, last trade time
    # untouched, so the BUY decided at bar 1 passes the 10h separation and fills at 50 (qty 2)
    res = scan([BUY, BUY, HOLD, HOLD], open_=[150, 150, 50, 50], initial_capital=100.0,
               position_fraction=1.0, min_signal_separation=10)  # fmt: skip
    (t,) = res.trades
    assert (t["entry_idx"], t["qty"]) == (2, 2)
    assert res.equity.tolist() == approx([100, 100, 100, 100])
    # never able to trade: no trade ever, and no last trade time
    res = scan([BUY, BUY, BUY], open_=[150, 150, 150], initial_capital=100.0, position_fraction=1.0)
    assert len(res.trades) == 0 and not res.state[0]["has_last_trade"]


def test_force_close_at_end_and_last_pending_dropped():
    res = scan(
        raw=[BUY, HOLD, SELL],  # the SELL on the last bar is pending at the end: dropped
        conf=[0.8, 0.9, 0.9],
        open_=[100, 101, 104],
        close=[100, 103, 105],
        **COSTS,
    )
    cash1 = 10_000 - 2427.637212  # as in test_long_entry_and_exit: 24 @ 101.0505
    # last bar: mark at 105 (u = 3.9495*24 = 94.788), then close at 105*0.9995 = 104.9475:
    # proceeds 104.9475*24*0.999 = 2516.22126, exit commission 2.51874
    (t,) = res.trades
    assert t["exit_reason"] == EXIT_END_OF_DATA and math.isnan(t["exit_confidence"])
    assert t["exit_idx"] == 2 and t["bars_held"] == 2  # held through bars 1 and 2
    assert t["exit_ts"] == T0 + 3 * H  # last stamp + bar duration: the last bar's close time
    assert t["exit_price"] == approx(104.9475)
    assert t["exit_commission"] == approx(2.51874)
    assert t["mfe"] == approx(94.788) and t["mae"] == 0.0
    assert t["net_pnl"] == approx((104.9475 - 101.0505) * 24 - 2.425212 - 2.51874)
    assert res.equity.tolist() == approx([10_000, cash1 + 103 * 24, cash1 + 2516.22126])
    assert res.position.tolist() == [FLAT, LONG, FLAT]
    assert res.state[0]["pending_signal"] == HOLD and res.state[0]["done"]


def test_pending_buy_on_last_bar_is_dropped():
    res = scan([HOLD, HOLD, BUY])
    assert len(res.trades) == 0 and res.equity.tolist() == [10_000] * 3


def test_warmup_bars_are_skipped():
    res = scan([BUY, BUY, BUY, BUY, HOLD, HOLD], warmup_bars=3)
    (t,) = res.trades  # decisions at bars 0..2 are ignored; the BUY at bar 3 fills at bar 4
    assert t["entry_idx"] == 4
    assert np.isnan(res.equity[:3]).all() and res.equity[3] == 10_000
    assert res.position.tolist() == [FLAT, FLAT, FLAT, FLAT, LONG, FLAT]
    # warm-up longer than the data: nothing at all
    res = scan([BUY, HOLD], warmup_bars=5)
    assert len(res.trades) == 0 and np.isnan(res.equity).all()
