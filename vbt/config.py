"""BacktestConfig: what to backtest (model, data, dates) and with which parameters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, create_model

from vbt.data import timeframe_ns
from vbt.errors import ConfigError
from vbt.params import (
    DECISION_OVERRIDES,
    EXECUTION_FIELDS,
    DecisionParams,
    ExecutionParams,
    describe_errors,
)

MAX_CHUNK_BARS = 1 << 26  # 67M bars: chunk buffers stay small; whole runs are never that long
DATA_DIR_ENV = "VBT_DATA_DIR"  # the data folder when a config gives none
#: BacktestConfig fields that say what is backtested (the model, the data, the dates); the
#: others are the run's settings
SUBJECT_FIELDS = ("model_path", "data_dir", "symbol", "timeframe", "timeframes", "start_date",
                  "end_date")  # fmt: skip


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


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def help_text(name: str) -> str:
    """The help of a BacktestConfig field (the CLI's flags): its description, then its default
    unless that is None (an optional field's description says what None means)."""
    info = BacktestConfig.model_fields[name]
    if info.default is None:
        return info.description or ""
    return f"{info.description} (default: {_shown(info.default)})"


def _decision_override(name: str) -> tuple[Any, Any]:
    """A DecisionParams field as an optional BacktestConfig field: same type, range and
    description; None keeps the model's decisions."""
    info = DecisionParams.model_fields[name]
    copy = info._copy()
    copy.default = None
    copy.description = (f"{info.description} (default: the model's config.json decisions, else "
                        f"{_shown(info.default)})")  # fmt: skip
    return info.annotation | None, copy


# ExecutionParams with every decision parameter as an optional override, declared once (in
# DecisionParams): BacktestConfig's fields are the execution parameters, the decision overrides,
# then its own.
_RunSettings = create_model(
    "_RunSettings", __base__=ExecutionParams, __module__=__name__,
    **{name: _decision_override(name) for name in DECISION_OVERRIDES},
)  # fmt: skip


class BacktestConfig(_RunSettings):
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

    # Each field's description is its help text; an optional one says what None means.
    model_path: str = Field(description="a v3 model directory (or its <tf>_latest pointer)")
    data_dir: str | None = Field(
        None,
        description="folder of {SYMBOL}_{TIMEFRAME}.parquet/.csv bar files (default: the "
        f"{DATA_DIR_ENV} environment variable; one of the two is required)",
    )
    symbol: str | None = Field(
        None, description="symbol to backtest (default: the model's training symbol)"
    )
    timeframe: str | None = Field(
        None,
        description="base (traded) timeframe, e.g. 1h (default: the model's first training "
        "timeframe)",
    )
    timeframes: list[str] | None = Field(
        None, description="timeframes to load (default: the model's training timeframes)"
    )
    start_date: str | None = Field(
        None,
        description="first bar, inclusive, ISO 8601 date or date-time (default: the first bar "
        "on disk)",
    )
    end_date: str | None = Field(
        None,
        description="last bar, inclusive; a bare date covers its whole day (default: the last bar)",
    )
    periods_per_year: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None,
        description="annualisation of volatility and ratios (default: bars per year of the "
        "data's span)",
    )
    chunk_bars: Annotated[int, Field(ge=1, le=MAX_CHUNK_BARS)] = Field(
        65_536,
        description="bars per scan chunk: progress, cancellation and checkpoints happen "
        "between chunks",
    )
    feature_cache_dir: str | None = Field(
        None, description="cache computed features (Parquet) in this folder (default: no cache)"
    )

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
