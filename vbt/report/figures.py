"""Plotly figure specifications (plain dicts: ``{"data": [...], "layout": {...}}``) for the pages.

Figures are built as JSON-ready dicts, not through Plotly's Python figure classes: the page needs
only plotly.js, and plain dicts keep building a page fast. Times go to plotly.js as milliseconds
since the epoch (UTC) on date axes; floats are cut to 7 significant digits to keep the page small.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

BLUE, GREY, RED, GREEN, ORANGE = "#1f5fa8", "#8c8c8c", "#c0392b", "#2e8b57", "#d9822b"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}


def ms(ts_ns: np.ndarray) -> list[int]:
    """Nanosecond UTC stamps as integer milliseconds (what plotly.js reads on a date axis)."""
    return (np.asarray(ts_ns, dtype=np.int64) // 1_000_000).tolist()


def compact(values: Any, digits: int = 7) -> list[float | None]:
    """Floats rounded to ``digits`` significant digits; NaN and ±inf become None (a gap)."""
    out: list[float | None] = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def figure(data: list[dict], *, height: int = 340, **layout: Any) -> dict[str, Any]:
    """A figure with the report's common layout (font, margins, legend on top), then ``layout``."""
    base = {
        "height": height,
        "font": FONT,
        "margin": {"l": 64, "r": 24, "t": 32, "b": 44},
        "legend": {"orientation": "h", "y": 1.12, "x": 0},
        "hovermode": "closest",
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#eee", "zeroline": False},
        "yaxis": {"gridcolor": "#eee", "zeroline": False},
    }
    for key, value in layout.items():
        base[key] = {**base[key], **value} if isinstance(base.get(key), dict) else value
    return {"data": data, "layout": base}


def line(x: list, y: list, name: str, color: str, **extra: Any) -> dict[str, Any]:
    """A line trace (WebGL-free ``scatter``, so the page renders without a GPU)."""
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name,
            "line": {"color": color, "width": 1.4}, **extra}  # fmt: skip


def bars(x: list, y: list, name: str, color: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "bar", "x": x, "y": y, "name": name, "marker": {"color": color}, **extra}


def heatmap(
    z: list,
    x: list,
    y: list,
    *,
    colorbar: str,
    text: list | None = None,
    diverging: bool | None = None,
    better_low: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A heatmap, gaps for None. Diverging (the default when the values have both signs): red
    below zero, white at zero, green above, symmetric about zero. Otherwise white to green
    towards the better end (``better_low``: the lower one)."""
    flat = [v for row in z for v in row if v is not None]
    if diverging is None:
        diverging = bool(flat) and min(flat) < 0 < max(flat)
    if diverging:
        top = max((abs(v) for v in flat), default=1.0) or 1.0
        scale, span = [[0, RED], [0.5, "#f7f7f7"], [1, GREEN]], {"zmin": -top, "zmax": top}
    else:
        scale, span = [[0, "#f7f7f7"], [1, GREEN]], {}
    trace = {
        "type": "heatmap", "z": z, "x": x, "y": y, "hoverongaps": False, "colorscale": scale,
        "reversescale": better_low and not diverging, **span,
        "colorbar": {"title": {"text": colorbar}, "thickness": 12},
    }  # fmt: skip
    if text is not None:
        trace |= {"text": text, "texttemplate": "%{text}", "textfont": {"size": 10}}
    return trace | extra


def histogram(values: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, counts) of the finite values: pre-binned here, so the page carries ``bins``
    numbers instead of every value."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    counts, edges = np.histogram(v, bins=bins if np.ptp(v) > 0 else 1)
    return (edges[:-1] + edges[1:]) / 2, counts
