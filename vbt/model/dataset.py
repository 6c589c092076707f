"""Training samples: features + per-split labels -> ``TrainingData`` (no torch).

``prepare_training_data`` builds the features with ``build_features`` (the backtest's function),
decides the chronological train/validation/test split in bar space, labels each split from its own
closes only, and keeps the rows whose input is valid and whose label is defined:

* Candidate rows: valid feature rows (MLP), or bars whose ``sequence_length`` window is complete
  and valid (LSTM/GRU; :func:`vbt.features.windows.sliding_windows`, the rule inference uses).
* Split (``bar_split_bounds``): the ``data_split`` fractions of the candidate rows give the first
  validation and the first test row; each split owns the bars from its first row to the next
  split's first row (train from bar 0, test to the last bar).
* Labels (``split_labels``): computed separately on each split's bars, so no label depends on a
  bar after the end of its split. Forward returns and context labels: the last ``horizon`` bars of
  each split have no label and are dropped; triple barrier: the last ``max_holding_period``.
  Zigzag: the split's own extremes (its last segment is tentative within the split); regime: the
  split's own pivots and medians (bars after its last pivot have none). Labels look into the
  future within the split by construction; they are targets only.
* Several symbols (``prepare_symbols_training_data``): each symbol's samples as above, from its own
  bars and closes, with split times common to all symbols (``time_split_bounds``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import vbt
from vbt.errors import ConfigError, DataError
from vbt.features.windows import check_sequence_length, sliding_windows
from vbt.model.labels import (
    context_labels,
    forward_return_labels,
    regime_labels,
    triple_barrier_labels,
    zigzag_segment_labels,
)
from vbt.model.train_config import DEFAULT_SPLIT, TrainParams

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Model-ready samples in chronological order.

    X: float32 ``(n, n_features)`` (MLP) or ``(n, sequence_length, n_features)`` (LSTM/GRU).
    y: int64 class ids (classification) or float32 targets (regression), shape ``(n,)``.
    bar_index: int64 index of each sample's (last) bar among the base timeframe's bars (of its
    own symbol, for multi-symbol samples).
    """

    X: np.ndarray
    y: np.ndarray
    bar_index: np.ndarray
    feature_names: tuple[str, ...]
    output_type: str
    label_source: str
    sequence_length: int | None
    n_bars: int
    timestamps: Any = None  # polars Series of the base bars' open times
    # Chronological [start, stop) bounds per split ("train", "validation", "test"): ``splits`` in
    # sample rows (of X/y/bar_index), ``split_bars`` in base-timeframe bars (labels of a split use
    # only the closes of its bars). ``fractions`` are the data_split fractions they came from.
    splits: dict[str, tuple[int, int]] = field(default_factory=dict)
    split_bars: dict[str, tuple[int, int]] = field(default_factory=dict)
    fractions: tuple[float, float, float] = (
        DEFAULT_SPLIT["train"],
        DEFAULT_SPLIT["validation"],
        DEFAULT_SPLIT["test"],
    )
    # Multi-symbol samples only (``prepare_symbols_training_data``): the symbols, whose each
    # sample is (int64 index into ``symbols``), and each symbol's split in its own bars.
    symbols: tuple[str, ...] = ()
    symbol_index: np.ndarray | None = None
    split_bars_by_symbol: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


def split_bounds(n: int, fractions: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Chronological ``[start, stop)`` bounds: train first, then validation, then test. With a
    test fraction of 0 the validation split takes the rows that rounding leaves over (no test
    row at all)."""
    train, val, test = fractions
    n_train = int(n * train)
    n_val = n - n_train if test == 0 and val > 0 else int(n * val)
    return {
        "train": (0, n_train),
        "validation": (n_train, n_train + n_val),
        "test": (n_train + n_val, n),
    }


def bar_split_bounds(
    candidates: np.ndarray, n_bars: int, fractions: tuple[float, float, float]
) -> dict[str, tuple[int, int]]:
    """Chronological ``[start, stop)`` bounds in bar space.

    ``candidates`` are the (sorted) bars that can be samples; ``split_bounds`` of their count says
    which candidate opens the validation and the test split, and each split owns the bars from its
    first candidate up to the next split's first candidate (train from bar 0, test to ``n_bars``).
    """
    rows = split_bounds(len(candidates), fractions)

    def first_bar(name: str) -> int:
        k = rows[name][0]
        return int(candidates[k]) if k < len(candidates) else n_bars

    val, test = first_bar("validation"), first_bar("test")
    return {"train": (0, val), "validation": (val, test), "test": (test, n_bars)}


#: the bar columns each label source reads
LABEL_COLUMNS = {
    "zigzag": ("close",),
    "forward_return": ("close",),
    "context": ("close",),
    "triple_barrier": ("high", "low", "close"),
    "regime": ("high", "low", "close"),
}


def labeler(params: TrainParams) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """``prices -> labels`` for the strategy's label source: ``prices`` maps each column of
    ``LABEL_COLUMNS[source]`` to one split's values; the labels are float64 (class ids or
    returns), NaN where undefined."""
    source, kw = params.label_source, dict(params.label_params or {})
    if source == "zigzag":
        threshold = params.zigzag_threshold
        return lambda p: zigzag_segment_labels(p["close"], threshold).astype(np.float64)
    if source == "forward_return":
        horizon = params.horizon
        return lambda p: forward_return_labels(p["close"], horizon)
    if source == "context":
        return lambda p: context_labels(p["close"], **kw)
    if source == "triple_barrier":
        kw.pop("compute_weights", None)  # accepted, not applied (README)
        return lambda p: triple_barrier_labels(p["high"], p["low"], p["close"], **kw)
    return lambda p: regime_labels(p["high"], p["low"], p["close"], **kw)


def split_labels(
    prices: Mapping[str, np.ndarray] | np.ndarray,
    split_bars: Mapping[str, tuple[int, int]],
    params: TrainParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels for every bar, each split labelled from its own bars only; and whether each bar's
    label is defined. ``prices``: the base bars' columns (``LABEL_COLUMNS``) by name, or the
    closes alone. int64 class ids for the classifying sources, float64 returns for regression."""
    if not isinstance(prices, Mapping):
        prices = {"close": np.asarray(prices, dtype=np.float64)}
    n = next(iter(prices.values())).shape[0]
    label = labeler(params)
    y = np.full(n, np.nan)
    for a, b in split_bars.values():
        if b > a:
            y[a:b] = label({k: v[a:b] for k, v in prices.items()})
    defined = np.isfinite(y)
    if params.output_type == "regression":
        return y, defined
    return np.where(defined, y, 0).astype(np.int64), defined


def sequence_length_of(model_cfg: Mapping[str, Any], model_type: str) -> int | None:
    """``model.architecture.sequence_length`` for LSTM/GRU (required), None for an MLP."""
    if model_type not in ("lstm", "gru"):
        return None
    arch = model_cfg.get("architecture") or {}
    if "sequence_length" not in arch:
        raise ConfigError(f"model.architecture.sequence_length is required for {model_type} models")
    return check_sequence_length(arch["sequence_length"])


def _candidates(frame: Any, seq_len: int | None):
    """(input rows, candidate mask): the feature matrix (MLP) or its windows (LSTM/GRU), and
    which bars can be samples (valid row, or complete valid window)."""
    valid = np.asarray(frame.valid, dtype=bool)
    values = np.ascontiguousarray(frame.values, dtype=np.float32)
    if seq_len is None:
        return values, valid
    # The one window rule shared with inference: bar i's window is rows i-L+1..i, usable only
    # when all L rows exist and are valid.
    return sliding_windows(values, valid, seq_len)


def _samples(rows, ok, prices, split_bars, params: TrainParams):
    """One symbol's samples: labels per split from its own bars, rows with a valid input and a
    defined label. Returns (X, y, bar index, {split: [start, stop) in those rows})."""
    y_all, defined = split_labels(prices, split_bars, params)
    idx = np.flatnonzero(ok & defined)
    cuts = np.searchsorted(idx, [split_bars["validation"][0], split_bars["test"][0]])
    splits = {
        "train": (0, int(cuts[0])),
        "validation": (int(cuts[0]), int(cuts[1])),
        "test": (int(cuts[1]), int(idx.shape[0])),
    }
    X = np.ascontiguousarray(rows[idx])
    y = y_all[idx].astype(np.float32 if params.output_type == "regression" else np.int64)
    return X, y, idx.astype(np.int64), splits


def _symbol_inputs(strategy, bars_by_tf, frame, context, params: TrainParams):
    """(features, the base bars' columns the labels read by name)."""
    if frame is None:
        frame = vbt.build_features(strategy, bars_by_tf, context=context)
    base = frame.base_timeframe
    prices = {
        c: bars_by_tf[base].get_column(c).to_numpy().astype(np.float64)
        for c in LABEL_COLUMNS[params.label_source]
    }
    n = prices["close"].shape[0]
    if n != frame.values.shape[0]:
        raise DataError(
            f"feature rows ({frame.values.shape[0]}) do not match the {base} bars ({n})"
        )
    return frame, prices


def _sequence_length(strategy) -> int | None:
    from vbt.model.networks import model_type_of

    model_cfg = strategy.model or {}
    return sequence_length_of(model_cfg, model_type_of(model_cfg))


def prepare_training_data(
    strategy: Any,
    bars_by_tf: Mapping[str, Any],
    *,
    frame: Any = None,
    params: TrainParams | None = None,
    context: Mapping[str, Any] | None = None,
    exclude: np.ndarray | None = None,
) -> TrainingData:
    """Features + per-split labels of one symbol -> samples (see the module docstring).

    Rows with an invalid input or an undefined label are dropped, never zero-filled. ``frame``
    (default: ``build_features(strategy, bars_by_tf, context=context)``) and ``params`` (default:
    from the strategy) may be passed in when already computed; ``context`` holds the context
    frames of indicators with ``data_source`` (``vbt.data.strategy_context``). ``exclude``
    (bool[n_bars] over the base bars) marks bars that are never samples (a walk-forward's
    embargo); they still lie in their split and their closes still label it.
    """
    strategy = vbt.load_strategy(strategy)
    if params is None:
        params = TrainParams.from_strategy(strategy)
    frame, prices = _symbol_inputs(strategy, bars_by_tf, frame, context, params)
    seq_len = _sequence_length(strategy)
    rows, ok = _candidates(frame, seq_len)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != ok.shape:
            raise DataError(f"exclude: {exclude.shape[0]} flags for {ok.shape[0]} bars")
        ok = ok & ~exclude
    # Split first (bar space), then label each split from its own closes only.
    n_bars = int(prices["close"].shape[0])
    split_bars = bar_split_bounds(np.flatnonzero(ok), n_bars, params.fractions)
    X, y, bar_index, splits = _samples(rows, ok, prices, split_bars, params)
    return TrainingData(
        X=X,
        y=y,
        bar_index=bar_index,
        feature_names=tuple(frame.names),
        output_type=params.output_type,
        label_source=params.label_source,
        sequence_length=seq_len,
        n_bars=n_bars,
        timestamps=frame.timestamps,
        splits=splits,
        split_bars=split_bars,
        fractions=params.fractions,
    )


def time_split_bounds(
    ts_by_symbol: Mapping[str, np.ndarray],
    candidates_by_symbol: Mapping[str, np.ndarray],
    fractions: tuple[float, float, float],
) -> dict[str, dict[str, tuple[int, int]]]:
    """Chronological split of several symbols at common times, in each symbol's bar space.

    The ``data_split`` fractions of all symbols' candidate bars pooled in time order give the
    time at which validation starts and the time at which test starts; each symbol's bars before
    the first time train, and so on. So no validation or test bar of any symbol precedes a
    training bar of another. ``ts_by_symbol``: sorted int64 open stamps of each symbol's bars;
    ``candidates_by_symbol``: the bars (indices) that can be samples. With one symbol this is
    :func:`bar_split_bounds`.
    """
    pooled = np.sort(
        np.concatenate(
            [ts_by_symbol[s][candidates_by_symbol[s]] for s in ts_by_symbol]
            or [np.empty(0, np.int64)]
        )
    )
    rows = split_bounds(len(pooled), fractions)

    def first_bar(ts: np.ndarray, name: str) -> int:
        k = rows[name][0]
        return int(np.searchsorted(ts, pooled[k], side="left")) if k < len(pooled) else len(ts)

    out = {}
    for s, ts in ts_by_symbol.items():
        val, test = first_bar(ts, "validation"), first_bar(ts, "test")
        out[s] = {"train": (0, val), "validation": (val, test), "test": (test, len(ts))}
    return out


def prepare_symbols_training_data(
    strategy: Any,
    bars_by_symbol: Mapping[str, Mapping[str, Any]],
    *,
    params: TrainParams | None = None,
    context: Mapping[str, Any] | None = None,
) -> TrainingData:
    """Samples from several symbols (``training_data.symbols.mode: multi_symbol``).

    Each symbol's features come from its own bars (and the shared ``context``); the split times
    are common to all symbols (:func:`time_split_bounds`); each symbol's labels come from its own
    closes, split by split, so no label ever crosses from one symbol to another (the older system
    paired one symbol's features with another's labels, F14). The samples are ordered train (every
    symbol, in ``bars_by_symbol`` order), then validation, then test; ``symbol_index`` says whose
    each one is and ``bar_index`` is its bar among that symbol's base bars.
    """
    strategy = vbt.load_strategy(strategy)
    if params is None:
        params = TrainParams.from_strategy(strategy)
    if not bars_by_symbol:
        raise DataError("multi-symbol training needs at least one symbol's bars")
    seq_len = _sequence_length(strategy)
    inputs = {}
    for sym, bars in bars_by_symbol.items():
        frame, prices = _symbol_inputs(strategy, bars, None, context, params)
        rows, ok = _candidates(frame, seq_len)
        inputs[sym] = (frame, prices, rows, ok)
    bounds = time_split_bounds(
        {s: f.ts_ns for s, (f, *_) in inputs.items()},
        {s: np.flatnonzero(ok) for s, (_, _, _, ok) in inputs.items()},
        params.fractions,
    )
    parts = {name: [] for name in SPLITS}
    for k, (sym, (_, prices, rows, ok)) in enumerate(inputs.items()):
        X, y, bar_index, splits = _samples(rows, ok, prices, bounds[sym], params)
        for name, (a, b) in splits.items():
            parts[name].append((X[a:b], y[a:b], bar_index[a:b], np.full(b - a, k, np.int64)))
    chunks = [c for name in SPLITS for c in parts[name]]
    sizes = {name: sum(len(c[1]) for c in parts[name]) for name in SPLITS}
    a_val, a_test = sizes["train"], sizes["train"] + sizes["validation"]
    frame0 = next(iter(inputs.values()))[0]
    return TrainingData(
        X=np.ascontiguousarray(np.concatenate([c[0] for c in chunks])),
        y=np.concatenate([c[1] for c in chunks]),
        bar_index=np.concatenate([c[2] for c in chunks]),
        feature_names=tuple(frame0.names),
        output_type=params.output_type,
        label_source=params.label_source,
        sequence_length=seq_len,
        n_bars=int(sum(prices["close"].shape[0] for _, prices, _, _ in inputs.values())),
        splits={
            "train": (0, a_val),
            "validation": (a_val, a_test),
            "test": (a_test, a_test + sizes["test"]),
        },
        fractions=params.fractions,
        symbols=tuple(inputs),
        symbol_index=np.concatenate([c[3] for c in chunks]),
        split_bars_by_symbol=bounds,
    )
