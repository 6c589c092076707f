"""vbt.timefmt: the two ISO 8601 forms vbt writes, byte for byte."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

from vbt.timefmt import ISO_Z, iso_z, iso_z_ns, now_iso_offset, now_iso_z

T = datetime(2024, 3, 1, 13, 5, 9, 123456, tzinfo=UTC)


def test_z_form_of_a_datetime():
    assert iso_z(T) == "2024-03-01T13:05:09Z" == T.strftime(ISO_Z)
    assert iso_z(T, microseconds=True) == "2024-03-01T13:05:09.123456Z"


def test_z_form_of_epoch_nanoseconds_is_floored_to_the_second():
    ns = int(T.timestamp()) * 10**9 + 999_999_999
    assert iso_z_ns(ns) == "2024-03-01T13:05:09Z"
    assert iso_z_ns(np.int64(ns)) == "2024-03-01T13:05:09Z"
    assert iso_z_ns(-1) == "1969-12-31T23:59:59Z"


def test_now_in_both_forms():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now_iso_z())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", now_iso_z(microseconds=True))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00", now_iso_offset())
