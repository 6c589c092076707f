"""Features: indicators (Numba kernels), fuzzy memberships, as-of multi-timeframe alignment,
and the FeatureFrame that feeds the model."""

from __future__ import annotations

from typing import Any

__all__ = ["FeatureFrame", "build_features"]


def __getattr__(name: str) -> Any:  # lazy: vbt.strategy imports vbt.features.indicators
    if name in __all__:
        from vbt.features import frame

        return getattr(frame, name)
    raise AttributeError(name)
