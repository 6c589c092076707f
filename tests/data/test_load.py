"""Bar loading and validation: every rule and every malformed input names the file and row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vbt
from vbt.data import load_bars, load_data, validate_bars

FIX = Path(__file__).resolve().parents[2] / "data_fixtures"

GOOD_CSV = """timestamp,open,high,low,close,volume
2024-01-01T00:00:00Z,1.10,1.20,1.00,1.15,100
2024-01-01T01:00:00Z,1.15,1.25,1.10,1.20,110
2024-01-01T02:00:00Z,1.20,1.30,1.15,1.25,120
2024-01-01T03:00:00Z,1.25,1.35,1.20,1.30,130
"""


def write(tmp_path: Path, text: str, name: str = "EURUSD_1h.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def corrupt_row(text: str, row: int, new: str) -> str:
    lines = text.splitlines()
    lines[row + 1] = new
    return "\n".join(lines) + "\n"


def test_fixture_parquet_schema():
    bars = load_bars(FIX / "EURUSD_1h.parquet")
    assert bars.columns == ["timestamp", "open", "high", "low", "close", "volume"]
    assert bars.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert all(bars.schema[c] == pl.Float64 for c in ("open", "high", "low", "close", "volume"))
    assert bars.height == 3120


def test_csv_legacy_format_matches_parquet():
    csv = load_bars(FIX / "legacy" / "EURUSD_1h.csv")
    pq = load_bars(FIX / "EURUSD_1h.parquet").head(csv.height)
    assert csv.equals(pq)


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00+00:00",
        "2024-01-01T02:00:00+02:00",
    ],
)
def test_csv_timestamp_variants_are_utc(tmp_path, stamp):
    text = corrupt_row(GOOD_CSV, 0, f"{stamp},1.10,1.20,1.00,1.15,100")
    bars = load_bars(write(tmp_path, text))
    assert bars["timestamp"][0] == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("header", ["date", "timestamp", ""])
def test_csv_header_variants(tmp_path, header):
    text = GOOD_CSV.replace("timestamp,", f"{header},", 1)
    assert load_bars(write(tmp_path, text)).height == 4


def test_csv_without_header(tmp_path):
    text = "\n".join(GOOD_CSV.splitlines()[1:]) + "\n"
    bars = load_bars(write(tmp_path, text))
    assert bars.height == 4 and bars["close"][3] == 1.30


def test_naive_parquet_timestamps_read_as_utc(tmp_path):
    df = pl.DataFrame(
        {
            "timestamp": [datetime(2024, 1, 1, h) for h in range(3)],
            "open": [1.0, 1.0, 1.0],
            "high": [1.1, 1.1, 1.1],
            "low": [0.9, 0.9, 0.9],
            "close": [1.0, 1.0, 1.0],
            "volume": [1.0, 1.0, 1.0],
        }
    )
    p = tmp_path / "X_1h.parquet"
    df.write_parquet(p)
    bars = load_bars(p)
    assert bars["timestamp"].dtype == pl.Datetime("ns", "UTC")
    assert bars["timestamp"][2] == datetime(2024, 1, 1, 2, tzinfo=UTC)


BAD_ROWS = [
    # (row to replace, new row, expected message fragment)
    (2, "2024-01-01T01:00:00Z,1.20,1.30,1.15,1.25,120", "duplicate timestamp"),
    (2, "2023-12-31T23:00:00Z,1.20,1.30,1.15,1.25,120", "not sorted"),
    (1, "2024-01-01T01:00:00Z,nan,1.25,1.10,1.20,110", "open is NaN"),
    (1, "2024-01-01T01:00:00Z,1.15,1.25,1.10,,110", "close is NaN or missing"),
    (1, "2024-01-01T01:00:00Z,1.15,1.25,-1.10,1.20,110", "low is not positive"),
    (1, "2024-01-01T01:00:00Z,0,1.25,1.10,1.20,110", "open is not positive"),
    (1, "2024-01-01T01:00:00Z,1.15,1.05,1.10,1.08,110", "high < low"),
    (1, "2024-01-01T01:00:00Z,1.15,1.18,1.10,1.20,110", "high < max(open, close)"),
    (1, "2024-01-01T01:00:00Z,1.15,1.25,1.16,1.20,110", "low > min(open, close)"),
    (1, "2024-01-01T01:00:00Z,1.15,1.25,1.10,1.20,-5", "volume is negative"),
    (1, "2024-01-01T01:00:00Z,1.15,1.25,1.10,1.20,nan", "volume is NaN"),
    (1, "2024-01-01T01:00:00Z,1.15,abc,1.10,1.20,110", "'high' is not a number"),
    (1, "yesterday,1.15,1.25,1.10,1.20,110", "not an ISO 8601"),
]


@pytest.mark.parametrize("row,new,fragment", BAD_ROWS)
def test_bad_rows_name_file_and_row(tmp_path, row, new, fragment):
    path = write(tmp_path, corrupt_row(GOOD_CSV, row, new))
    with pytest.raises(vbt.DataError) as exc:
        load_bars(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert f"row {row}" in msg
    assert fragment in msg


def test_first_bad_row_is_reported(tmp_path):
    text = corrupt_row(GOOD_CSV, 3, "2024-01-01T03:00:00Z,1.25,1.35,1.20,1.30,-1")
    text = corrupt_row(text, 1, "2024-01-01T01:00:00Z,1.15,1.05,1.10,1.08,110")
    with pytest.raises(vbt.DataError, match=r"row 1 .*high < low"):
        load_bars(write(tmp_path, text))


def test_missing_column(tmp_path):
    lines = [",".join(line.split(",")[:5]) for line in GOOD_CSV.splitlines()]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(vbt.DataError, match=r"missing required column\(s\) volume") as exc:
        load_bars(path)
    assert str(path) in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(vbt.DataError, match=r"EURUSD_1h.parquet: bar file not found"):
        load_bars(tmp_path / "EURUSD_1h.parquet")


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "EURUSD_1h.parquet"
    p.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(vbt.DataError, match="cannot read bar file") as exc:
        load_bars(p)
    assert str(p) in str(exc.value)


def test_unsupported_extension(tmp_path):
    p = write(tmp_path, GOOD_CSV, "EURUSD_1h.txt")
    with pytest.raises(vbt.DataError, match="unsupported bar file type"):
        load_bars(p)


def test_validate_in_memory_frame_names_source():
    bars = load_bars(FIX / "EURUSD_1h.parquet").head(10)
    bad = bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(-1.0).otherwise(pl.col("volume")).alias("volume")
    )
    with pytest.raises(vbt.DataError, match=r"bars\[1h\]: row 7 .*volume is negative"):
        validate_bars(bad, source="bars[1h]")


# ---- load_data ------------------------------------------------------------------------------


def test_load_data_filters_inclusively():
    d = load_data(FIX, "EURUSD", ["1h"], start_date="2024-02-01", end_date="2024-02-29")
    ts = d["1h"]["timestamp"]
    assert ts[0] == datetime(2024, 2, 1, tzinfo=UTC)
    assert ts[-1] == datetime(2024, 2, 29, 23, tzinfo=UTC)  # bare end date: whole day
    d2 = load_data(
        FIX, "EURUSD", "1h", start_date="2024-02-01T05:00:00Z", end_date="2024-02-01T07:00:00Z"
    )
    assert d2["1h"].height == 3


def test_load_data_resamples_missing_timeframe():
    d = load_data(FIX, "EURUSD", ["4h", "1d"])
    hour = load_bars(FIX / "EURUSD_1h.parquet")
    assert d["4h"].equals(vbt.resample(hour, "4h"))
    assert d["1d"].equals(vbt.resample(hour, "1d"))


def test_load_data_missing_file_without_finer(tmp_path):
    with pytest.raises(vbt.DataError, match=r"EURUSD_1m.parquet: bar file not found"):
        load_data(FIX, "EURUSD", ["1m"])
    with pytest.raises(vbt.DataError, match="data directory not found"):
        load_data(tmp_path / "nope", "EURUSD", ["1h"])


def test_load_data_empty_range():
    with pytest.raises(vbt.DataError, match=r"EURUSD_1h.parquet: no bars between"):
        load_data(FIX, "EURUSD", ["1h"], start_date="2030-01-01", end_date="2030-02-01")
    with pytest.raises(vbt.DataError, match="after end_date"):
        load_data(FIX, "EURUSD", ["1h"], start_date="2024-03-01", end_date="2024-02-01")


def test_load_data_prefers_parquet_and_reads_csv(tmp_path):
    write(tmp_path, GOOD_CSV, "ABC_1h.csv")
    d = load_data(tmp_path, "ABC", ["1h"])
    assert d["1h"].height == 4
    assert np.isclose(d["1h"]["close"].sum(), 1.15 + 1.20 + 1.25 + 1.30)
