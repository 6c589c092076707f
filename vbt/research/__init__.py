"""The research cycle: train, test out of sample, and judge the result against chance.

``vbt.research.run(strategy, data_dir=..., walk_forward=None, out_dir="research")`` (the command
``vbt research``) validates a strategy, trains it, backtests it only on bars training never saw
(a held-out split or a walk-forward), and assesses it: buy-and-hold and random entries over the
same bars, the probabilistic and deflated Sharpe ratios, and a verdict. Modules: ``cycle`` (the
run: ``research``), ``runner`` (training and the out-of-sample backtests), ``split`` (held-out
split, walk-forward folds), ``segments`` (the out-of-sample segments, stitched into one curve),
``assess`` (the assessment, from ``baselines``, ``stats`` (PSR, DSR) and ``verdict``), ``ledger``
(the trial ledger, ``trials.jsonl``), ``fit`` (what training recorded about each model's fit).
"""

from vbt.research.cycle import research as run
from vbt.results.research import ResearchReport

__all__ = ["ResearchReport", "run"]
