"""Load a v3 strategy (YAML path or mapping) into a validated ``Strategy``."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vbt.data.context import context_sources
from vbt.data.timeframe import timeframe_seconds
from vbt.errors import ConfigError
from vbt.features.indicators import get_indicator, validate_params
from vbt.params import DecisionsBlock, describe_errors
from vbt.paths import plain_name
from vbt.strategy.schema import (
    TOP_LEVEL_KEYS,
    FuzzySetConfig,
    IndicatorConfig,
    Membership,
    NNInput,
    Strategy,
    StrategyModel,
)
from vbt.strategy.yamlfile import read_yaml

MEMBERSHIP_ARITY = {"triangular": 3, "trapezoidal": 4, "gaussian": 2}


def load_strategy(
    source: str | Path | Mapping[str, Any] | Strategy, *, name: str | None = None
) -> Strategy:
    """Read and validate a v3 strategy from a YAML file path or an already-parsed mapping.

    The file is read with ``vbt.strategy.yamlfile.read_yaml`` (bounded aliases, no duplicate
    keys). Unknown top-level keys are an error (the known ones: ``TOP_LEVEL_KEYS``). Raises
    ``ConfigError`` naming the file (or ``name``, for a mapping; default ``<strategy>``) and the
    key at fault.
    """
    if isinstance(source, Strategy):
        return source
    where = name or "<strategy>"
    if isinstance(source, str | Path):
        path = Path(source)
        where = str(path)
        raw = read_yaml(path, "strategy file")
    else:
        raw = source
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a strategy must be a mapping at the top level")
    raw = copy.deepcopy(dict(raw))
    if not isinstance(raw.get("indicators"), Mapping) or "nn_inputs" not in raw:
        raise ConfigError(
            f"{where}: not a v3 strategy (v3 needs an 'indicators' mapping and 'nn_inputs'); "
            "migrate older strategies to v3 first"
        )
    unknown = [k for k in raw if k not in TOP_LEVEL_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), TOP_LEVEL_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{where}: {unknown[0]!r}: unknown top-level key{hint}; known: {', '.join(TOP_LEVEL_KEYS)}"
        )
    try:
        parsed = StrategyModel.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_errors(exc, model=StrategyModel)}") from None
    try:
        strategy = _build(parsed, raw)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if isinstance(source, str | Path):
        strategy = dataclasses.replace(strategy, source=where)
    return strategy


def _build(m: StrategyModel, raw: dict[str, Any]) -> Strategy:
    plain_name(m.name, "name")  # it names the model's folder
    DecisionsBlock.parse(m.decisions)  # unknown keys, wrong types, out of range: named
    symbols = _symbols(m)
    timeframes, base = _timeframes(m)
    sources = context_sources(raw.get("context_data"))
    indicators = {k: _indicator(k, v, sources) for k, v in m.indicators.items()}
    fuzzy_sets = {k: _fuzzy_set(k, v, indicators) for k, v in m.fuzzy_sets.items()}
    nn_inputs = tuple(
        _nn_input(i, spec, indicators, fuzzy_sets, timeframes) for i, spec in enumerate(m.nn_inputs)
    )
    return Strategy(
        name=m.name,
        symbols=symbols,
        timeframes=timeframes,
        base_timeframe=base,
        indicators=indicators,
        fuzzy_sets=fuzzy_sets,
        nn_inputs=nn_inputs,
        model=dict(m.model),
        decisions=dict(m.decisions),
        training=dict(m.training),
        raw=raw,
        description=m.description,
        version=m.version,
        context_sources=sources,
    )


def _symbols(m: StrategyModel) -> tuple[str, ...]:
    s = m.training_data.symbols
    if s.mode not in ("single", "multi_symbol"):
        raise ConfigError(
            f"training_data.symbols.mode: {s.mode!r} is not 'single' or 'multi_symbol'"
        )
    if s.mode == "single":
        if s.symbol:
            return (s.symbol,)
        if s.symbols and len(s.symbols) == 1:
            return (s.symbols[0],)
        raise ConfigError("training_data.symbols.symbol: required in single mode")
    if not s.symbols:
        raise ConfigError("training_data.symbols.symbols: multi_symbol mode needs a non-empty list")
    return tuple(s.symbols)


def _timeframes(m: StrategyModel) -> tuple[tuple[str, ...], str]:
    t = m.training_data.timeframes
    key = "training_data.timeframes"
    if t.mode not in ("single", "multi_timeframe"):
        raise ConfigError(f"{key}.mode: {t.mode!r} is not 'single' or 'multi_timeframe'")
    tfs = list(t.timeframes or ([t.timeframe] if t.timeframe else []))
    if not tfs:
        raise ConfigError(f"{key}: give 'timeframe' (single) or 'timeframes'/'list' (multi)")
    if len(set(tfs)) != len(tfs):
        raise ConfigError(f"{key}.timeframes: duplicate timeframe in {tfs}")
    for tf in tfs:
        try:
            timeframe_seconds(tf)
        except ConfigError as exc:
            raise ConfigError(f"{key}.timeframes: {exc}") from None
    base = t.base_timeframe or tfs[0]
    if base not in tfs:
        raise ConfigError(f"{key}.base_timeframe: {base!r} is not in the timeframes list {tfs}")
    return tuple(tfs), base


def _indicator(ind_id: str, spec: dict[str, Any], sources) -> IndicatorConfig:
    where = f"indicators.{ind_id}"
    params = dict(spec)
    type_name = params.pop("type", None)
    if not isinstance(type_name, str):
        raise ConfigError(f"{where}.type: required (an indicator type name such as 'rsi')")
    data_source = params.pop("data_source", None)
    ind = get_indicator(type_name, where=f"{where}.type")
    full = validate_params(ind, params, where=where)
    if data_source is not None:
        if data_source not in sources:
            raise ConfigError(
                f"{where}.data_source: {data_source!r} is not a context_data source id "
                f"(declared: {', '.join(sources) or 'none'})"
            )
        if sources[data_source].kind == "series":
            extra = [c for c in ind.required_columns(full) if c != "close"]
            if extra:
                raise ConfigError(
                    f"{where}.data_source: {data_source!r} is an external series (one value, "
                    f"read as close); indicator {ind.name!r} also needs {', '.join(extra)}"
                )
    return IndicatorConfig(
        id=ind_id, type=ind.name, params=full, outputs=tuple(ind.outputs), data_source=data_source
    )


def _split_ref(ref: str, indicators: dict[str, IndicatorConfig], where: str) -> tuple[str, str]:
    """Resolve 'id' or 'id.output' to (indicator id, output name; "" for single-output)."""
    ind_id, _, output = ref.partition(".")
    if ind_id not in indicators:
        raise ConfigError(
            f"{where}: unknown indicator {ind_id!r} (defined: {', '.join(indicators) or 'none'})"
        )
    outputs = indicators[ind_id].outputs
    if output:
        if not outputs:
            raise ConfigError(
                f"{where}: indicator {ind_id!r} has a single output; drop '.{output}'"
            )
        if output not in outputs:
            raise ConfigError(
                f"{where}: indicator {ind_id!r} has no output {output!r} (outputs: {', '.join(outputs)})"
            )
        return ind_id, output
    return ind_id, (outputs[0] if outputs else "")


def _fuzzy_set(set_id: str, spec: dict[str, Any], indicators) -> FuzzySetConfig:
    where = f"fuzzy_sets.{set_id}"
    body = dict(spec)
    ref = body.pop("indicator", None)
    if not isinstance(ref, str):
        raise ConfigError(f"{where}.indicator: required (an indicator id)")
    ind_id, output = _split_ref(ref, indicators, f"{where}.indicator")
    if not body:
        raise ConfigError(f"{where}: needs at least one membership function")
    members = tuple(_membership(f"{where}.{name}", name, d) for name, d in body.items())
    return FuzzySetConfig(id=set_id, indicator=ind_id, output=output, memberships=members)


def _membership(where: str, name: str, d: Any) -> Membership:
    if isinstance(d, list | tuple):
        mf_type, params = "triangular", d
    elif isinstance(d, Mapping):
        unknown = set(d) - {"type", "parameters"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {sorted(unknown)} (use type and parameters)"
            )
        mf_type, params = str(d.get("type", "")).lower(), d.get("parameters")
    else:
        raise ConfigError(f"{where}: a membership is a list [a, b, c] or {{type, parameters}}")
    if mf_type not in MEMBERSHIP_ARITY:
        raise ConfigError(
            f"{where}.type: {mf_type!r} is not a membership type (triangular, trapezoidal, gaussian)"
        )
    if not isinstance(params, list | tuple) or not all(
        isinstance(p, int | float) and not isinstance(p, bool) for p in params
    ):
        raise ConfigError(f"{where}.parameters: must be a list of numbers, got {params!r}")
    n = MEMBERSHIP_ARITY[mf_type]
    if len(params) != n:
        hint = " (a bare list always means triangular)" if isinstance(d, list | tuple) else ""
        raise ConfigError(f"{where}: {mf_type} needs {n} parameters, got {len(params)}{hint}")
    p = tuple(float(x) for x in params)
    for i, x in enumerate(p):
        if not math.isfinite(x):
            reason = "not a number" if x != x else "must be finite"
            raise ConfigError(f"{where}.parameters[{i}] = {x!r}: {reason}")
    if mf_type == "gaussian":
        if not p[1] > 0:
            raise ConfigError(f"{where}: gaussian sigma must be > 0, got {p[1]}")
    elif any(a > b for a, b in zip(p, p[1:], strict=False)):
        raise ConfigError(
            f"{where}: {mf_type} parameters must be in ascending order, got {list(p)}"
        )
    return Membership(name=name, type=mf_type, parameters=p)


def _nn_input(i, spec, indicators, fuzzy_sets, training_tfs) -> NNInput:
    where = f"nn_inputs[{i}]"
    if (spec.fuzzy_set is None) == (spec.raw_indicator is None):
        raise ConfigError(f"{where}: give exactly one of 'fuzzy_set' or 'raw_indicator'")
    tfs_raw = spec.timeframes
    if tfs_raw == "all":
        tfs = tuple(training_tfs)
    else:
        tfs = (tfs_raw,) if isinstance(tfs_raw, str) else tuple(tfs_raw)
        if not tfs:
            raise ConfigError(f"{where}.timeframes: empty list")
        for tf in tfs:
            if tf not in training_tfs:
                raise ConfigError(
                    f"{where}.timeframes: {tf!r} is not a training timeframe {list(training_tfs)}"
                )
    if spec.fuzzy_set is not None:
        if spec.normalization not in (None, "none"):
            raise ConfigError(f"{where}.normalization: only allowed with raw_indicator")
        if spec.fuzzy_set not in fuzzy_sets:
            raise ConfigError(
                f"{where}.fuzzy_set: unknown fuzzy set {spec.fuzzy_set!r} "
                f"(defined: {', '.join(fuzzy_sets) or 'none'})"
            )
        fs = fuzzy_sets[spec.fuzzy_set]
        _refuse_look_ahead(indicators[fs.indicator], f"{where}.fuzzy_set")
        return NNInput("fuzzy", spec.fuzzy_set, fs.indicator, fs.output, tfs)
    if spec.normalization not in (None, "none", "minmax", "zscore"):
        raise ConfigError(f"{where}.normalization: must be minmax, zscore or none")
    ind_id, output = _split_ref(spec.raw_indicator, indicators, f"{where}.raw_indicator")
    _refuse_look_ahead(indicators[ind_id], f"{where}.raw_indicator")
    return NNInput("raw", spec.raw_indicator, ind_id, output, tfs)


def _refuse_look_ahead(ind: IndicatorConfig, where: str) -> None:
    if get_indicator(ind.type).looks_ahead:
        raise ConfigError(
            f"{where}: indicator {ind.id!r} ({ind.type}) revises its past values as later bars "
            "arrive (it looks ahead), so it cannot be a model input; it may only serve labels"
        )
