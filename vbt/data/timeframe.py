"""Timeframe strings ("5m", "1h", "4h", "1d", "1w") and their durations."""

from __future__ import annotations

import re
from datetime import timedelta

from vbt.errors import ConfigError

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
HOUR_NS = 3600 * 1_000_000_000  # one hour in nanoseconds (the unit of decision-filter settings)
_PATTERN = re.compile(r"^([1-9][0-9]*)([mhdw])$")


def timeframe_seconds(tf: str) -> int:
    """Duration of one bar of timeframe ``tf`` in seconds.

    Accepts a positive integer followed by one unit: m (minutes), h (hours), d (days), w (weeks).
    Anything else raises ``ConfigError``.
    """
    m = _PATTERN.match(tf.strip()) if isinstance(tf, str) else None
    if m is None:
        raise ConfigError(
            f"timeframe {tf!r} is not valid: use a positive integer and one of the units "
            "m, h, d, w (for example '5m', '1h', '4h', '1d', '1w')"
        )
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_timeframe(tf: str) -> timedelta:
    """``timedelta`` of one bar of timeframe ``tf`` (see ``timeframe_seconds``)."""
    return timedelta(seconds=timeframe_seconds(tf))


def timeframe_ns(tf: str) -> int:
    """Duration of one bar of timeframe ``tf`` in nanoseconds."""
    return timeframe_seconds(tf) * 1_000_000_000
