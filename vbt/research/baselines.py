"""What chance and the market did over the same bars: buy-and-hold and random entries.

Both are signal arrays run through the backtest's own scan (``vbt.stages.simulate``) with the
run's execution parameters (capital, sizing, costs, slippage, risk exits), so they pay exactly
what the strategy pays. Their decisions ignore the model's filters (confidence threshold 0, no
signal separation), trade long and short as told, and decide from the first bar after the
warm-up, like the strategy.

* **Buy and hold**: BUY at the first decided bar (filled at the next open), held to the end (the
  end-of-data close), sized by ``position_fraction`` like every entry.
* **Random entries** (Monte Carlo, seeded): each simulation places the strategy's trades (the same
  number, the same sides and the same holding times, in bars from entry to exit) at uniformly
  random, non-overlapping times in the same bars, in a random order. The p-value is the share of
  simulations whose Sharpe ratio is at least the strategy's, (1 + #{sim ≥ strategy}) / (1 + M):
  the probability that chance does as well.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.enums import BUY, LONG, SELL
from vbt.stages import simulate

DEFAULT_SIMULATIONS = 1000
#: bins of the simulated Sharpe ratios' histogram kept in ``RandomEntryResult.to_dict``
HISTOGRAM_BINS = 40


def baseline_params(params: Any, shorts: bool = True) -> Any:
    """``params`` (ScanParams) with the decisions a baseline's signals need: every signal is
    taken as given (classification rules, no confidence threshold, no separation), short entries
    allowed when ``shorts``."""
    return params.with_values(
        output_type="classification", output_format="classification", confidence_threshold=0.0,
        min_signal_separation=0.0, position_awareness=True, allow_short_from_flat=bool(shorts),
    )  # fmt: skip


def run_signals(prepared: Any, raws: list[np.ndarray], params: Any) -> np.ndarray:
    """The scan's metric accumulators (ACC_DTYPE[len(raws)]) of ``prepared`` run with each
    signal array of ``raws`` (int8[n]: BUY=1, SELL=-1, HOLD=0) in place of the model's."""
    return np.concatenate([scan_signals(prepared, raw, params, record=False).acc for raw in raws])


def scan_signals(prepared: Any, raw: np.ndarray, params: Any, *, record: bool = True) -> Any:
    """The scan (``ScanResult``; with ``record``, its per-bar equity over all n bars) of
    ``prepared`` run with the signal array ``raw`` in place of the model's."""
    x = prepared.inputs
    ones = np.ones(len(x), dtype=np.float32)
    inputs = dataclasses.replace(x, raw=raw, confidence=ones, value=None)
    return simulate(dataclasses.replace(prepared, inputs=inputs), params, record=record)


def buy_and_hold_signals(n_bars: int, first: int) -> np.ndarray:
    """int8[n]: one BUY at bar ``first`` (the first decided bar)."""
    raw = np.zeros(n_bars, dtype=np.int8)
    raw[first] = BUY
    return raw


def random_entry_signals(
    n_bars: int, first: int, holds: np.ndarray, sides: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """int8[n]: the trades of ``holds`` (bars from entry to exit, ≥ 1) and ``sides`` (LONG or
    SHORT) at random, non-overlapping decision bars in [first, n − 2], in a random order.

    A trade decided at bar d enters at d + 1's open and is closed by the opposite signal decided
    at d + h (filled at d + h + 1's open), so it holds h bars and the next trade may be decided
    from d + h + 1 on. The free bars are spread over the gaps uniformly (sorted uniform draws).
    When the trades do not fit, the longest holding times are shortened one bar at a time.
    """
    raw = np.zeros(n_bars, dtype=np.int8)
    k = int(holds.shape[0])
    if k == 0:
        return raw
    order = rng.permutation(k)
    h = np.maximum(np.asarray(holds, dtype=np.int64)[order], 1)
    s = np.asarray(sides)[order]
    slots = n_bars - 1 - first  # decision bars first .. n - 2
    while (h + 1).sum() > slots and h.max() > 1:
        h[np.argmax(h)] -= 1
    free = max(slots - int((h + 1).sum()), 0)
    cuts = np.sort(rng.integers(0, free + 1, size=k))
    gaps = np.diff(np.concatenate(([0], cuts)))
    d = first
    for i in range(k):
        d += int(gaps[i])
        if d + h[i] > n_bars - 2:
            break
        raw[d] = BUY if s[i] == LONG else SELL
        raw[d + h[i]] = SELL if s[i] == LONG else BUY
        d += int(h[i]) + 1
    return raw


@dataclass(frozen=True)
class RandomEntryResult:
    """The random-entry Monte Carlo: ``sharpe`` and ``total_return_pct`` (float64[M], NaN where
    undefined) of the M simulations, and the strategy's p-value (None when its Sharpe ratio is
    undefined or it made no trade). ``to_dict`` keeps quantiles of both and a histogram of the
    defined Sharpe ratios (``HISTOGRAM_BINS`` equal bins: ``edges``, ``counts``)."""

    simulations: int
    seed: int
    trades: int
    sharpe: np.ndarray
    total_return_pct: np.ndarray
    p_value: float | None
    strategy_sharpe: float | None

    def to_dict(self) -> dict[str, Any]:
        def q(a: np.ndarray, p: float) -> float | None:
            a = a[np.isfinite(a)]
            return float(np.quantile(a, p)) if a.size else None

        return {
            "simulations": self.simulations, "seed": self.seed, "trades": self.trades,
            "statistic": "sharpe_ratio", "strategy": self.strategy_sharpe,
            "p_value": self.p_value,
            "sharpe_ratio": {"mean": _mean(self.sharpe), "p05": q(self.sharpe, 0.05),
                             "p50": q(self.sharpe, 0.5), "p95": q(self.sharpe, 0.95),
                             "histogram": _histogram(self.sharpe)},
            "total_return_pct": {"mean": _mean(self.total_return_pct),
                                 "p05": q(self.total_return_pct, 0.05),
                                 "p50": q(self.total_return_pct, 0.5),
                                 "p95": q(self.total_return_pct, 0.95)},
        }  # fmt: skip


def p_value(strategy: float | None, simulated: np.ndarray) -> float | None:
    """(1 + #{simulated ≥ strategy}) / (1 + M); an undefined simulated value counts as not as
    good. None when ``strategy`` is undefined."""
    if strategy is None or not np.isfinite(strategy):
        return None
    sims = np.asarray(simulated, dtype=np.float64)
    hits = int(np.count_nonzero(np.isfinite(sims) & (sims >= strategy)))
    return (1 + hits) / (1 + sims.shape[0])


def _histogram(a: np.ndarray) -> dict[str, list]:
    """``{"edges": [HISTOGRAM_BINS + 1 floats], "counts": [HISTOGRAM_BINS ints]}`` of the finite
    values of ``a`` (one bin when they are all equal; empty lists when there is none)."""
    a = a[np.isfinite(a)]
    if not a.size:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(a, bins=HISTOGRAM_BINS if np.ptp(a) > 0 else 1)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _mean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None
