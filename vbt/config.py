"""BacktestConfig: what to backtest (model, data, dates) and with which parameters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError

from vbt.data import timeframe_ns
from vbt.errors import ConfigError
from vbt.params import (
    DECISION_OVERRIDES,
    EXECUTION_FIELDS,
    ExecutionParams,
    Fraction,
    NonNegative,
    SeparationHours,
    describe_errors,
)

MAX_CHUNK_BARS = 1 << 26  # 67M bars: chunk buffers stay small; whole runs are never that long
DATA_DIR_ENV = "VBT_DATA_DIR"  # the data folder when a config gives none


def resolve_data_dir(data_dir: str | Path | None) -> str:
    """The data folder: ``data_dir``, else the ``VBT_DATA_DIR`` environment variable (never the
    current directory); ``ConfigError`` when neither is set or the folder does not exist."""
    from vbt.paths import check_input_dir

    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if value is None:
        raise ConfigError(
            f"data_dir: no data folder given; pass data_dir (--data-dir) or set {DATA_DIR_ENV}"
        )
    return str(check_input_dir(value, "data_dir"))


class BacktestConfig(ExecutionParams):
    """One backtest: the model, the data, the dates, and the run's parameters.

    model_path : str
        A v3 model directory (or its ``<tf>_latest`` pointer).
    data_dir : str, optional
        The folder of bar files; None reads the ``VBT_DATA_DIR`` environment variable when the
        run starts (never the current directory); neither is a ``ConfigError``.
    symbol : str, optional
        None: the model's training symbol (a model trained on several needs one chosen).
    timeframe : str, optional
        The base (traded) timeframe; defaults to the model's base (first training) timeframe.
    timeframes : list of str, optional
        Timeframes to load; defaults to the model's training timeframes.
    start_date, end_date : str, optional
        Inclusive; a bare end date covers its whole day.
    initial_capital, commission, slippage, position_fraction, warmup_bars
        Execution parameters: see ``vbt.params.ExecutionParams`` (their defaults live there).
    confidence_threshold, min_signal_separation (hours), position_awareness,
    allow_short_from_flat, round_trip_cost, min_edge_multiplier : optional
        Decision overrides; None keeps the model's config.json ``decisions`` (see
        ``vbt.params.DecisionParams``).
    periods_per_year : float, optional
        Overrides the annualisation inferred from the data.
    chunk_bars : int, default 65,536
        Bars per scan chunk (progress, cancellation and checkpoints happen between chunks).
    feature_cache_dir : str, optional
        Cache the FeatureFrame on disk here.

    Invalid values raise ``ConfigError`` naming the field.
    """

    model_path: str
    data_dir: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    timeframes: list[str] | None = None
    start_date: str | None = None
    end_date: str | None = None
    confidence_threshold: Fraction | None = None
    min_signal_separation: SeparationHours | None = None
    position_awareness: bool | None = None
    allow_short_from_flat: bool | None = None
    round_trip_cost: NonNegative | None = None
    min_edge_multiplier: NonNegative | None = None
    periods_per_year: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    chunk_bars: Annotated[int, Field(ge=1, le=MAX_CHUNK_BARS)] = 65_536
    feature_cache_dir: str | None = None

    def __init__(self, **data: Any) -> None:
        for key in ("model_path", "data_dir", "feature_cache_dir"):
            if isinstance(data.get(key), Path):
                data[key] = str(data[key])
        for key in ("start_date", "end_date"):
            if data.get(key) is not None and not isinstance(data[key], str):
                data[key] = str(data[key])  # a date, datetime or pandas Timestamp
        if isinstance(data.get("timeframes"), tuple):
            data["timeframes"] = list(data["timeframes"])
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError("BacktestConfig: " + describe_errors(exc, model=type(self))) from None
        if self.timeframe is not None:
            timeframe_ns(self.timeframe)
        for tf in self.timeframes or []:
            timeframe_ns(tf)

    def resolved(self) -> BacktestConfig:
        """This config with ``data_dir`` and ``symbol`` filled in, after the checks that need no
        data: the data folder exists, the feature cache folder can be written. ``ConfigError``
        names the field (and the file) at fault. Reads the model's ``metadata_v3.json`` (JSON,
        no torch) when ``symbol`` is None."""
        from vbt.paths import check_output_dir

        data_dir = resolve_data_dir(self.data_dir)
        if self.feature_cache_dir is not None:
            check_output_dir(self.feature_cache_dir, "feature_cache_dir")
        symbol = self.symbol if self.symbol is not None else self._model_symbol()
        if (data_dir, symbol) == (self.data_dir, self.symbol):
            return self
        return self.model_copy(update={"data_dir": str(data_dir), "symbol": symbol})

    def _model_symbol(self) -> str:
        from vbt.model.bundle import resolve_model_dir
        from vbt.model.metadata import METADATA_FILE, load_metadata

        model_dir = resolve_model_dir(Path(self.model_path))
        symbols = load_metadata(model_dir).training_symbols
        if len(symbols) == 1:
            return symbols[0]
        if not symbols:
            raise ConfigError(
                f"symbol: not given, and {model_dir / METADATA_FILE} lists no training_symbols; "
                "give one (--symbol)"
            )
        raise ConfigError(
            f"symbol: not given, and the model {model_dir} was trained on several symbols "
            f"({', '.join(symbols)}); choose one (--symbol)"
        )

    def decision_overrides(self) -> dict[str, Any]:
        """The decision parameters this config sets (None = keep the model's)."""
        return {k: getattr(self, k) for k in DECISION_OVERRIDES}

    def execution(self) -> ExecutionParams:
        """The execution parameters of this config."""
        return ExecutionParams(**{k: getattr(self, k) for k in EXECUTION_FIELDS})
