"""The scan kernels: one sequential pass over the bars, with next-open fills, accounting and the
running metric accumulators.

``scan_bars_nb`` is the one copy of the per-bar rules. It processes bars ``state.next_bar ..
stop - 1`` of one parameter set and updates its state and accumulator records in place, so a run
can be split into chunks (progress, cancellation, checkpoints) with results identical to one pass.
``scan_chunk_nb`` runs it for a single run, writing the per-bar outputs and the trade records;
``vbt.sweeps.nb`` runs it for many parameter sets in parallel, writing none of them. Semantics:
DESIGN.md "Execution and accounting". The filters are ``vbt.decide.rules.decide_nb``. Nothing is
allocated per bar.
"""

import numpy as np

from vbt.decide.rules import decide_nb, regress_one_nb
from vbt.enums import (
    BUY,
    EXIT_END_OF_DATA,
    EXIT_NONE,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TIME_STOP,
    EXIT_TRAILING_STOP,
    FLAT,
    HOLD,
    LONG,
    REASON_POSITION,
    REASON_SEPARATION,
    SELL,
    SHORT,
)
from vbt.jit import njit
from vbt.sim.records import RETURN_BLOCK


@njit(cache=True, nogil=True, error_model="numpy")
def entry_qty_nb(cash, price, fill, position_fraction, commission):
    """Units to buy or sell short at reference ``price`` (fill ``fill``); 0.0 means no trade.

    qty = floor(position_fraction * cash / (1 + commission) / price); if fill * qty * (1 + commission)
    exceeds cash, qty = floor(cash / (1 + commission) / fill). Returned as a float64 whole number.
    """
    onepc = 1.0 + commission
    qty = np.floor(position_fraction * cash / onepc / price)
    if qty <= 0.0:
        return 0.0
    if fill * qty * onepc > cash:
        qty = np.floor(cash / onepc / fill)
        if qty <= 0.0:
            return 0.0
    return qty


@njit(cache=True, nogil=True, error_model="numpy")
def exit_nb(side, qty, entry_price, cash, ref_price, commission, slippage):
    """Close a position at reference price ``ref_price`` -> (fill, exit_commission, gross, cash).

    Long: fill = P * (1 - slippage), cash += fill * qty * (1 - commission). Short: fill =
    P * (1 + slippage), cash += entry * qty + (entry - fill) * qty - exit commission.
    """
    if side == LONG:
        fill = ref_price * (1.0 - slippage)
        exit_commission = fill * qty * commission
        gross = (fill - entry_price) * qty
        cash = cash + fill * qty * (1.0 - commission)
    else:
        fill = ref_price * (1.0 + slippage)
        exit_commission = fill * qty * commission
        gross = (entry_price - fill) * qty
        cash = cash + (entry_price * qty + gross - exit_commission)
    return fill, exit_commission, gross, cash


@njit(cache=True, nogil=True, error_model="numpy")
def signal_at_nb(raw, confidence, value, is_regression, threshold):
    """A bar's raw signal and confidence before the filters -> (int8, float32).

    Classification: ``raw`` and ``confidence`` as given. Regression: the threshold rule on the
    predicted return ``value`` (``vbt.decide.rules.regress_one_nb``), so the threshold can vary
    per run. (Scalars, not arrays: a helper given arrays costs reference counting per call.)
    """
    if is_regression:
        return regress_one_nb(value, threshold)
    return raw, confidence


@njit(cache=True, nogil=True, error_model="numpy")
def decision_nb(
    raw, confidence, value, bar_ts, last_ts, has_last, side, is_regression, conf_threshold,
    min_sep, awareness, allow_short, reg_threshold,
):  # fmt: skip
    """A bar's decision at its close -> (signal int8 after the filters, confidence float32,
    reason int8: a REASON_* code): ``signal_at_nb`` then ``vbt.decide.rules.decide_nb`` with the
    position and last trade time."""
    sig, conf = signal_at_nb(raw, confidence, value, is_regression, reg_threshold)
    out, reason = decide_nb(
        sig, conf, bar_ts, last_ts, has_last, side, is_regression, conf_threshold, min_sep,
        awareness, allow_short,
    )  # fmt: skip
    return out, conf, reason


# -- metric accumulators ------------------------------------------------------------------------
# The per-bar part travels through the scan as a tuple of locals (registers, not memory):
# (bars, last_equity, n_returns, ret_mean, ret_m2, blk_n, blk_sum, blk_sumsq, down_ss, peak,
#  max_dd, max_dd_pct, dd_run, max_dd_run, exposure_bars); see ACC_DTYPE.


@njit(cache=True, nogil=True, error_model="numpy")
def load_marks_nb(acc):
    return (
        acc.bars, acc.last_equity, acc.n_returns, acc.ret_mean, acc.ret_m2, acc.blk_n,
        acc.blk_sum, acc.blk_sumsq, acc.down_ss, acc.peak, acc.max_dd, acc.max_dd_pct,
        acc.dd_run, acc.max_dd_run, acc.exposure_bars,
    )  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def store_marks_nb(acc, m):
    (
        acc.bars, acc.last_equity, acc.n_returns, acc.ret_mean, acc.ret_m2, acc.blk_n,
        acc.blk_sum, acc.blk_sumsq, acc.down_ss, acc.peak, acc.max_dd, acc.max_dd_pct,
        acc.dd_run, acc.max_dd_run, acc.exposure_bars,
    ) = m  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def merge_moments_nb(n, mean, m2, bn, s, ss):
    """Merge a block of ``bn`` values, given as their sum and sum of squares, into running
    (count, mean, sum of squared deviations) -> (n, mean, m2): Chan et al.'s pairwise update.

    Within a block the plain sums lose precision only when mean^2 is large against the variance,
    which per-bar returns never approach; blocks are merged with the stable update."""
    if bn == 0:
        return n, mean, m2
    mean_b = s / bn
    m2_b = max(ss - s * mean_b, 0.0)
    if n == 0:
        return bn, mean_b, m2_b
    tot = n + bn
    delta = mean_b - mean
    return tot, mean + delta * bn / tot, m2 + m2_b + delta * delta * (n * bn / tot)


@njit(cache=True, nogil=True, error_model="numpy")
def return_moments_nb(acc):
    """(count int64[m], mean float64[m], sum of squared deviations float64[m]) of the per-bar
    returns of ACC_DTYPE[m] records, their open block merged in (the records are not changed)."""
    m = acc.shape[0]
    count = np.zeros(m, dtype=np.int64)
    mean = np.zeros(m)
    m2 = np.zeros(m)
    for k in range(m):
        a = acc[k]
        count[k], mean[k], m2[k] = merge_moments_nb(
            a.n_returns, a.ret_mean, a.ret_m2, a.blk_n, a.blk_sum, a.blk_sumsq
        )
    return count, mean, m2


@njit(cache=True, nogil=True, error_model="numpy")
def mark_nb(m, equity, exposed):
    """Add one equity point (currency, marked at the close) to the mark accumulators ``m``.

    exposed: a position is open after the bar. The return to the previous point enters the
    running moments and the downside sum; peak, drawdowns and their duration follow the equity.
    """
    (bars, last, n, mean, m2, bn, s, ss, dss, peak, mdd, mddp, run, mrun, expo) = m
    if bars > 0:
        r = equity / last - 1.0
        s += r
        ss += r * r
        down = min(r, 0.0)
        dss += down * down
        bn += 1
        if bn == RETURN_BLOCK:
            n, mean, m2 = merge_moments_nb(n, mean, m2, bn, s, ss)
            bn = 0
            s = 0.0
            ss = 0.0
        peak = max(peak, equity)
    else:
        peak = equity
    dd = peak - equity
    mdd = max(mdd, dd)
    # the division only when the fraction may be a new maximum
    if dd > 0.0 and peak > 0.0 and dd >= mddp * peak:
        mddp = max(mddp, dd / peak)
    run = run + 1 if dd > 0.0 else 0
    mrun = max(mrun, run)
    expo += 1 if exposed else 0
    return (bars + 1, equity, n, mean, m2, bn, s, ss, dss, peak, mdd, mddp, run, mrun, expo)


@njit(cache=True, nogil=True, error_model="numpy")
def repeat_mark_nb(m, k):
    """Add ``k`` more flat equity points equal to the last one: exactly what ``k`` calls of
    ``mark_nb(m, last, False)`` give (each return is exactly 0 and adds nothing to the sums), in
    O(1) per return block. Makes the calls when there is no finite, non-zero previous point."""
    (bars, last, n, mean, m2, bn, s, ss, dss, peak, mdd, mddp, run, mrun, expo) = m
    if k <= 0:
        return m
    if bars == 0 or last == 0.0 or not np.isfinite(last):
        for _ in range(k):
            m = mark_nb(m, last, False)
        return m
    left = k
    while left > 0:
        take = min(left, RETURN_BLOCK - bn)
        bn += take
        left -= take
        if bn == RETURN_BLOCK:
            n, mean, m2 = merge_moments_nb(n, mean, m2, bn, s, ss)
            bn = 0
            s = 0.0
            ss = 0.0
    if peak - last > 0.0:
        run += k
        mrun = max(mrun, run)
    return (bars + k, last, n, mean, m2, bn, s, ss, dss, peak, mdd, mddp, run, mrun, expo)


@njit(cache=True, nogil=True, error_model="numpy")
def add_trade_nb(acc, net, hold_ns, reason):
    """Add one closed trade (net P&L, currency; holding time, ns; exit reason, an EXIT_* code) to
    the accumulator record."""
    acc.trades += 1
    acc.reason_trades[reason] += 1
    acc.reason_net[reason] += net
    if net > 0.0:
        acc.wins += 1
        acc.win_sum += net
        acc.largest_win = net if acc.wins == 1 else max(acc.largest_win, net)
    elif net < 0.0:
        acc.losses += 1
        acc.loss_sum += net
        acc.largest_loss = net if acc.losses == 1 else min(acc.largest_loss, net)
    acc.net_sum += net
    delta = net - acc.net_mean
    acc.net_mean += delta / acc.trades
    acc.net_m2 += delta * (net - acc.net_mean)
    acc.hold_ns += hold_ns


@njit(cache=True, nogil=True, error_model="numpy")
def accumulate_nb(acc, equity, exposed, net_pnl, hold_ns, reason):
    """Feed a whole equity curve (float64[m]; exposed bool[m]: a position is open after the bar)
    and closed trades (net_pnl float64[k], hold_ns int64[k], reason int8[k]) into the ACC_DTYPE
    record ``acc``, exactly as the scan would have."""
    m = load_marks_nb(acc)
    for i in range(equity.shape[0]):
        m = mark_nb(m, equity[i], exposed[i])
    store_marks_nb(acc, m)
    for k in range(net_pnl.shape[0]):
        add_trade_nb(acc, net_pnl[k], hold_ns[k], reason[k])


# -- risk exits ----------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def stop_level_nb(side, entry_price, extreme, stop_loss, trailing_stop):
    """The price that stops a position out -> (level, EXIT_STOP_LOSS or EXIT_TRAILING_STOP).

    Long: the higher of entry × (1 − stop_loss) and extreme × (1 − trailing_stop), extreme being
    the highest close since entry; short: the lower of entry × (1 + stop_loss) and extreme ×
    (1 + trailing_stop), extreme the lowest close. A fraction of 0 is off (±inf); a tie is a stop
    loss."""
    if side == LONG:
        fixed = entry_price * (1.0 - stop_loss) if stop_loss > 0.0 else -np.inf
        trail = extreme * (1.0 - trailing_stop) if trailing_stop > 0.0 else -np.inf
        if trail > fixed:
            return trail, np.int8(EXIT_TRAILING_STOP)
        return fixed, np.int8(EXIT_STOP_LOSS)
    fixed = entry_price * (1.0 + stop_loss) if stop_loss > 0.0 else np.inf
    trail = extreme * (1.0 + trailing_stop) if trailing_stop > 0.0 else np.inf
    if trail < fixed:
        return trail, np.int8(EXIT_TRAILING_STOP)
    return fixed, np.int8(EXIT_STOP_LOSS)


@njit(cache=True, nogil=True, error_model="numpy")
def target_level_nb(side, entry_price, take_profit):
    """The take-profit price: entry × (1 ± take_profit), ±inf when off (0)."""
    if side == LONG:
        return entry_price * (1.0 + take_profit) if take_profit > 0.0 else np.inf
    return entry_price * (1.0 - take_profit) if take_profit > 0.0 else -np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def risk_at_open_nb(side, open_px, stop, stop_reason, target, time_due):
    """A risk exit at the bar's open -> (EXIT_* reason or EXIT_NONE, reference price).

    In order: the open is beyond the stop (a gap: filled at the open), beyond the target (filled
    at the open), or the time stop is due (at the open)."""
    beyond_stop = open_px <= stop if side == LONG else open_px >= stop
    beyond_target = open_px >= target if side == LONG else open_px <= target
    if beyond_stop:
        return stop_reason, open_px
    if beyond_target:
        return np.int8(EXIT_TAKE_PROFIT), open_px
    if time_due:
        return np.int8(EXIT_TIME_STOP), open_px
    return np.int8(EXIT_NONE), np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def risk_in_bar_nb(side, high, low, stop, stop_reason, target):
    """A risk exit during the bar -> (reason or EXIT_NONE, the level). When the bar's range holds
    both the stop and the target, the stop fills: which came first is unknown, and the loss is
    the conservative assumption."""
    touched_stop = low <= stop if side == LONG else high >= stop
    touched_target = high >= target if side == LONG else low <= target
    if touched_stop:
        return stop_reason, stop
    if touched_target:
        return np.int8(EXIT_TAKE_PROFIT), target
    return np.int8(EXIT_NONE), np.nan


# -- the fast path: runs of bars that change nothing but the marks ------------------------------
# Each hot loop is its own function, so that the compiler allocates its registers on its own.


@njit(cache=True, nogil=True, error_model="numpy")
def decide_run_nb(
    j, stop, raw, confidence, value, ts_ns, last_ts, has_last, side, is_regression,
    conf_threshold, min_sep, awareness, allow_short, reg_threshold,
):  # fmt: skip
    """Decide bars j, j + 1, ... (< stop) with an unchanging state until one decides a trade.

    -> (end, signal, confidence, removed by separation, removed by position): bars j .. end - 1
    were decided; signal is that of bar end - 1 (HOLD when the run reached ``stop``)."""
    n_sep = 0
    n_pos = 0
    while j < stop:
        if signal_at_nb(raw[j], confidence[j], value[j], is_regression, reg_threshold)[0] == HOLD:
            j += 1  # a raw HOLD decides HOLD for any state (decide_nb's first rule): skip ahead
            continue
        sig, conf, why = decision_nb(
            raw[j], confidence[j], value[j], ts_ns[j], last_ts, has_last, side, is_regression,
            conf_threshold, min_sep, awareness, allow_short, reg_threshold,
        )  # fmt: skip
        if why == REASON_SEPARATION:
            n_sep += 1
        elif why == REASON_POSITION:
            n_pos += 1
        j += 1
        if sig != HOLD:
            return j, sig, conf, n_sep, n_pos
    return j, np.int8(HOLD), np.float32(0.0), n_sep, n_pos


@njit(cache=True, nogil=True, error_model="numpy")
def held_run_nb(
    j, stop, open_, high, low, close, raw, confidence, value, ts_ns, last_ts, has_last, side,
    is_regression, conf_threshold, min_sep, awareness, allow_short, reg_threshold, entry_price,
    entry_idx, extreme, stop_loss, take_profit, trailing, max_hold,
):  # fmt: skip
    """``decide_run_nb`` for a position with risk exits on: the run also ends before a bar whose
    open, high or low reaches a level or whose time stop is due (that bar is left to the general
    step), and the extreme close is tracked over the decided bars.

    -> (end, signal, confidence, removed by separation, removed by position, extreme)."""
    n_sep = 0
    n_pos = 0
    target = target_level_nb(side, entry_price, take_profit)
    while j < stop:
        level, _why = stop_level_nb(side, entry_price, extreme, stop_loss, trailing)
        due = max_hold > 0 and j - entry_idx >= max_hold
        if side == LONG:
            beyond = (
                (low[j] <= level) | (open_[j] <= level) | (high[j] >= target) | (open_[j] >= target)
            )
        else:
            beyond = (
                (high[j] >= level) | (open_[j] >= level) | (low[j] <= target) | (open_[j] <= target)
            )
        if due or beyond:
            break
        sig, conf = signal_at_nb(raw[j], confidence[j], value[j], is_regression, reg_threshold)
        if sig != HOLD:  # a raw HOLD decides HOLD for any state (decide_nb's first rule)
            sig, conf, why = decision_nb(
                raw[j], confidence[j], value[j], ts_ns[j], last_ts, has_last, side,
                is_regression, conf_threshold, min_sep, awareness, allow_short, reg_threshold,
            )  # fmt: skip
            if why == REASON_SEPARATION:
                n_sep += 1
            elif why == REASON_POSITION:
                n_pos += 1
        px = close[j]
        extreme = max(extreme, px) if side == LONG else min(extreme, px)
        j += 1
        if sig != HOLD:
            return j, sig, conf, n_sep, n_pos, extreme
    return j, np.int8(HOLD), np.float32(0.0), n_sep, n_pos, extreme


@njit(cache=True, nogil=True, error_model="numpy")
def mark_held_nb(
    marks, i, j, close, side, cash, qty, entry_price, mfe, mae, record, equity_out, position_out,
):  # fmt: skip
    """Mark bars i .. j - 1 of an open long or short position at their closes: MFE/MAE, the
    equity (long: cash + close × qty; short: cash + entry × qty + (entry − close) × qty) and the
    accumulators; -> (marks, mfe, mae)."""
    if side == LONG:
        for k in range(i, j):
            px = close[k]
            u = (px - entry_price) * qty
            mfe = max(mfe, u)
            mae = min(mae, u)
            eq = cash + px * qty
            marks = mark_nb(marks, eq, True)
            if record:
                equity_out[k] = eq
                position_out[k] = side
    else:
        for k in range(i, j):
            px = close[k]
            u = (entry_price - px) * qty
            mfe = max(mfe, u)
            mae = min(mae, u)
            eq = cash + entry_price * qty + u
            marks = mark_nb(marks, eq, True)
            if record:
                equity_out[k] = eq
                position_out[k] = side
    return marks, mfe, mae


# -- the scan ------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def close_trade_nb(
    acc, trades_out, record, k, side, qty, entry_price, entry_idx, entry_ts, entry_commission,
    entry_slippage, entry_confidence, mfe, mae, cash, ref_price, exit_idx, exit_ts, reason,
    exit_confidence, commission, slippage,
):  # fmt: skip
    """Close the open position at ``ref_price`` (slippage and commission applied): add it to the
    accumulators, write trade record ``k`` when ``record``; returns the cash after the close."""
    fill, exit_commission, gross, cash = exit_nb(
        side, qty, entry_price, cash, ref_price, commission, slippage
    )
    net = gross - entry_commission - exit_commission
    add_trade_nb(acc, net, exit_ts - entry_ts, reason)
    if record:
        write_trade_nb(
            trades_out, k, side, qty, entry_price, entry_idx, entry_ts, entry_commission,
            entry_slippage, entry_confidence, mfe, mae, fill, exit_commission, gross, net,
            ref_price, exit_idx, exit_ts, reason, exit_confidence,
        )  # fmt: skip
    return cash


@njit(cache=True, nogil=True, error_model="numpy")
def scan_bars_nb(
    stop, ts_ns, open_, high, low, close, raw, confidence, value, pr, st, acc,
    trades_out, equity_out, position_out, record,
):  # fmt: skip
    """Process bars ``st.next_bar .. stop - 1`` of one parameter set; at ``stop == n`` also finish.

    Inputs, all length n: ts_ns int64 (bar open stamps, ns), open_ / close float64, high / low
    float64 (read only with risk exits on; may be empty otherwise), raw int8 (BUY/HOLD/SELL) and
    confidence float32 (classification), value float32 (regression: the predicted return; the
    threshold rule is applied here, with ``pr.regression_threshold``). pr: a PARAMS_DTYPE record;
    st: a STATE_DTYPE record and acc: an ACC_DTYPE record, both updated in place. With ``record``
    the processed bars' outputs are written: trades_out (TRADE_DTYPE, closed trades at index
    st.n_trades onwards; n // 2 + 1 records always suffice), equity_out float64 (NaN during
    warm-up), position_out int8 (side after the bar); without it those arrays are not touched
    (they may be empty).

    Per bar i >= warmup_bars: (1) with a position opened before bar i and risk exits on, a gap
    beyond the stop or the target, or a due time stop, closes it at the open, and a pending signal
    is dropped; else a pending signal executes at open_[i] (BUY: open long from FLAT or cover a
    short; SELL: close a long or open a short from FLAT); then, if a position opened before bar i
    is still open, the bar's low and high are checked against the stop and the target (the stop
    first); every entry and exit sets the last trade time to ts_ns[i]; (2) decide_nb on bar i's
    signal with the side after (1): a non-HOLD signal becomes pending; (3) mark MFE/MAE, the
    trailing stop's extreme close and the equity at close[i], and add the equity point to the
    accumulators. At the last bar an open position is force-closed at close[n - 1], and the last
    equity point is the cash after that close; a signal still pending is dropped.
    """
    n = ts_ns.shape[0]
    if st.done:
        return
    commission = pr.commission
    slippage = pr.slippage
    fraction = pr.position_fraction
    warmup = pr.warmup_bars
    is_regression = pr.is_regression
    conf_threshold = pr.confidence_threshold
    min_sep = pr.min_separation_ns
    awareness = pr.position_awareness
    allow_short = pr.allow_short_from_flat
    reg_threshold = pr.regression_threshold
    stop_loss = pr.stop_loss
    take_profit = pr.take_profit
    trailing = pr.trailing_stop
    max_hold = pr.max_holding_bars
    risk_on = stop_loss > 0.0 or take_profit > 0.0 or trailing > 0.0 or max_hold > 0

    cash = st.cash
    side = st.side
    qty = st.qty
    entry_price = st.entry_price
    entry_idx = st.entry_idx
    entry_ts = st.entry_ts
    entry_commission = st.entry_commission
    entry_slippage = st.entry_slippage
    entry_confidence = st.entry_confidence
    mfe = st.mfe
    mae = st.mae
    extreme = st.extreme_close
    pending = st.pending_signal
    pending_conf = st.pending_confidence
    last_ts = st.last_trade_ts
    has_last = st.has_last_trade
    n_trades = st.n_trades
    marks = load_marks_nb(acc)
    # the signal funnel: signals removed by filters 2 and 3, signals that became pending, and
    # pending signals that traded
    n_sep = acc.removed_by_separation
    n_pos = acc.removed_by_position
    n_pass = acc.signals_passed
    n_exec = acc.signals_executed

    start = st.next_bar
    if stop > n:
        stop = n
    if record:
        for i in range(start, min(stop, warmup)):
            equity_out[i] = np.nan
            position_out[i] = FLAT
    if start < warmup:
        start = warmup
    # the last bar's equity point is added after the end-of-data close, never in the loop
    fast_stop = min(stop, n - 1)

    i = start
    while i < stop:
        if pending == HOLD and i < fast_stop:
            # Fast path: with nothing pending, bars whose decision is HOLD (no signal, low
            # confidence, too soon after the last trade, or redundant with the position) and that
            # trigger no risk exit change no state but the marks, up to and including the first
            # bar that decides a trade (which becomes pending): the same formulas as steps (1) to
            # (3) below, the marks specialised by side, in tight loops.
            if side == FLAT or not risk_on:
                j, sig_j, conf_j, sep_j, pos_j = decide_run_nb(
                    i, fast_stop, raw, confidence, value, ts_ns, last_ts, has_last, side,
                    is_regression, conf_threshold, min_sep, awareness, allow_short, reg_threshold,
                )  # fmt: skip
            else:
                j, sig_j, conf_j, sep_j, pos_j, extreme = held_run_nb(
                    i, fast_stop, open_, high, low, close, raw, confidence, value, ts_ns,
                    last_ts, has_last, side, is_regression, conf_threshold, min_sep, awareness,
                    allow_short, reg_threshold, entry_price, entry_idx, extreme, stop_loss,
                    take_profit, trailing, max_hold,
                )  # fmt: skip
            n_sep += sep_j
            n_pos += pos_j
            if sig_j != HOLD:  # bar j - 1 decided a trade: marked below, then pending
                pending = sig_j
                pending_conf = np.float64(conf_j)
                n_pass += 1
            if j > i:
                if side == FLAT:
                    marks = mark_nb(marks, cash, False)
                    marks = repeat_mark_nb(marks, j - i - 1)
                    if record:
                        equity_out[i:j] = cash
                        position_out[i:j] = FLAT
                else:
                    marks, mfe, mae = mark_held_nb(
                        marks, i, j, close, side, cash, qty, entry_price, mfe, mae, record,
                        equity_out, position_out,
                    )  # fmt: skip
                i = j
                continue

        # (1) at this bar's open: risk exits, else the signal decided at bar i - 1; then risk
        # exits during the bar
        traded = False
        held = side != FLAT and risk_on and entry_idx < i
        reason, ref = np.int8(EXIT_NONE), np.nan
        level, why, target = np.nan, np.int8(EXIT_NONE), np.nan
        if held:
            level, why = stop_level_nb(side, entry_price, extreme, stop_loss, trailing)
            target = target_level_nb(side, entry_price, take_profit)
            due = max_hold > 0 and i - entry_idx >= max_hold
            reason, ref = risk_at_open_nb(side, open_[i], level, why, target, due)
            if reason != EXIT_NONE:
                pending = np.int8(HOLD)  # decided for a position that no longer exists
        if pending != HOLD:
            price = open_[i]
            if side == FLAT:
                if pending == BUY:
                    fill = price * (1.0 + slippage)
                else:
                    fill = price * (1.0 - slippage)
                q = entry_qty_nb(cash, price, fill, fraction, commission)
                if q > 0.0:
                    cost = fill * q * (1.0 + commission)
                    cash = cash - cost
                    side = np.int8(LONG) if pending == BUY else np.int8(SHORT)
                    qty = q
                    entry_price = fill
                    entry_idx = i
                    entry_ts = ts_ns[i]
                    entry_commission = fill * q * commission
                    entry_slippage = abs(fill - price) * q
                    entry_confidence = pending_conf
                    mfe = 0.0
                    mae = 0.0
                    extreme = -np.inf if side == LONG else np.inf
                    traded = True
                    n_exec += 1
            elif (side == LONG and pending == SELL) or (side == SHORT and pending == BUY):
                cash = close_trade_nb(
                    acc, trades_out, record, n_trades, side, qty, entry_price, entry_idx,
                    entry_ts, entry_commission, entry_slippage, entry_confidence, mfe, mae, cash,
                    price, i, ts_ns[i], EXIT_SIGNAL, pending_conf, commission, slippage,
                )  # fmt: skip
                n_trades += 1
                side = np.int8(FLAT)
                qty = 0.0
                traded = True
                n_exec += 1
            pending = np.int8(HOLD)
        if held and reason == EXIT_NONE and side != FLAT:  # still the position of before
            reason, ref = risk_in_bar_nb(side, high[i], low[i], level, why, target)
        if reason != EXIT_NONE:
            cash = close_trade_nb(
                acc, trades_out, record, n_trades, side, qty, entry_price, entry_idx, entry_ts,
                entry_commission, entry_slippage, entry_confidence, mfe, mae, cash, ref, i,
                ts_ns[i], reason, np.nan, commission, slippage,
            )  # fmt: skip
            n_trades += 1
            side = np.int8(FLAT)
            qty = 0.0
            traded = True
        if traded:
            last_ts = ts_ns[i]
            has_last = True

        # (2) decide at this bar's close
        sig, conf_i, why = decision_nb(
            raw[i], confidence[i], value[i], ts_ns[i], last_ts, has_last, side, is_regression,
            conf_threshold, min_sep, awareness, allow_short, reg_threshold,
        )  # fmt: skip
        n_sep += 1 if why == REASON_SEPARATION else 0
        n_pos += 1 if why == REASON_POSITION else 0
        if sig != HOLD:
            pending = sig
            pending_conf = np.float64(conf_i)
            n_pass += 1

        # (3) mark at the close (selects rather than branches: the side may change at any bar)
        px = close[i]
        in_pos = side != FLAT
        diff = px - entry_price if side == LONG else entry_price - px
        u = diff * qty
        mfe = max(mfe, u) if in_pos else mfe
        mae = min(mae, u) if in_pos else mae
        extreme = (max(extreme, px) if side == LONG else min(extreme, px)) if in_pos else extreme
        equity = cash + px * qty if side == LONG else cash + entry_price * qty + u
        equity = equity if in_pos else cash
        if i < n - 1:
            marks = mark_nb(marks, equity, in_pos)
        if record:
            equity_out[i] = equity
            position_out[i] = side
        i += 1

    finished = stop == n
    if finished:
        last = n - 1
        if last >= 0 and last >= warmup:
            if side != FLAT:
                cash = close_trade_nb(
                    acc, trades_out, record, n_trades, side, qty, entry_price, entry_idx,
                    entry_ts, entry_commission, entry_slippage, entry_confidence, mfe, mae, cash,
                    close[last], last, ts_ns[last] + pr.bar_ns, EXIT_END_OF_DATA, np.nan,
                    commission, slippage,
                )  # fmt: skip
                n_trades += 1
                side = np.int8(FLAT)
                qty = 0.0
                if record:
                    equity_out[last] = cash
                    position_out[last] = FLAT
            marks = mark_nb(marks, cash, False)
        pending = np.int8(HOLD)

    st.next_bar = max(stop, st.next_bar)
    st.cash = cash
    st.side = side
    st.qty = qty
    st.entry_price = entry_price
    st.entry_idx = entry_idx
    st.entry_ts = entry_ts
    st.entry_commission = entry_commission
    st.entry_slippage = entry_slippage
    st.entry_confidence = entry_confidence
    st.mfe = mfe
    st.mae = mae
    st.extreme_close = extreme
    st.pending_signal = pending
    st.pending_confidence = pending_conf
    st.last_trade_ts = last_ts
    st.has_last_trade = has_last
    st.n_trades = n_trades
    st.done = finished
    store_marks_nb(acc, marks)
    acc.removed_by_separation = n_sep
    acc.removed_by_position = n_pos
    acc.signals_passed = n_pass
    acc.signals_executed = n_exec


@njit(cache=True, nogil=True, error_model="numpy")
def write_trade_nb(
    trades_out, k, side, qty, entry_price, entry_idx, entry_ts, entry_commission, entry_slippage,
    entry_confidence, mfe, mae, fill, exit_commission, gross, net, ref_price, exit_idx, exit_ts,
    exit_reason, exit_confidence,
):  # fmt: skip
    """Write closed trade ``trades_out[k]`` (fields: see ``TRADE_DTYPE``)."""
    if k >= trades_out.shape[0]:
        raise IndexError("scan_bars_nb: trades_out is full")
    t = trades_out[k]
    t.entry_idx = entry_idx
    t.exit_idx = exit_idx
    t.entry_ts = entry_ts
    t.exit_ts = exit_ts
    t.side = side
    t.qty = qty
    t.entry_price = entry_price
    t.exit_price = fill
    t.entry_commission = entry_commission
    t.exit_commission = exit_commission
    t.slippage_cost = entry_slippage + abs(fill - ref_price) * qty
    t.gross_pnl = gross
    t.net_pnl = net
    t.return_pct = net / (entry_price * qty) * 100.0
    # bars the position was open: an exit at bar j's open or during bar j ends after bar j - 1
    # (bar j is not held to its close); the end-of-data close happens at the close of bar
    # exit_idx, which therefore counts
    t.bars_held = exit_idx - entry_idx + (1 if exit_reason == EXIT_END_OF_DATA else 0)
    t.mfe = mfe
    t.mae = mae
    t.exit_reason = exit_reason
    t.confidence = entry_confidence
    t.exit_confidence = exit_confidence


@njit(cache=True, nogil=True, error_model="numpy")
def scan_chunk_nb(
    stop, ts_ns, open_, high, low, close, raw, confidence, value, params, state, acc,
    trades_out, equity_out, position_out, record,
):  # fmt: skip
    """One run: ``scan_bars_nb`` on 1-record params / state / acc arrays."""
    scan_bars_nb(
        stop, ts_ns, open_, high, low, close, raw, confidence, value, params[0], state[0], acc[0],
        trades_out, equity_out, position_out, record,
    )  # fmt: skip
