"""The v3 strategy: a validated, immutable view of the older system's strategy YAML.

Structure is checked with pydantic (why: precise typed parsing and error locations for free);
cross-references (indicator types and params, fuzzy parameters, nn_input references, timeframes)
are checked in ``vbt.strategy.loader``. Every problem raises ``ConfigError`` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vbt.model.label_sources import OUTPUT_TYPE_BY_LABEL_SOURCE


def _as_list(value: Any) -> Any:
    """A bare string means a one-element list (``"1h"`` → ``["1h"]``)."""
    return [value] if isinstance(value, str) else value


class SymbolsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    mode: str = "single"
    symbol: str | None = None
    symbols: list[str] | None = Field(default=None, alias="list")
    selection_criteria: dict[str, Any] | None = None

    _norm = field_validator("symbols", mode="before")(_as_list)


class TimeframesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    mode: str = "single"
    timeframe: str | None = None
    timeframes: list[str] | None = Field(default=None, alias="list")
    base_timeframe: str | None = None

    _norm = field_validator("timeframes", mode="before")(_as_list)


class TrainingDataModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    symbols: SymbolsModel
    timeframes: TimeframesModel
    history_required: int = Field(default=200, ge=1)
    start_date: str | None = None
    end_date: str | None = None

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"mode": "single", "symbol": v}
        if isinstance(v, list):
            return {"mode": "multi_symbol", "symbols": v}
        return v

    @field_validator("timeframes", mode="before")
    @classmethod
    def _timeframes(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"mode": "single", "timeframe": v}
        if isinstance(v, list):
            return {"mode": "multi_timeframe" if len(v) > 1 else "single", "timeframes": v}
        return v


class NNInputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fuzzy_set: str | None = None
    raw_indicator: str | None = None
    timeframes: list[str] | str = "all"
    normalization: str | None = None


class StrategyModel(BaseModel):
    """Top-level shape. ``context_data`` is checked by ``vbt.data.context``; the older system's
    descriptive ``deployment`` and ``scope`` are kept in ``raw`` only. Any other top-level key is
    an error (``load_strategy`` checks against ``TOP_LEVEL_KEYS``)."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    version: str = "3.0"
    training_data: TrainingDataModel
    indicators: dict[str, dict[str, Any]]
    fuzzy_sets: dict[str, dict[str, Any]]
    nn_inputs: list[NNInputModel] = Field(min_length=1)
    model: dict[str, Any] = Field(default_factory=dict)
    decisions: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v


# Every top-level key a v3 strategy file may hold.
TOP_LEVEL_KEYS = (*StrategyModel.model_fields, "context_data", "deployment", "scope")


@dataclass(frozen=True)
class IndicatorConfig:
    """One indicator: canonical registry type and full params (defaults filled)."""

    id: str
    type: str
    params: dict[str, Any]
    outputs: tuple[str, ...]  # empty for single-output indicators; first is the primary output
    data_source: str | None = None  # context source id it reads instead of the symbol's bars


@dataclass(frozen=True)
class Membership:
    """One fuzzy membership function: type in {triangular, trapezoidal, gaussian}."""

    name: str
    type: str
    parameters: tuple[float, ...]


@dataclass(frozen=True)
class FuzzySetConfig:
    """A fuzzy set over one indicator output; memberships keep their YAML order."""

    id: str
    indicator: str  # indicator id
    output: str  # resolved output name ("" for single-output indicators)
    memberships: tuple[Membership, ...]


@dataclass(frozen=True)
class NNInput:
    """One nn_inputs entry: a fuzzy set (kind "fuzzy") or a raw indicator output (kind "raw")."""

    kind: str
    ref: str  # fuzzy set id, or the literal raw reference ("macd_12_26_9.line")
    indicator: str  # indicator id the input reads
    output: str  # indicator output ("" for single-output)
    timeframes: tuple[str, ...]


@dataclass(frozen=True)
class Strategy:
    """A validated v3 strategy. ``raw`` is the original mapping (written to config.json)."""

    name: str
    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]  # training timeframes, YAML order
    base_timeframe: str
    indicators: dict[str, IndicatorConfig]
    fuzzy_sets: dict[str, FuzzySetConfig]
    nn_inputs: tuple[NNInput, ...]
    model: dict[str, Any]
    decisions: dict[str, Any]
    training: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    description: str | None = None
    version: str = "3.0"
    # context_data sources by source id (vbt.data.context.ContextSource), in declaration order
    context_sources: dict[str, Any] = field(default_factory=dict)
    # the file it was read from (None for a mapping): later errors about its settings name it
    source: str | None = None

    @property
    def output_type(self) -> str:
        """classification | regression | context_classification | regime_classification."""
        labels = self.training.get("labels") or {}
        source = str(labels.get("source", "")).lower()
        if source in OUTPUT_TYPE_BY_LABEL_SOURCE:
            return OUTPUT_TYPE_BY_LABEL_SOURCE[source]
        fmt = str(self.decisions.get("output_format") or self.model.get("output_format") or "")
        return "regression" if fmt.lower() == "regression" else "classification"

    @property
    def symbol(self) -> str:
        return self.symbols[0]
