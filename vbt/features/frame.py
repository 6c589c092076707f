"""FeatureFrame and ``build_features``: indicators → fuzzy memberships → as-of alignment, once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from vbt.data.load import validate_bars
from vbt.data.timeframe import timeframe_seconds
from vbt.errors import ConfigError, DataError
from vbt.features.align import asof_index, take_aligned
from vbt.features.fuzzy import membership
from vbt.features.indicators import compute_indicator, get_indicator
from vbt.features.nb import pack_columns_nb
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
    feature_names: Sequence[str] | None = None,
    base_timeframe: str | None = None,
    cache_dir: str | Path | None = None,
    validate: bool = True,
) -> FeatureFrame:
    """Compute the strategy's features for every bar of the base timeframe.

    ``bars_by_tf`` maps timeframe → validated bars. ``feature_names`` (default: the resolver's
    order, or a model's ``resolved_features``) fixes the column order; a name the strategy cannot
    produce raises ``ConfigError``; strategy features not requested are not computed. Higher and
    lower timeframes are joined as of their bar close (no look-ahead, no back-fill); warm-up NaNs
    stay NaN. With ``cache_dir``, results are cached as Parquet keyed by a hash of the bars and
    the indicator/fuzzy config, so a batch of backtests over the same data computes them once.
    ``validate=False`` skips re-checking bars that ``load_data`` has already validated.
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
    if cache_dir is not None:
        from vbt.features.cache import cached_frame

        return cached_frame(cache_dir, strategy, bars_by_tf, names, base, needed_tfs, _compute)
    return _compute(strategy, bars_by_tf, names, base, needed_tfs)


def _compute(strategy, bars_by_tf, names, base, needed_tfs) -> FeatureFrame:
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
        index = None
        if tf != base:
            other_ns = bars.get_column("timestamp").dt.epoch("ns").to_numpy()
            index = asof_index(base_ns, base, other_ns, tf)
        outputs: dict[str, dict[str, np.ndarray]] = {}
        for name in by_tf[tf]:
            spec = specs[name]
            if spec.indicator not in outputs:
                ind = strategy.indicators[spec.indicator]
                outputs[spec.indicator] = compute_indicator(
                    get_indicator(ind.type), ind.params, ohlcv
                )
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
