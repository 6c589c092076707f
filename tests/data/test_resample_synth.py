"""Timeframe parsing, resampling and the synthetic generator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vbt
from vbt.data import load_bars, parse_timeframe, timeframe_seconds, validate_bars
from vbt.data.synth import synth_bars

FIX = Path(__file__).resolve().parents[2] / "data_fixtures"
UTC = UTC


@pytest.mark.parametrize(
    "tf,seconds",
    [("5m", 300), ("1h", 3600), ("4h", 14400), ("1d", 86400), ("1w", 604800), ("15m", 900)],
)
def test_timeframe_parse(tf, seconds):
    assert timeframe_seconds(tf) == seconds
    assert parse_timeframe(tf) == timedelta(seconds=seconds)


@pytest.mark.parametrize("tf", ["", "h", "1", "0h", "-1h", "1x", "1s", "1M", "1.5h", None, 60])
def test_timeframe_parse_rejects(tf):
    with pytest.raises(vbt.ConfigError, match="not valid"):
        timeframe_seconds(tf)


def test_resample_5m_fixture_reproduces_1h_fixture():
    five = load_bars(FIX / "EURUSD_5m.parquet")
    hour = load_bars(FIX / "EURUSD_1h.parquet")
    assert vbt.resample(five, "1h").equals(hour)


def bars_at(stamps, closes):
    closes = np.asarray(closes, dtype=float)
    return pl.DataFrame(
        {
            "timestamp": pl.Series(stamps).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"),
            "open": closes - 0.01,
            "high": closes + 0.05,
            "low": closes - 0.05,
            "close": closes,
            "volume": np.arange(1.0, len(closes) + 1),
        }
    )


def test_resample_aggregation_by_hand():
    t0 = datetime(2024, 1, 1, 0, 0)
    stamps = [t0 + timedelta(minutes=5 * k) for k in (0, 1, 2, 12, 13)]  # 00:00-00:10, 01:00-01:05
    bars = bars_at(stamps, [1.0, 1.2, 1.1, 2.0, 2.1])
    out = vbt.resample(bars, "1h")
    assert out["timestamp"].to_list() == [
        datetime(2024, 1, 1, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 1, tzinfo=UTC),
    ]
    assert out["open"].to_list() == pytest.approx([0.99, 1.99])
    assert out["high"].to_list() == pytest.approx([1.25, 2.15])
    assert out["low"].to_list() == pytest.approx([0.95, 1.95])
    assert out["close"].to_list() == pytest.approx([1.1, 2.1])
    assert out["volume"].to_list() == [6.0, 9.0]


def test_resample_no_empty_periods_and_utc_anchor():
    # Two bars 3 days apart: 4h and 1d give exactly two bars, anchored on UTC boundaries.
    stamps = [datetime(2024, 1, 2, 5, 35), datetime(2024, 1, 5, 23, 55)]
    bars = bars_at(stamps, [1.0, 1.1])
    four = vbt.resample(bars, "4h")
    assert four["timestamp"].to_list() == [
        datetime(2024, 1, 2, 4, tzinfo=UTC),
        datetime(2024, 1, 5, 20, tzinfo=UTC),
    ]
    day = vbt.resample(bars, "1d")
    assert day["timestamp"].to_list() == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 5, tzinfo=UTC),
    ]
    week = vbt.resample(bars_at([datetime(2024, 1, 3), datetime(2024, 1, 8, 1)], [1.0, 1.1]), "1w")
    assert week["timestamp"].to_list() == [  # weeks start Monday 00:00 UTC
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 8, tzinfo=UTC),
    ]


def test_resample_rejects_bad_timeframe():
    with pytest.raises(vbt.ConfigError):
        vbt.resample(load_bars(FIX / "EURUSD_1h.parquet"), "3x")


def test_synth_is_seeded_valid_and_fx_like():
    a = synth_bars(20_000, seed=3)
    b = synth_bars(20_000, seed=3)
    c = synth_bars(20_000, seed=4)
    assert a.equals(b) and not a.equals(c)
    validate_bars(a)
    closes = a["close"].to_numpy()
    assert 1.03 < closes.min() and closes.max() < 1.14
    ts = a["timestamp"]
    # 24x5: no bar between Friday 22:00 and Sunday 22:00 UTC, and weekend gaps exist.
    wd, hr = ts.dt.weekday().to_numpy(), ts.dt.hour().to_numpy()
    assert not np.any((wd == 6) | ((wd == 5) & (hr >= 22)) | ((wd == 7) & (hr < 22)))
    gaps = np.diff(ts.dt.epoch("s").to_numpy())
    assert gaps.max() == 48 * 3600 + 300 and (gaps == 300).mean() > 0.99


def test_synth_has_volatility_clustering_and_seasonality():
    bars = synth_bars(100_000, seed=1)
    r = np.diff(np.log(bars["close"].to_numpy()))
    a = np.abs(r) - np.abs(r).mean()
    lag1 = (a[1:] * a[:-1]).mean() / (a * a).mean()
    assert lag1 > 0.05  # |returns| autocorrelate: clustering
    hours = bars["timestamp"].dt.hour().to_numpy()[1:]
    busy, quiet = np.abs(r[(hours >= 12) & (hours < 16)]).mean(), np.abs(r[hours < 6]).mean()
    assert busy > 1.5 * quiet


def test_load_data_reads_a_file_once_for_its_timeframe_and_its_resample(tmp_path, monkeypatch):
    import vbt.data.load as load

    bars = synth_bars(2000, seed=4, timeframe="1h")
    bars.write_parquet(tmp_path / "EURUSD_1h.parquet")
    reads = []
    original = load.load_bars
    monkeypatch.setattr(load, "load_bars", lambda p, **kw: reads.append(p) or original(p, **kw))
    out = load.load_data(tmp_path, "EURUSD", ["1h", "4h"])
    assert reads == [tmp_path / "EURUSD_1h.parquet"]
    assert out["4h"].equals(vbt.resample(out["1h"], "4h"))
