"""RunInfo: what a run was (strategy, data, model, parameters, timings), as every result holds it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    """What a run was: strategy, data and model (``vbt.stages.prepare``), then the parameters and
    the time it took (``vbt.stages.summarize``). JSON-serialisable with ``to_dict``.

    start / end: open stamps of the first and last base bar (ISO 8601, UTC); bars: base bars
    (warm-up included); valid_bars: bars with every feature defined; params: every decision and
    execution parameter by name (``ScanParams.values``); config: the BacktestConfig with those
    parameters; timings: seconds per stage. class_counts: for a model that never trades
    (a regime or context classifier), how many decided bars (after the warm-up, with every
    feature defined) it put in each class (argmax of its outputs), by class name: what it
    reports instead of trades (empty for a trading model).
    """

    strategy: str
    symbol: str
    timeframe: str
    timeframes: tuple[str, ...]
    start: str
    end: str
    model_path: str
    output_type: str
    bars: int
    valid_bars: int
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)

    @property
    def execution_time_s(self) -> float:
        return round(sum(self.timings.values()), 4)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["timeframes"] = list(self.timeframes)
        out["execution_time_s"] = self.execution_time_s
        return out
