"""Load and validate OHLCV bars from Parquet or CSV.

Bars are returned as a polars DataFrame with columns ``timestamp`` (Datetime[ns, UTC], the bar's
**open** time) and ``open``, ``high``, ``low``, ``close``, ``volume`` (Float64). Naive timestamps are
read as UTC. Row numbers in error messages are 0-based data rows (the header is not counted).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from vbt.arrays import kernel_input
from vbt.data.resample import resample
from vbt.data.timeframe import HOUR_NS, timeframe_seconds
from vbt.errors import ConfigError, DataError
from vbt.timefmt import iso_z

PRICE_COLUMNS = ("open", "high", "low", "close")
#: What each bar rule says, numbered as ``vbt.data.nb`` checks them (the first broken one of the
#: earliest bad row is reported).
BAR_RULES = (
    "duplicate timestamp (same as the previous row)",
    "timestamps not sorted (earlier than the previous row)",
    *(
        f"{name} {what}"
        for name in PRICE_COLUMNS
        for what in ("is NaN or missing", "is infinite", "is not positive")
    ),
    "high < low",
    "high < max(open, close)",
    "low > min(open, close)",
    "volume is NaN or infinite",
    "volume is negative",
)
BAR_COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume")
BAR_SCHEMA = {
    "timestamp": pl.Datetime("ns", "UTC"),
    **{c: pl.Float64 for c in (*PRICE_COLUMNS, "volume")},
}
_TIMESTAMP_ALIASES = (
    "timestamp",
    "date",
    "datetime",
    "time",
    "",
    "unnamed: 0",
    "__index_level_0__",
)


def load_bars(path: str | Path) -> pl.DataFrame:
    """Read one OHLCV file (``.parquet`` or ``.csv``) and validate it.

    CSV follows the older system's cache format: the timestamp is the first column (ISO 8601, with or
    without ``Z``/offset; a header named ``timestamp`` or ``date`` is accepted, as is no header), then
    open, high, low, close, volume. Raises ``DataError`` naming the file and the first bad row.
    """
    path = Path(path)
    raw = read_table(path, "bar file", BAR_COLUMNS)
    bars = _normalize(raw, path)
    validate_bars(bars, source=str(path))
    named_tf = timeframe_of_file(path)
    if named_tf is not None:
        check_spacing(bars, named_tf, source=str(path))
    return bars


def timeframe_of_file(path: str | Path) -> str | None:
    """The timeframe a ``{SYMBOL}_{TF}.ext`` file name declares, or None if it declares none."""
    _, sep, tf = Path(path).stem.rpartition("_")
    if not sep:
        return None
    try:
        timeframe_seconds(tf)
    except ConfigError:
        return None
    return tf


def check_spacing(bars: pl.DataFrame, timeframe: str, source: str = "<bars>") -> None:
    """Check that sorted, unique ``bars`` are bars of ``timeframe``; ``DataError`` naming
    ``source`` and the first offending row otherwise.

    Two bars closer than one bar's duration overlap (finer bars, e.g. 5m bars in a ``_1h``
    file). Bars more than an hour long may be one hour closer (session-anchored bars across a
    daylight-saving change). With three bars or more, some two must be exactly one duration
    apart: otherwise the bars are coarser than the timeframe (1h bars in a ``_5m`` file), and
    the features would see each bar before it closed.
    """
    if bars.height < 2:
        return
    bar = timeframe_seconds(timeframe) * 1_000_000_000
    slack = HOUR_NS if bar > HOUR_NS else 0
    ts = bars.get_column("timestamp").dt.epoch("ns").to_numpy()
    gaps = np.diff(ts)
    short = np.flatnonzero(gaps < bar - slack)
    if short.size:
        i = int(short[0]) + 1
        raise DataError(
            f"{source}: row {i} ({_fmt(bars['timestamp'][i])}): {_span(gaps[i - 1])} after the "
            f"previous bar, but a {timeframe} file holds bars {timeframe} apart (a finer "
            f"timeframe in a {timeframe} file?)"
        )
    if bars.height >= 3 and gaps.min() > bar:
        i = int(gaps.argmin()) + 1
        raise DataError(
            f"{source}: row {i} ({_fmt(bars['timestamp'][i])}): no two bars are {timeframe} "
            f"apart (the closest, here, are {_span(gaps[i - 1])} apart); a coarser timeframe in "
            f"a {timeframe} file?"
        )


def _span(ns: int) -> str:
    """A duration in the largest whole unit of the timeframe notation (e.g. 5m, 1h, 2d)."""
    secs = int(ns) // 1_000_000_000
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def read_table(path: str | Path, what: str, names: tuple[str, ...]) -> pl.DataFrame:
    """Read a ``.parquet`` or ``.csv`` file as it is (strings for CSV cells).

    A CSV whose first line has no letters has no header: its first ``len(names)`` columns get
    ``names``. Raises ``DataError`` naming the file (``what`` says what it is) when it is missing,
    of another type or unreadable.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a {what}")
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = _read_parquet(path)
        elif suffix == ".csv":
            df = _read_csv(path, names)
        else:
            raise DataError(f"{path}: unsupported {what} type {suffix!r} (use .parquet or .csv)")
    except DataError:
        raise
    except Exception as exc:  # corrupt file: polars/pyarrow raise many types
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise DataError(f"{path}: cannot read {what} ({reason})") from exc
    _check_unique_columns(df.columns, path)
    return df


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except pl.exceptions.DuplicateError:  # name both columns (pyarrow reads a repeated name)
        import pyarrow.parquet as pq

        _check_unique_columns(pq.read_schema(path).names, path)
        raise


def _check_unique_columns(columns: list[str], path: Path) -> None:
    """Column names are matched without case or surrounding spaces: two that match are refused
    (which one holds the data would be a guess)."""
    first: dict[str, int] = {}
    for j, name in enumerate(columns):
        key = str(name).strip().lower()
        if key in first:
            raise DataError(
                f"{path}: column {name!r} (column {j + 1}) duplicates column "
                f"{columns[first[key]]!r} (column {first[key] + 1}); keep one"
            )
        first[key] = j


def _read_csv(path: Path, names: tuple[str, ...]) -> pl.DataFrame:
    with path.open("r", encoding="utf-8") as fh:
        first = fh.readline()
    has_header = any(ch.isalpha() for ch in first.replace("T", "").replace("Z", "").lower())
    if has_header:  # polars renames a repeated name ("close_duplicated_0"): check the header
        _check_unique_columns(next(csv.reader([first])), path)
    df = pl.read_csv(path, has_header=has_header, infer_schema=False, truncate_ragged_lines=False)
    if not has_header:
        if df.width < len(names):
            raise DataError(
                f"{path}: expected {len(names)} columns ({', '.join(names)}), found {df.width}"
            )
        df = df.select(df.columns[: len(names)])
        df.columns = list(names)
    return df


def timestamp_column(raw: pl.DataFrame) -> str | None:
    """The column holding the timestamps: one named timestamp/date/datetime/time (any case) or an
    index column, else the first column if it holds strings or datetimes; None if none fits."""
    lower = {c.lower().strip(): c for c in raw.columns}
    ts_col = next((lower[a] for a in _TIMESTAMP_ALIASES if a in lower), None)
    if ts_col is None and raw.width > 0 and raw.schema[raw.columns[0]] in (pl.String, pl.Datetime):
        ts_col = raw.columns[0]
    return ts_col


def _normalize(raw: pl.DataFrame, path: Path) -> pl.DataFrame:
    lower = {c.lower().strip(): c for c in raw.columns}
    ts_col = timestamp_column(raw)
    missing = [c for c in PRICE_COLUMNS + ("volume",) if c not in lower]
    if ts_col is None:
        missing.insert(0, "timestamp")
    if missing:
        raise DataError(
            f"{path}: missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(raw.columns) or 'none'})"
        )
    ts = parse_timestamp_column(raw.get_column(ts_col), path)
    out = {"timestamp": ts}
    for c in (*PRICE_COLUMNS, "volume"):
        col = raw.get_column(lower[c])
        cast = col.cast(pl.Float64, strict=False)
        bad = cast.is_null() & col.is_not_null()
        if bad.any():
            i = int(bad.arg_true()[0])
            raise DataError(f"{path}: row {i}: column {c!r} is not a number ({col[i]!r})")
        out[c] = cast.fill_null(float("nan"))
    # one chunk per column: the kernels read the columns without a copy (polars' reader returns
    # a file of several row groups in as many chunks)
    return pl.DataFrame(out).rechunk()


def parse_timestamp_column(col: pl.Series, path: Path) -> pl.Series:
    """Parse a timestamp column (datetimes, dates or ISO 8601 strings; naive = UTC; a bare date
    is 00:00) into Datetime[ns, UTC]; ``DataError`` naming ``path`` and the first bad row."""
    if col.dtype == pl.Date:
        col = col.cast(pl.Datetime("ns"))
    if isinstance(col.dtype, pl.Datetime):
        if col.dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        parsed = col.dt.convert_time_zone("UTC").dt.cast_time_unit("ns")
    elif col.dtype == pl.String:
        s = col.str.strip_chars().str.replace(r"Z$", "+00:00").str.replace(" ", "T")
        s = pl.select(
            pl.when(s.str.len_chars() == 10).then(s + "T00:00:00").otherwise(s)
        ).to_series()
        s = pl.select(
            pl.when(s.str.contains(r"[+-]\d\d:?\d\d$")).then(s).otherwise(s + "+00:00")
        ).to_series()
        parsed = s.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%z", time_zone="UTC", strict=False, time_unit="ns"
        )
        bad = parsed.is_null() & col.is_not_null()
        if bad.any():
            i = int(bad.arg_true()[0])
            raise DataError(f"{path}: row {i}: timestamp {col[i]!r} is not an ISO 8601 date-time")
    else:
        raise DataError(f"{path}: timestamp column has unsupported type {col.dtype}")
    if parsed.null_count():
        i = int(parsed.is_null().arg_true()[0])
        raise DataError(f"{path}: row {i}: timestamp is missing")
    return parsed.alias("timestamp")


def validate_bars(bars: pl.DataFrame, source: str = "<bars>") -> None:
    """Check the bar contract; raise ``DataError`` naming ``source`` and the first bad row.

    Rules: required columns present, a date-time ``timestamp`` and numbers in the others;
    timestamps present and strictly increasing (sorted, unique); prices finite and > 0;
    high ≥ low; high ≥ max(open, close); low ≤ min(open, close); volume finite and ≥ 0. The
    earliest bad row is reported, with the first rule it breaks in ``BAR_RULES`` order (one pass
    of ``vbt.data.nb.first_bad_bar_nb``).
    """
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"{source}: missing required column(s) {', '.join(missing)}")
    if bars.height == 0:
        raise DataError(f"{source}: no bars")
    from vbt.data.nb import first_bad_bar_nb  # Numba loads here, not on `import vbt`

    ts = bars.get_column("timestamp")
    if not isinstance(ts.dtype, pl.Datetime | pl.Date):
        raise DataError(f"{source}: column 'timestamp' has type {ts.dtype}, not a date-time")
    if ts.null_count():
        raise DataError(f"{source}: row {int(ts.is_null().arg_true()[0])}: timestamp is missing")
    values = []
    for name in (*PRICE_COLUMNS, "volume"):
        column = bars.get_column(name)
        if not column.dtype.is_numeric():
            raise DataError(f"{source}: column {name!r} has type {column.dtype}, not a number")
        values.append(kernel_input(column.cast(pl.Float64).to_numpy(), np.float64))
    ns = ts.dt.epoch("ns")
    if ns.null_count():  # beyond what int64 nanoseconds since 1970 hold
        i = int(ns.is_null().arg_true()[0])
        raise DataError(
            f"{source}: row {i} ({_fmt(ts[i])}): timestamp outside 1677-09-21..2262-04-11, the "
            "range of nanosecond timestamps"
        )
    i, rule = first_bad_bar_nb(kernel_input(ns.to_numpy(), np.int64), *values)
    if i >= 0:
        raise DataError(f"{source}: row {i} ({_fmt(ts[i])}): {BAR_RULES[rule]}")


def _fmt(stamp: datetime | None) -> str:
    return "timestamp ?" if stamp is None else iso_z(stamp)


def _to_utc(value: str | date | datetime | None, end: bool) -> datetime | None:
    """Parse a date bound; a bare date as end bound covers the whole day."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            field = "end_date" if end else "start_date"
            raise DataError(
                f"{field} = {value!r}: not an ISO 8601 date or date-time (e.g. 2024-03-01 or "
                "2024-03-01T12:00:00Z)"
            ) from None
        if len(text) == 10 and end:
            value = value.replace(hour=23, minute=59, second=59, microsecond=999999)
    elif not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
        if end:
            value = value.replace(hour=23, minute=59, second=59, microsecond=999999)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def find_bar_file(data_dir: str | Path, symbol: str, timeframe: str) -> Path | None:
    """Path of ``{SYMBOL}_{TF}.parquet`` (preferred) or ``.csv`` in ``data_dir``, or None."""
    for ext in (".parquet", ".csv"):
        p = Path(data_dir) / f"{symbol}_{timeframe}{ext}"
        if p.is_file():
            return p
        if p.exists():
            raise DataError(f"{p}: is a folder (or not a regular file), not a bar file")
    return None


def load_data(
    data_dir: str | Path,
    symbol: str,
    timeframes: str | Iterable[str],
    *,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
) -> dict[str, pl.DataFrame]:
    """Load validated bars for each timeframe of ``symbol`` from ``data_dir``.

    The same as ``filter_dates(*read_timeframe(data_dir, symbol, tf), start_date, end_date)`` per
    timeframe (which is how a batch reads each file once and filters it per job).

    Parameters
    ----------
    data_dir : str or Path
        The folder of the bar files, named ``{SYMBOL}_{TF}.parquet`` or ``.csv``.
    symbol : str
        The symbol, as in the file names.
    timeframes : str or iterable of str
        The timeframes to load; one without a file is resampled from the coarsest finer
        timeframe on disk.
    start_date, end_date : str, date or datetime, optional
        Filter bar open times inclusively (a bare end date covers its whole day).

    Returns
    -------
    dict {timeframe: polars.DataFrame}
        Validated bars: timestamp, open, high, low, close, volume.

    Raises
    ------
    DataError
        Before any file is read: ``data_dir`` is not a folder, or a date does not parse or the
        start is after the end. Then: a file is missing and cannot be resampled, a file breaks
        the bar rules, or no rows are left after the filter.
    """
    tfs = [timeframes] if isinstance(timeframes, str) else list(timeframes)
    _check_data_dir(Path(data_dir))
    date_bounds(start_date, end_date)  # a bad or reversed range: refused before any file is read
    out: dict[str, pl.DataFrame] = {}
    read: dict[Path, pl.DataFrame] = {}  # a file read once for its timeframe and a resample of it
    for tf in tfs:
        bars, source = read_timeframe(data_dir, symbol, tf, read)
        out[tf] = filter_dates(bars, source, start_date, end_date)
    return out


def read_timeframe(
    data_dir: str | Path, symbol: str, timeframe: str, read: dict | None = None
) -> tuple[pl.DataFrame, str]:
    """All validated bars of ``symbol`` at ``timeframe`` in ``data_dir`` and where they came from
    (the file, or "<file> resampled to <tf>"): its own file, else resampled from the coarsest
    finer timeframe on disk. ``DataError`` when neither exists. ``read`` ({path: bars}, filled
    as files are read) lets several calls read each file once."""
    data_dir = Path(data_dir)
    _check_data_dir(data_dir)
    read = {} if read is None else read

    def bars_of(path: Path) -> pl.DataFrame:
        if path not in read:
            read[path] = load_bars(path)
        return read[path]

    secs = timeframe_seconds(timeframe)
    path = find_bar_file(data_dir, symbol, timeframe)
    if path is not None:
        return bars_of(path), str(path)
    on_disk = _available_timeframes(data_dir, symbol)
    finer = [t for t in on_disk if timeframe_seconds(t) < secs and secs % timeframe_seconds(t) == 0]
    if not finer:
        raise DataError(
            f"{data_dir / f'{symbol}_{timeframe}.parquet'}: bar file not found (nor .csv), and no "
            f"finer timeframe of {symbol} to resample from (found: {', '.join(on_disk) or 'none'})"
        )
    src_tf = max(finer, key=timeframe_seconds)
    src = find_bar_file(data_dir, symbol, src_tf)
    return resample(bars_of(src), timeframe), f"{src} resampled to {timeframe}"


def _check_data_dir(data_dir: Path) -> None:
    if not data_dir.is_dir():
        problem = "is a file, not a folder" if data_dir.exists() else "not found"
        raise DataError(f"{data_dir}: data directory {problem}")


def date_bounds(
    start_date: str | date | datetime | None, end_date: str | date | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The inclusive UTC bounds of a date range (a bare end date covers its whole day);
    ``DataError`` for a date that does not parse or a start after the end."""
    start, end = _to_utc(start_date, end=False), _to_utc(end_date, end=True)
    if start is not None and end is not None and start > end:
        raise DataError(f"start_date {start_date} is after end_date {end_date}")
    return start, end


def filter_dates(
    bars: pl.DataFrame,
    source: str,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
) -> pl.DataFrame:
    """The bars whose open time lies in the inclusive range; ``DataError`` naming ``source``
    when none is left."""
    start, end = date_bounds(start_date, end_date)
    return _filter_dates(bars, start, end, source, start_date, end_date)


def _available_timeframes(data_dir: Path, symbol: str) -> list[str]:
    tfs = []
    for p in sorted(data_dir.glob(f"{symbol}_*")):
        if p.suffix.lower() in (".parquet", ".csv"):
            tf = p.stem[len(symbol) + 1 :]
            try:
                timeframe_seconds(tf)
            except Exception:
                continue
            tfs.append(tf)
    return sorted(set(tfs), key=timeframe_seconds)


def _filter_dates(bars, start, end, source, start_date, end_date) -> pl.DataFrame:
    ts = pl.col("timestamp")
    if start is not None:
        bars = bars.filter(ts >= start)
    if end is not None:
        bars = bars.filter(ts <= end)
    if bars.height == 0:
        raise DataError(
            f"{source}: no bars between start_date={start_date} and end_date={end_date}"
        )
    return bars
