"""vbt: a vectorized, columnar backtester for neural-network trading strategies.

Public names are imported lazily, so ``import vbt`` stays fast and never imports torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from vbt import _runtime  # noqa: F401  (first: sets the Numba cache and OpenMP defaults)
from vbt.data import load_bars, load_context, load_data, resample
from vbt.errors import CancelledError, ConfigError, DataError, ModelError, VbtError

__version__ = "0.1.0"

_LAZY = {
    "load_strategy": "vbt.strategy",
    "resolve_features": "vbt.strategy",
    "Strategy": "vbt.strategy",
    "build_features": "vbt.features.frame",
    "FeatureFrame": "vbt.features.frame",
    "ModelBundle": "vbt.model.bundle",
    "train": "vbt.model.trainer",
    "DecisionFunction": "vbt.decide.function",
    "BacktestConfig": "vbt.config",
    "BacktestEngine": "vbt.engine",
    "BacktestResult": "vbt.results",
    "DecisionParams": "vbt.params",
    "ExecutionParams": "vbt.params",
    "PreparedRun": "vbt.stages",
    "RunInfo": "vbt.results",
    "prepare": "vbt.stages",
    "simulate": "vbt.stages",
    "summarize": "vbt.stages",
    "sweep": "vbt.sweeps",
    "SweepResult": "vbt.sweeps",
    "batch": "vbt.batches",
    "BatchResult": "vbt.batches",
}

__all__ = [
    "CancelledError",
    "ConfigError",
    "DataError",
    "ModelError",
    "VbtError",
    "load_bars",
    "load_context",
    "load_data",
    "resample",
    *_LAZY,
]


#: modules and packages reachable as ``vbt.<name>`` after a bare ``import vbt`` (imported on first
#: use: ``vbt.strategy.load_strategy(...)``, ``vbt.research.run(...)``); none imports torch when
#: imported, only when a model is trained or loaded
_SUBMODULES = (
    "arguments", "atomic", "batches", "config", "data", "decide", "engine", "enums", "errors",
    "features", "jit", "metrics", "model", "params", "paths", "report", "research", "results",
    "signals", "sim", "stages", "strategy", "summary", "sweeps", "timefmt",
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"vbt.{name}")
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vbt' has no attribute {name!r}")
