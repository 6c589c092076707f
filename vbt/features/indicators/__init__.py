"""Indicator library: Numba kernels (:mod:`.nb`) behind a declarative registry (:mod:`.registry`).

>>> from vbt.features.indicators import get_indicator, validate_params, compute_indicator
>>> spec = get_indicator("RSI", where="indicators.rsi_14.type")
>>> params = validate_params(spec, {"period": 14}, where="indicators.rsi_14")
>>> out = compute_indicator(spec, params, {"close": closes})   # {"": float64 array}

See :mod:`vbt.features.indicators.registry` for every type, its parameters, outputs and warm-up.
"""

from vbt.features.indicators.registry import (
    INDICATORS,
    SOURCES,
    IndicatorSpec,
    Param,
    compute_indicator,
    get_indicator,
    indicator_types,
    validate_params,
)

__all__ = [
    "INDICATORS",
    "SOURCES",
    "IndicatorSpec",
    "Param",
    "compute_indicator",
    "get_indicator",
    "indicator_types",
    "validate_params",
]
