"""Context data: another symbol's bars, or an external series, read from the data directory.

A strategy's ``context_data`` entries (reference §1) declare sources; an indicator reads one with
``data_source: <source id>``. The source ids follow the older system's providers:

==========  ===================================================  =================================
provider    entry keys                                           source ids (files)
==========  ===================================================  =================================
ib          symbol (required), timeframe ("1h")                  ``<symbol>``: bars in
                                                                 ``{SYMBOL}_{TF}.parquet|csv``
fred        series: an id or a list of ids                       ``fred_<id>`` each, plus
                                                                 ``yield_spread_<id1>_<id2>`` for
                                                                 two or more ids
cftc_cot    report (a currency code, e.g. EUR)                   ``cot_<report>_net_pos``,
                                                                 ``cot_<report>_net_pct``
==========  ===================================================  =================================

Every entry may also give ``alignment`` (only ``forward_fill``, the default: the latest value
known so far, never back-filled) and the older system's descriptive keys (``instrument_type``,
``frequency``, ``currencies``, ``min_impact``, ``broker``), which change nothing here.

**External series files** are ``<source id>.parquet`` or ``<source id>.csv`` in the data
directory: a timestamp column (first column, or named ``timestamp``/``date``/``datetime``/``time``;
ISO 8601; naive = UTC; a bare date is 00:00 UTC) and exactly one value column. **The timestamp is
when the value became known**: a base bar sees a value once its timestamp is at or before the
bar's close. Timestamps must be sorted and unique. An empty value, ``.`` (FRED's convention) or
NaN means "no new value": that row is dropped, so the previous value stays in force. An indicator
on a series reads the value as ``close`` (no open/high/low/volume). Unlike the older system
(which fetched them from the providers' APIs), vbt only reads files: the spread series is a file
of its own, like any other source id.

**Another symbol's bars** (``ib``) are loaded like the base symbol's (``vbt.load_data``, including
resampling from a finer timeframe on disk); a bar is known once it has closed.

A missing file raises ``DataError`` naming the source id and the file looked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vbt.data.load import load_data, parse_timestamp_column, read_table, timestamp_column
from vbt.data.timeframe import timeframe_ns
from vbt.errors import ConfigError, DataError

PROVIDERS = ("ib", "fred", "cftc_cot")
_DESCRIPTIVE_KEYS = ("instrument_type", "frequency", "currencies", "min_impact", "broker")
_PROVIDER_KEYS = {
    "ib": ("symbol", "timeframe"),
    "fred": ("series",),
    "cftc_cot": ("report",),
}
_ALL_KEYS = {k for keys in _PROVIDER_KEYS.values() for k in keys}
_MISSING_VALUES = ("", ".", "nan", "NaN", "NAN", "null", "NULL", "NA", "N/A")


@dataclass(frozen=True)
class ContextSource:
    """One context source a strategy declares.

    id: the source id (what ``data_source`` names). kind: ``"bars"`` (another symbol's OHLCV bars,
    ``symbol``/``timeframe`` set) or ``"series"`` (one value per timestamp). provider: the entry's
    provider. entry: index of the ``context_data`` entry that declares it.
    """

    id: str
    kind: str
    provider: str
    entry: int
    symbol: str | None = None
    timeframe: str | None = None


@dataclass(frozen=True, eq=False)
class ContextFrame:
    """A loaded context source.

    data: polars DataFrame sorted by ``timestamp`` (Datetime[ns, UTC]); bars carry open, high,
    low, close, volume (Float64), series one ``close`` column (the value). known_after_ns: how long
    after its timestamp a row becomes known (the bar duration for bars, 0 for series).
    """

    source: ContextSource
    data: pl.DataFrame
    known_after_ns: int

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.data.columns if c != "timestamp")


def context_sources(entries: Any, where: str = "context_data") -> dict[str, ContextSource]:
    """Validate the ``context_data`` entries and return source id -> ContextSource (in order).

    Raises ``ConfigError`` naming the entry and key: not a list of mappings, an unknown provider,
    an unknown key, a missing or malformed provider key, an alignment other than
    ``forward_fill``, or a source id declared twice.
    """
    if entries is None:
        return {}
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise ConfigError(f"{where}: must be a list of entries, got {type(entries).__name__}")
    out: dict[str, ContextSource] = {}
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{at}: an entry is a mapping with a 'provider' key")
        provider = entry.get("provider")
        if provider not in PROVIDERS:
            raise ConfigError(
                f"{at}.provider: {provider!r} is not a supported provider "
                f"(one of {', '.join(PROVIDERS)})"
            )
        allowed = {"provider", "alignment", *_DESCRIPTIVE_KEYS, *_PROVIDER_KEYS[provider]}
        for key, value in entry.items():
            # another provider's key set to null: how the older system serialises an entry
            if key not in allowed and not (value is None and key in _ALL_KEYS):
                raise ConfigError(
                    f"{at}.{key}: unknown key for provider {provider!r} "
                    f"(allowed: {', '.join(sorted(allowed))})"
                )
        alignment = entry.get("alignment") or "forward_fill"
        if alignment != "forward_fill":
            raise ConfigError(
                f"{at}.alignment: only 'forward_fill' is supported, got {alignment!r}"
            )
        for src in _entry_sources(provider, entry, i, at):
            if src.id in out:
                raise ConfigError(
                    f"{at}: source id {src.id!r} is already declared by {where}[{out[src.id].entry}]"
                )
            out[src.id] = src
    return out


def _name(entry: Mapping[str, Any], key: str, at: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{at}.{key}: required (a non-empty string), got {value!r}")
    return value.strip()


def _entry_sources(provider: str, entry: Mapping[str, Any], i: int, at: str):
    if provider == "ib":
        symbol = _name(entry, "symbol", at)
        tf = entry.get("timeframe") or "1h"
        try:
            timeframe_ns(tf)
        except ConfigError as exc:
            raise ConfigError(f"{at}.timeframe: {exc}") from None
        return [ContextSource(symbol, "bars", provider, i, symbol=symbol, timeframe=tf)]
    if provider == "fred":
        series = entry.get("series")
        ids = [series] if isinstance(series, str) else series
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(s, str) and s.strip() for s in ids)
        ):
            raise ConfigError(
                f"{at}.series: a series id or a non-empty list of ids, got {series!r}"
            )
        ids = [s.strip() for s in ids]
        out = [ContextSource(f"fred_{s}", "series", provider, i) for s in ids]
        if len(ids) >= 2:
            out.append(ContextSource(f"yield_spread_{ids[0]}_{ids[1]}", "series", provider, i))
        return out
    report = _name(entry, "report", at)
    return [
        ContextSource(f"cot_{report}_net_pos", "series", provider, i),
        ContextSource(f"cot_{report}_net_pct", "series", provider, i),
    ]


def series_file(data_dir: str | Path, source_id: str) -> Path | None:
    """``<source id>.parquet`` (preferred) or ``.csv`` in ``data_dir``, or None."""
    for ext in (".parquet", ".csv"):
        p = Path(data_dir) / f"{source_id}{ext}"
        if p.is_file():
            return p
        if p.exists():
            raise DataError(f"{p}: is a folder (or not a regular file), not a series file")
    return None


def load_series(path: str | Path) -> pl.DataFrame:
    """Read one external series file into ``timestamp`` (Datetime[ns, UTC]) and ``close``.

    Rows with a missing value are dropped (see the module docstring). Raises ``DataError`` naming
    the file and the first bad row (0-based data row): not exactly one value column, an
    unparseable timestamp, a non-numeric or infinite value, timestamps not sorted or not unique.
    """
    path = Path(path)
    raw = read_table(path, "series file", ("timestamp", "value"))
    ts_col = timestamp_column(raw)
    if raw.width != 2 or ts_col is None:
        raise DataError(
            f"{path}: a series file has a timestamp and exactly one value column, "
            f"found {raw.width} column(s) ({', '.join(raw.columns)})"
        )
    value_col = next(c for c in raw.columns if c != ts_col)
    ts = parse_timestamp_column(raw.get_column(ts_col), path)
    col = raw.get_column(value_col)
    if col.dtype == pl.String:
        text = col.str.strip_chars()
        missing = text.is_null() | text.is_in(list(_MISSING_VALUES))
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() & ~missing
    else:
        values = col.cast(pl.Float64, strict=False)
        missing = col.is_null()
        bad = values.is_null() & ~missing
    if bad.any():
        i = int(bad.arg_true()[0])
        raise DataError(f"{path}: row {i}: value {col[i]!r} is not a number")
    values = values.fill_null(float("nan"))
    if values.is_infinite().any():
        i = int(values.is_infinite().arg_true()[0])
        raise DataError(f"{path}: row {i}: value is infinite")
    diffs = ts.dt.epoch("ns").diff()
    for mask, what in (
        (diffs == 0, "duplicate timestamp (same as the previous row)"),
        (diffs < 0, "timestamps not sorted (earlier than the previous row)"),
    ):
        mask = mask.fill_null(False)
        if mask.any():
            i = int(mask.arg_true()[0])
            raise DataError(f"{path}: row {i}: {what}")
    frame = pl.DataFrame({"timestamp": ts, "close": values})
    return frame.filter(pl.col("close").is_not_nan())


def load_context(
    data_dir: str | Path, sources: Iterable[ContextSource] | Mapping[str, ContextSource]
) -> dict[str, ContextFrame]:
    """Load each context source from ``data_dir``; returns source id -> ContextFrame.

    Bars are loaded whole (no date filter: the alignment only ever uses rows already known at a
    base bar's close). Raises ``DataError`` naming the source id and the file looked for when a
    file is missing, or the file and row when its content is bad.
    """
    if isinstance(sources, Mapping):
        sources = sources.values()
    data_dir = Path(data_dir)
    out: dict[str, ContextFrame] = {}
    for src in sources:
        if src.kind == "bars":
            try:
                bars = load_data(data_dir, src.symbol, [src.timeframe])[src.timeframe]
            except DataError as exc:
                raise DataError(f"context source {src.id!r}: {exc}") from None
            out[src.id] = ContextFrame(src, bars, timeframe_ns(src.timeframe))
            continue
        path = series_file(data_dir, src.id)
        if path is None:
            raise DataError(
                f"context source {src.id!r}: series file {data_dir / (src.id + '.parquet')} "
                "not found (nor .csv)"
            )
        out[src.id] = ContextFrame(src, load_series(path), 0)
    return out


def strategy_context(strategy: Any, data_dir: str | Path) -> dict[str, ContextFrame]:
    """The context frames ``strategy``'s indicators read (``data_source``), loaded from
    ``data_dir``; ``{}`` when it reads none. The one call training and backtesting make."""
    used = {ind.data_source for ind in strategy.indicators.values() if ind.data_source}
    return load_context(data_dir, [s for sid, s in strategy.context_sources.items() if sid in used])
