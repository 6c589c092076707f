"""Context data (reference §1 ``context_data``, ``data_source``): declaring sources, reading the
files, aligning them onto the base bars as of the moment each value became known, no look-ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from context_files import FIXTURES, series_frame, write_context_files

import vbt
from vbt.data.context import context_sources, load_context, load_series
from vbt.features.indicators import compute_indicator, get_indicator

HOUR = 3600 * 10**9


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_context_files(tmp_path_factory.mktemp("ctx"))


def strategy(indicators, context_data, tfs=("1h",), inputs=None):
    return {
        "name": "ctx",
        "training_data": {
            "symbols": {"mode": "single", "symbol": "EURUSD"},
            "timeframes": {"mode": "multi_timeframe", "list": list(tfs), "base_timeframe": tfs[0]}
            if len(tfs) > 1
            else {"mode": "single", "timeframe": tfs[0]},
        },
        "context_data": context_data,
        "indicators": indicators,
        "fuzzy_sets": {},
        "nn_inputs": inputs or [{"raw_indicator": k, "timeframes": "all"} for k in indicators],
    }


CARRY = [
    {"provider": "ib", "symbol": "GBPUSD", "timeframe": "1h", "instrument_type": "FOREX"},
    {"provider": "fred", "series": ["DGS2", "IRLTLT01DEM156N"], "frequency": "daily"},
    {"provider": "cftc_cot", "report": "EUR", "alignment": "forward_fill"},
]


# ---- declaring sources ------------------------------------------------------------------------


def test_source_ids_follow_the_older_providers():
    sources = context_sources(CARRY)
    assert list(sources) == [
        "GBPUSD",
        "fred_DGS2",
        "fred_IRLTLT01DEM156N",
        "yield_spread_DGS2_IRLTLT01DEM156N",
        "cot_EUR_net_pos",
        "cot_EUR_net_pct",
    ]
    assert sources["GBPUSD"].kind == "bars" and sources["GBPUSD"].timeframe == "1h"
    assert {s.kind for k, s in sources.items() if k != "GBPUSD"} == {"series"}
    assert context_sources([{"provider": "fred", "series": "DGS10"}])["fred_DGS10"].entry == 0
    assert context_sources([{"provider": "ib", "symbol": "USDJPY"}])["USDJPY"].timeframe == "1h"
    # an entry serialised with every field (the others null), as the older metadata may hold it
    full = {"provider": "ib", "symbol": "USDJPY", "timeframe": None, "series": None,
            "report": None, "alignment": "forward_fill", "frequency": None}  # fmt: skip
    assert context_sources([full])["USDJPY"].timeframe == "1h"


@pytest.mark.parametrize(
    "entries,fragment",
    [
        ({"provider": "ib"}, "context_data: must be a list"),
        ([{"provider": "bloomberg"}], "context_data[0].provider: 'bloomberg' is not a supported"),
        ([{"provider": "ib", "symbol": "X", "series": "Y"}], "context_data[0].series: unknown key"),
        ([{"provider": "ib"}], "context_data[0].symbol: required"),
        ([{"provider": "ib", "symbol": "X", "timeframe": "7x"}], "context_data[0].timeframe"),
        ([{"provider": "fred", "series": []}], "context_data[0].series: a series id or"),
        ([{"provider": "cftc_cot"}], "context_data[0].report: required"),
        (
            [{"provider": "fred", "series": "A", "alignment": "backward_fill"}],
            "context_data[0].alignment: only 'forward_fill'",
        ),
        (
            [{"provider": "fred", "series": "A"}, {"provider": "fred", "series": ["A", "B"]}],
            "context_data[1]: source id 'fred_A' is already declared by context_data[0]",
        ),
    ],
)
def test_bad_context_entries_name_the_key(entries, fragment):
    with pytest.raises(vbt.ConfigError) as exc:
        context_sources(entries)
    assert fragment in str(exc.value)


def test_data_source_must_be_declared_and_fit_the_source():
    with pytest.raises(vbt.ConfigError) as exc:
        vbt.load_strategy(strategy({"r": {"type": "rsi", "data_source": "fred_DGS10"}}, CARRY))
    msg = str(exc.value)
    assert "indicators.r.data_source: 'fred_DGS10' is not a context_data source id" in msg
    assert "yield_spread_DGS2_IRLTLT01DEM156N" in msg
    with pytest.raises(vbt.ConfigError, match="indicators.a.data_source: 'fred_DGS2' is an "
                       "external series.*'atr' also needs high, low"):  # fmt: skip
        vbt.load_strategy(strategy({"a": {"type": "atr", "data_source": "fred_DGS2"}}, CARRY))
    ok = vbt.load_strategy(strategy({"a": {"type": "atr", "data_source": "GBPUSD"}}, CARRY))
    assert ok.indicators["a"].data_source == "GBPUSD"


# ---- reading the files ------------------------------------------------------------------------


def test_series_file_format(tmp_path):
    p = tmp_path / "fred_X.csv"
    p.write_text("date,DGS2\n2024-01-02,4.30\n2024-01-03T21:00:00Z,.\n2024-01-04 21:00:00,4.4\n")
    s = load_series(p)
    assert s.columns == ["timestamp", "close"] and s.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert s["timestamp"].to_list() == [  # a bare date is 00:00 UTC; naive is UTC; '.' dropped
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 4, 21, tzinfo=UTC),
    ]
    assert s["close"].to_list() == [4.30, 4.4]
    headerless = tmp_path / "fred_Y.csv"
    headerless.write_text("2024-01-02T00:00:00Z,1.5\n2024-01-03T00:00:00Z,\n")
    assert load_series(headerless)["close"].to_list() == [1.5]
    pq = tmp_path / "fred_Z.parquet"
    series_frame([datetime(2024, 1, 2, tzinfo=UTC)], np.array([2.0])).write_parquet(pq)
    assert load_series(pq)["close"].to_list() == [2.0]


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("date,a,b\n2024-01-02,1,2\n", "exactly one value column, found 3"),
        ("date,v\n2024-01-02,1\n2024-01-03,abc\n", "row 1: value 'abc' is not a number"),
        ("date,v\n2024-01-02,1\n2024-13-03,2\n", "row 1: timestamp '2024-13-03'"),
        ("date,v\n2024-01-03,1\n2024-01-02,2\n", "row 1: timestamps not sorted"),
        ("date,v\n2024-01-02,1\n2024-01-03,2\n2024-01-03,3\n", "row 2: duplicate timestamp"),
        ("date,v\n2024-01-02,inf\n", "row 0: value is infinite"),
    ],
)
def test_bad_series_files_name_file_and_row(tmp_path, text, fragment):
    p = tmp_path / "fred_X.csv"
    p.write_text(text)
    with pytest.raises(vbt.DataError) as exc:
        load_series(p)
    assert str(p) in str(exc.value) and fragment in str(exc.value)


def test_missing_context_file_names_source_and_file(tmp_path):
    (tmp_path / "EURUSD_1h.parquet").write_bytes((FIXTURES / "EURUSD_1h.parquet").read_bytes())
    sources = context_sources(CARRY)
    with pytest.raises(vbt.DataError) as exc:
        load_context(tmp_path, [sources["yield_spread_DGS2_IRLTLT01DEM156N"]])
    msg = str(exc.value)
    assert "context source 'yield_spread_DGS2_IRLTLT01DEM156N'" in msg
    assert str(tmp_path / "yield_spread_DGS2_IRLTLT01DEM156N.parquet") in msg and ".csv" in msg
    with pytest.raises(vbt.DataError) as exc:
        load_context(tmp_path, [sources["GBPUSD"]])
    assert "context source 'GBPUSD'" in str(exc.value)
    assert str(tmp_path / "GBPUSD_1h.parquet") in str(exc.value)


def test_only_the_sources_indicators_read_are_loaded(data_dir, tmp_path):
    s = vbt.load_strategy(
        strategy({"g": {"type": "rsi", "data_source": "GBPUSD"}, "r": {"type": "rsi"}}, CARRY)
    )
    ctx = vbt.data.strategy_context(s, data_dir)
    assert list(ctx) == ["GBPUSD"]  # the FRED and COT files are not needed, so not read
    assert ctx["GBPUSD"].known_after_ns == HOUR  # 1h, resampled from GBPUSD_5m
    assert (
        vbt.data.strategy_context(vbt.load_strategy(strategy({"r": {"type": "rsi"}}, [])), tmp_path)
        == {}
    )


# ---- alignment --------------------------------------------------------------------------------


def hourly(n, start=datetime(2024, 1, 1, tzinfo=UTC)):
    stamps = [start + timedelta(hours=k) for k in range(n)]
    x = np.linspace(1.0, 1.0 + 0.01 * (n - 1), n)
    return pl.DataFrame(
        {
            "timestamp": pl.Series(stamps, dtype=pl.Datetime("ns", "UTC")),
            "open": x,
            "high": x + 0.005,
            "low": x - 0.005,
            "close": x,
            "volume": np.full(n, 10.0),
        }
    )


def test_series_value_is_seen_from_the_bar_whose_close_reaches_its_timestamp(tmp_path):
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [t0 + timedelta(minutes=m) for m in (-30, 90, 120, 121, 300)]
    series_frame(stamps, np.array([1.0, 2.0, 3.0, 4.0, 5.0])).write_parquet(
        tmp_path / "fred_X.parquet"
    )
    s = strategy({"x": {"type": "sma", "period": 2, "data_source": "fred_X"}},
                 [{"provider": "fred", "series": "X"}])  # fmt: skip
    ctx = vbt.data.strategy_context(vbt.load_strategy(s), tmp_path)
    f = vbt.build_features(s, {"1h": hourly(6)}, context=ctx)
    # Bar k (stamp t0+k h) is decided at its close t0+(k+1) h and sees values stamped <= that:
    # bar 0 -> 1.0 (-00:30); bar 1 (closes 02:00) -> 3.0 (01:30 and 02:00 known, 02:01 not);
    # bar 2 -> 4.0; bar 3 -> 4.0; bar 4 (closes 05:00) -> 5.0; bar 5 -> 5.0. SMA(2) of that:
    np.testing.assert_allclose(f.column("1h_x_raw"), [np.nan, 2.0, 3.5, 4.0, 4.5, 5.0], rtol=1e-6)


def test_context_bars_are_seen_once_closed_and_never_back_filled(tmp_path):
    gbp = hourly(12).with_columns(pl.col("timestamp") + pl.duration(hours=3))  # starts 03:00
    gbp.write_parquet(tmp_path / "GBPUSD_1h.parquet")
    gbp4 = vbt.resample(gbp, "4h")
    gbp4.write_parquet(tmp_path / "GBPUSD_4h.parquet")
    s = strategy({"c1": {"type": "ema", "period": 1, "data_source": "GBPUSD"}},
                 [{"provider": "ib", "symbol": "GBPUSD"}])  # fmt: skip
    base = hourly(16)
    ctx = vbt.data.strategy_context(vbt.load_strategy(s), tmp_path)
    col = vbt.build_features(s, {"1h": base}, context=ctx).column("1h_c1_raw")
    assert np.isnan(col[:3]).all()  # nothing known before GBPUSD's first bar: NaN, not back-filled
    np.testing.assert_allclose(col[3:15], gbp["close"].to_numpy(), rtol=1e-6)  # same stamps
    assert col[15] == col[14]  # no newer GBPUSD bar: the last one stays in force
    # On a 4h context timeframe, the 1h bars see a 4h bar only from the 1h bar that closes it.
    s4 = strategy({"c": {"type": "ema", "period": 1, "data_source": "GBPUSD"}},
                  [{"provider": "ib", "symbol": "GBPUSD", "timeframe": "4h"}])  # fmt: skip
    ctx4 = vbt.data.strategy_context(vbt.load_strategy(s4), tmp_path)
    col4 = vbt.build_features(s4, {"1h": base}, context=ctx4).column("1h_c_raw")
    first4 = gbp4["timestamp"][0]  # 00:00 (resampled), closes 04:00 -> the 03:00 1h bar
    assert first4 == datetime(2024, 1, 1, tzinfo=UTC)
    assert np.isnan(col4[:3]).all() and col4[3] == np.float32(gbp4["close"][0])


def test_indicator_runs_from_the_first_known_value(data_dir):
    s = strategy({"g": {"type": "rsi", "period": 14, "data_source": "GBPUSD"}}, CARRY[:1])
    eur = vbt.load_bars(data_dir / "EURUSD_1h.parquet").slice(0, 400)
    gbp = vbt.resample(vbt.load_bars(data_dir / "GBPUSD_5m.parquet"), "1h")
    late = gbp.filter(pl.col("timestamp") >= eur["timestamp"][100])  # known only from bar 100 on
    ctx = {"GBPUSD": vbt.data.ContextFrame(context_sources(CARRY[:1])["GBPUSD"], late, HOUR)}
    col = vbt.build_features(s, {"1h": eur}, context=ctx).column("1h_g_raw")
    # RSI over the aligned GBPUSD closes from bar 100: NaN head of 14 after the first value
    aligned = late.filter(pl.col("timestamp") <= eur["timestamp"][399])["close"].to_numpy()
    assert len(aligned) == 300  # the two series share every hourly stamp here
    expected = compute_indicator(get_indicator("rsi"), {"period": 14}, {"close": aligned})[""]
    assert np.isnan(col[:114]).all()
    np.testing.assert_allclose(col[100:], expected, rtol=1e-6)


def test_missing_context_frame_is_a_data_error():
    s = strategy({"g": {"type": "rsi", "data_source": "GBPUSD"}}, CARRY[:1])
    bars = {"1h": vbt.load_bars(FIXTURES / "EURUSD_1h.parquet")}
    with pytest.raises(vbt.DataError, match="indicators.g reads context source 'GBPUSD'"):
        vbt.build_features(s, bars)


def test_feature_cache_keys_on_the_context(data_dir, tmp_path):
    s = vbt.load_strategy(strategy({"g": {"type": "sma", "data_source": "GBPUSD"}}, CARRY[:1]))
    bars = {"1h": vbt.load_bars(data_dir / "EURUSD_1h.parquet")}
    ctx = vbt.data.strategy_context(s, data_dir)
    a = vbt.build_features(s, bars, context=ctx, cache_dir=tmp_path)
    b = vbt.build_features(s, bars, context=ctx, cache_dir=tmp_path)  # hit
    np.testing.assert_array_equal(a.values, b.values)
    frame = ctx["GBPUSD"]
    moved = vbt.data.ContextFrame(
        frame.source, frame.data.with_columns(pl.col("close") * 1.01), frame.known_after_ns
    )
    c = vbt.build_features(s, bars, context={"GBPUSD": moved}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    assert not np.array_equal(a.values, c.values, equal_nan=True)


# ---- no look-ahead ----------------------------------------------------------------------------


def test_no_look_ahead_with_context_on_every_timeframe(data_dir):
    """The multi-timeframe property test, with context: features recomputed from the data known
    at a random time t (base and context bars that have closed, series values stamped <= t) equal
    the full-data features for every base bar closed by t."""
    five = vbt.load_bars(data_dir / "EURUSD_5m.parquet").head(12 * 24 * 40)
    gbp5 = vbt.load_bars(data_dir / "GBPUSD_5m.parquet").head(12 * 24 * 40)
    s = vbt.load_strategy(
        strategy(
            {
                "g": {"type": "rsi", "period": 7, "data_source": "GBPUSD"},
                "ga": {"type": "adx", "period": 5, "data_source": "GBPUSD"},
                "y": {
                    "type": "ema",
                    "period": 3,
                    "data_source": "yield_spread_DGS2_IRLTLT01DEM156N",
                },
                "p": {"type": "sma", "period": 2, "data_source": "cot_EUR_net_pct"},
                "r": {"type": "rsi", "period": 7},
            },
            [{"provider": "ib", "symbol": "GBPUSD", "timeframe": "30m"}, *CARRY[1:]],
            tfs=("1h", "4h", "5m"),
        )
    )
    full_ctx = vbt.data.strategy_context(s, data_dir)
    full_ctx["GBPUSD"] = vbt.data.ContextFrame(
        full_ctx["GBPUSD"].source, vbt.resample(gbp5, "30m"), 1800 * 10**9
    )

    def frame_until(cut):
        def known(df, after_ns):
            if cut is None:
                return df
            known_at = pl.col("timestamp") + pl.duration(nanoseconds=after_ns)
            return df.filter(known_at <= cut)

        f5 = five.filter(pl.col("timestamp") < cut) if cut is not None else five
        bars = {"5m": f5, "1h": vbt.resample(f5, "1h"), "4h": vbt.resample(f5, "4h")}
        ctx = {}
        for sid, fr in full_ctx.items():
            if sid == "GBPUSD":  # resample only the 5m bars that have closed
                g5 = gbp5.filter(pl.col("timestamp") < cut) if cut is not None else gbp5
                ctx[sid] = vbt.data.ContextFrame(
                    fr.source, vbt.resample(g5, "30m"), fr.known_after_ns
                )
            else:
                ctx[sid] = vbt.data.ContextFrame(fr.source, known(fr.data, 0), 0)
        return vbt.build_features(s, bars, context=ctx)

    full = frame_until(None)
    assert full.n_features == 3 * 5 and full.valid[-1]
    rng = np.random.default_rng(9)
    t0, t1 = five["timestamp"][300], five["timestamp"][-1]
    span = (t1 - t0).total_seconds()
    cuts = [t0 + timedelta(minutes=5 * int(rng.uniform(0, span) // 300)) for _ in range(4)]
    # and where a leak would show: at and just before a series value becomes known, and just
    # before a 30m context bar closes
    for sid, k in (("yield_spread_DGS2_IRLTLT01DEM156N", 2), ("cot_EUR_net_pct", 1)):
        stamps = full_ctx[sid].data["timestamp"]
        for tau in rng.choice(stamps.filter((stamps > t0) & (stamps < t1)).to_list(), k):
            cuts += [tau, tau - timedelta(minutes=5)]
    cuts.append(t0 + timedelta(minutes=30 * int(rng.uniform(0, span) // 1800) - 5))
    for cut in cuts:
        part = frame_until(cut)
        closed = part.ts_ns + HOUR <= np.datetime64(cut.replace(tzinfo=None), "ns").astype(np.int64)
        n = int(closed.sum())
        assert n > 0
        np.testing.assert_array_equal(part.values[:n], full.values[:n])
