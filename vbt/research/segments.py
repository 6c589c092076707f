"""The out-of-sample segments of a research run and their stitching into one curve.

A ``Segment`` is the out-of-sample part of one backtest (the held-out test split, or one
walk-forward fold's test block); ``stitch`` chains the segments into the run's out-of-sample
curve, the one the metrics, the assessment and the saved files describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.metrics import FUNNEL_METRICS, curve_metrics, infer_periods_per_year
from vbt.results.saved import equity_frame, trades_frame
from vbt.timefmt import iso_z_ns


@dataclass(frozen=True, eq=False)
class Segment:
    """The out-of-sample part of one backtest: the result (metrics over these bars only), the
    scan's trade records, the equity and position of its bars, and where they lie."""

    prepared: Any
    result: Any
    trades: np.ndarray
    equity: np.ndarray
    position: np.ndarray
    first: int
    span_ns: int
    periods_per_year: float


def stitch(segments: list[Segment]) -> dict[str, Any]:
    """The out-of-sample curve: one segment as it is; several chained (each fold started with
    the previous one's final equity) with metrics over the whole curve."""
    equity = np.concatenate([s.equity for s in segments])
    position = np.concatenate([s.position for s in segments])
    trades = np.concatenate([s.trades for s in segments])
    first, last = segments[0], segments[-1]
    x0, xl = first.prepared.inputs, last.prepared.inputs
    ts = np.concatenate([s.prepared.inputs.ts_ns[s.first :] for s in segments])
    close = np.concatenate([s.prepared.inputs.close[s.first :] for s in segments])
    span = int(xl.ts_ns[-1] + last.prepared.params.bar_ns - x0.ts_ns[first.first])
    if len(segments) == 1:
        metrics = dict(first.result.metrics)
        ppy = first.periods_per_year
    else:
        ppy = infer_periods_per_year(equity.shape[0], span)
        ic = first.result.metrics["initial_capital"]
        metrics = curve_metrics(equity, position, trades, ic, span, equity.shape[0], ppy)
        for k in FUNNEL_METRICS:
            vals = [s.result.metrics[k] for s in segments if s.result.metrics[k] is not None]
            agg = max if k == "highest_confidence" else sum
            metrics[k] = agg(vals) if vals else None
    return {
        "metrics": metrics,
        "equity": equity,
        "position": position,
        "trades": trades,
        "periods_per_year": ppy,
        "span_ns": span,
        "period": {"start": iso_z_ns(ts[0]), "end": iso_z_ns(ts[-1]), "bars": int(ts.shape[0])},
        "equity_frame": equity_frame(ts, close, equity, position),
        "trades_frame": trades_frame(trades),
    }
