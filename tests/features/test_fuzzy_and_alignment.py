"""Fuzzy membership edge cases (reference §4), as-of alignment, FeatureFrame and its cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vbt
from vbt.features import frame as frame_mod
from vbt.features.align import asof_index
from vbt.features.fuzzy import membership

ROOT = Path(__file__).resolve().parents[2]
NAN = np.nan


def mf(kind, params, xs):
    return membership(kind, tuple(float(p) for p in params), np.array(xs, dtype=float))


# ---- fuzzy ----------------------------------------------------------------------------------


def test_triangular_rules():
    out = mf("triangular", [0, 25, 40], [-1, 0, 10, 25, 30, 40, 41, NAN])
    np.testing.assert_array_equal(out[:7], [0, 0, 0.4, 1, (40 - 30) / 15, 0, 0])
    assert np.isnan(out[7])


def test_triangular_left_shoulder_does_not_saturate():
    out = mf("triangular", [0, 0, 30], [-5, 0, 15, 30])
    np.testing.assert_array_equal(out, [0, 1, 0.5, 0])


def test_triangular_right_shoulder_does_not_saturate():
    out = mf("triangular", [70, 100, 100], [85, 100, 101])
    np.testing.assert_array_equal(out, [0.5, 1, 0])


def test_triangular_degenerate_point():
    np.testing.assert_array_equal(mf("triangular", [5, 5, 5], [4, 5, 6]), [0, 1, 0])


def test_trapezoidal_rules_and_shoulder_quirk():
    out = mf("trapezoidal", [0, 10, 20, 30], [0, 5, 10, 15, 20, 25, 30, NAN])
    np.testing.assert_array_equal(out[:7], [0, 0.5, 1, 1, 1, 0.5, 0])
    assert np.isnan(out[7])
    # Shoulder [0, 0, 20, 30]: exactly x == a gives 0 (the older scalar path checks x <= a first).
    np.testing.assert_array_equal(mf("trapezoidal", [0, 0, 20, 30], [0, 1e-9, 20]), [0, 1, 1])
    # Likewise x == d when c == d.
    np.testing.assert_array_equal(mf("trapezoidal", [0, 10, 30, 30], [30, 29.999]), [0, 1])


def test_gaussian():
    out = mf("gaussian", [50, 10], [50, 60, 30, 1e6, NAN])
    np.testing.assert_allclose(out[:3], [1, np.exp(-0.5), np.exp(-2)], rtol=1e-15)
    assert out[3] == 0.0 and np.isnan(out[4])  # underflows far away, NaN passes through


# ---- alignment ------------------------------------------------------------------------------


def ns(*stamps):
    return np.array([np.datetime64(s, "ns").astype(np.int64) for s in stamps])


def test_asof_higher_timeframe_visible_only_after_close():
    base = ns(*[f"2024-01-01T{h:02d}:00" for h in range(9)])
    four = ns("2024-01-01T00:00", "2024-01-01T04:00", "2024-01-01T08:00")
    idx = asof_index(base, "1h", four, "4h")
    # The 00:00 4h bar closes at 04:00 together with the 03:00 1h bar.
    np.testing.assert_array_equal(idx, [-1, -1, -1, 0, 0, 0, 0, 1, 1])


def test_asof_lower_timeframe_takes_last_closed_subbar():
    base = ns("2024-01-01T00:00", "2024-01-01T01:00")
    five = ns(*[f"2024-01-01T{h:02d}:{m:02d}" for h in (0, 1) for m in range(0, 60, 5)])
    idx = asof_index(base, "1h", five, "5m")
    np.testing.assert_array_equal(idx, [11, 23])  # the HH:55 bar, closing with the hour


def mtf_strategy(indicator="rsi", params=None, tfs=("1h", "4h")):
    ind = {"type": indicator, **(params or {})}
    return {
        "name": "mtf",
        "training_data": {
            "symbols": "EURUSD",
            "timeframes": {"mode": "multi_timeframe", "list": list(tfs), "base_timeframe": tfs[0]},
        },
        "indicators": {"x": ind},
        "fuzzy_sets": {"x_fz": {"indicator": "x", "lo": [0, 25, 50], "hi": [50, 75, 100]}},
        "nn_inputs": [
            {"fuzzy_set": "x_fz", "timeframes": "all"},
            {"raw_indicator": "x", "timeframes": "all"},
        ],
    }


def test_4h_value_first_appears_on_closing_1h_bar():
    hour = vbt.load_bars(ROOT / "data_fixtures" / "EURUSD_1h.parquet")
    four = vbt.resample(hour, "4h")
    frame = vbt.build_features(mtf_strategy(), {"1h": hour, "4h": four})
    col = frame.column("4h_x_raw")
    rsi_4h = vbt.build_features(
        {**mtf_strategy(tfs=("4h",)), "name": "only4h"}, {"4h": four}
    ).column("4h_x_raw")
    first4h = int(np.flatnonzero(~np.isnan(rsi_4h))[0])
    stamp = four["timestamp"][first4h]
    closing_1h = hour["timestamp"].to_list().index(stamp + timedelta(hours=3))
    assert np.isnan(col[:closing_1h]).all()  # never back-filled
    assert col[closing_1h] == rsi_4h[first4h]
    # and every 1h bar shows the latest 4h value whose bar has closed
    h_close = hour["timestamp"].dt.epoch("ns").to_numpy() + 3600 * 10**9
    f_close = four["timestamp"].dt.epoch("ns").to_numpy() + 4 * 3600 * 10**9
    for i in range(closing_1h, hour.height, 97):
        j = np.searchsorted(f_close, h_close[i], side="right") - 1
        assert col[i] == rsi_4h[j]


# Every indicator fit to be a model input (all but zigzag, which looks ahead by construction and
# is refused as an input), each on three timeframes around a 1h base: features recomputed on data
# truncated after a random time t equal the full-data features for every base bar closed by t.
def causal_indicators():
    from vbt.features.indicators import INDICATORS

    return [(name, {}) for name, spec in sorted(INDICATORS.items()) if not spec.looks_ahead]


def all_indicator_strategy():
    from vbt.features.indicators import get_indicator

    indicators, inputs = {}, []
    for k, (kind, params) in enumerate(causal_indicators()):
        indicators[f"i{k}"] = {"type": kind, **params}
        outs = get_indicator(kind).outputs or ("",)
        for o in outs:
            inputs.append({"raw_indicator": f"i{k}.{o}" if o else f"i{k}", "timeframes": "all"})
    return {
        "name": "all",
        "training_data": {
            "symbols": "EURUSD",
            "timeframes": {
                "mode": "multi_timeframe",
                "list": ["1h", "5m", "4h"],
                "base_timeframe": "1h",
            },
        },
        "indicators": indicators,
        "fuzzy_sets": {"f": {"indicator": "i0", "lo": [0, 25, 50]}},
        "nn_inputs": inputs + [{"fuzzy_set": "f", "timeframes": "all"}],
    }


def test_no_look_ahead_for_any_indicator_or_timeframe():
    five = vbt.load_bars(ROOT / "data_fixtures" / "EURUSD_5m.parquet").head(12 * 24 * 40)
    strategy = vbt.load_strategy(all_indicator_strategy())

    def frame_until(cut):
        f5 = five.filter(pl.col("timestamp") < cut) if cut is not None else five
        bars = {"5m": f5, "1h": vbt.resample(f5, "1h"), "4h": vbt.resample(f5, "4h")}
        return vbt.build_features(strategy, bars)

    full = frame_until(None)
    rng = np.random.default_rng(5)
    t0, t1 = five["timestamp"][300], five["timestamp"][-1]
    span = (t1 - t0).total_seconds()
    for _ in range(6):
        # random cut time, on a 5m boundary (data arriving bar by bar)
        cut = t0 + timedelta(minutes=5 * int(rng.uniform(0, span) // 300))
        part = frame_until(cut)
        closed = part.ts_ns + 3600 * 10**9 <= np.datetime64(cut.replace(tzinfo=None), "ns").astype(
            np.int64
        )
        n = int(closed.sum())
        assert n > 0
        np.testing.assert_array_equal(part.values[:n], full.values[:n])
    assert len(causal_indicators()) == 30
    assert full.n_features > 3 * 60  # all indicator outputs on all three timeframes


# ---- FeatureFrame ---------------------------------------------------------------------------


def fixture_bars():
    return {"1h": vbt.load_bars(ROOT / "data_fixtures" / "EURUSD_1h.parquet")}


def single():
    return mtf_strategy(tfs=("1h",))


def test_feature_frame_contract():
    f = vbt.build_features(single(), fixture_bars())
    assert f.values.dtype == np.float32 and f.values.flags.c_contiguous
    assert f.values.shape == (3120, 3)
    assert f.valid.dtype == np.bool_
    np.testing.assert_array_equal(f.valid, ~np.isnan(f.values).any(axis=1))
    assert not f.valid[:14].any() and f.valid[14:].all()  # RSI(14) warm-up
    assert f.timestamps.dtype == pl.Datetime("ns", "UTC")
    df = f.to_polars()
    assert df.columns == ["timestamp", *f.names, "valid"]
    np.testing.assert_array_equal(df["1h_x_raw"].to_numpy(), f.column("1h_x_raw"))
    assert df["valid"].to_list() == f.valid.tolist()


def test_requested_order_and_errors():
    names = ["1h_x_raw", "1h_x_fz_hi"]
    f = vbt.build_features(single(), fixture_bars(), feature_names=names)
    assert f.names == tuple(names)
    g = vbt.build_features(single(), fixture_bars())
    np.testing.assert_array_equal(f.values[:, 1], g.column("1h_x_fz_hi"))
    with pytest.raises(vbt.ConfigError, match="cannot produce feature.*1h_y_raw"):
        vbt.build_features(single(), fixture_bars(), feature_names=["1h_x_raw", "1h_y_raw"])
    with pytest.raises(vbt.DataError, match="'4h'.*not given"):
        vbt.build_features(mtf_strategy(), fixture_bars())


def test_feature_cache_hits_and_invalidates(tmp_path, monkeypatch):
    calls = []
    real = frame_mod._compute

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(frame_mod, "_compute", counting)
    bars = fixture_bars()
    a = vbt.build_features(single(), bars, cache_dir=tmp_path)
    b = vbt.build_features(single(), bars, cache_dir=tmp_path)
    assert len(calls) == 1 and len(list(tmp_path.glob("*.parquet"))) == 1
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.valid, b.valid)
    changed = {"1h": bars["1h"].with_columns(pl.col("volume") + 1.0)}
    vbt.build_features(single(), changed, cache_dir=tmp_path)
    other = mtf_strategy(params={"period": 10}, tfs=("1h",))
    vbt.build_features(other, bars, cache_dir=tmp_path)
    assert len(calls) == 3  # new data and new params both miss


def test_short_window_gives_invalid_bars_not_errors():
    bars = {"1h": fixture_bars()["1h"].head(5)}
    f = vbt.build_features(single(), bars)
    assert f.n_bars == 5 and not f.valid.any()


def test_timestamps_are_base_open_times():
    bars = fixture_bars()
    f = vbt.build_features(single(), bars)
    assert f.timestamps[0] == bars["1h"]["timestamp"][0]
    assert f.ts_ns[1] - f.ts_ns[0] == 3600 * 10**9
    assert datetime(2024, 1, 1) <= f.timestamps[0].replace(tzinfo=None)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.integers(0, 10**5), max_size=60, unique=True),
    st.lists(st.integers(0, 10**5), max_size=60, unique=True),
    st.sampled_from(["5m", "1h", "4h", "1d"]),
    st.sampled_from(["5m", "1h", "4h", "1d"]),
)
def test_asof_index_is_a_backward_search_on_close_times(base, other, base_tf, other_tf):
    from vbt.data.timeframe import timeframe_ns

    b = np.array(sorted(base), dtype=np.int64) * 300 * 10**9
    o = np.array(sorted(other), dtype=np.int64) * 300 * 10**9
    expect = (
        np.searchsorted(o + timeframe_ns(other_tf), b + timeframe_ns(base_tf), side="right") - 1
    )
    np.testing.assert_array_equal(asof_index(b, base_tf, o, other_tf), expect)


def test_a_membership_built_in_code_with_too_few_parameters_is_refused():
    """The YAML loader counts a membership's parameters; a Strategy built in code is counted
    where the features are computed (the kernel would read the missing ones as 0)."""
    import dataclasses

    hour = vbt.load_bars(ROOT / "data_fixtures" / "EURUSD_1h.parquet")
    strategy = vbt.load_strategy({**mtf_strategy(tfs=("1h",)), "name": "short"})
    fs = strategy.fuzzy_sets["x_fz"]
    lo = fs.memberships[0]
    broken = dataclasses.replace(fs, memberships=(dataclasses.replace(lo, parameters=(0.0, 25.0)),
                                                  *fs.memberships[1:]))  # fmt: skip
    strategy = dataclasses.replace(strategy, fuzzy_sets={**strategy.fuzzy_sets, "x_fz": broken})
    with pytest.raises(vbt.ConfigError, match=r"fuzzy_sets\.x_fz\.lo: triangular needs 3 "
                                              r"parameters, got 2"):  # fmt: skip
        vbt.build_features(strategy, {"1h": hour})
