"""Every parameter of a run that does not change the model's output: one place for each default
and each valid range.

- ``DecisionParams``: the strategy's ``decisions`` (the three filters and the regression
  threshold), resolved against the model's output type.
- ``ExecutionParams``: capital, costs, sizing and warm-up.
- ``DecisionsBlock``: the shape of the strategy YAML's ``decisions`` block, checked when a
  strategy loads (unknown keys, wrong types and out-of-range values are a ``ConfigError`` naming
  the key).

All three are frozen pydantic models in strict mode: a string is not a number, ``1`` is not
``true`` and ``14.0`` is not an integer. Numpy scalars are accepted as the Python numbers they
hold. Sweeps (``vbt.sweep``) vary exactly these parameters over one inference.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vbt.data.timeframe import HOUR_NS
from vbt.enums import OUTPUT_CLASSIFICATION, OUTPUT_REGRESSION, SIGNAL_OUTPUT_TYPES
from vbt.errors import ConfigError

MAX_SEPARATION_HOURS = 1e6  # about 114 years; more would overflow int64 nanoseconds
MAX_WARMUP_BARS = 10**9

# The valid range of each parameter, declared once and shared by every model that holds it.
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
SeparationHours = Annotated[float, Field(ge=0, le=MAX_SEPARATION_HOURS, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
CostFraction = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
PositionFraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
WarmupBars = Annotated[int, Field(ge=0, le=MAX_WARMUP_BARS)]
StopFraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
TargetFraction = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
HoldingBars = Annotated[int, Field(ge=1, le=MAX_WARMUP_BARS)]

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


def _plain(data: Any) -> Any:
    """Numpy scalars → the Python numbers they hold (strict mode would refuse np.int64)."""
    if isinstance(data, Mapping):
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in data.items()}
    return data


def describe_errors(exc: ValidationError, prefix: str = "", model: type | None = None) -> str:
    """One line naming each failing key (dotted path) and why; an unknown key of ``model`` (or
    of a model nested in it) gets the closest known key as a suggestion."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        if err["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key{_suggest(err['loc'], model)}")
        else:
            shown = err.get("input")
            value = "" if isinstance(shown, dict | list) else f" = {shown!r}"
            parts.append(f"{where}{value}: {_message(err)}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _message(err: dict) -> str:
    value = err.get("input")
    if isinstance(value, float) and value != value:
        return "not a number"
    if err["type"] == "model_type":
        return "must be a mapping"
    return err["msg"][0].lower() + err["msg"][1:]


def _suggest(loc: tuple, model: type | None) -> str:
    for key in loc[:-1]:  # descend into nested models
        field = model.model_fields.get(str(key)) if model is not None else None
        nested = [a for a in getattr(field.annotation, "__args__", (field.annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)] if field else []  # fmt: skip
        model = nested[0] if nested else None
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), tuple(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class DecisionParams(BaseModel):
    """The decision parameters of a run, defaults as in the older system.

    output_type : str, default "classification"
        The model's metadata output type; only "classification" and "regression" trade (regime
        and context models never do).
    output_format : {"classification", "regression"}
        How the outputs are read.
    confidence_threshold : float in [0, 1], default 0.5
        Filter 1 (classification only): confidence below it → HOLD.
    min_signal_separation : float, hours, in [0, 1e6], default 4
        Filter 2: a signal within this time of the last executed trade → HOLD.
    position_awareness : bool, default True; allow_short_from_flat : bool, default False
        Filter 3.
    round_trip_cost, min_edge_multiplier : float >= 0, defaults 0.003 and 1.5
        Regression: BUY when the predicted return exceeds their product, SELL below its negative.
    """

    model_config = _STRICT

    # Each field's description is its help text (the CLI's flags, the batch spec's schema).
    output_type: str = Field(
        OUTPUT_CLASSIFICATION,
        description="the model's output type; only classification and regression trade",
    )
    output_format: Literal["classification", "regression"] = Field(
        OUTPUT_CLASSIFICATION, description="how the model's outputs are read"
    )
    confidence_threshold: Fraction = Field(
        0.5, description="classification confidence below it → HOLD"
    )
    min_signal_separation: SeparationHours = Field(
        4.0, description="hours after the last trade during which signals → HOLD"
    )
    position_awareness: bool = Field(True, description="LONG+BUY, SHORT+SELL and FLAT+SELL → HOLD")
    allow_short_from_flat: bool = Field(False, description="a SELL may open a short from FLAT")
    round_trip_cost: NonNegative = Field(
        0.003, description="regression threshold = round trip cost × min edge multiplier"
    )
    min_edge_multiplier: NonNegative = Field(
        1.5, description="regression threshold = round trip cost × min edge multiplier"
    )

    _plain = model_validator(mode="before")(_plain)

    @property
    def trades(self) -> bool:
        """False for non-signal output types (regime, context): such models never trade."""
        return self.output_type in SIGNAL_OUTPUT_TYPES

    @property
    def is_regression(self) -> bool:
        return self.output_format == OUTPUT_REGRESSION

    @property
    def regression_threshold(self) -> float:
        """round_trip_cost * min_edge_multiplier (0.0045 by default)."""
        return float(regression_threshold(self.round_trip_cost, self.min_edge_multiplier))

    @property
    def min_separation_ns(self) -> int:
        """min_signal_separation in integer nanoseconds (rounded)."""
        return separation_ns(self.min_signal_separation)

    @classmethod
    def from_config(
        cls,
        decisions: Mapping[str, Any] | None,
        output_type: str | None = None,
        **overrides: Any,
    ) -> DecisionParams:
        """Resolve a strategy ``decisions`` block; keyword overrides (None = keep) win.

        ``output_type`` None means "as the block's output_format says". A signal output_type
        that disagrees with an explicit output_format is refused (the outputs would be misread);
        a non-signal output_type (regime, context) never trades whatever the format. Overrides:
        any field of this class except the two output fields. A bad value raises ``ConfigError``
        naming the key.
        """
        block = DecisionsBlock.parse(decisions)
        fmt = block.output_format
        if output_type is None:
            output_type = fmt or OUTPUT_CLASSIFICATION
        if not isinstance(output_type, str):
            raise ConfigError(f"output_type = {output_type!r}: must be a string")
        if fmt is None:
            fmt = output_type if output_type in SIGNAL_OUTPUT_TYPES else OUTPUT_CLASSIFICATION
        elif output_type in SIGNAL_OUTPUT_TYPES and output_type != fmt:
            raise ConfigError(
                f"decisions.output_format = {fmt!r} disagrees with the model's output_type "
                f"{output_type!r}"
            )
        values = {"output_type": output_type, "output_format": fmt, **block.flat()}
        return cls.validated({**values, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def validated(cls, values: Mapping[str, Any], where: str = "") -> DecisionParams:
        """Build from flat field values; a bad one raises ``ConfigError`` naming it."""
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise ConfigError(f"{where or 'decisions'}: unknown parameter {unknown[0]!r}")
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, where, cls)) from None

    def overridden(self, **values: Any) -> DecisionParams:
        """A copy with some fields replaced, validated."""
        return type(self).validated({**self.model_dump(), **values})


def separation_ns(hours: Any) -> Any:
    """Hours → integer nanoseconds, rounded half to even: the one conversion of
    min_signal_separation. A number gives an int, an array an int64 array."""
    ns = np.rint(np.multiply(hours, HOUR_NS)).astype(np.int64)
    return int(ns) if ns.ndim == 0 else ns


def regression_threshold(round_trip_cost: Any, min_edge_multiplier: Any) -> Any:
    """The |predicted return| a regression model must exceed to signal: round_trip_cost ×
    min_edge_multiplier, the one place it is computed (numbers or arrays of them)."""
    return np.multiply(round_trip_cost, min_edge_multiplier)


class ExecutionParams(BaseModel):
    """Capital, costs, sizing, warm-up and protective exits of a run.

    initial_capital : float > 0, currency, default 100,000
    commission : float in [0, 1), default 0.001
        Fraction of the traded value, paid on entry and on exit.
    slippage : float in [0, 1), default 0.0005
        Fill = open × (1 ± slippage), against the trader.
    position_fraction : float in (0, 1], default 0.25
        Share of cash committed per entry.
    warmup_bars : int >= 0, default 50
        Bars at the start that neither decide nor mark equity.
    stop_loss : float in (0, 1), optional
        Close a long when the price falls this fraction below the entry fill (a short: rises).
    take_profit : float > 0, optional
        Close a long when the price rises this fraction above the entry fill (a short: falls).
    trailing_stop : float in (0, 1), optional
        Close a long when the price falls this fraction below the highest close since entry (a
        short: rises above the lowest).
    max_holding_bars : int >= 1, optional
        Close at the open of the bar after this many bars in the position.

    The risk exits are off when None (the default, as in the older system): README "Risk exits".
    """

    model_config = _STRICT

    # Each field's description is its help text; an optional one says what None means.
    initial_capital: PositiveMoney = Field(100_000.0, description="starting cash")
    commission: CostFraction = Field(
        0.001, description="fraction of traded value, on entry and on exit"
    )
    slippage: CostFraction = Field(
        0.0005, description="fill = open × (1 ± slippage), against the trader"
    )
    position_fraction: PositionFraction = Field(
        0.25, description="share of cash committed per entry"
    )
    warmup_bars: WarmupBars = Field(
        50, description="bars at the start that neither decide nor mark equity"
    )
    stop_loss: StopFraction | None = Field(
        None,
        description="close when the price moves this fraction against the entry fill "
        "(default: off)",
    )
    take_profit: TargetFraction | None = Field(
        None,
        description="close when the price moves this fraction in favour of the entry fill "
        "(default: off)",
    )
    trailing_stop: StopFraction | None = Field(
        None,
        description="close when the price moves this fraction against the best close since "
        "entry (default: off)",
    )
    max_holding_bars: HoldingBars | None = Field(
        None, description="close at the open of the bar after this many bars held (default: off)"
    )

    _plain = model_validator(mode="before")(_plain)

    def check_affordable(self, open_prices: np.ndarray, where: str) -> None:
        """Refuse a run in which no entry could ever buy one unit: ``position_fraction`` of
        ``initial_capital`` (less commission) is below every open price after the warm-up.
        ``ConfigError`` names initial_capital, the data (``where``) and the lowest price."""
        tradable = np.asarray(open_prices, dtype=np.float64)[self.warmup_bars :]
        if tradable.size == 0:
            return
        lowest = float(tradable.min())
        budget = self.position_fraction * self.initial_capital / (1.0 + self.commission)
        if not budget >= lowest:
            raise ConfigError(
                f"initial_capital = {self.initial_capital!r}: position_fraction "
                f"{self.position_fraction} of it buys no whole unit at any open price of {where} "
                f"(the lowest is {lowest:.6g}), so no trade could ever open; raise "
                "initial_capital or quote the prices in a smaller unit"
            )

    @classmethod
    def validated(cls, values: Mapping[str, Any], where: str = "") -> ExecutionParams:
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, where, cls)) from None


# The run settings, by flat name, as the models declare them (no list is written by hand).
EXECUTION_FIELDS = tuple(ExecutionParams.model_fields)
#: the optional execution parameters: the risk exits, off when None (0 in the kernel)
RISK_FIELDS = tuple(k for k, f in ExecutionParams.model_fields.items() if f.default is None)
#: the decision parameters a run may set; the output type and format are the model's
DECISION_OVERRIDES = tuple(
    k for k in DecisionParams.model_fields if k not in ("output_type", "output_format")
)
#: every setting of a run that acts after the model: the decisions, then the execution
RUN_SETTINGS = (*DECISION_OVERRIDES, *EXECUTION_FIELDS)


def value_type(field: Any) -> type:
    """The type of a pydantic field's values, None aside: bool, int, float, str, ..."""
    ann = field.annotation
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        ann = next(a for a in typing.get_args(ann) if a is not type(None))
    if typing.get_origin(ann) is Annotated:
        ann = typing.get_args(ann)[0]
    if typing.get_origin(ann) is Literal:
        return type(typing.get_args(ann)[0])
    return ann


# ----------------------------------------------------------------------------------------------
# The strategy YAML's decisions block (the older system's shape). Every field is optional here:
# an absent key takes DecisionParams' default, so no default is written twice.


class _Block(BaseModel):
    model_config = _STRICT


class FiltersBlock(_Block):
    min_signal_separation: SeparationHours | None = None
    # Read by the older system's live decision engine only; its backtest ignores it, and so does
    # vbt. Accepted so that its strategy files load.
    volume_filter: bool | None = None


class CostModelBlock(_Block):
    round_trip_cost: NonNegative | None = None
    min_edge_multiplier: NonNegative | None = None


class DecisionsBlock(_Block):
    """``decisions:`` as written in a v3 strategy file.

    Keys: output_format, confidence_threshold, position_awareness, allow_short_from_flat,
    filters.{min_signal_separation (hours), volume_filter (ignored)},
    cost_model.{round_trip_cost, min_edge_multiplier}, num_classes (ignored: the model
    metadata decides). Anything else is an error naming the key.
    """

    output_format: Literal["classification", "regression"] | None = None
    confidence_threshold: Fraction | None = None
    position_awareness: bool | None = None
    allow_short_from_flat: bool | None = None
    filters: FiltersBlock | None = None
    cost_model: CostModelBlock | None = None
    num_classes: Annotated[int, Field(ge=2, le=1000)] | None = None

    @classmethod
    def parse(cls, decisions: Mapping[str, Any] | None, where: str = "decisions") -> DecisionsBlock:
        """Validate a decisions mapping (None = empty); ``ConfigError`` names the key."""
        if decisions is None:
            return cls()
        if not isinstance(decisions, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {type(decisions).__name__}")
        try:
            return cls.model_validate(dict(decisions))
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, where, cls)) from None

    def flat(self) -> dict[str, Any]:
        """The values that are set, under DecisionParams' field names."""
        f = self.filters or FiltersBlock()
        c = self.cost_model or CostModelBlock()
        values = {
            "confidence_threshold": self.confidence_threshold,
            "position_awareness": self.position_awareness,
            "allow_short_from_flat": self.allow_short_from_flat,
            "min_signal_separation": f.min_signal_separation,
            "round_trip_cost": c.round_trip_cost,
            "min_edge_multiplier": c.min_edge_multiplier,
        }
        return {k: v for k, v in values.items() if v is not None}
