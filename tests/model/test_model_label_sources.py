"""The triple-barrier, context and regime labellers: each against a plain per-bar reference
written here from the older system's rules, a property test that a label never reads a bar after
its horizon, per-split labelling, and a model trained on each, loaded and backtested."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vbt
from vbt.model.dataset import split_labels
from vbt.model.labels import (
    context_labels,
    regime_labels,
    triple_barrier_labels,
)
from vbt.model.train_config import TrainParams

BUY, HOLD, SELL = 0, 1, 2


@pytest.fixture(scope="module")
def hlc() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bars = vbt.load_bars("data_fixtures/EURUSD_1h.parquet")
    return tuple(bars.get_column(c).to_numpy() for c in ("high", "low", "close"))


def random_bars(seed: int, n: int, flat: int = 0):
    """A random walk's bars (high >= close >= low), with ``flat`` flat bars at the start."""
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 0.003, n)))
    close[:flat] = close[0]
    spread = np.abs(rng.normal(0.0, 0.002, n)) * close
    spread[:flat] = 0.0
    return close + spread, close - spread * rng.uniform(0.0, 1.0, n), close


# ------------------------------------------------------------------------------------------------
# Plain references (per-bar loops, the older labellers' rules)
# ------------------------------------------------------------------------------------------------


def ref_triple_barrier(high, low, close, pt, sl, hold, span, method):
    n = len(close)
    if method == "atr":
        vol = np.array(pd.Series((high - low) / close).ewm(span=span).mean())
    else:
        vol = np.full(n, np.nan)
        vol[1:] = pd.Series(np.diff(np.log(close))).ewm(span=span).std().to_numpy()
    first = min(span, n - 1)
    for i in range(first):
        if np.isnan(vol[i]) or vol[i] == 0:
            vol[i] = vol[first]
    out = np.full(n, np.nan)
    for t in range(n - hold):
        upper = close[t] * (1 + pt * vol[t])
        lower = close[t] * (1 - sl * vol[t])
        label = 0
        for dt in range(1, hold + 1):
            hit_up, hit_down = high[t + dt] >= upper, low[t + dt] <= lower
            if hit_up and hit_down:
                label = 1 if close[t + dt] >= close[t] else -1
                break
            if hit_up or hit_down:
                label = 1 if hit_up else -1
                break
        if label == 0:
            ret = (close[t + hold] - close[t]) / close[t]
            if abs(ret) < vol[t] * math.sqrt(hold) * 0.5:  # as the older: NaN band -> the sign
                label = 0
            else:
                label = int(np.sign(ret))
        out[t] = {1: BUY, 0: HOLD, -1: SELL}[label]
    return out


def ref_context(close, horizon, bull, bear):
    out = np.full(len(close), np.nan)
    for t in range(len(close) - horizon):
        ret = (close[t + horizon] - close[t]) / close[t]
        out[t] = 0 if ret > bull else (1 if ret < bear else 2)
    return out


def ref_pivots(close, thr):
    if len(close) < 3:
        return [0]
    piv, ext, direction = [0], 0, 0
    for i in range(1, len(close)):
        change = (close[i] - close[ext]) / close[ext]
        if direction == 0:
            if abs(change) >= thr:
                direction, ext = (1 if change > 0 else -1), i
        elif direction == 1:
            if close[i] > close[ext]:
                ext = i
            elif change <= -thr:
                piv.append(ext)
                direction, ext = -1, i
        else:
            if close[i] < close[ext]:
                ext = i
            elif change >= thr:
                piv.append(ext)
                direction, ext = 1, i
    if piv[-1] != ext:
        piv.append(ext)
    return piv


def ref_regime(high, low, close, macro_m, micro_m, atr_p, lookback, crisis, tol):
    n = len(close)
    out = np.full(n, np.nan)
    if n < atr_p + 2:
        return out
    tr = [high[0] - low[0]] + [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        for i in range(1, n)
    ]
    atr = [sum(tr[i : i + atr_p]) / atr_p for i in range(n - atr_p + 1)]
    base = float(np.median(atr)) / float(np.median(close))
    macro, micro = ref_pivots(close, macro_m * base), ref_pivots(close, micro_m * base)
    if len(macro) < 2 or base <= 0:
        return out
    lr = np.diff(np.log(close))
    volatile = np.zeros(n, dtype=bool)
    if n >= lookback + 2:
        for t in range(lookback, n - atr_p):
            fwd = np.std(lr[t : t + atr_p], ddof=1) if atr_p > 1 else 0.0
            hist = np.std(lr[t - lookback : t], ddof=1)
            volatile[t] = hist > 0 and fwd / hist > crisis
    for a, b in zip(macro[:-1], macro[1:], strict=True):
        up = close[b] > close[a]
        p = [close[i] for i in micro if a <= i <= b]
        highs, lows = [], []
        for i, x in enumerate(p):
            if len(p) < 4:
                break
            if i in (0, len(p) - 1):
                other = p[1] if i == 0 else p[-2]
                (lows if x < other else highs).append(x)
            elif x > p[i - 1] and x > p[i + 1]:
                highs.append(x)
            elif x < p[i - 1] and x < p[i + 1]:
                lows.append(x)
        seq = lows if up else highs
        steps = [(y > x) if up else (y < x) for x, y in zip(seq[:-1], seq[1:], strict=True)]
        trending = len(p) >= 4 and len(seq) >= 2 and sum(steps) / len(steps) >= tol
        for i in range(a, b + 1):
            out[i] = 3 if volatile[i] else ((0 if up else 1) if trending else 2)
    return out


# ------------------------------------------------------------------------------------------------
# Agreement with the references
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["atr", "close"])
@pytest.mark.parametrize("pt,sl,hold,span", [(2.0, 1.5, 50, 50), (1.0, 1.0, 24, 14), (3, 1, 5, 80)])
def test_triple_barrier_matches_reference_on_fixture(hlc, method, pt, sl, hold, span):
    h, lo, c = hlc
    ours = triple_barrier_labels(
        h, lo, c, pt_multiplier=pt, sl_multiplier=sl, max_holding_period=hold, vol_span=span,
        vol_method=method,
    )  # fmt: skip
    ref = ref_triple_barrier(h, lo, c, pt, sl, hold, span, method)
    np.testing.assert_array_equal(ours, ref)
    assert np.isnan(ours[-hold:]).all() and not np.isnan(ours[:-hold]).any()
    assert set(np.unique(ours[:-hold])) <= {BUY, HOLD, SELL}


def test_triple_barrier_defaults_are_the_older_ones(hlc):
    h, lo, c = hlc
    np.testing.assert_array_equal(
        triple_barrier_labels(h, lo, c), ref_triple_barrier(h, lo, c, 2.0, 1.5, 50, 50, "atr")
    )


def test_triple_barrier_hand_computed():
    # vol is the EWM of (high - low) / close = 0.02 everywhere: barriers +4 % / -3 %
    c = np.array([100.0, 101.0, 104.5, 100.0, 96.0, 100.0, 100.0, 100.0])
    h, lo = c * 1.01, c * 0.99
    y = triple_barrier_labels(h, lo, c, max_holding_period=2, vol_span=3)
    # bar 0: bar 2's high 105.5 >= 104 first -> BUY; bar 1 (101): up 105.04, down 97.97: bar 2's
    # high 105.5 -> BUY; bar 2 (104.5): down 101.365: bar 3's low 99 -> SELL; bar 3 (100): bar 4's
    # low 95.04 <= 97 -> SELL; bar 4 (96): up 99.84: bar 5's high 101 -> BUY; bar 5: no touch,
    # return 0 -> HOLD
    np.testing.assert_array_equal(y, [BUY, BUY, SELL, SELL, BUY, HOLD, np.nan, np.nan])


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 160),
    flat=st.integers(0, 40),
    hold=st.integers(1, 30),
    span=st.integers(1, 60),
    method=st.sampled_from(["atr", "close"]),
)
@settings(max_examples=60, deadline=None)
def test_triple_barrier_matches_reference_on_random_walks(seed, n, flat, hold, span, method):
    h, lo, c = random_bars(seed, n, flat)
    kw = dict(max_holding_period=hold, vol_span=span, vol_method=method)
    ours = triple_barrier_labels(h, lo, c, **kw)
    np.testing.assert_array_equal(ours, ref_triple_barrier(h, lo, c, 2.0, 1.5, hold, span, method))


@pytest.mark.parametrize(
    "horizon,bull,bear", [(5, 0.005, -0.005), (1, 0.0, 0.0), (24, 0.01, -0.002)]
)
def test_context_matches_reference(hlc, horizon, bull, bear):
    c = hlc[2]
    ours = context_labels(c, horizon=horizon, bullish_threshold=bull, bearish_threshold=bear)
    np.testing.assert_array_equal(ours, ref_context(c, horizon, bull, bear))
    assert np.isnan(context_labels(c[:5], horizon=5)).all()


@pytest.mark.parametrize(
    "kw",
    [{}, {"macro_atr_mult": 2.0, "micro_atr_mult": 0.5, "atr_period": 5, "vol_lookback": 30,
          "vol_crisis_threshold": 1.5, "progression_tolerance": 1.0}],
)  # fmt: skip
def test_regime_matches_reference_on_fixture(hlc, kw):
    d = {"macro_atr_mult": 3.0, "micro_atr_mult": 1.0, "atr_period": 14, "vol_lookback": 120,
         "vol_crisis_threshold": 2.0, "progression_tolerance": 0.5, **kw}  # fmt: skip
    ours = regime_labels(*hlc, **d)
    ref = ref_regime(*hlc, *d.values())
    np.testing.assert_array_equal(ours, ref)
    assert set(np.unique(ours[~np.isnan(ours)])) == {0, 1, 2, 3}


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 400),
    atr_p=st.integers(1, 20),
    lookback=st.integers(2, 60),
    tol=st.sampled_from([0.0, 0.5, 1.0]),
)
@settings(max_examples=40, deadline=None)
def test_regime_matches_reference_on_random_walks(seed, n, atr_p, lookback, tol):
    h, lo, c = random_bars(seed, n)
    kw = dict(atr_period=atr_p, vol_lookback=lookback, vol_crisis_threshold=1.5,
              progression_tolerance=tol)  # fmt: skip
    ours = regime_labels(h, lo, c, macro_atr_mult=2.0, micro_atr_mult=0.7, **kw)
    np.testing.assert_array_equal(ours, ref_regime(h, lo, c, 2.0, 0.7, atr_p, lookback, 1.5, tol))


# ------------------------------------------------------------------------------------------------
# No label reads a bar after its horizon
# ------------------------------------------------------------------------------------------------


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 200),
    hold=st.integers(1, 30),
    span=st.integers(1, 40),
    method=st.sampled_from(["atr", "close"]),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_triple_barrier_never_reads_past_its_horizon(seed, n, hold, span, method, data):
    """The label of bar t reads bars up to t + max_holding_period (and, for the first vol_span
    bars, the volatility at bar vol_span): computed on any longer prefix, or with every later
    bar changed, it is the same."""
    h, lo, c = random_bars(seed, n)
    kw = dict(max_holding_period=hold, vol_span=span, vol_method=method)
    full = triple_barrier_labels(h, lo, c, **kw)
    t = data.draw(st.integers(0, n - 1))
    last = max(t + hold, span)  # the last bar the label of t may read
    if last + 1 > n:
        return
    m = data.draw(st.integers(last + 1, n))
    cut = triple_barrier_labels(h[:m], lo[:m], c[:m], **kw)
    assert np.array_equal(cut[t], full[t], equal_nan=True)
    h2, lo2, c2 = random_bars(seed + 1, n)
    mixed = [np.concatenate([a[:m], b[m:] * 1.3]) for a, b in ((h, h2), (lo, lo2), (c, c2))]
    assert np.array_equal(triple_barrier_labels(*mixed, **kw)[t], full[t], equal_nan=True)


@given(
    seed=st.integers(0, 10_000), n=st.integers(2, 200), horizon=st.integers(1, 30), data=st.data()
)
@settings(max_examples=60, deadline=None)
def test_context_never_reads_past_its_horizon(seed, n, horizon, data):
    c = random_bars(seed, n)[2]
    full = context_labels(c, horizon=horizon)
    t = data.draw(st.integers(0, n - 1))
    m = data.draw(st.integers(min(t + horizon + 1, n), n))
    changed = np.concatenate([c[:m], c[m:] * 0.5])
    if t + horizon < m:
        assert np.array_equal(context_labels(c[:m], horizon=horizon)[t], full[t], equal_nan=True)
        assert np.array_equal(context_labels(changed, horizon=horizon)[t], full[t], equal_nan=True)


@pytest.mark.parametrize(
    "labels",
    [
        {"source": "triple_barrier", "max_holding_period": 12, "vol_span": 10},
        {"source": "triple_barrier", "vol_method": "close"},
        {"source": "context", "horizon": 7},
        {"source": "regime", "vol_lookback": 60},
        {"source": "zigzag", "zigzag_threshold": 0.005},
        {"source": "forward_return", "horizon": 9},
    ],
    ids=lambda d: "-".join(str(v) for v in d.values()),
)
@given(seed=st.integers(0, 10_000), data=st.data())
@settings(max_examples=15, deadline=None)
def test_a_split_is_labelled_from_its_own_bars_only(labels, seed, data):
    """Every source, through the trainer's ``split_labels``: changing every bar after a split's
    end changes no label of that split (the regime labeller, whose thresholds are medians over
    its input, has no shorter horizon than this)."""
    n = 600
    h, lo, c = random_bars(seed, n)
    a = data.draw(st.integers(100, 300))
    b = data.draw(st.integers(a + 50, n - 1))
    splits = {"train": (0, a), "validation": (a, b), "test": (b, n)}
    params = TrainParams.from_strategy(vbt.load_strategy(_strategy(labels)), output_type=None)
    y, ok = split_labels({"high": h, "low": lo, "close": c}, splits, params)
    h2, lo2, c2 = random_bars(seed + 7, n)
    for stop in (a, b):
        other = {k: np.concatenate([x[:stop], z[stop:] * 0.8])
                 for k, x, z in (("high", h, h2), ("low", lo, lo2), ("close", c, c2))}  # fmt: skip
        y2, ok2 = split_labels(other, splits, params)
        np.testing.assert_array_equal(y2[:stop], y[:stop])
        np.testing.assert_array_equal(ok2[:stop], ok[:stop])


def _strategy(labels: dict) -> dict:
    return {
        "name": "labels",
        "training_data": {"symbols": "EURUSD", "timeframes": "1h"},
        "indicators": {"rsi_14": {"type": "rsi", "period": 14}},
        "fuzzy_sets": {"rsi_14": {"indicator": "rsi_14",
                                  "low": {"type": "triangular", "parameters": [0, 30, 50]}}},
        "nn_inputs": [{"fuzzy_set": "rsi_14"}],
        "model": {"type": "mlp", "architecture": {"hidden_layers": [8]}},
        "training": {"labels": labels, "epochs": 2},
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Models trained on each source: output width and type, the model directory, the backtest
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels,output_type,width,names",
    [
        ({"source": "triple_barrier", "max_holding_period": 24, "vol_span": 14},
         "classification", 3, ("BUY", "HOLD", "SELL")),
        ({"source": "context"}, "context_classification", 3, ("BULLISH", "BEARISH", "NEUTRAL")),
        ({"source": "regime"}, "regime_classification", 4,
         ("TRENDING_UP", "TRENDING_DOWN", "RANGING", "VOLATILE")),
    ],
    ids=["triple_barrier", "context", "regime"],
)  # fmt: skip
def test_trained_model_loads_and_backtests(tmp_path, labels, output_type, width, names):
    model_dir = vbt.train(_strategy(labels), data_dir="data_fixtures", out_dir=tmp_path,
                          progress=False)  # fmt: skip
    bundle = vbt.ModelBundle.load(model_dir)
    assert bundle.output_type == output_type
    assert bundle.model(__import__("torch").zeros(1, len(bundle.feature_names))).shape == (1, width)
    metrics = __import__("json").loads((model_dir / "metrics.json").read_text())
    assert tuple(metrics["label_distribution"]) == names
    assert metrics["label_source"] == labels["source"]
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir="data_fixtures", symbol="EURUSD")
    result = vbt.BacktestEngine(cfg).run()
    counts = result.info.class_counts
    if output_type == "classification":  # a trading model: its signal funnel says what it did
        assert counts == {}
    else:
        assert tuple(counts) == names
        decided = result.info.bars - cfg.warmup_bars
        assert 0 < sum(counts.values()) <= decided
    if output_type != "classification":  # regime and context models never trade
        assert result.metrics["total_trades"] == 0
        assert result.metrics["raw_buy_signals"] == result.metrics["raw_sell_signals"] == 0
