"""The state-free part of the signal funnel: raw signals and filter 1, counted outside the scan.

The scan counts what depends on its state (signals removed by the separation and position
filters, signals that became pending, pending signals that traded: ``ACC_DTYPE``). The raw BUY and
SELL signals and the signals below the confidence threshold depend only on the model's outputs and
the thresholds, so they are counted here, for any number of thresholds at once (one sort, then a
binary search per threshold), with exactly the comparisons the scan makes.
"""

from __future__ import annotations

import numpy as np

from vbt.enums import BUY, HOLD, SELL


def signal_counts(
    inputs,
    warmup_bars: int,
    is_regression: bool,
    confidence_threshold: float | np.ndarray,
    regression_threshold: float | np.ndarray,
) -> dict[str, np.ndarray]:
    """Per threshold (arrays of length m, or scalars for m = 1): ``raw_buy_signals``,
    ``raw_sell_signals``, ``removed_by_confidence`` (int64) and ``highest_confidence`` (float64,
    NaN without a raw signal), over the bars the scan decides (``warmup_bars`` onwards).

    Classification: raw signals are the given ones, and filter 1 removes those with confidence <
    confidence_threshold. Regression: a predicted return r is a BUY when r > threshold and a SELL
    when r < −threshold (finite r only); filter 1 does not apply; the confidence is
    min(|r| / (3 × threshold), 1).
    """
    conf_t = np.atleast_1d(np.asarray(confidence_threshold, dtype=np.float64))
    reg_t = np.atleast_1d(np.asarray(regression_threshold, dtype=np.float64))
    m = max(conf_t.size, reg_t.size)
    w = int(warmup_bars)
    if not is_regression:
        raw, conf = inputs.raw[w:], inputs.confidence[w:]
        signalled = conf[raw != HOLD].astype(np.float64)  # compared in float64, as the scan does
        buy = np.full(m, np.count_nonzero(raw == BUY))
        sell = np.full(m, np.count_nonzero(raw == SELL))
        low = np.broadcast_to(_count_below(signalled, conf_t), (m,))
        top = np.full(m, signalled.max() if signalled.size else np.nan)
    else:
        r = inputs.value[w:].astype(np.float64)
        r = r[np.isfinite(r)]
        ups, downs = r[r > 0], -r[r < 0]
        buy = ups.size - _count_below(ups, reg_t, inclusive=True)  # r > t
        sell = downs.size - _count_below(downs, reg_t, inclusive=True)  # -r > t
        buy, sell = np.broadcast_to(buy, (m,)), np.broadcast_to(sell, (m,))
        low = np.zeros(m, dtype=np.int64)
        largest = np.abs(r).max() if r.size else np.nan
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            top = np.where(reg_t > 0, np.minimum(largest / (3.0 * reg_t), 1.0), 1.0)
        # as the scan holds it: a float32 confidence
        top = np.broadcast_to(top, (m,)).astype(np.float32).astype(np.float64)
        top = np.where(buy + sell > 0, top, np.nan)
    return {
        "raw_buy_signals": np.asarray(buy, dtype=np.int64),
        "raw_sell_signals": np.asarray(sell, dtype=np.int64),
        "removed_by_confidence": np.asarray(low, dtype=np.int64),
        "highest_confidence": np.asarray(top, dtype=np.float64),
    }


def _count_below(values: np.ndarray, limits: np.ndarray, inclusive: bool = False) -> np.ndarray:
    """For each limit, how many values are < it (<= with ``inclusive``): one pass for a single
    limit, a sort and binary searches for many."""
    if limits.size == 1:
        below = values <= limits[0] if inclusive else values < limits[0]
        return np.array([np.count_nonzero(below)])
    return np.searchsorted(np.sort(values), limits, side="right" if inclusive else "left")
