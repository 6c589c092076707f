"""Error types. Every error raised on bad input is a ``VbtError`` whose message names the file,
field or row at fault, so callers (CLI, worker) can show it without a traceback."""


class VbtError(Exception):
    """Base class of all vbt errors caused by bad input or configuration."""


class DataError(VbtError):
    """Bad or missing bar data: names the file and the first bad row."""


class ConfigError(VbtError):
    """Bad strategy or backtest configuration: names the key at fault."""


class ModelError(VbtError):
    """A model directory that cannot be loaded: names the file, key or layer at fault."""


class CancelledError(VbtError):
    """A run was cancelled at a chunk boundary (a checkpoint may have been written)."""
