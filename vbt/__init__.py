"""vbt: a vectorized, columnar backtester for neural-network trading strategies.

Importing ``vbt`` does not import torch; model code imports it lazily.
"""

from vbt.data import load_bars, load_data, resample
from vbt.errors import CancelledError, ConfigError, DataError, ModelError, VbtError

__version__ = "0.1.0"

__all__ = [
    "CancelledError",
    "ConfigError",
    "DataError",
    "ModelError",
    "VbtError",
    "load_bars",
    "load_data",
    "resample",
]
