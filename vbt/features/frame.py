"""FeatureFrame and ``build_features``: indicators → fuzzy memberships → as-of alignment, once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from vbt.data.context import ContextFrame
from vbt.data.load import validate_bars
from vbt.data.timeframe import timeframe_ns, timeframe_seconds
from vbt.errors import ConfigError, DataError
from vbt.features.align import align_context, asof_index, take_aligned
from vbt.features.cache import cache_key, cache_path, read_values, write_values
from vbt.features.fuzzy import membership
from vbt.features.indicators import compute_indicator, get_indicator
from vbt.features.nb import pack_columns_nb
from vbt.paths import check_output_dir
from vbt.strategy import FeatureSpec, Strategy, feature_specs, load_strategy


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
    specs = {s.id: s for s in reversed(feature_specs(strategy))}
    base_bars = bars_by_tf[base]
    base_ns = base_bars.get_column("timestamp").dt.epoch("ns").to_numpy()
    n = base_ns.shape[0]
    unique = list(dict.fromkeys(names))
    row_of = {name: k for k, name in enumerate(unique)}
    scratch = np.empty((len(unique), n), dtype=np.float32)  # rounded once, as the output
    by_tf: dict[str, list[str]] = {}
    for name in unique:
        by_tf.setdefault(specs[name].timeframe, []).append(name)
    for tf in needed_tfs:
        if tf not in by_tf:
            continue
        bars = bars_by_tf[tf]
        ohlcv = {
            c: bars.get_column(c).to_numpy() for c in ("open", "high", "low", "close", "volume")
        }
        tf_ns = bars.get_column("timestamp").dt.epoch("ns").to_numpy()
        index = None
        if tf != base:
            index = asof_index(base_ns, base, tf_ns, tf)
        outputs: dict[str, dict[str, np.ndarray]] = {}
        aligned: dict[str, tuple[dict[str, np.ndarray], int]] = {}
        for name in by_tf[tf]:
            spec = specs[name]
            if spec.indicator not in outputs:
                ind = strategy.indicators[spec.indicator]
                if ind.data_source is None:
                    outputs[spec.indicator] = compute_indicator(
                        get_indicator(ind.type), ind.params, ohlcv
                    )
                else:
                    if ind.data_source not in aligned:
                        aligned[ind.data_source] = align_context(
                            tf_ns, timeframe_ns(tf), context[ind.data_source]
                        )
                    outputs[spec.indicator] = _context_indicator(ind, *aligned[ind.data_source])
            source = _pick_output(outputs[spec.indicator], spec)
            row = scratch[row_of[name]]
            if index is None:
                _feature_values(strategy, spec, source, out=row)
            else:
                take_aligned(_feature_values(strategy, spec, source), index, out=row)
    values = np.empty((n, len(names)), dtype=np.float32)
    valid = np.empty(n, dtype=np.bool_)
    pack_columns_nb(scratch, np.array([row_of[x] for x in names], dtype=np.int64), values, valid)
    return FeatureFrame(
        timestamps=base_bars.get_column("timestamp"),
        values=values,
        valid=valid,
        names=tuple(names),
        base_timeframe=base,
    )


def _context_indicator(ind, cols: dict[str, np.ndarray], first: int) -> dict[str, np.ndarray]:
    """``ind`` over aligned context columns, from the first bar with a known value (NaN before)."""
    spec = get_indicator(ind.type)
    n = len(next(iter(cols.values())))
    out = compute_indicator(spec, ind.params, {c: a[first:] for c, a in cols.items()})
    return {k: np.concatenate([np.full(first, np.nan), v]) for k, v in out.items()} if n else out


def _pick_output(outputs: dict[str, np.ndarray], spec: FeatureSpec) -> np.ndarray:
    return outputs[spec.output] if spec.output else outputs[""]


def _feature_values(
    strategy: Strategy, spec: FeatureSpec, source: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Raw indicator values or one fuzzy membership of them, as float64 (into ``out`` if given)."""
    if spec.fuzzy_set is None:
        # The older system's `normalization:` for raw inputs was never computed (a no-op); so here.
        if out is None:
            return np.asarray(source, dtype=np.float64)
        out[...] = source
        return out
    fs = strategy.fuzzy_sets[spec.fuzzy_set]
    m = next(m for m in fs.memberships if m.name == spec.membership)
    return membership(m.type, m.parameters, source, out=out)
