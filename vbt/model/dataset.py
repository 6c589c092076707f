"""Training samples: features + per-split labels -> ``TrainingData`` (no torch).

``prepare_training_data`` builds the features with ``build_features`` (the backtest's function),
decides the chronological train/validation/test split in bar space, labels each split from its own
closes only, and keeps the rows whose input is valid and whose label is defined:

* Candidate rows: valid feature rows (MLP), or bars whose ``sequence_length`` window is complete
  and valid (LSTM/GRU; :func:`vbt.features.windows.sliding_windows`, the rule inference uses).
* Split (``bar_split_bounds``): the ``data_split`` fractions of the candidate rows give the first
  validation and the first test row; each split owns the bars from its first row to the next
  split's first row (train from bar 0, test to the last bar).
* Labels (``split_labels``): computed separately on each split's closes, so no label depends on a
  close after the end of its split. Forward returns: the last ``horizon`` bars of each split have
  no label and are dropped. Zigzag: the split's own extremes (its last segment is tentative within
  the split). Labels look into the future within the split by construction; they are targets only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbt.errors import ConfigError, DataError
from vbt.features.windows import sliding_windows
from vbt.model.labels import forward_return_labels, zigzag_segment_labels
from vbt.model.train_config import DEFAULT_SPLIT, TrainParams, read_int

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Model-ready samples in chronological order.

    X: float32 ``(n, n_features)`` (MLP) or ``(n, sequence_length, n_features)`` (LSTM/GRU).
    y: int64 class ids (classification) or float32 targets (regression), shape ``(n,)``.
    bar_index: int64 index of each sample's (last) bar among the base timeframe's bars.
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


def split_bounds(n: int, fractions: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Chronological ``[start, stop)`` bounds: train first, then validation, then test."""
    train, val, _ = fractions
    n_train = int(n * train)
    n_val = int(n * val)
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


def labeler(params: TrainParams) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``close -> (labels, defined)`` for the strategy's label source."""
    if params.label_source == "zigzag":
        threshold = params.zigzag_threshold

        def zigzag(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return zigzag_segment_labels(close, threshold), np.ones(close.shape[0], dtype=bool)

        return zigzag
    horizon = params.horizon

    def forward(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = forward_return_labels(close, horizon)
        return y, np.isfinite(y)

    return forward


def split_labels(
    close: np.ndarray, split_bars: Mapping[str, tuple[int, int]], params: TrainParams
) -> tuple[np.ndarray, np.ndarray]:
    """Labels for every bar, each split labelled from its own closes only; and whether each
    bar's label is defined. int64 for classification, float64 for regression."""
    n = close.shape[0]
    label = labeler(params)
    classification = params.output_type == "classification"
    y = np.zeros(n, dtype=np.int64 if classification else np.float64)
    defined = np.zeros(n, dtype=bool)
    for a, b in split_bars.values():
        if b > a:
            y[a:b], defined[a:b] = label(close[a:b])
    return y, defined


def sequence_length_of(model_cfg: Mapping[str, Any], model_type: str) -> int | None:
    """``model.architecture.sequence_length`` for LSTM/GRU (required), None for an MLP."""
    if model_type not in ("lstm", "gru"):
        return None
    arch = model_cfg.get("architecture") or {}
    if "sequence_length" not in arch:
        raise ConfigError(f"model.architecture.sequence_length is required for {model_type} models")
    return read_int(arch, "sequence_length", 0, "model.architecture")


def prepare_training_data(
    strategy: Any,
    bars_by_tf: Mapping[str, Any],
    frame: Any = None,
    params: TrainParams | None = None,
) -> TrainingData:
    """Features + per-split labels -> samples (see the module docstring).

    Rows with an invalid input or an undefined label are dropped, never zero-filled. ``frame``
    (default: ``build_features(strategy, bars_by_tf)``) and ``params`` (default: from the strategy)
    may be passed in when already computed.
    """
    import vbt
    from vbt.model.networks import model_type_of

    strategy = vbt.load_strategy(strategy)
    if params is None:
        params = TrainParams.from_strategy(strategy)
    if frame is None:
        frame = vbt.build_features(strategy, bars_by_tf)
    base = frame.base_timeframe
    close = bars_by_tf[base].get_column("close").to_numpy()
    if close.shape[0] != frame.values.shape[0]:
        raise DataError(
            f"feature rows ({frame.values.shape[0]}) do not match the {base} bars ({close.shape[0]})"
        )
    model_cfg = strategy.model or {}
    seq_len = sequence_length_of(model_cfg, model_type_of(model_cfg))
    valid = np.asarray(frame.valid, dtype=bool)
    values = np.ascontiguousarray(frame.values, dtype=np.float32)
    windows = None
    if seq_len is not None:
        # The one window rule shared with inference: bar i's window is rows i-L+1..i, usable only
        # when all L rows exist and are valid.
        windows, ok = sliding_windows(values, valid, seq_len)
    else:
        ok = valid

    # Split first (bar space), then label each split from its own closes only.
    n_bars = int(close.shape[0])
    split_bars = bar_split_bounds(np.flatnonzero(ok), n_bars, params.fractions)
    y_all, defined = split_labels(close, split_bars, params)
    idx = np.flatnonzero(ok & defined)
    cuts = np.searchsorted(idx, [split_bars["validation"][0], split_bars["test"][0]])
    splits = {
        "train": (0, int(cuts[0])),
        "validation": (int(cuts[0]), int(cuts[1])),
        "test": (int(cuts[1]), int(idx.shape[0])),
    }
    X = np.ascontiguousarray(windows[idx]) if windows is not None else values[idx]
    classification = params.output_type == "classification"
    return TrainingData(
        X=X,
        y=y_all[idx].astype(np.int64 if classification else np.float32),
        bar_index=idx.astype(np.int64),
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
