"""Pieces the pages share: the metrics table (the CLI's rows and text, with a compared column
such as buy and hold beside) and long series downsampled for drawing."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from vbt.report.downsample import minmax_indices
from vbt.report.figures import compact, ms
from vbt.report.html import esc
from vbt.summary import format_metric, metric_rows

#: metric sections that a compared run (buy and hold) is shown on (it has no trades of its own)
COMPARED_SECTIONS = ("returns", "risk")


def metrics_table(metrics: dict[str, Any], compared: dict[str, Any], label: str) -> str:
    """The metrics table (``metric_rows``): label, name and text of each metric, then, in
    ``COMPARED_SECTIONS``, ``compared``'s value of the metrics it holds (column ``label``). Each
    row carries the raw value and the text in ``data-name``, ``data-value`` and ``data-text``."""
    head = f"<tr><th>metric</th><th>name</th><th>strategy</th><th>{esc(label)}</th></tr>"
    body, section = [], None
    for row in metric_rows(metrics):
        if row.section != section:
            section = row.section
            body.append(f'<tr class="section"><td colspan="4">{esc(section)}</td></tr>')
        shown = row.section in COMPARED_SECTIONS and row.name in compared
        other = format_metric(row.name, compared[row.name]) if shown else ""
        body.append(
            f'<tr data-name="{esc(row.name)}" data-value="{esc(json.dumps(row.value))}"'
            f' data-text="{esc(row.text)}"><td>{esc(row.label)}</td>'
            f"<td><code>{esc(row.name)}</code></td>"
            f'<td class="num">{esc(row.text)}</td><td class="num">{esc(other)}</td></tr>'
        )
    return f'<table class="metrics"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def drawn_points(
    ts: np.ndarray, y: np.ndarray, buckets: int
) -> tuple[list[int], list[float | None]]:
    """(x in ms, y) of the points of ``y`` (at nanosecond stamps ``ts``) to draw:
    ``minmax_indices``, so every peak and trough is kept."""
    idx = minmax_indices(y, buckets)
    return ms(ts[idx]), compact(y[idx])


def downsampled_note(n: int, buckets: int) -> str:
    """What a line of ``n`` points drawn through ``buckets`` buckets shows ("" when whole)."""
    if n <= 2 * buckets:
        return ""
    return (f"Lines drawn from {n:,} points through the lowest and highest point of each of "
            f"{buckets:,} buckets, so every peak and trough shows.")  # fmt: skip
