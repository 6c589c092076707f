"""ISO 8601 UTC time stamps, as vbt writes them: the one place their formats are spelled out.

Two forms, each on purpose (outputs keep the form they have always had):

- the ``Z`` form, ``2024-01-01T00:00:00Z`` (seconds; with ``microseconds=True``
  ``2024-01-01T00:00:00.000000Z``): results, batch records, the trial ledger, research reports,
  the worker's progress and error messages;
- the offset form, ``2024-01-01T00:00:00.123456+00:00`` (``datetime.isoformat``): a model's
  ``created_at`` in ``metadata_v3.json`` and the worker's older-API fields, as the older system
  wrote them.

``ISO_Z`` is the ``Z`` form's strftime pattern, for code that formats a column at once
(polars' ``dt.strftime``). Only the standard library and NumPy are imported here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
ISO_Z_MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_z(t: datetime, *, microseconds: bool = False) -> str:
    """``t`` (a UTC datetime) in the ``Z`` form: its wall-clock fields with a ``Z`` appended, no
    time-zone conversion; ``microseconds`` adds the six-digit fraction."""
    return t.strftime(ISO_Z_MICROSECONDS if microseconds else ISO_Z)


def iso_z_ns(ns: int) -> str:
    """``ns`` (int nanoseconds since the epoch, UTC) in the ``Z`` form, floored to the second."""
    return np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s") + "Z"


def now_iso_z(*, microseconds: bool = False) -> str:
    """The current UTC time in the ``Z`` form (see ``iso_z``)."""
    return iso_z(datetime.now(UTC), microseconds=microseconds)


def now_iso_offset() -> str:
    """The current UTC time in the offset form (``datetime.isoformat``: microseconds, left out
    when zero, and ``+00:00``)."""
    return datetime.now(UTC).isoformat()
