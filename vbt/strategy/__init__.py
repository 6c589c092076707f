"""v3 strategy: schema, YAML loading and feature-id resolution."""

from vbt.strategy.loader import load_strategy
from vbt.strategy.resolve import FeatureSpec, feature_specs, resolve_features
from vbt.strategy.schema import Strategy

__all__ = ["FeatureSpec", "Strategy", "feature_specs", "load_strategy", "resolve_features"]
