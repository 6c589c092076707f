"""The assessment of a research run's out-of-sample curve: the baselines, the Sharpe ratio
statistics and the verdict.

``assess`` runs buy-and-hold and the random entries over the same bars as the strategy
(``vbt.research.baselines``), computes the probabilistic and deflated Sharpe ratios
(``vbt.research.stats``) with the trials of the output folder's ledger
(``vbt.research.ledger``), and composes the verdict (``vbt.research.verdict``): the
``buy_and_hold``, ``random_entry``, ``sharpe_statistics`` and ``verdict`` entries of
``report.json``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vbt.metrics import finish_metrics, json_safe
from vbt.research.ledger import LedgerStats
from vbt.research.segments import Segment
from vbt.research.stats import dsr, expected_max_sharpe, psr, return_moments
from vbt.research.verdict import verdict

#: the buy-and-hold metrics ``report.json`` keeps
BUY_AND_HOLD_METRICS = ("total_return_pct", "annualized_return", "sharpe_ratio",
                        "max_drawdown_pct", "volatility", "final_equity")  # fmt: skip


def assess(
    segments: list[Segment],
    oos: dict[str, Any],
    stats: LedgerStats,
    simulations: int,
    seed: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """The baselines, the Sharpe ratio statistics and the verdict (``report.json``'s entries),
    and buy-and-hold's equity over the out-of-sample bars (float64[bars]).

    ``segments`` and ``oos``: the run's segments and their stitched curve
    (``vbt.research.segments.stitch``); ``stats``: the ledger's trials, this run included.
    """
    from vbt.research import baselines as bl

    # Baselines run over the last segment's bars (the whole range for a walk-forward, whose last
    # fold's data reaches the end), trading from the first out-of-sample bar.
    last, first = segments[-1], segments[0].first
    prepared = last.prepared
    n = len(prepared.inputs)
    ic = segments[0].result.metrics["initial_capital"]
    params = prepared.params.with_values(warmup_bars=first, initial_capital=ic)
    trades = oos["trades"]
    shorts = bool((trades["side"] != 1).any())
    ppy, span, n_oos = oos["periods_per_year"], oos["span_ns"], oos["period"]["bars"]

    def metrics_of(accs):
        return finish_metrics(accs, ic, span, n_oos, ppy)

    bh_scan = bl.scan_signals(
        prepared, bl.buy_and_hold_signals(n, first), bl.baseline_params(params)
    )
    bh = {k: json_safe(v[0]) for k, v in metrics_of(bh_scan.acc).items()
          if k in BUY_AND_HOLD_METRICS}  # fmt: skip
    sharpe = oos["metrics"].get("sharpe_ratio")
    if trades.shape[0]:
        rng = np.random.default_rng(seed)
        holds = (trades["exit_idx"] - trades["entry_idx"]).astype(np.int64)
        raws = [bl.random_entry_signals(n, first, holds, trades["side"], rng)
                for _ in range(simulations)]  # fmt: skip
        cols = metrics_of(bl.run_signals(prepared, raws, bl.baseline_params(params, shorts)))
        random = bl.RandomEntryResult(simulations, seed, int(trades.shape[0]),
                                      cols["sharpe_ratio"], cols["total_return_pct"],
                                      bl.p_value(sharpe, cols["sharpe_ratio"]), sharpe)  # fmt: skip
        random_dict = random.to_dict()
        p_random = random.p_value
    else:
        random_dict = {"simulations": 0, "seed": seed, "trades": 0, "p_value": None,
                       "note": "no trade out of sample: nothing to place at random"}  # fmt: skip
        p_random = None
    sharpe_stats = sharpe_statistics(oos["equity"], stats, ppy)
    judged = verdict(
        trades=int(trades.shape[0]), sharpe=sharpe, bh_sharpe=bh.get("sharpe_ratio"),
        p_random=p_random, psr0=sharpe_stats["psr"], dsr=sharpe_stats["dsr"],
        trials=stats.trials, simulations=simulations,
    )  # fmt: skip
    assessed = {"buy_and_hold": bh, "random_entry": random_dict,
                "sharpe_statistics": sharpe_stats, "verdict": judged}  # fmt: skip
    return assessed, np.asarray(bh_scan.equity[first:], dtype=np.float64)


def sharpe_statistics(equity: np.ndarray, stats: LedgerStats, ppy: float) -> dict[str, Any]:
    """``report.json``'s ``sharpe_statistics``: the per-bar returns' moments of ``equity``,
    PSR(0), and the DSR over the ledger's trials (``stats``) with the variance of their Sharpe
    ratios (``ledger``) or, with fewer than two, the estimator's variance under no skill;
    ``expected_max_sharpe`` annualised with ``ppy``."""
    eq = equity
    mom = return_moments(eq[1:] / eq[:-1] - 1.0) if eq.shape[0] > 1 else return_moments(eq[:0])
    psr0 = dsr_value = sr0 = None
    variance, source = None, None
    if mom.sharpe is not None and mom.skewness is not None:
        if stats.sharpe_variance is not None and stats.sharpe_count > 1:
            variance, source = stats.sharpe_variance / ppy, "ledger"
        else:  # the Sharpe estimator's variance when no trial has skill
            variance, source = 1.0 / (mom.observations - 1), "estimator variance under no skill"
        trials = max(stats.trials, 1)
        try:
            psr0 = psr(mom.sharpe, mom.observations, mom.skewness, mom.kurtosis)
            sr0 = expected_max_sharpe(trials, variance)
            dsr_value = dsr(mom.sharpe, mom.observations, trials, variance, mom.skewness,
                            mom.kurtosis)  # fmt: skip
        except ValueError:
            psr0 = dsr_value = None
    return {
        "observations": mom.observations, "sharpe_per_bar": mom.sharpe,
        "skewness": mom.skewness, "kurtosis": mom.kurtosis, "psr": psr0, "dsr": dsr_value,
        "trials": stats.trials, "trial_sharpe_variance": stats.sharpe_variance,
        "variance_source": source,
        "expected_max_sharpe": sr0 * math.sqrt(ppy) if sr0 is not None else None,
    }  # fmt: skip
