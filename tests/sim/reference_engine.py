"""A plain, bar-by-bar reference of the scan, written straight from DESIGN.md.

It deliberately shares no code with ``vbt.sim`` or ``vbt.decide``: the filters are written again
here. Float operations follow the spec formulas in the same order as the kernel, so results can
be compared exactly.
"""

import math
from dataclasses import dataclass, field

import numpy as np

BUY, HOLD, SELL = 1, 0, -1
LONG, FLAT, SHORT = 1, 0, -1
EXIT_SIGNAL, EXIT_END_OF_DATA, EXIT_STOP_LOSS, EXIT_TAKE_PROFIT = 0, 1, 2, 3
EXIT_TRAILING_STOP, EXIT_TIME_STOP = 4, 5


@dataclass
class Params:
    initial_cash: float = 100_000.0
    commission: float = 0.001
    slippage: float = 0.0005
    position_fraction: float = 0.25
    warmup_bars: int = 50
    bar_ns: int = 3_600_000_000_000
    is_regression: bool = False
    confidence_threshold: float = 0.5
    min_separation_ns: int = 4 * 3_600_000_000_000
    position_awareness: bool = True
    allow_short_from_flat: bool = False
    regression_threshold: float = 0.0045
    stop_loss: float = 0.0  # risk exits: 0 = off
    take_profit: float = 0.0
    trailing_stop: float = 0.0
    max_holding_bars: int = 0


def regression_signal(r, thr):
    """The threshold rule on a predicted return r -> (raw, confidence)."""
    if not math.isfinite(r):
        return HOLD, 0.0
    raw = BUY if r > thr else SELL if r < -thr else HOLD
    if thr > 0:
        return raw, float(np.float32(min(abs(r) / (3 * thr), 1.0)))
    return raw, 1.0 if r != 0 else 0.0


def decide(raw, confidence, bar_ts, last_trade_ts, side, p):
    """The filters, in the order of DESIGN.md "Decision rules". Returns (signal, why): why is
    "hold", "confidence", "separation", "position" or "signal"."""
    if raw == HOLD:
        return HOLD, "hold"
    if not p.is_regression and confidence < p.confidence_threshold:
        return HOLD, "confidence"
    if last_trade_ts is not None and bar_ts - last_trade_ts < p.min_separation_ns:
        return HOLD, "separation"
    if p.position_awareness:
        if side == LONG and raw == BUY:
            return HOLD, "position"
        if side == SHORT and raw == SELL:
            return HOLD, "position"
        if side == FLAT and raw == SELL and not (p.is_regression or p.allow_short_from_flat):
            return HOLD, "position"
    return raw, "signal"


@dataclass
class PositionManager:
    cash: float
    commission: float
    slippage: float
    position_fraction: float
    side: int = FLAT
    qty: float = 0.0
    entry_price: float = 0.0
    entry_idx: int = 0
    entry_ts: int = 0
    entry_commission: float = 0.0
    entry_slippage: float = 0.0
    confidence: float = 0.0
    mfe: float = 0.0
    mae: float = 0.0
    trades: list = field(default_factory=list)

    def open(self, side, price, idx, ts, confidence):
        """Open a position at reference price `price`. Returns True if a trade happened."""
        c = self.commission
        if side == LONG:
            fill = price * (1 + self.slippage)
        else:
            fill = price * (1 - self.slippage)
        qty = math.floor(self.position_fraction * self.cash / (1 + c) / price)
        if qty <= 0:
            return False
        if fill * qty * (1 + c) > self.cash:
            qty = math.floor(self.cash / (1 + c) / fill)
            if qty <= 0:
                return False
        self.cash -= fill * qty * (1 + c)  # long: pays; short: reserves
        self.side = side
        self.qty = float(qty)
        self.entry_price = fill
        self.entry_idx = idx
        self.entry_ts = ts
        self.entry_commission = fill * qty * c
        self.entry_slippage = abs(fill - price) * qty
        self.confidence = confidence
        self.mfe = 0.0
        self.mae = 0.0
        return True

    def close(self, price, idx, ts, reason, confidence):
        c = self.commission
        qty = self.qty
        entry = self.entry_price
        if self.side == LONG:
            fill = price * (1 - self.slippage)
            exit_commission = fill * qty * c
            gross = (fill - entry) * qty
            self.cash += fill * qty * (1 - c)
        else:
            fill = price * (1 + self.slippage)
            exit_commission = fill * qty * c
            gross = (entry - fill) * qty
            self.cash += entry * qty + (entry - fill) * qty - exit_commission
        net = gross - self.entry_commission - exit_commission
        self.trades.append(
            dict(
                entry_idx=self.entry_idx,
                exit_idx=idx,
                entry_ts=self.entry_ts,
                exit_ts=ts,
                side=self.side,
                qty=qty,
                entry_price=entry,
                exit_price=fill,
                entry_commission=self.entry_commission,
                exit_commission=exit_commission,
                slippage_cost=self.entry_slippage + abs(fill - price) * qty,
                gross_pnl=gross,
                net_pnl=net,
                return_pct=net / (entry * qty) * 100,
                # open from entry_idx's open; a signal exit leaves at idx's open, the end-of-data
                # close at idx's close (so bar idx counts)
                bars_held=idx - self.entry_idx + (1 if reason == EXIT_END_OF_DATA else 0),
                mfe=self.mfe,
                mae=self.mae,
                exit_reason=reason,
                confidence=self.confidence,
                exit_confidence=confidence,
            )
        )
        self.side = FLAT
        self.qty = 0.0

    def execute(self, signal, price, idx, ts, confidence):
        """BUY opens a long from FLAT or covers a short; SELL closes a long or opens a short."""
        if signal == BUY:
            if self.side == FLAT:
                return self.open(LONG, price, idx, ts, confidence)
            if self.side == SHORT:
                self.close(price, idx, ts, EXIT_SIGNAL, confidence)
                return True
        if signal == SELL:
            if self.side == FLAT:
                return self.open(SHORT, price, idx, ts, confidence)
            if self.side == LONG:
                self.close(price, idx, ts, EXIT_SIGNAL, confidence)
                return True
        return False

    def mark(self, close):
        """Update MFE/MAE at the close and return the equity."""
        if self.side == FLAT:
            return self.cash
        if self.side == LONG:
            unrealised = (close - self.entry_price) * self.qty
        else:
            unrealised = (self.entry_price - close) * self.qty
        self.mfe = max(self.mfe, unrealised)
        self.mae = min(self.mae, unrealised)
        if self.side == LONG:
            return self.cash + close * self.qty
        return self.cash + self.entry_price * self.qty + unrealised


def risk_levels(pm, closes_since_entry, p):
    """(stop price, its reason, target price) of the open position, from the README's rules."""
    inf = math.inf
    if pm.side == LONG:
        fixed = pm.entry_price * (1 - p.stop_loss) if p.stop_loss else -inf
        best = max(closes_since_entry) if closes_since_entry else -inf
        trail = best * (1 - p.trailing_stop) if p.trailing_stop else -inf
        target = pm.entry_price * (1 + p.take_profit) if p.take_profit else inf
        if trail > fixed:
            return trail, EXIT_TRAILING_STOP, target
        return fixed, EXIT_STOP_LOSS, target
    fixed = pm.entry_price * (1 + p.stop_loss) if p.stop_loss else inf
    best = min(closes_since_entry) if closes_since_entry else inf
    trail = best * (1 + p.trailing_stop) if p.trailing_stop else inf
    target = pm.entry_price * (1 - p.take_profit) if p.take_profit else -inf
    if trail < fixed:
        return trail, EXIT_TRAILING_STOP, target
    return fixed, EXIT_STOP_LOSS, target


def run_reference(ts, open_, close, raw, confidence, p, value=None, high=None, low=None):
    """Returns (trades: list of dicts, equity: list of float, position: list of int, funnel:
    dict of the signal counts named as the metrics, highest_confidence included).

    Regression (p.is_regression): the signal of bar i comes from the predicted return value[i]
    (None: all NaN) and p.regression_threshold; raw and confidence are not read. The risk exits
    read high and low."""
    n = len(ts)
    pm = PositionManager(p.initial_cash, p.commission, p.slippage, p.position_fraction)
    equity = [math.nan] * n
    position = [FLAT] * n
    pending = HOLD
    pending_conf = math.nan
    last_trade_ts = None
    risk = p.stop_loss or p.take_profit or p.trailing_stop or p.max_holding_bars
    funnel = dict.fromkeys(
        ("raw_buy_signals", "raw_sell_signals", "removed_by_confidence", "removed_by_separation",
         "removed_by_position", "signals_passed", "signals_executed"), 0,
    )  # fmt: skip
    top = None
    for i in range(p.warmup_bars, n):
        t = int(ts[i])
        held_before = risk and pm.side != FLAT and pm.entry_idx < i
        if held_before:
            closes = [float(c) for c in close[pm.entry_idx : i]]
            stop, stop_reason, target = risk_levels(pm, closes, p)
            o = float(open_[i])
            long = pm.side == LONG
            if (long and o <= stop) or (not long and o >= stop):
                at_open = stop_reason
            elif (long and o >= target) or (not long and o <= target):
                at_open = EXIT_TAKE_PROFIT
            elif p.max_holding_bars and i - pm.entry_idx >= p.max_holding_bars:
                at_open = EXIT_TIME_STOP
            else:
                at_open = None
            if at_open is not None:  # the open gaps through a level, or the time is up
                pm.close(o, i, t, at_open, math.nan)
                last_trade_ts = t
                pending = HOLD  # the pending signal is dropped
        if pending != HOLD:
            if pm.execute(pending, float(open_[i]), i, t, pending_conf):
                last_trade_ts = t
                funnel["signals_executed"] += 1
            pending = HOLD
        if held_before and pm.side != FLAT and pm.entry_idx < i:
            long = pm.side == LONG
            if (long and float(low[i]) <= stop) or (not long and float(high[i]) >= stop):
                pm.close(stop, i, t, stop_reason, math.nan)  # the stop first, even if both
                last_trade_ts = t
            elif (long and float(high[i]) >= target) or (not long and float(low[i]) <= target):
                pm.close(target, i, t, EXIT_TAKE_PROFIT, math.nan)
                last_trade_ts = t
        if p.is_regression:
            r = math.nan if value is None else float(value[i])
            raw_i, conf = regression_signal(r, p.regression_threshold)
        else:
            raw_i, conf = int(raw[i]), float(confidence[i])
        signal, why = decide(raw_i, conf, t, last_trade_ts, pm.side, p)
        if raw_i != HOLD:
            funnel["raw_buy_signals" if raw_i == BUY else "raw_sell_signals"] += 1
            top = conf if top is None else max(top, conf)
        if why in ("confidence", "separation", "position"):
            funnel[f"removed_by_{why}"] += 1
        if signal != HOLD:
            pending = signal
            pending_conf = conf
            funnel["signals_passed"] += 1
        equity[i] = pm.mark(float(close[i]))
        position[i] = pm.side
        if i == n - 1 and pm.side != FLAT:
            pm.close(float(close[i]), i, t + p.bar_ns, EXIT_END_OF_DATA, math.nan)
            equity[i] = pm.cash
            position[i] = FLAT
    funnel["highest_confidence"] = top
    return pm.trades, equity, position, funnel
