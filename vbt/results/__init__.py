"""Every run output: the result classes and the one owner of each file format.

- ``backtest``: ``BacktestResult`` (metrics, trades, equity; ``save``, ``report``);
- ``sweep``: ``SweepResult`` (one row per combination; ``best``, ``save``, ``report``);
- ``research``: ``ResearchReport`` (a research run: its report.json dict, out-of-sample curve and
  trades);
- ``batch``: ``BatchResult`` (a batch: its summary and one record per job) and the summary's
  ranking;
- ``info``: ``RunInfo`` (what a run was: strategy, data, model, parameters, timings);
- ``saved``: the files each of them saves (names, columns, keys), their one writer and their one
  reader, which returns the plain data the HTML report (``vbt.report``) renders.

A result's ``report`` imports the renderer when called; nothing here imports the producers
(``vbt.stages``, ``vbt.sweeps``, ``vbt.research``, ``vbt.batches``) but ``SweepResult.rerun``.
"""

from vbt.results.backtest import BacktestResult
from vbt.results.batch import BatchResult
from vbt.results.info import RunInfo
from vbt.results.research import ResearchReport
from vbt.results.sweep import SweepResult

__all__ = ["BacktestResult", "BatchResult", "ResearchReport", "RunInfo", "SweepResult"]
