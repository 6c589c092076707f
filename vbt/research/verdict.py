"""The verdict of a research run, with the numbers and the reasons that led to it.

Tests, on the out-of-sample (held-out or stitched walk-forward) bars:

1. trades: at least ``MIN_TRADES`` trades;
2. chance: the random-entry p-value (same trades, same holding times) at most ``ALPHA``;
3. selection: the deflated Sharpe ratio (trials from the ledger) at least 1 − ``ALPHA``;
4. market: a Sharpe ratio above buy-and-hold's over the same bars.

``promising``: all four pass. ``not better than chance``: no trade or no defined Sharpe ratio;
or chance did as well at least half the time (p ≥ 0.5); or the Sharpe ratio is not above zero
(PSR(0) ≤ 0.5); or it is more likely below than above what the best of the trials reaches by
chance (DSR < 0.5). ``inconclusive``: anything between (some evidence, not enough).
"""

from __future__ import annotations

from typing import Any

from vbt.results.saved import INCONCLUSIVE, NOT_BETTER, PROMISING  # report.json's verdicts

ALPHA = 0.05
MIN_TRADES = 10


def verdict(
    *,
    trades: int,
    sharpe: float | None,
    bh_sharpe: float | None,
    p_random: float | None,
    psr0: float | None,
    dsr: float | None,
    trials: int,
    simulations: int,
    alpha: float = ALPHA,
    min_trades: int = MIN_TRADES,
) -> dict[str, Any]:
    """``{"verdict", "reasons": [...], "checks": {name: bool | None}, "thresholds"}``; the
    Sharpe ratios annualised, the probabilities in [0, 1] (None: undefined)."""
    checks: dict[str, bool | None] = {}
    reasons: list[str] = []
    checks["trades"] = trades >= min_trades
    reasons.append(f"{trades} trades out of sample ({'at least' if checks['trades'] else 'fewer than'}"
                   f" {min_trades})")  # fmt: skip
    if p_random is None:
        checks["chance"] = None
        reasons.append("random-entry baseline: undefined (no trade or no defined Sharpe ratio)")
    else:
        checks["chance"] = p_random <= alpha
        reasons.append(f"random-entry baseline: p = {p_random:.3g}; chance did as well in "
                       f"{p_random:.1%} of {simulations} simulations with the same trades "
                       f"({'≤' if checks['chance'] else '>'} {alpha:g})")  # fmt: skip
    if dsr is None:
        checks["selection"] = None
        reasons.append("deflated Sharpe ratio: undefined")
    else:
        checks["selection"] = dsr >= 1 - alpha
        reasons.append(f"deflated Sharpe ratio {dsr:.3g} over {trials} trial(s) "
                       f"({'≥' if checks['selection'] else '<'} {1 - alpha:g})")  # fmt: skip
    if sharpe is None or bh_sharpe is None:
        checks["market"] = None if sharpe is None else True
        if sharpe is not None:
            reasons.append(f"Sharpe ratio {sharpe:.3g}; buy-and-hold's is undefined")
    else:
        checks["market"] = sharpe > bh_sharpe
        reasons.append(f"Sharpe ratio {sharpe:.3g} vs buy-and-hold {bh_sharpe:.3g}")
    if psr0 is not None:
        reasons.append(f"probabilistic Sharpe ratio PSR(0) = {psr0:.3g}")

    if trades == 0 or sharpe is None:
        result = NOT_BETTER
        reasons.insert(0, "no trade or no defined Sharpe ratio out of sample: nothing beat chance")
    elif all(checks[k] for k in ("trades", "chance", "selection", "market")):
        result = PROMISING
    elif ((p_random is not None and p_random >= 0.5) or (psr0 is not None and psr0 <= 0.5)
          or (dsr is not None and dsr < 0.5)):  # fmt: skip
        result = NOT_BETTER
    else:
        result = INCONCLUSIVE
    return {
        "verdict": result,
        "reasons": reasons,
        "checks": checks,
        "thresholds": {"alpha": alpha, "min_trades": min_trades},
    }
