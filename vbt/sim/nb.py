"""The scan kernel: one sequential pass over the bars, with next-open fills and accounting.

``scan_chunk_nb`` processes the bars ``state.next_bar .. stop - 1`` and updates the 1-record
``STATE_DTYPE`` array in place, so a run can be split into chunks (progress, cancellation,
checkpoints) with results identical to one pass. Semantics: DESIGN.md "Execution and accounting".
The filters are ``vbt.decide.rules.decide_nb`` (the one copy). Nothing is allocated per bar.

Numba's on-disk cache keys a function on its own file only: after editing ``vbt/decide/rules.py``,
delete ``$NUMBA_CACHE_DIR/sim_*`` (or touch this file), or the scan keeps the old rules compiled in.
"""

import numpy as np
from numba import njit

from vbt.decide.rules import decide_nb
from vbt.enums import BUY, EXIT_END_OF_DATA, EXIT_SIGNAL, FLAT, HOLD, LONG, SELL, SHORT


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def close_position_nb(
    trades_out,
    k,
    side,
    qty,
    entry_price,
    entry_idx,
    entry_ts,
    entry_commission,
    entry_slippage,
    entry_confidence,
    mfe,
    mae,
    cash,
    ref_price,
    exit_idx,
    exit_ts,
    exit_reason,
    exit_confidence,
    commission,
    slippage,
):
    """Close the open position at ``ref_price``; write trade record ``trades_out[k]``; return cash.

    Long: fill = P * (1 - slippage), cash += fill * qty * (1 - commission). Short: fill =
    P * (1 + slippage), cash += entry * qty + (entry - fill) * qty - exit commission.
    """
    if k >= trades_out.shape[0]:
        raise IndexError("scan_chunk_nb: trades_out is full")
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
    net = gross - entry_commission - exit_commission
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
    # bars the position was open: a signal exit at bar j's open ends after bar j - 1; the
    # end-of-data close happens at the close of bar exit_idx, which therefore counts
    t.bars_held = exit_idx - entry_idx + (1 if exit_reason == EXIT_END_OF_DATA else 0)
    t.mfe = mfe
    t.mae = mae
    t.exit_reason = exit_reason
    t.confidence = entry_confidence
    t.exit_confidence = exit_confidence
    return cash


@njit(cache=True, nogil=True)
def scan_chunk_nb(
    stop, ts_ns, open_, close, raw, confidence, params, state, trades_out, equity_out, position_out
):
    """Process bars ``state[0].next_bar .. stop - 1``; at ``stop == n`` also finish the run.

    Inputs, all length n: ts_ns int64 (bar open stamps, ns), open_ / close float64, raw int8
    (BUY/HOLD/SELL), confidence float32. params: 1-record PARAMS_DTYPE array; state: 1-record
    STATE_DTYPE array, updated in place. Outputs written for the processed bars: trades_out
    (TRADE_DTYPE, closed trades at index state.n_trades onwards; n // 2 + 1 records always
    suffice), equity_out float64 (NaN during warm-up), position_out int8 (side after the bar).

    Per bar i >= warmup_bars: (1) a pending signal executes at open_[i] (BUY: open long from FLAT
    or cover a short; SELL: close a long or open a short from FLAT; an executed entry or exit sets
    the last trade time to ts_ns[i]); (2) decide_nb on raw[i] with the side after (1): a non-HOLD
    signal becomes pending; (3) mark MFE/MAE and equity at close[i]. At the last bar an open
    position is force-closed at close[n - 1] and equity_out[n - 1] is the cash after that close;
    a signal still pending is dropped.
    """
    n = ts_ns.shape[0]
    st = state[0]
    if st.done:
        return
    pr = params[0]
    commission = pr.commission
    slippage = pr.slippage
    fraction = pr.position_fraction
    warmup = pr.warmup_bars
    is_regression = pr.is_regression
    conf_threshold = pr.confidence_threshold
    min_sep = pr.min_separation_ns
    awareness = pr.position_awareness
    allow_short = pr.allow_short_from_flat

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
    pending = st.pending_signal
    pending_conf = st.pending_confidence
    last_ts = st.last_trade_ts
    has_last = st.has_last_trade
    n_trades = st.n_trades

    start = st.next_bar
    if stop > n:
        stop = n
    for i in range(start, min(stop, warmup)):
        equity_out[i] = np.nan
        position_out[i] = FLAT
    if start < warmup:
        start = warmup

    i = start
    while i < stop:
        if pending == HOLD and raw[i] == HOLD:
            # Fast path: a run of HOLD bars with nothing pending changes no state but the marks.
            # The same formulas as step (3) below, specialised by side, in a tight loop.
            j = i + 1
            while j < stop and raw[j] == HOLD:
                j += 1
            if side == FLAT:
                for k in range(i, j):
                    equity_out[k] = cash
                    position_out[k] = FLAT
            elif side == LONG:
                for k in range(i, j):
                    px = close[k]
                    u = (px - entry_price) * qty
                    mfe = max(mfe, u)
                    mae = min(mae, u)
                    equity_out[k] = cash + px * qty
                    position_out[k] = side
            else:
                for k in range(i, j):
                    px = close[k]
                    u = (entry_price - px) * qty
                    mfe = max(mfe, u)
                    mae = min(mae, u)
                    equity_out[k] = cash + entry_price * qty + u
                    position_out[k] = side
            i = j
            continue

        # (1) execute the signal decided at bar i - 1 at this bar's open
        if pending != HOLD:
            price = open_[i]
            traded = False
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
                    traded = True
            elif (side == LONG and pending == SELL) or (side == SHORT and pending == BUY):
                cash = close_position_nb(
                    trades_out,
                    n_trades,
                    side,
                    qty,
                    entry_price,
                    entry_idx,
                    entry_ts,
                    entry_commission,
                    entry_slippage,
                    entry_confidence,
                    mfe,
                    mae,
                    cash,
                    price,
                    i,
                    ts_ns[i],
                    EXIT_SIGNAL,
                    pending_conf,
                    commission,
                    slippage,
                )
                n_trades += 1
                side = np.int8(FLAT)
                qty = 0.0
                traded = True
            if traded:
                last_ts = ts_ns[i]
                has_last = True
            pending = np.int8(HOLD)

        # (2) decide at this bar's close
        c_i = confidence[i]
        sig, _reason = decide_nb(
            raw[i],
            c_i,
            ts_ns[i],
            last_ts,
            has_last,
            side,
            is_regression,
            conf_threshold,
            min_sep,
            awareness,
            allow_short,
        )
        if sig != HOLD:
            pending = sig
            pending_conf = np.float64(c_i)

        # (3) mark at the close (selects rather than branches: the side may change at any bar)
        px = close[i]
        in_pos = side != FLAT
        diff = px - entry_price if side == LONG else entry_price - px
        u = diff * qty
        mfe = max(mfe, u) if in_pos else mfe
        mae = min(mae, u) if in_pos else mae
        equity = cash + px * qty if side == LONG else cash + entry_price * qty + u
        equity = equity if in_pos else cash
        equity_out[i] = equity
        position_out[i] = side
        i += 1

    finished = stop == n
    if finished:
        last = n - 1
        if last >= 0 and last >= warmup and side != FLAT:
            cash = close_position_nb(
                trades_out,
                n_trades,
                side,
                qty,
                entry_price,
                entry_idx,
                entry_ts,
                entry_commission,
                entry_slippage,
                entry_confidence,
                mfe,
                mae,
                cash,
                close[last],
                last,
                ts_ns[last] + pr.bar_ns,
                EXIT_END_OF_DATA,
                np.nan,
                commission,
                slippage,
            )
            n_trades += 1
            side = np.int8(FLAT)
            qty = 0.0
            equity_out[last] = cash
            position_out[last] = FLAT
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
    st.pending_signal = pending
    st.pending_confidence = pending_conf
    st.last_trade_ts = last_ts
    st.has_last_trade = has_last
    st.n_trades = n_trades
    st.done = finished
