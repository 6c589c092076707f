"""The research cycle: train, test out of sample, and judge the result against chance.

``vbt.research.run(strategy, data_dir=..., walk_forward=None, out_dir="research")`` (the command
``vbt research``) validates a strategy, trains it, backtests it only on bars training never saw
(a held-out split or a walk-forward), and assesses it: buy-and-hold and random entries over the
same bars, the probabilistic and deflated Sharpe ratios, and a verdict. Modules: ``split``
(held-out split, walk-forward folds), ``baselines``, ``stats`` (PSR, DSR), ``verdict``,
``cycle`` (the run).
"""

from vbt.research.cycle import research as run
from vbt.results.research import ResearchReport

__all__ = ["ResearchReport", "run"]
