"""Tests for vbt.features.indicators.

Every indicator is checked against an independent reference written here straight from the formula
in shared/reference/ktrdr-behaviour.md §3 (plain numpy/pandas, readable per-bar loops where that is
clearer), to 1e-9 relative, with identical NaN positions and the stated NaN-head length. The checks
run on the EURUSD 1h fixture and on the same bars with prices ×100, so price-level bugs show. TA-Lib
cross-checks are only asserted where its definition truly coincides (each says why).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

import vbt
from vbt.errors import ConfigError, DataError
from vbt.features.indicators import (
    INDICATORS,
    compute_indicator,
    get_indicator,
    indicator_types,
    nb,
    validate_params,
)

RTOL = 1e-9
COLS = ("open", "high", "low", "close", "volume")


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_bars() -> dict[str, np.ndarray]:
    bars = vbt.load_bars("data_fixtures/EURUSD_1h.parquet")
    return {c: bars.get_column(c).to_numpy().astype(np.float64) for c in COLS}


@pytest.fixture(scope="module", params=[1.0, 100.0], ids=["price~1.08", "price~108"])
def bars(request, base_bars) -> dict[str, np.ndarray]:
    scale = request.param
    out = {c: base_bars[c] * scale for c in ("open", "high", "low", "close")}
    out["volume"] = base_bars["volume"].copy()
    out["scale"] = scale
    return out


def run(type_name: str, bars: dict, **params) -> dict[str, np.ndarray]:
    spec = get_indicator(type_name)
    return compute_indicator(spec, validate_params(spec, params, "test"), bars)


def nan_head(a: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(a))
    return int(finite[0]) if finite.size else len(a)


def assert_matches(actual: np.ndarray, expected: np.ndarray, head: int | None, atol: float):
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg="NaN positions")
    if head is not None:
        assert nan_head(actual) == head, f"NaN head {nan_head(actual)} != {head}"
        assert not np.isnan(actual[head:]).any(), "NaN after the head"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


def S(a: np.ndarray) -> pd.Series:
    return pd.Series(a)


# ------------------------------------------------------------------------------------------------
# Reference implementations, straight from the formulas (ktrdr-behaviour.md §3)
# ------------------------------------------------------------------------------------------------


def ref_rsi(x, period):
    n = len(x)
    out = np.full(n, np.nan)
    delta = np.diff(x, prepend=np.nan)
    # as the older engine: a NaN change stays NaN in both (so it poisons the Wilder averages)
    gain = np.where(delta < 0, 0.0, delta)
    loss = np.where(delta > 0, 0.0, -delta)
    avg_gain = np.nanmean(gain[1 : period + 1])  # simple-mean seed over Δ[1..period] (skipna)
    avg_loss = np.nanmean(loss[1 : period + 1])

    def value(g, lo):
        if lo == 0:
            return 100.0 if g > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + g / lo)

    out[period] = value(avg_gain, avg_loss)
    for i in range(period + 1, n):  # Wilder
        avg_gain = (avg_gain * (period - 1) + gain[i]) / period
        avg_loss = (avg_loss * (period - 1) + loss[i]) / period
        out[i] = value(avg_gain, avg_loss)
    return out


def ref_sma(x, period):
    out = np.full(len(x), np.nan)
    out[period - 1 :] = sliding_window_view(x, period).mean(axis=1)
    return out


def ref_std(x, period):
    out = np.full(len(x), np.nan)
    out[period - 1 :] = sliding_window_view(x, period).std(axis=1, ddof=1)
    return out


def ref_wma(x, period):
    w = np.arange(1, period + 1, dtype=float)
    out = np.full(len(x), np.nan)
    for i in range(period - 1, len(x)):
        out[i] = np.dot(x[i - period + 1 : i + 1], w) / w.sum()
    return out


def ref_tr(h, lo, c):
    prev = S(c).shift(1)
    tr = pd.concat([S(h) - S(lo), (S(h) - prev).abs(), (S(lo) - prev).abs()], axis=1).max(axis=1)
    return tr.to_numpy()  # row 0: H − L (pandas max skips the NaN terms)


def ref_atr(h, lo, c, period):
    return S(ref_tr(h, lo, c)).rolling(period).mean().to_numpy()


def ref_stochastic(h, lo, c, k_period, d_period, smooth_k):
    ll = S(lo).rolling(k_period).min()
    hh = S(h).rolling(k_period).max()
    raw = (100 * (S(c) - ll) / (hh - ll)).fillna(50.0)
    k = raw.rolling(smooth_k, min_periods=1).mean() if smooth_k > 1 else raw
    d = k.rolling(d_period, min_periods=1).mean()
    return k.to_numpy(), d.to_numpy()


def ref_williamsr(h, lo, c, period):
    hh = S(h).rolling(period).max()
    ll = S(lo).rolling(period).min()
    return (-100 * (hh - S(c)) / (hh - ll)).fillna(-50.0).to_numpy()


def ref_cci(h, lo, c, period):
    # the older engine's formula: pandas' rolling mean (exactly the value on a flat window) and
    # the mean |TP_j - SMA| around it, so a flat window is 0/0 = NaN
    tp = (h + lo + c) / 3
    sma = S(tp).rolling(period, min_periods=period).mean().to_numpy()
    out = np.full(len(tp), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(period - 1, len(tp)):
            win = tp[i - period + 1 : i + 1]
            mad = np.abs(win - sma[i]).mean()
            out[i] = (tp[i] - sma[i]) / (0.015 * mad)
    return out


def ref_adx(h, lo, c, period):
    up = S(h).diff()
    down = -S(lo).diff()
    plus_dm = np.where((up > down) & (up > 0), up, 0.0)
    minus_dm = np.where((down > up) & (down > 0), down, 0.0)

    def wilder(a):
        return S(a).ewm(alpha=1 / period, adjust=False).mean().to_numpy()

    tr_s = wilder(ref_tr(h, lo, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        plus_di = np.where(tr_s == 0, 0.0, 100 * wilder(plus_dm) / tr_s)
        minus_di = np.where(tr_s == 0, 0.0, 100 * wilder(minus_dm) / tr_s)
        total = plus_di + minus_di
        dx = np.where(total == 0, 0.0, 100 * np.abs(plus_di - minus_di) / total)
    return wilder(dx), plus_di, minus_di


def ref_roc(x, period):
    prev = S(x).shift(period)
    return (100 * (S(x) - prev) / prev).replace([np.inf, -np.inf], np.nan).to_numpy()


def ref_obv(c, v):
    out = np.zeros(len(c))
    for i in range(1, len(c)):
        step = v[i] if c[i] > c[i - 1] else -v[i] if c[i] < c[i - 1] else 0.0
        out[i] = out[i - 1] + step
    return out


def ref_mfi(h, lo, c, v, period):
    tp = (h + lo + c) / 3
    rmf = tp * v
    out = np.full(len(tp), np.nan)
    for i in range(period, len(tp)):
        pos = neg = 0.0
        for j in range(i - period + 1, i + 1):
            if tp[j] > tp[j - 1]:
                pos += rmf[j]
            elif tp[j] < tp[j - 1]:
                neg += rmf[j]
        if neg == 0:
            out[i] = 100.0
        elif pos == 0:
            out[i] = 0.0
        else:
            out[i] = 100 - 100 / (1 + pos / neg)
    return out


def ref_vwap(h, lo, c, v, period, use_typical_price):
    price = (h + lo + c) / 3 if use_typical_price else c
    pv, vol = S(price * v), S(v)
    if period == 0:
        num, den = pv.cumsum(), vol.cumsum()
    else:
        num = pv.rolling(period, min_periods=1).sum()
        den = vol.rolling(period, min_periods=1).sum()
    return (num / den.replace(0.0, np.nan)).to_numpy()


def ref_supertrend(h, lo, c, period, multiplier):
    """Standard SuperTrend, as a readable loop. Returns (trend, direction, final_upper, final_lower)."""
    n = len(c)
    atr = ref_atr(h, lo, c, period)
    trend, direction, fu, fl = (np.full(n, np.nan) for _ in range(4))
    for i in range(n):
        if np.isnan(atr[i]):
            continue
        basic_upper = (h[i] + lo[i]) / 2 + multiplier * atr[i]
        basic_lower = (h[i] + lo[i]) / 2 - multiplier * atr[i]
        if i == 0 or np.isnan(atr[i - 1]):  # first bar with an ATR: start in an uptrend
            fu[i], fl[i], prev_dir = basic_upper, basic_lower, 1.0
        else:
            ratchet_up = basic_upper < fu[i - 1] or c[i - 1] > fu[i - 1]
            fu[i] = basic_upper if ratchet_up else fu[i - 1]
            ratchet_dn = basic_lower > fl[i - 1] or c[i - 1] < fl[i - 1]
            fl[i] = basic_lower if ratchet_dn else fl[i - 1]
            prev_dir = direction[i - 1]
        if prev_dir == 1.0:
            direction[i] = -1.0 if c[i] < fl[i] else 1.0
        else:
            direction[i] = 1.0 if c[i] > fu[i] else -1.0
        trend[i] = fl[i] if direction[i] == 1.0 else fu[i]
    return trend, direction, fu, fl


def ref_aroon(h, lo, period):
    n = len(h)
    up, down = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(period - 1, n):
        # np.argmax/argmin return the first (= oldest) of tied extremes
        since_high = period - 1 - int(np.argmax(h[i - period + 1 : i + 1]))
        since_low = period - 1 - int(np.argmin(lo[i - period + 1 : i + 1]))
        up[i] = 100 * (period - since_high) / period
        down[i] = 100 * (period - since_low) / period
    return up, down, up - down


def ref_money_flow(h, lo, c, v):
    """Chaikin multiplier ((C − L) − (H − C))/(H − L) (0 where H == L) and multiplier · V."""
    rng = h - lo
    mult = np.zeros(len(c))
    nz = rng != 0
    mult[nz] = ((c - lo) - (h - c))[nz] / rng[nz]
    return mult, mult * v


def ref_psar(h, lo, c, initial_af, step_af, max_af):
    """Parabolic SAR as the reference describes it: trend at bar 1 from C1 vs C0, reversal test
    on the SAR before the two-bar cap, af raised on each new extreme."""
    n = len(c)
    sar = np.full(n, np.nan)
    if n < 2:
        return sar
    trend = 1 if c[1] > c[0] else -1
    ep = h[1] if trend == 1 else lo[1]
    sar[1] = lo[0] if trend == 1 else h[0]
    af = initial_af
    for i in range(2, n):
        nxt = sar[i - 1] + af * (ep - sar[i - 1])
        if trend == 1 and lo[i] <= nxt:  # long stopped out: flip short at the extreme
            trend, nxt, af, ep = -1, ep, initial_af, lo[i]
        elif trend == -1 and h[i] >= nxt:
            trend, nxt, af, ep = 1, ep, initial_af, h[i]
        elif trend == 1:
            nxt = min(nxt, lo[i - 1], lo[i - 2])
            if h[i] > ep:
                ep, af = h[i], min(af + step_af, max_af)
        else:
            nxt = max(nxt, h[i - 1], h[i - 2])
            if lo[i] < ep:
                ep, af = lo[i], min(af + step_af, max_af)
        sar[i] = nxt
    return sar


def ref_zigzag_extremes(x, threshold):
    """§7.1 transcribed bar by bar: the indices of the extremes."""
    ext = [0]
    direction = 0
    for i in range(1, len(x)):
        last = ext[-1]
        change = (x[i] - x[last]) / x[last]
        if direction == 0:
            if abs(change) >= threshold:
                direction = 1 if change > 0 else -1
                ext.append(i)
        elif (direction == 1 and x[i] > x[last]) or (direction == -1 and x[i] < x[last]):
            ext[-1] = i  # the current extreme moves to the new high (low)
        elif (direction == 1 and change <= -threshold) or (direction == -1 and change >= threshold):
            direction = -direction
            ext.append(i)
    return ext


# Each case: (type, params, reference(bars, params) -> {output: array}, {output: NaN head}).
def _bb(d, p):
    x = d[p.get("source", "close")]
    mid = ref_sma(x, p["period"])
    std = ref_std(x, p["period"])
    return {
        "upper": mid + p["multiplier"] * std,
        "middle": mid,
        "lower": mid - p["multiplier"] * std,
    }


def _macd(d, p):
    x = S(d[p.get("source", "close")])
    line = (
        x.ewm(span=p["fast_period"], adjust=False).mean()
        - x.ewm(span=p["slow_period"], adjust=False).mean()
    )
    signal = line.ewm(span=p["signal_period"], adjust=False).mean()
    return {"line": line, "signal": signal, "histogram": line - signal}


def _keltner(d, p):
    mid = S(d["close"]).ewm(span=p["period"], adjust=False).mean().to_numpy()
    atr = ref_atr(d["high"], d["low"], d["close"], p["atr_period"])
    return {
        "upper": mid + p["multiplier"] * atr,
        "middle": mid,
        "lower": mid - p["multiplier"] * atr,
    }


def _donchian(d, p):
    upper = S(d["high"]).rolling(p["period"]).max().to_numpy()
    lower = S(d["low"]).rolling(p["period"]).min().to_numpy()
    return {"upper": upper, "middle": (upper + lower) / 2, "lower": lower}


def _bbwidth(d, p):
    bb = _bb(d, p)
    return {"": np.nan_to_num((bb["upper"] - bb["lower"]) / bb["middle"], nan=0.0)}


def _distance(d, p):
    x = d[p.get("source", "close")]
    if p.get("ma_type", "SMA").upper() == "SMA":
        ma = ref_sma(x, p["period"])
    else:
        ma = S(x).ewm(span=p["period"], adjust=True).mean().to_numpy()
    return {"": 100 * (x - ma) / ma}


def _volumeratio(d, p):
    v = d["volume"]
    return {"": np.nan_to_num(v / ref_sma(v, p["period"]), nan=1.0)}


def _hlc(d):
    return d["high"], d["low"], d["close"]


def _adline(d, p):
    mult, flow = ref_money_flow(*_hlc(d), d["volume"])
    line = S(flow).cumsum()
    return {
        "line": line,
        "mf_multiplier": mult,
        "mf_volume": flow,
        "roc_10": (line / line.shift(10) - 1) * 100,  # pandas pct_change(10) · 100
        "momentum_21": line - line.shift(21),
        "relative_strength": (line / line.rolling(50, min_periods=20).mean() - 1) * 100,
        "line_sma": line.rolling(p.get("smoothing_period", 21)).mean(),
    }


def _cmf(d, p):
    period = p.get("period", 21)
    mult, flow = ref_money_flow(*_hlc(d), d["volume"])
    flow_sum = S(flow).rolling(period).sum()
    vol_sum = S(d["volume"]).rolling(period).sum()
    cmf = flow_sum / vol_sum
    cmf[vol_sum == 0] = 0.0
    signal = cmf.ewm(span=9, adjust=False).mean()
    return {
        "cmf": cmf,
        "mf_multiplier": mult,
        "mf_volume": flow,
        "momentum": cmf - cmf.shift(5),
        "signal": signal,
        "histogram": cmf - signal,
        "above_zero": (cmf > 0).astype(float),  # NaN > 0 is False: the warm-up reads 0
        "below_zero": (cmf < 0).astype(float),
    }


def _fisher(d, p):
    period, smoothing = p.get("period", 10), p.get("smoothing", 3)
    h, lo = d["high"], d["low"]
    hh, ll = S(h).rolling(period).max(), S(lo).rolling(period).min()
    rng = hh - ll
    x = 2 * (((h + lo) / 2 - ll) / rng) - 1
    x[rng == 0] = 0.0
    x = x.clip(-0.999, 0.999)
    fisher = (0.5 * np.log((1 + x) / (1 - x))).ewm(span=smoothing, adjust=False).mean()
    return {"fisher": fisher, "signal": fisher.shift(1)}


def _ichimoku(d, p):
    t, k, b = p.get("tenkan_period", 9), p.get("kijun_period", 26), p.get("senkou_b_period", 52)
    shift = p.get("displacement", 26)

    def mid(n):
        return (S(d["high"]).rolling(n).max() + S(d["low"]).rolling(n).min()) / 2

    return {
        "tenkan": mid(t),
        "kijun": mid(k),
        "senkou_a": ((mid(t) + mid(k)) / 2).shift(shift),
        "senkou_b": mid(b).shift(shift),
        "chikou": d["close"],
    }


def _rvi(d, p):
    period, sig = p.get("period", 10), p.get("signal_period", 4)

    def weighted(x):
        x = S(x)
        return (x.shift(3) + 2 * x.shift(2) + 2 * x.shift(1) + x) / 6

    num = weighted(d["close"] - d["open"]).rolling(period).mean()
    den = weighted(d["high"] - d["low"]).rolling(period).mean()
    rvi = num / den
    rvi[den == 0] = np.nan
    return {"rvi": rvi, "signal": rvi.rolling(sig).mean()}


def _squeeze(d, p):
    bb = _bb(
        d,
        {
            "period": p.get("bb_period", 20),
            "multiplier": p.get("bb_multiplier", 2.0),
            "source": p.get("source", "close"),
        },
    )
    kc = _keltner(
        d,
        {
            "period": p.get("kc_period", 20),
            "atr_period": 10,
            "multiplier": p.get("kc_multiplier", 2.0),
        },
    )
    r = kc["upper"] - kc["lower"]
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.minimum((kc["upper"] - bb["upper"]) / r, (bb["lower"] - kc["lower"]) / r)
        return {"": np.where(np.abs(r) > 1e-10, np.maximum(0, inside), 0.0)}


def _zigzag(d, p):
    x = d[p.get("source", "close")]
    out = np.full(len(x), np.nan)
    ext = ref_zigzag_extremes(x, p.get("threshold", 0.05))
    out[ext] = x[ext]
    return {"": out}


CASES = [
    ("rsi", {"period": 14}, lambda d, p: {"": ref_rsi(d["close"], 14)}, {"": 14}),
    ("rsi", {"period": 7, "source": "open"}, lambda d, p: {"": ref_rsi(d["open"], 7)}, {"": 7}),
    ("sma", {"period": 20}, lambda d, p: {"": ref_sma(d["close"], 20)}, {"": 19}),
    ("sma", {"period": 2, "source": "high"}, lambda d, p: {"": ref_sma(d["high"], 2)}, {"": 1}),
    (
        "ema",
        {"period": 20},
        lambda d, p: {"": S(d["close"]).ewm(span=20, adjust=True).mean()},
        {"": 0},
    ),
    (
        "ema",
        {"period": 9, "adjust": False},
        lambda d, p: {"": S(d["close"]).ewm(span=9, adjust=False).mean()},
        {"": 0},
    ),
    ("wma", {"period": 20}, lambda d, p: {"": ref_wma(d["close"], 20)}, {"": 19}),
    ("wma", {"period": 45, "source": "low"}, lambda d, p: {"": ref_wma(d["low"], 45)}, {"": 44}),
    (
        "macd",
        {"fast_period": 12, "slow_period": 26, "signal_period": 9},
        _macd,
        {"line": 0, "signal": 0, "histogram": 0},
    ),
    ("bbands", {"period": 20, "multiplier": 2.0}, _bb, {"upper": 19, "middle": 19, "lower": 19}),
    ("bbands", {"period": 5, "multiplier": 1.5}, _bb, {"upper": 4, "middle": 4, "lower": 4}),
    ("atr", {"period": 14}, lambda d, p: {"": ref_atr(*_hlc(d), 14)}, {"": 13}),
    (
        "stochastic",
        {"k_period": 14, "d_period": 3, "smooth_k": 3},
        lambda d, p: dict(zip("kd", ref_stochastic(*_hlc(d), 14, 3, 3), strict=True)),
        {"k": 0, "d": 0},
    ),
    (
        "stochastic",
        {"k_period": 5, "d_period": 4, "smooth_k": 1},
        lambda d, p: dict(zip("kd", ref_stochastic(*_hlc(d), 5, 4, 1), strict=True)),
        {"k": 0, "d": 0},
    ),
    ("williamsr", {"period": 14}, lambda d, p: {"": ref_williamsr(*_hlc(d), 14)}, {"": 0}),
    ("cci", {"period": 20}, lambda d, p: {"": ref_cci(*_hlc(d), 20)}, {"": 19}),
    (
        "adx",
        {"period": 14},
        lambda d, p: dict(zip(("adx", "plus_di", "minus_di"), ref_adx(*_hlc(d), 14), strict=True)),
        {"adx": 0, "plus_di": 0, "minus_di": 0},
    ),
    ("roc", {"period": 10}, lambda d, p: {"": ref_roc(d["close"], 10)}, {"": 10}),
    (
        "momentum",
        {"period": 10},
        lambda d, p: {"": (S(d["close"]) - S(d["close"]).shift(10)).to_numpy()},
        {"": 10},
    ),
    ("obv", {}, lambda d, p: {"": ref_obv(d["close"], d["volume"])}, {"": 0}),
    ("mfi", {"period": 14}, lambda d, p: {"": ref_mfi(*_hlc(d), d["volume"], 14)}, {"": 14}),
    (
        "vwap",
        {"period": 20, "use_typical_price": True},
        lambda d, p: {"": ref_vwap(*_hlc(d), d["volume"], 20, True)},
        {"": 0},
    ),
    (
        "vwap",
        {"period": 0, "use_typical_price": False},
        lambda d, p: {"": ref_vwap(*_hlc(d), d["volume"], 0, False)},
        {"": 0},
    ),
    (
        "keltnerchannels",
        {"period": 20, "atr_period": 10, "multiplier": 2.0},
        _keltner,
        {"upper": 9, "middle": 0, "lower": 9},
    ),
    ("donchianchannels", {"period": 20}, _donchian, {"upper": 19, "middle": 19, "lower": 19}),
    (
        "supertrend",
        {"period": 10, "multiplier": 3.0},
        lambda d, p: dict(
            zip(("trend", "direction"), ref_supertrend(*_hlc(d), 10, 3.0)[:2], strict=True)
        ),
        {"trend": 9, "direction": 9},
    ),
    (
        "aroon",
        {"period": 14},
        lambda d, p: dict(
            zip(("up", "down", "oscillator"), ref_aroon(d["high"], d["low"], 14), strict=True)
        ),
        {"up": 13, "down": 13, "oscillator": 13},
    ),
    ("bollingerbandwidth", {"period": 20, "multiplier": 2.0}, _bbwidth, {"": 0}),
    ("distancefromma", {"period": 20, "ma_type": "SMA"}, _distance, {"": 19}),
    ("distancefromma", {"period": 30, "ma_type": "ema", "source": "high"}, _distance, {"": 0}),
    ("volumeratio", {"period": 20}, _volumeratio, {"": 0}),
    (
        "adline",
        {},
        _adline,
        {
            "line": 0,
            "mf_multiplier": 0,
            "mf_volume": 0,
            "roc_10": 10,
            "momentum_21": 21,
            "relative_strength": 19,
            "line_sma": 20,
        },
    ),
    (
        "adline",
        {"smoothing_period": 5},
        _adline,
        {
            **dict.fromkeys(("line", "mf_multiplier", "mf_volume"), 0),
            "roc_10": 10,
            "momentum_21": 21,
            "relative_strength": 19,
            "line_sma": 4,
        },
    ),  # fmt: skip
    (
        "cmf",
        {"period": 21},
        _cmf,
        {
            "cmf": 20,
            "mf_multiplier": 0,
            "mf_volume": 0,
            "momentum": 25,
            "signal": 20,
            "histogram": 20,
            "above_zero": 0,
            "below_zero": 0,
        },
    ),
    ("fishertransform", {}, _fisher, {"fisher": 9, "signal": 10}),
    ("fishertransform", {"period": 5, "smoothing": 1}, _fisher, {"fisher": 4, "signal": 5}),
    (
        "ichimoku",
        {},
        _ichimoku,
        {"tenkan": 8, "kijun": 25, "senkou_a": 51, "senkou_b": 77, "chikou": 0},
    ),
    (
        "ichimoku",
        {"tenkan_period": 5, "kijun_period": 12, "senkou_b_period": 30, "displacement": 0},
        _ichimoku,
        {"tenkan": 4, "kijun": 11, "senkou_a": 11, "senkou_b": 29, "chikou": 0},
    ),
    (
        "parabolicsar",
        {},
        lambda d, p: {"": ref_psar(*_hlc(d), 0.02, 0.02, 0.2)},
        {"": 1},
    ),
    (
        "parabolicsar",
        {"initial_af": 0.01, "step_af": 0.005, "max_af": 0.05},
        lambda d, p: {"": ref_psar(*_hlc(d), 0.01, 0.005, 0.05)},
        {"": 1},
    ),
    ("rvi", {}, _rvi, {"rvi": 12, "signal": 15}),
    ("rvi", {"period": 4, "signal_period": 1}, _rvi, {"rvi": 6, "signal": 6}),
    # squeezeintensity: 0.0 while the KC bands warm up, then NaN until the BB head ends (below)
    ("squeezeintensity", {}, _squeeze, {"": None}),
    (
        "squeezeintensity",
        {
            "bb_period": 10,
            "bb_multiplier": 1.5,
            "kc_period": 30,
            "kc_multiplier": 1.0,
            "source": "open",
        },
        _squeeze,
        {"": None},
    ),  # fmt: skip
    ("zigzag", {"threshold": 0.002}, _zigzag, {"": None}),
    ("zigzag", {"threshold": 0.004, "source": "high"}, _zigzag, {"": None}),
]


def test_every_indicator_has_a_reference_case():
    assert {c[0] for c in CASES} == set(INDICATORS)


@pytest.mark.parametrize(
    "type_name,params,reference,heads",
    CASES,
    ids=[f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}" for c in CASES],
)
def test_matches_reference(bars, type_name, params, reference, heads):
    out = run(type_name, bars, **params)
    expected = {k: np.asarray(v, dtype=np.float64) for k, v in reference(bars, params).items()}
    assert list(out) == list(expected) == list(heads)
    for key, arr in out.items():
        assert len(arr) == len(bars["close"])
        # atol only matters for values near 0 (MACD, momentum, oscillators crossing 0)
        assert_matches(arr, expected[key], heads[key], atol=1e-12 * bars["scale"])


def _flat_and_gap_bars(base_bars, gap: bool) -> dict:
    """The fixture's first 400 bars with a 60-bar flat stretch (every price equal) at 150..209
    and, with ``gap``, NaN bars at 60, 61 and 300 (a context series' gaps)."""
    out = {c: base_bars[c][:400].copy() for c in COLS}
    for c in ("open", "high", "low", "close"):
        out[c][150:210] = base_bars["close"][150]
    if gap:
        for c in COLS:
            out[c][[60, 61, 300]] = np.nan
    out["scale"] = 1.0
    return out


# The gap case covers the types that read one column (a ``source``): only context series hold
# gaps (bars are validated), and a context series is one column.
FLAT_GAP_CASES = [(*c, False) for c in CASES] + [
    (*c, True) for c in CASES if not set(get_indicator(c[0]).inputs) - {"close"}
]


@pytest.mark.parametrize(
    "type_name,params,reference,heads,gap",
    FLAT_GAP_CASES,
    ids=[
        f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}-{'gap' if c[4] else 'flat'}"
        for c in FLAT_GAP_CASES
    ],
)
def test_every_output_matches_reference_on_flat_windows_and_gaps(
    base_bars, type_name, params, reference, heads, gap
):
    """Every output of every type (not only the primary one) against the reference, on a flat
    stretch (zero ranges, 0/0 deviations) and, for the one-column types, with NaN bars too: the
    NaN positions must be identical and the values agree."""
    d = _flat_and_gap_bars(base_bars, gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = run(type_name, d, **params)
        expected = {k: np.asarray(v, dtype=np.float64) for k, v in reference(d, params).items()}
    assert list(out) == list(expected)
    for key, arr in out.items():
        assert_matches(arr, expected[key], None, atol=1e-12)


def test_cci_is_nan_exactly_on_flat_windows(base_bars):
    """27 of 39 periods gave +-66.67 on a flat stretch when the window mean was summed; NaN now,
    exactly where every typical price of the window is equal (the older engine's 0/0)."""
    d = _flat_and_gap_bars(base_bars, gap=False)
    tp = (d["high"] + d["low"] + d["close"]) / 3
    for period in range(2, 41):
        out = run("cci", d, period=period)[""]
        flat = np.zeros(len(tp), dtype=bool)
        for i in range(period - 1, len(tp)):
            flat[i] = (tp[i - period + 1 : i + 1] == tp[i]).all()
        assert flat.sum() == 60 - period + 1
        np.testing.assert_array_equal(np.isnan(out[period - 1 :]), flat[period - 1 :])


def test_aroon_include_oscillator_is_accepted_and_changes_nothing(base_bars):
    """The older aroon's ``include_oscillator`` only renamed its column; the outputs are the same."""
    plain = run("aroon", base_bars, period=14)
    for flag in (True, False):
        out = run("AroonIndicator", base_bars, period=14, include_oscillator=flag)
        assert list(out) == ["up", "down", "oscillator"]
        for k in out:
            np.testing.assert_array_equal(out[k], plain[k])
    with pytest.raises(ConfigError, match="include_oscillator"):
        run("aroon", base_bars, include_oscillator="yes")


def test_defaults_match_reference_defaults(base_bars):
    """Defaults as the reference states them: compute with {} == compute with explicit values."""
    explicit = {
        "rsi": {"period": 14, "source": "close"},
        "sma": {"period": 20},
        "ema": {"period": 20, "adjust": True},
        "wma": {"period": 20},
        "macd": {"fast_period": 12, "slow_period": 26, "signal_period": 9},
        "bbands": {"period": 20, "multiplier": 2.0},
        "atr": {"period": 14},
        "stochastic": {"k_period": 14, "d_period": 3, "smooth_k": 3},
        "williamsr": {"period": 14},
        "cci": {"period": 20},
        "adx": {"period": 14},
        "roc": {"period": 10},
        "momentum": {"period": 10},
        "mfi": {"period": 14},
        "vwap": {"period": 20, "use_typical_price": True},
        "keltnerchannels": {"period": 20, "atr_period": 10, "multiplier": 2.0},
        "donchianchannels": {"period": 20, "include_middle": True},
        "supertrend": {"period": 10, "multiplier": 3.0},
        "aroon": {"period": 14},
        "bollingerbandwidth": {"period": 20, "multiplier": 2.0},
        "distancefromma": {"period": 20, "ma_type": "SMA", "source": "close"},
        "volumeratio": {"period": 20},
        "adline": {"use_sma_smoothing": False, "smoothing_period": 21},
        "cmf": {"period": 21},
        "fishertransform": {"period": 10, "smoothing": 3},
        "ichimoku": {
            "tenkan_period": 9,
            "kijun_period": 26,
            "senkou_b_period": 52,
            "displacement": 26,
        },
        "parabolicsar": {"initial_af": 0.02, "step_af": 0.02, "max_af": 0.2},
        "rvi": {"period": 10, "signal_period": 4},
        "squeezeintensity": {
            "bb_period": 20,
            "bb_multiplier": 2.0,
            "kc_period": 20,
            "kc_multiplier": 2.0,
            "source": "close",
        },
        "zigzag": {"threshold": 0.05, "source": "close"},
    }
    assert set(explicit) == set(INDICATORS) - {"obv"}  # obv has no parameters
    for name, params in explicit.items():
        spec = get_indicator(name)
        full = validate_params(spec, {}, name)
        assert {k: full[k] for k in params} == params, name


# ------------------------------------------------------------------------------------------------
# TA-Lib cross-checks (only where the definitions coincide)
# ------------------------------------------------------------------------------------------------


def _both_finite(a, b):
    return ~np.isnan(a) & ~np.isnan(b)


def test_talib_sma_wma_mom_roc(bars):
    c = bars["close"]
    # Same definitions and the same NaN heads (TA-Lib lookback = our head).
    for ours, theirs in [
        (run("sma", bars, period=20)[""], talib.SMA(c, 20)),
        (run("wma", bars, period=20)[""], talib.WMA(c, 20)),
        (run("momentum", bars, period=10)[""], talib.MOM(c, 10)),
        (run("roc", bars, period=10)[""], talib.ROC(c, 10)),  # (x/prev − 1)·100, same value
    ]:
        assert_matches(ours, theirs, None, atol=1e-12 * bars["scale"])


def test_talib_rsi(bars):
    # TA-Lib's classic RSI = simple-mean seed over the first `period` changes, then Wilder; its
    # first value is at index `period` like ours. It maps avg_gain+avg_loss == 0 to 0 (ours 50),
    # which never happens on these bars.
    for period in (14, 5):
        assert_matches(
            run("rsi", bars, period=period)[""], talib.RSI(bars["close"], period), period, 0
        )


def test_talib_bbands(bars):
    # TA-Lib uses the population std; sample std = population std · sqrt(p/(p−1)), so TA-Lib with
    # nbdev = k·sqrt(p/(p−1)) gives our bands. (TA-Lib's std comes from running Σx and Σx², so
    # its bands are only good to ~1e-10 relative: still inside 1e-9.)
    p, k = 20, 2.0
    nbdev = k * math.sqrt(p / (p - 1))
    upper, middle, lower = talib.BBANDS(bars["close"], p, nbdev, nbdev, 0)
    out = run("bbands", bars, period=p, multiplier=k)
    for ours, theirs in zip(out.values(), (upper, middle, lower), strict=True):
        assert_matches(ours, theirs, p - 1, atol=0)


def test_talib_macd_after_convergence(bars):
    # TA-Lib seeds its EMAs with an SMA (and starts the fast EMA late); ours are pandas
    # adjust=False EMAs seeded at the first price. The seed's influence decays like (1−α)^t, so
    # only the tail after 500 bars is compared, with a looser tolerance.
    line, signal, hist = talib.MACD(bars["close"], 12, 26, 9)
    out = run("macd", bars)
    for ours, theirs in zip(out.values(), (line, signal, hist), strict=True):
        np.testing.assert_allclose(ours[500:], theirs[500:], rtol=1e-7, atol=1e-12 * bars["scale"])


def test_talib_ema_after_convergence(bars):
    # Same story as MACD: SMA seed in TA-Lib vs adjust=True weights here; equal once converged.
    ours = run("ema", bars, period=20)[""]
    np.testing.assert_allclose(ours[500:], talib.EMA(bars["close"], 20)[500:], rtol=1e-9)


def test_talib_true_range_atr_keltner(bars):
    h, lo, c = _hlc(bars)
    # TRANGE is the same TR from bar 1 on (TA-Lib leaves bar 0 out; ours is H − L there).
    tr = nb.true_range_nb(h, lo, c)
    np.testing.assert_allclose(tr[1:], talib.TRANGE(h, lo, c)[1:], rtol=RTOL)
    assert tr[0] == h[0] - lo[0]
    # TA-Lib's ATR is Wilder-smoothed, ours (like the older system) a simple mean of TR: compare
    # with TA-Lib's SMA of TRANGE where the window holds no bar 0.
    sma_tr = talib.SMA(talib.TRANGE(h, lo, c), 14)
    atr = run("atr", bars, period=14)[""]
    np.testing.assert_allclose(atr[14:], sma_tr[14:], rtol=RTOL)
    kc = run("keltnerchannels", bars, period=20, atr_period=10, multiplier=2.0)
    sma_tr10 = talib.SMA(talib.TRANGE(h, lo, c), 10)
    np.testing.assert_allclose(
        (kc["upper"] - kc["middle"])[10:], 2.0 * sma_tr10[10:], rtol=1e-7
    )  # band width is a difference of two prices: relative precision is lost to cancellation


def test_talib_willr_cci_stoch(bars):
    h, lo, c = _hlc(bars)
    # WILLR: same formula over `period` bars incl. the current one; TA-Lib returns 0 on a zero
    # range and NaN during its lookback where ours fabricates −50 (both excluded).
    theirs = talib.WILLR(h, lo, c, 14)
    ours = run("williamsr", bars, period=14)[""]
    m = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[m], theirs[m], rtol=RTOL, atol=1e-9)
    assert (ours[:13] == -50.0).all()
    # CCI: same TP, SMA, mean deviation around the current SMA and 0.015 factor.
    assert_matches(run("cci", bars, period=20)[""], talib.CCI(h, lo, c, 20), 19, atol=1e-9)
    # STOCH with SMA smoothing equals ours once fully warmed up (ours fills the warm-up with 50
    # and min_periods=1 means; TA-Lib outputs NaN there).
    slowk, slowd = talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)
    out = run("stochastic", bars, k_period=14, d_period=3, smooth_k=3)
    m = ~np.isnan(slowd)
    assert m.sum() == len(c) - (14 - 1 + 3 - 1 + 3 - 1)
    np.testing.assert_allclose(out["k"][m], slowk[m], rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(out["d"][m], slowd[m], rtol=RTOL, atol=1e-9)


def test_talib_directional_movement(bars):
    # Raw ±DM (period 1) has the same definition; the smoothing differs (TA-Lib seeds Wilder with
    # a sum, ours is ewm(alpha=1/p, adjust=False) from bar 0), so only raw DM is compared.
    h, lo = bars["high"], bars["low"]
    pdm, mdm = nb.directional_movement_nb(h, lo)
    np.testing.assert_allclose(pdm[1:], talib.PLUS_DM(h, lo, 1)[1:], rtol=RTOL)
    np.testing.assert_allclose(mdm[1:], talib.MINUS_DM(h, lo, 1)[1:], rtol=RTOL)


def test_talib_obv(bars):
    # TA-Lib's OBV starts at volume[0], ours (the older system's) at 0: compare the differences.
    ours = run("obv", bars)[""]
    theirs = talib.OBV(bars["close"], bars["volume"])
    np.testing.assert_allclose(ours, theirs - bars["volume"][0], rtol=RTOL)
    assert ours[0] == 0.0


def test_talib_mfi(bars):
    # Same TP, flows split by the sign of ΔTP over the `period` bars incl. the current one, first
    # value at index `period`. TA-Lib computes 100·pos/(pos+neg) (same value) and maps a total
    # below 1 to 0 where ours gives 100 for neg == 0: compare where both sums are positive.
    ours = run("mfi", bars, period=14)[""]
    theirs = talib.MFI(*_hlc(bars), bars["volume"], 14)
    m = ~np.isnan(theirs) & (ours > 0) & (ours < 100)
    assert m.sum() > len(ours) * 0.9
    np.testing.assert_allclose(ours[m], theirs[m], rtol=RTOL)


def test_talib_donchian(bars):
    h, lo = bars["high"], bars["low"]
    out = run("donchianchannels", bars, period=20)
    assert_matches(out["upper"], talib.MAX(h, 20), 19, 0)
    assert_matches(out["lower"], talib.MIN(lo, 20), 19, 0)
    assert_matches(out["middle"], talib.MIDPRICE(h, lo, 20), 19, 1e-12 * bars["scale"])


def test_talib_aroon_bars_since_extreme(bars):
    # TA-Lib's AROON(p) looks at p+1 bars and scales by p; ours (the older system's) looks at
    # `period` bars and scales by `period`, and ties go to the oldest bar here, the newest there.
    # What coincides is "bars since the extreme" for TA-Lib timeperiod = period − 1, on windows
    # whose extreme is unique.
    h, lo, q = bars["high"], bars["low"], 14
    down_t, up_t = talib.AROON(h, lo, q - 1)
    out = run("aroon", bars, period=q)
    since = {k: np.rint(q - out[k] * q / 100) for k in ("up", "down")}
    since_t = {
        "up": np.rint((q - 1) - up_t * (q - 1) / 100),
        "down": np.rint((q - 1) - down_t * (q - 1) / 100),
    }
    wh, wl = sliding_window_view(h, q), sliding_window_view(lo, q)
    unique = np.zeros(len(h), bool)
    unique[q - 1 :] = ((wh == wh.max(1, keepdims=True)).sum(1) == 1) & (
        (wl == wl.min(1, keepdims=True)).sum(1) == 1
    )
    assert unique.sum() > len(h) * 0.5
    for k in ("up", "down"):
        np.testing.assert_array_equal(since[k][unique], since_t[k][unique])


# ------------------------------------------------------------------------------------------------
# Edge cases stated by the reference
# ------------------------------------------------------------------------------------------------


def _flat_bars(n=60, price=1.1, volume=100.0):
    x = np.full(n, price)
    return {
        "open": x,
        "high": x.copy(),
        "low": x.copy(),
        "close": x.copy(),
        "volume": np.full(n, volume),
    }


def test_rsi_flat_prices_read_50_after_head():
    out = run("rsi", _flat_bars(), period=14)[""]
    assert nan_head(out) == 14
    assert (out[14:] == 50.0).all()


def test_rsi_no_losses_reads_100():
    x = np.linspace(1.0, 2.0, 40)
    out = run("rsi", {"close": x}, period=14)[""]
    assert nan_head(out) == 14 and (out[14:] == 100.0).all()
    x[20] = np.nan  # a NaN poisons every later value
    out = run("rsi", {"close": x}, period=14)[""]
    assert (out[14:20] == 100.0).all() and np.isnan(out[20:]).all()


def test_zero_range_oscillators():
    flat = _flat_bars()
    k = run("stochastic", flat)
    assert (k["k"] == 50.0).all() and (k["d"] == 50.0).all()
    assert (run("williamsr", flat)[""] == -50.0).all()
    assert (run("bollingerbandwidth", flat)[""] == 0.0).all()
    assert (run("volumeratio", flat)[""] == 1.0).all()
    bb = run("bbands", flat)
    assert (bb["upper"][19:] == 1.1).all() and (bb["lower"][19:] == 1.1).all()


def test_roc_infinite_is_nan():
    x = np.array([0.0, 1.0, 2.0, 0.0, 0.0, 3.0])
    out = run("roc", {"close": x}, period=1)[""]
    # (1−0)/0 → inf → NaN; (2−1)/1 → 100; (0−2)/2 → −100; 0/0 → NaN; (3−0)/0 → inf → NaN
    np.testing.assert_array_equal(out, [np.nan, np.nan, 100.0, -100.0, np.nan, np.nan])


def test_mfi_zero_negative_flow_reads_100():
    n = 30
    up = np.linspace(1.0, 1.3, n)
    bars_up = {"high": up, "low": up, "close": up, "volume": np.full(n, 10.0)}
    assert (run("mfi", bars_up, period=14)[""][14:] == 100.0).all()
    assert (run("mfi", {**bars_up, "volume": np.zeros(n)}, period=14)[""][14:] == 100.0).all()
    down = up[::-1].copy()
    bars_down = {"high": down, "low": down, "close": down, "volume": np.full(n, 10.0)}
    assert (run("mfi", bars_down, period=14)[""][14:] == 0.0).all()
    assert (run("mfi", _flat_bars(n), period=14)[""][14:] == 100.0).all()  # both 0 → 100


def test_mfi_rejects_negative_volume():
    b = _flat_bars()
    b["volume"][7] = -1.0
    with pytest.raises(DataError, match="row 7"):
        run("mfi", b)


def test_vwap_zero_volume_is_nan():
    b = _flat_bars(30)
    b["close"] = np.linspace(1.0, 1.3, 30)
    b["volume"][5:15] = 0.0
    out = run("vwap", b, period=3, use_typical_price=False)[""]
    assert np.isnan(out[7:15]).all()  # the last 3 volumes are all 0
    assert not np.isnan(out[:7]).any() and not np.isnan(out[15:]).any()
    b["volume"][:5] = 0.0
    cum = run("vwap", b, period=0, use_typical_price=False)[""]
    assert np.isnan(cum[:15]).all() and not np.isnan(cum[15:]).any()
    assert cum[-1] == pytest.approx(np.sum(b["close"][15:] * 100.0) / (15 * 100.0), rel=1e-12)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_too_short_input_is_causal_prefix(name, base_bars):
    """Short input does not raise, and each row equals the same row of a longer series: values
    never depend on how much data follows (no look-ahead through the minimum-rows rule)."""
    spec = get_indicator(name)
    params = validate_params(spec, {}, name)
    need = spec.min_rows(params)
    longer = compute_indicator(spec, params, {c: base_bars[c][: need + 50] for c in COLS})
    for k in (1, need // 2, need - 1):
        if k < 1:
            continue
        out = compute_indicator(spec, params, {c: base_bars[c][:k] for c in COLS})
        assert list(out) == list(spec.output_keys)
        for key, arr in out.items():
            assert arr.shape == (k,)
            np.testing.assert_array_equal(arr, longer[key][:k])
    empty = compute_indicator(spec, params, {c: base_bars[c][:0] for c in COLS})
    assert all(a.shape == (0,) for a in empty.values())
    # and exactly the minimum works and is not all NaN
    full = compute_indicator(spec, params, {c: base_bars[c][:need] for c in COLS})
    assert all(not np.isnan(a).all() for a in full.values())


def test_stated_minimum_rows():
    assert get_indicator("rsi").min_rows({"period": 14}) == 15
    assert get_indicator("ema").min_rows({"period": 3}) == 5
    assert (
        get_indicator("macd").min_rows({"fast_period": 12, "slow_period": 26, "signal_period": 9})
        == 35
    )
    assert get_indicator("adx").min_rows({"period": 14}) == 29


def test_supertrend_is_correct_on_fixture(bars):
    h, lo, c = _hlc(bars)
    out = run("supertrend", bars, period=10, multiplier=3.0)
    trend, direction = out["trend"], out["direction"]
    ref_trend, ref_dir, fu, fl = ref_supertrend(h, lo, c, 10, 3.0)
    assert nan_head(trend) == 9 and not np.isnan(trend[9:]).any()
    assert set(np.unique(direction[9:])) == {-1.0, 1.0}
    flips = np.diff(direction[9:])
    assert (flips > 0).sum() >= 3 and (flips < 0).sum() >= 3  # flips both ways, repeatedly
    np.testing.assert_array_equal(direction, ref_dir)
    np.testing.assert_allclose(trend, ref_trend, rtol=RTOL)
    up, dn = direction == 1.0, direction == -1.0
    np.testing.assert_allclose(trend[up], fl[up], rtol=RTOL)  # uptrend: the lower band
    np.testing.assert_allclose(trend[dn], fu[dn], rtol=RTOL)  # downtrend: the upper band
    assert (c[up] >= trend[up]).all() and (c[dn] <= trend[dn]).all()
    # the lower band only ratchets up while the trend is up (down likewise)
    both_up = up[1:] & up[:-1]
    assert (np.diff(trend)[both_up] >= 0).all()
    both_dn = dn[1:] & dn[:-1]
    assert (np.diff(trend)[both_dn] <= 0).all()


def test_outputs_are_fresh_float64_arrays(base_bars):
    for name, spec in INDICATORS.items():
        out = compute_indicator(spec, {}, base_bars)
        for arr in out.values():
            assert arr.dtype == np.float64 and arr.flags.c_contiguous
            assert not any(np.shares_memory(arr, base_bars[c]) for c in COLS), name


def test_int_and_float32_inputs_are_accepted(base_bars):
    close32 = base_bars["close"].astype(np.float32)
    out = run("sma", {"close": close32}, period=20)[""]
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref_sma(close32.astype(np.float64), 20), rtol=RTOL)


def test_missing_or_ragged_columns_raise():
    with pytest.raises(DataError, match="missing input column 'high'"):
        run("atr", {"close": np.ones(30), "low": np.ones(30)})
    with pytest.raises(DataError, match="differ in length"):
        run("atr", {"close": np.ones(30), "low": np.ones(30), "high": np.ones(29)})


# ------------------------------------------------------------------------------------------------
# O(n) running sums: accuracy on long random walks vs the direct per-window formula
# ------------------------------------------------------------------------------------------------


def _direct(x, w, stride, chunk=100_000):
    """Direct per-window mean, sample std and WMA for every ``stride``-th window (NaN elsewhere)."""
    mean, std, wma = (np.full(len(x), np.nan) for _ in range(3))
    wts = np.arange(1, w + 1, dtype=float)
    for s in range(w - 1, len(x), chunk * stride):
        e = min(s + chunk * stride, len(x))
        win = sliding_window_view(x[s - w + 1 : e], w)[::stride]
        rows = np.arange(s, e, stride)
        mean[rows] = win.mean(axis=1)
        std[rows] = win.std(axis=1, ddof=1)
        wma[rows] = win @ wts / wts.sum()
    return mean, std, wma


@pytest.mark.parametrize("level,step,decimals", [(1.08, 2e-4, 5), (100.0, 0.02, None)])
def test_running_sums_accurate_on_1m_bars(level, step, decimals):
    rng = np.random.default_rng(7)
    x = level * np.exp(np.cumsum(rng.normal(0.0, step / level, 1_000_000)))
    if decimals is not None:
        x = np.round(x, decimals)
    x[400_000:400_200] = x[400_000]  # a flat stretch: the std must be exactly 0 there
    for w, stride in ((2, 1), (20, 1), (200, 5)):
        mean, std, wma = _direct(x, w, stride)
        m = ~np.isnan(mean)  # the kernels run on all 1M bars; the reference is sampled
        m_ours, s_ours = nb.rolling_mean_std_nb(x, w, w, 1, True)
        assert np.isnan(m_ours[: w - 1]).all() and np.isnan(s_ours[: w - 1]).all()
        np.testing.assert_allclose(m_ours[m], mean[m], rtol=1e-12)
        np.testing.assert_allclose(nb.wma_nb(x, w)[m], wma[m], rtol=1e-12)
        # relative to the std itself; the atol only covers the direct formula's own rounding
        # noise (~1e-16·price) where the true std is 0
        np.testing.assert_allclose(s_ours[m], std[m], rtol=1e-9, atol=1e-14 * level)
        assert (s_ours[400_000 + w - 1 : 400_200] == 0.0).all()
        upper = run("bbands", {"close": x}, period=w)["upper"]
        np.testing.assert_allclose(upper[m], mean[m] + 2.0 * std[m], rtol=1e-12)


def test_interior_nan_matches_pandas(base_bars):
    # Bars are validated (no NaN), but context series may hold gaps: a window holding a NaN gives
    # NaN (pandas min_periods=window) and the values come back once it has left the window; the
    # EWM keeps pandas' ignore_na=False semantics.
    x = base_bars["close"][:300].copy()
    x[[50, 51, 120, 299]] = np.nan
    s = S(x)
    for w in (2, 20, 64):
        mean, std = nb.rolling_mean_std_nb(x, w, w, 1, True)
        assert_matches(mean, s.rolling(w).mean().to_numpy(), None, 0)
        # std vs the direct two-pass formula (NaN windows give NaN there too); pandas' online
        # rolling std is itself only ~1e-7 accurate on some 2-bar windows here
        np.testing.assert_allclose(std, ref_std(x, w), rtol=1e-9, atol=1e-15)
        np.testing.assert_array_equal(np.isnan(std), np.isnan(mean))
        wts = np.arange(1, w + 1, dtype=float)
        w_ref = s.rolling(w).apply(lambda a, wts=wts: np.dot(a, wts) / wts.sum(), raw=True)
        assert_matches(nb.wma_nb(x, w), w_ref.to_numpy(), None, 1e-15)
        assert_matches(nb.rolling_max_nb(x, w), s.rolling(w).max().to_numpy(), None, 0)
        assert_matches(nb.rolling_min_nb(x, w), s.rolling(w).min().to_numpy(), None, 0)
        part = nb.rolling_mean_nb(x, w, 1)
        assert_matches(part, s.rolling(w, min_periods=1).mean().to_numpy(), None, 0)
    for adjust in (True, False):
        ours = nb.ewm_mean_nb(x, 2.0 / 21.0, adjust)
        assert_matches(ours, s.ewm(span=20, adjust=adjust).mean().to_numpy(), None, 0)


def test_rolling_extremes_and_ties():
    x = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, 4.0, 4.0, 1.0])
    val, idx = nb.rolling_extreme_nb(x, 3, True)
    np.testing.assert_array_equal(val, [np.nan, np.nan, 3, 3, np.nan, np.nan, np.nan, 5, 4])
    assert list(idx) == [-1, -1, 1, 1, -1, -1, -1, 5, 6]  # ties → oldest
    val, idx = nb.rolling_extreme_nb(x, 3, False)
    np.testing.assert_array_equal(val, [np.nan, np.nan, 1, 2, np.nan, np.nan, np.nan, 4, 1])


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------


def test_lookup_is_case_insensitive_with_aliases():
    for name, canonical in [
        ("RSI", "rsi"),
        ("rsiindicator", "rsi"),
        ("RSIIndicator", "rsi"),
        ("SMA", "sma"),
        ("SimpleMovingAverage", "sma"),
        ("ExponentialMovingAverage", "ema"),
        ("BBands", "bbands"),
        ("BollingerBands", "bbands"),
        ("bollingerbandsindicator", "bbands"),
        ("WilliamsR", "williamsr"),
        ("WilliamsRIndicator", "williamsr"),
        ("KeltnerChannels", "keltnerchannels"),
        ("KeltnerChannelsIndicator", "keltnerchannels"),
        ("DonchianChannels", "donchianchannels"),
        ("DonchianChannelsIndicator", "donchianchannels"),
        ("BollingerBandWidth", "bollingerbandwidth"),
        ("DistanceFromMA", "distancefromma"),
        ("VolumeRatio", "volumeratio"),
        ("SuperTrend", "supertrend"),
        ("supertrendindicator", "supertrend"),
        ("Aroon", "aroon"),
        ("OBV", "obv"),
        ("MACDIndicator", "macd"),
        ("ADLine", "adline"),
        ("ADLineIndicator", "adline"),
        ("CMF", "cmf"),
        ("CMFIndicator", "cmf"),
        ("FisherTransform", "fishertransform"),
        ("FisherTransformIndicator", "fishertransform"),
        ("Ichimoku", "ichimoku"),
        ("IchimokuIndicator", "ichimoku"),
        ("ParabolicSAR", "parabolicsar"),
        ("ParabolicSARIndicator", "parabolicsar"),
        ("RVI", "rvi"),
        ("RVIIndicator", "rvi"),
        ("SqueezeIntensity", "squeezeintensity"),
        ("SqueezeIntensityIndicator", "squeezeintensity"),
        ("ZigZag", "zigzag"),
        ("ZigZagIndicator", "zigzag"),
    ]:
        assert get_indicator(name).name == canonical, name
    for spec in INDICATORS.values():
        assert get_indicator(spec.name.upper()) is spec
        for alias in spec.aliases:
            assert get_indicator(alias) is spec
    assert "keltner" not in indicator_types() and "williams_r" not in indicator_types()


def test_unknown_type_names_key_and_lists_valid_types():
    with pytest.raises(ConfigError) as exc:
        get_indicator("williams_r", where="indicators.wr_14.type")
    msg = str(exc.value)
    assert "indicators.wr_14.type" in msg and "'williams_r'" in msg
    assert "williamsr" in msg and "rsi" in msg and "bbands" in msg
    with pytest.raises(ConfigError, match="unknown indicator type"):
        get_indicator("keltner")


def test_outputs_and_primary_output():
    expected = {
        "macd": ("line", "signal", "histogram"),
        "bbands": ("upper", "middle", "lower"),
        "stochastic": ("k", "d"),
        "adx": ("adx", "plus_di", "minus_di"),
        "keltnerchannels": ("upper", "middle", "lower"),
        "donchianchannels": ("upper", "middle", "lower"),
        "supertrend": ("trend", "direction"),
        "aroon": ("up", "down", "oscillator"),
        "adline": (
            "line", "mf_multiplier", "mf_volume", "roc_10", "momentum_21", "relative_strength",
            "line_sma",
        ),
        "cmf": (
            "cmf", "mf_multiplier", "mf_volume", "momentum", "signal", "histogram", "above_zero",
            "below_zero",
        ),
        "fishertransform": ("fisher", "signal"),
        "ichimoku": ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
        "rvi": ("rvi", "signal"),
    }  # fmt: skip
    for name, spec in INDICATORS.items():
        assert spec.outputs == expected.get(name, ()), name
        assert spec.primary_output == (spec.outputs[0] if spec.outputs else "")
    assert get_indicator("bbands").primary_output == "upper"


def test_validate_params_fills_defaults_and_converts():
    spec = get_indicator("bbands")
    assert validate_params(spec, {}, "x") == {"period": 20, "multiplier": 2.0, "source": "close"}
    got = validate_params(spec, {"multiplier": 3, "source": "HIGH"}, "x")  # float accepts int
    assert got == {"period": 20, "multiplier": 3.0, "source": "high"}
    assert isinstance(got["multiplier"], float)
    assert (
        validate_params(get_indicator("distancefromma"), {"ma_type": "ema"}, "x")["ma_type"]
        == "EMA"
    )
    assert validate_params(get_indicator("obv"), {}, "x") == {}


@pytest.mark.parametrize(
    "type_name,params,fragment",
    [
        ("macd", {"length": 12}, "indicators.ind.length: unknown parameter 'length'"),
        ("rsi", {"params": {"period": 14}}, "indicators.ind.params: unknown parameter 'params'"),
        ("rsi", {"period": 14.0}, "indicators.ind.period: expected an int"),
        ("rsi", {"period": True}, "indicators.ind.period: expected an int"),
        ("rsi", {"period": "14"}, "indicators.ind.period: expected an int"),
        ("rsi", {"period": 1}, "indicators.ind.period: 1 is out of range"),
        ("rsi", {"period": 101}, "out of range"),
        ("sma", {"period": 501}, "out of range"),
        ("vwap", {"period": -1}, "out of range"),
        ("bbands", {"multiplier": 0}, "indicators.ind.multiplier: 0.0 is out of range"),
        ("bbands", {"multiplier": True}, "expected a number"),
        ("bbands", {"multiplier": float("nan")}, "not a number"),
        ("bbands", {"source": "hlc3"}, "indicators.ind.source: 'hlc3' is not a valid choice"),
        ("ema", {"adjust": 1}, "indicators.ind.adjust: expected a bool"),
        ("distancefromma", {"ma_type": "WMA"}, "not a valid choice"),
        ("macd", {"fast_period": 26, "slow_period": 12}, "fast_period: must be less than"),
    ],
)
def test_validate_params_errors(type_name, params, fragment):
    with pytest.raises(ConfigError) as exc:
        validate_params(get_indicator(type_name), params, "indicators.ind")
    assert fragment in str(exc.value)


def test_unknown_param_lists_valid_ones():
    with pytest.raises(ConfigError) as exc:
        validate_params(
            get_indicator("macd"), {"fast": 12, "slow_ema": 26}, "indicators.macd_12_26_9"
        )
    msg = str(exc.value)
    assert msg.startswith("indicators.macd_12_26_9.slow_ema: unknown parameter 'slow_ema'")
    assert "fast_period, slow_period, signal_period, source" in msg
    assert "(also spelled: fast, slow, signal)" in msg


def test_every_spec_is_well_formed():
    for name, spec in INDICATORS.items():
        assert name == name.lower() and all(a == a.lower() for a in spec.aliases)
        assert spec.description
        defaults = validate_params(spec, {}, name)  # defaults pass their own validation
        assert spec.min_rows(defaults) >= 1
        for p in spec.params:
            assert p.describe().startswith(p.name)
        names = {p.name for p in spec.params}
        for spelling, targets in spec.param_aliases:  # another spelling, of real parameters
            assert spelling not in names and targets and set(targets) <= names


# ------------------------------------------------------------------------------------------------
# The indicators added for the older system's strategies (issue 10)
# ------------------------------------------------------------------------------------------------


def test_talib_ad_and_cmf(bars):
    # TA-Lib's AD is the same running sum of ((C − L) − (H − C))/(H − L) · V (a zero range adds 0).
    h, lo, c, v = (*_hlc(bars), bars["volume"])
    out = run("adline", bars)
    ad = talib.AD(h, lo, c, v)
    assert_matches(out["line"], ad, 0, atol=1e-9 * np.abs(ad).max())
    # CMF has no TA-Lib function; built from TA-Lib's own money-flow volume (the steps of AD)
    # and its SUM, it is Σ flow / Σ volume over the period.
    flow = np.diff(ad, prepend=0.0)
    theirs = talib.SUM(flow, 21) / talib.SUM(v, 21)
    np.testing.assert_allclose(run("cmf", bars, period=21)["cmf"], theirs, rtol=1e-7, atol=1e-12)


def test_talib_ichimoku_midpoints(bars):
    # Tenkan, kijun and the senkou B line are TA-Lib's MIDPRICE ((max H + min L)/2 over n bars);
    # the senkou spans are those of displacement bars earlier.
    h, lo = bars["high"], bars["low"]
    out = run("ichimoku", bars)
    atol = 1e-15 * bars["scale"]
    assert_matches(out["tenkan"], talib.MIDPRICE(h, lo, 9), 8, atol)
    assert_matches(out["kijun"], talib.MIDPRICE(h, lo, 26), 25, atol)
    b = talib.MIDPRICE(h, lo, 52)
    assert_matches(out["senkou_b"][26:], b[:-26], 51, atol)
    a = (talib.MIDPRICE(h, lo, 9) + talib.MIDPRICE(h, lo, 26)) / 2
    assert_matches(out["senkou_a"][26:], a[:-26], 25, atol)
    unshifted = run("ichimoku", bars, displacement=0)  # the older system's spans
    assert_matches(unshifted["senkou_b"], b, 51, atol)


# No TA-Lib cross-check where the definitions differ: TA-Lib's SAR (Wilder's) caps the SAR by the
# previous two bars *before* its reversal test and seeds the trend from directional movement, the
# older system caps after the test and seeds from C1 vs C0; TA-Lib has no Fisher transform, RVI,
# squeeze intensity or zigzag.


def test_squeeze_intensity_warm_up_and_range(bars):
    out = run("squeezeintensity", bars)[""]
    # KC bands (ATR 10) unknown → 0.0; KC known but BB(20) not yet → NaN; then values in [0, 1).
    assert (out[:9] == 0.0).all()
    assert np.isnan(out[9:19]).all()
    assert not np.isnan(out[19:]).any()
    assert (out[19:] >= 0).all() and (out[19:] < 1).all() and (out[19:] > 0).mean() > 0.05


def test_squeeze_period_spelling_sets_both_periods(base_bars):
    spec = get_indicator("squeezeintensity")
    got = validate_params(spec, {"period": 14}, "indicators.sq")
    assert got["bb_period"] == 14 and got["kc_period"] == 14
    np.testing.assert_array_equal(
        run("squeezeintensity", base_bars, period=14)[""],
        run("squeezeintensity", base_bars, bb_period=14, kc_period=14)[""],
    )
    with pytest.raises(ConfigError, match="indicators.sq.bb_period: sets 'bb_period'.*'period'"):
        validate_params(spec, {"period": 14, "bb_period": 20}, "indicators.sq")


def test_macd_spellings_map_to_the_canonical_names(base_bars):
    spec = get_indicator("macd")
    got = validate_params(spec, {"fast": 5, "slow": 35, "signal": 5}, "indicators.m")
    assert got == {"fast_period": 5, "slow_period": 35, "signal_period": 5, "source": "close"}
    a = run("macd", base_bars, fast=5, slow=35, signal=5)
    b = run("macd", base_bars, fast_period=5, slow_period=35, signal_period=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["line"], run("macd", base_bars)["line"])  # not the defaults
    with pytest.raises(ConfigError, match="indicators.m.fast: expected an int"):
        validate_params(spec, {"fast": 5.0}, "indicators.m")
    with pytest.raises(ConfigError, match="sets 'fast_period', which is already given"):
        validate_params(spec, {"fast": 5, "fast_period": 5}, "indicators.m")
    with pytest.raises(ConfigError, match=r"indicators.m.fastest: unknown parameter 'fastest'"):
        validate_params(spec, {"fastest": 5}, "indicators.m")


def test_zigzag_looks_ahead_by_construction(base_bars):
    """Truncating the data changes earlier zigzag values: an extreme is only confirmed (or moved)
    by later bars. That is why it is refused as a model input."""
    full = run("zigzag", base_bars, threshold=0.002)[""]
    changed = 0
    for k in range(50, 600, 25):
        part = run("zigzag", {c: base_bars[c][:k] for c in COLS}, threshold=0.002)[""]
        changed += not np.array_equal(part, full[:k], equal_nan=True)
    assert changed > 10


def test_zigzag_indicator_and_labels_share_the_extremes(base_bars):
    from vbt.model.labels import zigzag_extremes

    out = run("zigzag", base_bars, threshold=0.003)[""]
    np.testing.assert_array_equal(~np.isnan(out), zigzag_extremes(base_bars["close"], 0.003))


@pytest.mark.parametrize("ref", ["z", "z_fz"])
def test_zigzag_is_refused_as_a_model_input(ref):
    strategy = {
        "name": "zz",
        "training_data": {"symbols": "EURUSD", "timeframes": "1h"},
        "indicators": {"z": {"type": "zigzag", "threshold": 0.01}, "r": {"type": "rsi"}},
        "fuzzy_sets": {"z_fz": {"indicator": "z", "lo": [0, 1, 2]}},
        "nn_inputs": [{"fuzzy_set": ref} if ref == "z_fz" else {"raw_indicator": ref}],
    }
    with pytest.raises(ConfigError) as exc:
        vbt.load_strategy(strategy)
    msg = str(exc.value)
    assert "nn_inputs[0]" in msg and "'z' (zigzag)" in msg
    assert "looks ahead" in msg and "cannot be a model input" in msg and "labels" in msg
    # defined but not fed to the model: fine
    strategy["nn_inputs"] = [{"raw_indicator": "r"}]
    assert vbt.load_strategy(strategy).indicators["z"].type == "zigzag"


def test_readme_lists_every_indicator_with_params_and_outputs():
    """The README's indicator table names each type, its parameters (with defaults) and outputs."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in readme.splitlines()
        if line.startswith("| `")
    }
    for name, spec in INDICATORS.items():
        assert name in rows, name
        row = rows[name]
        for p in spec.params:
            assert f"{p.name}={p.default!r}".replace("'", "") in row.replace("'", ""), (name, p)
        for o in spec.outputs:
            assert f"`{o}`" in row, (name, o)
