"""FeatureFrame and ``build_features``: indicators → fuzzy memberships → as-of alignment, once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from vbt.arrays import kernel_input
from vbt.data.context import ContextFrame
from vbt.data.load import BAR_COLUMNS, validate_bars
from vbt.data.timeframe import timeframe_ns, timeframe_seconds
from vbt.errors import ConfigError, DataError
from vbt.features.align import align_context, asof_index, take_aligned
from vbt.features.cache import cache_key, cache_path, read_values, write_values
from vbt.features.indicators import compute_indicator, get_indicator
from vbt.features.nb import GAUSSIAN, TRAPEZOIDAL, TRIANGULAR, assemble_nb
from vbt.paths import check_output_dir
from vbt.strategy import Strategy, feature_specs, load_strategy
from vbt.strategy.loader import MEMBERSHIP_ARITY


@dataclass(frozen=True, eq=False)
class FeatureFrame:
    """Model inputs for every base-timeframe bar.

    timestamps: polars Datetime[ns, UTC] Series of base bar open times (n_bars).
    values: float32, C-contiguous, shape (n_bars, n_features), columns in ``names`` order.
    valid: bool (n_bars,), False where any feature is NaN (such bars never trade, never train).
    """

    timestamps: pl.Series
    values: np.ndarray
    valid: np.ndarray
    names: tuple[str, ...]
    base_timeframe: str

    @property
    def n_bars(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.values.shape[1])

    @property
    def ts_ns(self) -> np.ndarray:
        """Base bar open times as int64 ns since the epoch (UTC)."""
        return self.timestamps.dt.epoch("ns").to_numpy()

    def column(self, name: str) -> np.ndarray:
        """One feature column (float32[n_bars])."""
        return self.values[:, self.names.index(name)]

    def to_polars(self) -> pl.DataFrame:
        """timestamp, one Float32 column per feature (first occurrence of a name), and valid."""
        cols: dict[str, object] = {"timestamp": self.timestamps}
        for j, name in enumerate(self.names):
            cols.setdefault(name, self.values[:, j])
        cols["valid"] = self.valid
        return pl.DataFrame(cols)


def build_features(
    strategy: Strategy | str | Path | Mapping,
    bars_by_tf: Mapping[str, pl.DataFrame],
    *,
    feature_names: Sequence[str] | None = None,
    base_timeframe: str | None = None,
    cache_dir: str | Path | None = None,
    validate: bool = True,
    context: Mapping[str, ContextFrame] | None = None,
) -> FeatureFrame:
    """Compute the strategy's features for every bar of the base timeframe.

    Higher and lower timeframes are joined as of their bar close (no look-ahead, no back-fill);
    warm-up NaNs stay NaN. Strategy features not requested are not computed.

    Parameters
    ----------
    strategy : Strategy, str, Path or mapping
        A loaded strategy, a v3 strategy YAML path or a parsed mapping.
    bars_by_tf : mapping {timeframe: bars}
        Validated bars (``vbt.load_data``) of every timeframe the features use.
    feature_names : sequence of str, optional
        The columns, in order (default: the resolver's order; give a model's
        ``resolved_features`` to match it).
    base_timeframe : str, optional
        The timeframe of the rows (default: the strategy's base timeframe).
    cache_dir : str or Path, optional
        Cache the features there as Parquet keyed by a hash of the bars and the indicator/fuzzy
        config, so a batch of backtests over the same data computes them once.
    validate : bool, default True
        False skips re-checking bars that ``load_data`` has already validated.
    context : mapping {source id: ContextFrame}, optional
        The context sources (``vbt.load_context`` / ``strategy_context``) of indicators with
        ``data_source``: such an indicator is computed, on each timeframe it is used on, over the
        context rows as known at each of that timeframe's bar closes (the as-of rule of the
        timeframe join; a series value at its own timestamp), starting at the first bar with a
        known value (earlier bars are NaN), and then joins the base bars like any other feature
        of that timeframe.

    Returns
    -------
    FeatureFrame
        One row per base-timeframe bar, one float32 column per feature name.

    Raises
    ------
    ConfigError
        A requested name the strategy cannot produce, no feature requested, or a ``cache_dir``
        that cannot be written.
    DataError
        Bars of a needed timeframe or a context source the indicators read are not given, or
        (with ``validate``) the bars break the bar rules.
    """
    strategy = load_strategy(strategy)
    base = base_timeframe or strategy.base_timeframe
    specs = {s.id: s for s in reversed(feature_specs(strategy))}  # first occurrence wins
    names = (
        tuple(feature_names)
        if feature_names is not None
        else tuple(s.id for s in feature_specs(strategy))
    )
    missing = [n for n in names if n not in specs]
    if missing:
        raise ConfigError(
            f"strategy {strategy.name!r} cannot produce feature(s) {', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''} (it defines: {', '.join(list(specs)[:10])} ...)"
        )
    if not names:
        raise ConfigError(f"strategy {strategy.name!r}: no features requested")
    needed_tfs = [base] + sorted(
        {specs[n].timeframe for n in names} - {base}, key=timeframe_seconds
    )
    for tf in needed_tfs:
        if tf not in bars_by_tf:
            raise DataError(
                f"bars for timeframe {tf!r} are needed by the features but were not given "
                f"(given: {', '.join(bars_by_tf) or 'none'})"
            )
        if validate:
            validate_bars(bars_by_tf[tf], source=f"bars[{tf!r}]")
    context = dict(context or {})
    for ind_id in dict.fromkeys(specs[n].indicator for n in names):
        source = strategy.indicators[ind_id].data_source
        if source is not None and source not in context:
            raise DataError(
                f"indicators.{ind_id} reads context source {source!r}, which was not given "
                f"(given: {', '.join(context) or 'none'}; load it with vbt.load_context)"
            )
    if cache_dir is not None:
        return _cached(cache_dir, strategy, bars_by_tf, names, base, needed_tfs, context)
    return _compute(strategy, bars_by_tf, names, base, needed_tfs, context)


def _cached(cache_dir, strategy, bars_by_tf, names, base, needed_tfs, context) -> FeatureFrame:
    """The frame from the feature cache in ``cache_dir`` (``vbt.features.cache``), computed and
    stored on a miss."""
    cache_dir = check_output_dir(cache_dir, "feature cache_dir")  # before computing anything
    path = cache_path(cache_dir, cache_key(strategy, bars_by_tf, names, base, needed_tfs, context))
    values = read_values(path, names)
    if values is not None:
        return FeatureFrame(
            timestamps=bars_by_tf[base].get_column("timestamp"),
            values=values,
            valid=~np.isnan(values).any(axis=1),
            names=tuple(names),
            base_timeframe=base,
        )
    frame = _compute(strategy, bars_by_tf, names, base, needed_tfs, context)
    write_values(path, frame.values, names)
    return frame


def _compute(strategy, bars_by_tf, names, base, needed_tfs, context) -> FeatureFrame:
    """Indicators once per (timeframe, indicator), each output used aligned onto the base bars
    once (a float64 source row), then every column (raw value or membership) written straight
    into the float32 matrix in one pass (``assemble_nb``)."""
    specs = {s.id: s for s in reversed(feature_specs(strategy))}
    base_bars = bars_by_tf[base]
    base_ns = base_bars.get_column("timestamp").dt.epoch("ns").to_numpy()
    n = base_ns.shape[0]
    # one source row per (timeframe, indicator, output) the columns read
    row_of: dict[tuple[str, str, str | None], int] = {}
    for name in names:
        spec = specs[name]
        row_of.setdefault((spec.timeframe, spec.indicator, spec.output), len(row_of))
    sources = np.empty((len(row_of), n), dtype=np.float64)
    for tf in needed_tfs:
        keys = [key for key in row_of if key[0] == tf]
        if not keys:
            continue
        bars = bars_by_tf[tf]
        ohlcv = _BarColumns(bars)
        tf_ns = bars.get_column("timestamp").dt.epoch("ns").to_numpy()
        index = None if tf == base else asof_index(base_ns, base, tf_ns, tf)
        outputs: dict[str, dict[str, np.ndarray]] = {}
        aligned: dict[str, tuple[dict[str, np.ndarray], int]] = {}
        for key in keys:
            _, ind_id, output = key
            if ind_id not in outputs:
                ind = strategy.indicators[ind_id]
                if ind.data_source is None:
                    outputs[ind_id] = compute_indicator(get_indicator(ind.type), ind.params, ohlcv)
                else:
                    if ind.data_source not in aligned:
                        aligned[ind.data_source] = align_context(
                            tf_ns, timeframe_ns(tf), context[ind.data_source]
                        )
                    outputs[ind_id] = _context_indicator(ind, *aligned[ind.data_source])
            source = outputs[ind_id][output] if output else outputs[ind_id][""]
            row = sources[row_of[key]]
            if index is None:
                row[...] = source
            else:
                take_aligned(np.asarray(source, dtype=np.float64), index, out=row)
    f = len(names)
    source_of = np.empty(f, dtype=np.int64)
    kind = np.zeros(f, dtype=np.int64)
    params = np.zeros((f, 4), dtype=np.float64)
    for j, name in enumerate(names):
        spec = specs[name]
        source_of[j] = row_of[(spec.timeframe, spec.indicator, spec.output)]
        if spec.fuzzy_set is not None:
            # The older system's `normalization:` for raw inputs was never computed (a no-op); so
            # a raw column is the value itself.
            fs = strategy.fuzzy_sets[spec.fuzzy_set]
            m = next(m for m in fs.memberships if m.name == spec.membership)
            if m.type not in _KINDS:
                raise ValueError(f"unknown membership type {m.type!r}")
            if len(m.parameters) != MEMBERSHIP_ARITY[m.type]:  # a Strategy built in code
                raise ConfigError(f"fuzzy_sets.{spec.fuzzy_set}.{m.name}: {m.type} needs "
                                  f"{MEMBERSHIP_ARITY[m.type]} parameters, got "
                                  f"{len(m.parameters)}")  # fmt: skip
            kind[j] = _KINDS[m.type]
            params[j, : len(m.parameters)] = m.parameters
    values = np.empty((n, f), dtype=np.float32)
    valid = np.empty(n, dtype=np.bool_)
    assemble_nb(sources, source_of, kind, params, values, valid)
    return FeatureFrame(
        timestamps=base_bars.get_column("timestamp"),
        values=values,
        valid=valid,
        names=tuple(names),
        base_timeframe=base,
    )


_KINDS = {"triangular": TRIANGULAR, "trapezoidal": TRAPEZOIDAL, "gaussian": GAUSSIAN}


class _BarColumns(Mapping):
    """One timeframe's bar columns (open, high, low, close, volume) as kernel inputs, each
    converted when an indicator first reads it (most read only the close)."""

    def __init__(self, bars: pl.DataFrame):
        self._bars = bars
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            if name not in _OHLCV:
                raise KeyError(name)
            self._arrays[name] = kernel_input(self._bars.get_column(name).to_numpy(), np.float64)
        return self._arrays[name]

    def __iter__(self):
        return iter(_OHLCV)

    def __len__(self) -> int:
        return len(_OHLCV)


_OHLCV = BAR_COLUMNS[1:]  # all but the timestamp


def _context_indicator(ind, cols: dict[str, np.ndarray], first: int) -> dict[str, np.ndarray]:
    """``ind`` over aligned context columns, from the first bar with a known value (NaN before)."""
    spec = get_indicator(ind.type)
    n = len(next(iter(cols.values())))
    out = compute_indicator(spec, ind.params, {c: a[first:] for c, a in cols.items()})
    return {k: np.concatenate([np.full(first, np.nan), v]) for k, v in out.items()} if n else out
