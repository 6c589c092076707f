"""The bar rules' one-pass kernel (``vbt.data.nb.first_bad_bar_nb`` behind ``validate_bars``)
against a plain reference: the same rules as polars expressions, each over the whole frame, the
earliest bad row and its first broken rule reported. Defects land anywhere, within and across the
kernel's blocks of 4,096 rows."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbt.data import validate_bars
from vbt.data.load import BAR_RULES, PRICE_COLUMNS
from vbt.data.synth import synth_bars
from vbt.errors import DataError
from vbt.timefmt import iso_z


def reference_error(bars: pl.DataFrame, source: str) -> str | None:
    """The message ``validate_bars`` must give (None: the bars are good), rule by rule."""
    col = pl.col
    o, h, lo, c, v = (col(x) for x in ("open", "high", "low", "close", "volume"))
    rules = [
        col("timestamp").diff() == pl.duration(seconds=0),
        col("timestamp").diff() < pl.duration(seconds=0),
    ]
    for name in PRICE_COLUMNS:
        x = col(name)
        rules += [x.is_null() | x.is_nan(), x.is_infinite(), x <= 0]
    rules += [
        h < lo,
        h < pl.max_horizontal(o, c),
        lo > pl.min_horizontal(o, c),
        v.is_null() | v.is_nan() | v.is_infinite(),
        v < 0,
    ]
    assert len(rules) == len(BAR_RULES)
    masks = bars.select([e.fill_null(False).alias(str(k)) for k, e in enumerate(rules)])
    first = None
    for k in range(len(rules)):
        hits = masks.to_series(k).arg_true()
        if hits.len() and (first is None or int(hits[0]) < first[0]):
            first = (int(hits[0]), k)
    if first is None:
        return None
    i, k = first
    return f"{source}: row {i} ({iso_z(bars['timestamp'][i])}): {BAR_RULES[k]}"


def defect(bars: pl.DataFrame, row: int, kind: str, column: str) -> pl.DataFrame:
    """``bars`` with one defect of ``kind`` at ``row`` (in ``column`` for a price defect)."""
    at = pl.int_range(pl.len()) == row
    if kind == "same time":
        prev = bars["timestamp"][max(row - 1, 0)]
        return bars.with_columns(
            pl.when(at).then(pl.lit(prev)).otherwise("timestamp").alias("timestamp")
        )
    if kind == "earlier time":
        earlier = bars["timestamp"][max(row - 1, 0)] - timedelta(minutes=30)  # 1h bars
        return bars.with_columns(
            pl.when(at).then(pl.lit(earlier)).otherwise("timestamp").alias("timestamp")
        )
    value = {"nan": float("nan"), "missing": None, "inf": float("inf"), "-inf": -float("inf"),
             "zero": 0.0, "negative": -1.0, "tiny": 1e-9, "huge": 1e9}[kind]  # fmt: skip
    return bars.with_columns(
        pl.when(at).then(pl.lit(value, pl.Float64)).otherwise(column).alias(column)
    )


KINDS = [
    "same time",
    "earlier time",
    "nan",
    "missing",
    "inf",
    "-inf",
    "zero",
    "negative",
    "tiny",
    "huge",
]


@settings(max_examples=120, deadline=None)
@given(
    n=st.sampled_from([1, 2, 3, 50, 4095, 4096, 4097, 9000]),
    defects=st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.sampled_from(KINDS),
            st.sampled_from([*PRICE_COLUMNS, "volume"]),
        ),
        max_size=3,
    ),
    seed=st.integers(0, 3),
)
def test_validate_bars_matches_the_reference(n, defects, seed):
    bars = synth_bars(n, seed=seed, timeframe="1h")
    for where, kind, column in defects:
        bars = defect(bars, int(where * n), kind, column)
    expected = reference_error(bars, "bars")
    if expected is None:
        validate_bars(bars, source="bars")
    else:
        with pytest.raises(DataError) as exc:
            validate_bars(bars, source="bars")
        assert str(exc.value) == expected


def test_validate_bars_reads_columns_in_many_chunks_and_other_number_types():
    bars = synth_bars(10_000, seed=5, timeframe="1h")
    chunked = pl.concat([bars.slice(0, 3000), bars.slice(3000)], rechunk=False)
    assert chunked.get_column("close").n_chunks() == 2
    validate_bars(chunked)
    bad = defect(chunked, 7000, "negative", "low")
    with pytest.raises(DataError, match=r"row 7000 .*low is not positive"):
        validate_bars(bad)
    ints = bars.with_columns(pl.col("volume").round().cast(pl.Int64))
    validate_bars(ints)


@pytest.mark.parametrize(
    "change, message",
    [
        (pl.col("timestamp").cast(pl.Int64), r"column 'timestamp' has type Int64, not a date-time"),
        (pl.col("close").cast(pl.String), r"column 'close' has type String, not a number"),
        (
            pl.when(pl.int_range(pl.len()) == 3)
            .then(None)
            .otherwise(pl.col("timestamp"))
            .alias("timestamp"),
            r"row 3: timestamp is missing",
        ),
    ],
)
def test_validate_bars_refuses_columns_of_the_wrong_kind(change, message):
    bars = synth_bars(10, seed=0, timeframe="1h").with_columns(change)
    with pytest.raises(DataError, match=message):
        validate_bars(bars, source="bars[1h]")


def test_validate_bars_reads_date_and_microsecond_timestamps():
    days = synth_bars(5, seed=1, timeframe="1d").with_columns(pl.col("timestamp").dt.date())
    validate_bars(days)
    twice = days.with_columns(pl.col("timestamp").shift(1, fill_value=days["timestamp"][0]))
    with pytest.raises(DataError, match=r"row 1 .*duplicate timestamp"):
        validate_bars(twice)
    far = synth_bars(3, seed=1, timeframe="1h").with_columns(
        pl.col("timestamp").dt.cast_time_unit("us").dt.offset_by("276y")  # past 2262
    )
    with pytest.raises(DataError, match=r"row 0 \(2300-.*timestamp outside 1677-09-21..2262-04-11"):
        validate_bars(far)
