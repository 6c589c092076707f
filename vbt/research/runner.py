"""The training and the out-of-sample backtests of one research run.

``Runner.held_out`` trains one model (or takes a given one) and backtests the held-out test split
that training and early stopping never saw (``vbt.research.split.held_out``);
``Runner.walk_forward`` retrains per fold (``vbt.research.split.walk_forward_folds``: purged and
embargoed) and backtests each fold's test block, each fold starting with the previous one's
final equity. Each returns the plan (``report.json``'s ``split`` or ``walk_forward``), the
out-of-sample ``Segment``s and the models. The features of a test bar are computed over every bar
before it (indicators are causal); the bars before the test period are the backtest's warm-up,
so it neither decides nor marks equity there, and the metrics (annualisation and CAGR included)
cover the test bars only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from vbt.arrays import kernel_input
from vbt.errors import ConfigError, DataError
from vbt.research.segments import Segment
from vbt.timefmt import iso_z


class Runner:
    """Training and out-of-sample backtests of one research run: ``models`` is the folder its
    models are trained into (``models/<training>/``), ``config`` the run settings of the
    backtests."""

    def __init__(self, strategy, data_dir, symbol, models, seed, epochs, config, progress):
        self.strategy, self.data_dir, self.symbol = strategy, data_dir, symbol
        self.models, self.seed, self.epochs = models, seed, epochs
        self.config, self.progress = config, progress

    def train(self, name: str, strategy: Any, start, end, exclude=None) -> Path:
        """Train into ``models/<training>/<name>/`` (reused when a previous run finished it)."""
        from vbt.model.train_once import train_once

        folder = self.models / name
        folder.mkdir(parents=True, exist_ok=True)
        return train_once(
            strategy, folder=folder, data_dir=self.data_dir, symbol=self.symbol, seed=self.seed,
            epochs=self.epochs, progress=self.progress, start_date=start, end_date=end,
            exclude=exclude,
        )  # fmt: skip

    def segment(self, model_dir, start, end, first: int, capital: float | None = None):
        """Backtest ``model_dir`` over the bars from ``start`` to ``end`` trading from bar
        ``first`` on (the bars before are the warm-up); metrics over the traded bars only."""
        from vbt.config import BacktestConfig
        from vbt.metrics import infer_periods_per_year
        from vbt.stages import prepare, simulate, summarize

        extra = {"initial_capital": capital} if capital is not None else {}
        cfg = BacktestConfig(model_path=str(model_dir), data_dir=self.data_dir, symbol=self.symbol,
                             start_date=start, end_date=end, warmup_bars=first,
                             **{**self.config, **extra})  # fmt: skip
        prepared = prepare(cfg)
        x, bar_ns = prepared.inputs, prepared.params.bar_ns
        span = int(x.ts_ns[-1] + bar_ns - x.ts_ns[first])
        ppy = infer_periods_per_year(len(x) - first, span)
        prepared = dataclasses.replace(
            prepared, span_ns=span,
            config=prepared.config.model_copy(update={"periods_per_year": ppy}),
        )  # fmt: skip
        scan = simulate(prepared)
        result = summarize(prepared, scan)
        return Segment(prepared, result, scan.trades, scan.equity[first:], scan.position[first:],
                       first, span, ppy)  # fmt: skip

    def held_out(self, model_dir, start, end, timings):
        from vbt.research.split import held_out

        t = time.perf_counter()
        if model_dir is None:
            model_dir = self.train("held_out", self.strategy, start, end)
        else:
            _check_model_matches(self.strategy, model_dir)
        timings["train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        split = held_out(model_dir)
        seg = self.segment(model_dir, split.data_start, split.data_end, split.test[0])
        ts = seg.prepared.frame.timestamps
        if len(seg.prepared.inputs) != split.test[1]:
            raise DataError(
                f"{model_dir}: trained on {split.test[1]} bars from {split.data_start} to "
                f"{split.data_end}, but {len(seg.prepared.inputs)} are on disk now; the data "
                "changed since training"
            )
        timings["backtest_s"] = time.perf_counter() - t
        return {"split": split.to_dict(ts)}, [seg], [Path(model_dir)]

    def walk_forward(self, k, purge, embargo, start, end, timings):
        from vbt.data import load_data
        from vbt.research.split import walk_forward_folds

        base = self.strategy.base_timeframe
        bars = load_data(self.data_dir, self.symbol, [base], start_date=start, end_date=end)[base]
        ts = bars.get_column("timestamp")
        n = bars.height
        purge_source = "given"
        if purge is None:
            prices = {c: bars.get_column(c).to_numpy() for c in ("high", "low", "close")}
            purge, purge_source = label_horizon(self.strategy, prices)
        embargo = embargo if embargo is not None else math.ceil(0.01 * n)
        folds = walk_forward_folds(n, k, purge, embargo)
        fold_strategy = _without_test_split(self.strategy)
        t_train = t_test = 0.0
        segments, models, capital = [], [], None
        iso = [iso_z(t) for t in ts]
        for fold in folds:
            t = time.perf_counter()
            exclude = [(iso[a], iso[b - 1]) for a, b in fold.embargoed if b > a]
            model = self.train(f"fold-{fold.index}", fold_strategy, iso[0], iso[fold.train[1] - 1],
                               exclude)  # fmt: skip
            t_train += time.perf_counter() - t
            t = time.perf_counter()
            seg = self.segment(model, iso[0], iso[fold.test[1] - 1], fold.test[0], capital)
            if len(seg.prepared.inputs) != fold.test[1]:
                raise DataError(f"fold {fold.index}: the bars on disk changed during the run")
            capital = seg.result.metrics["final_equity"]
            t_test += time.perf_counter() - t
            segments.append(seg)
            models.append(model)
        timings.update(train_s=t_train, backtest_s=t_test)
        plan = {"walk_forward": {
            "folds": [f.to_dict(ts) | {"metrics": dict(s.result.metrics)}
                      for f, s in zip(folds, segments, strict=True)], "purge_bars": purge,
            "purge_source": purge_source, "embargo_bars": embargo, "bars": n,
            "validation_in_window": fold_strategy.training["data_split"],
        }}  # fmt: skip
        return plan, segments, models


def label_horizon(strategy: Any, prices: Any) -> tuple[int, str]:
    """How far ahead a training label reads, in bars, and why: ``horizon`` for forward-return
    and context labels; ``max_holding_period`` for triple-barrier labels; for zigzag labels the
    longest segment between two extremes of the closes (a bar's label is set by the extreme that
    ends its segment); for regime labels the longest macro segment plus the ``atr_period``
    forward volatility window (its medians read the whole window, which per-split labelling keeps
    inside the training bars). ``prices``: the closes, or ``{"high", "low", "close"}`` arrays."""
    from vbt.model.labels import (
        regime_pivots_nb,
        regime_threshold,
        zigzag_extremes,
    )
    from vbt.model.train_config import TrainParams

    if not isinstance(prices, dict):
        prices = {"close": np.asarray(prices, dtype=np.float64)}
    close = np.asarray(prices["close"], dtype=np.float64)
    params = TrainParams.from_strategy(strategy)
    source, kw = params.label_source, dict(params.label_params or {})
    if source == "forward_return":
        return int(params.horizon), f"label horizon: forward_return horizon {params.horizon}"
    if source == "context":
        return int(kw["horizon"]), f"label horizon: context horizon {kw['horizon']}"
    if source == "triple_barrier":
        h = int(kw["max_holding_period"])
        return h, f"label horizon: triple_barrier max_holding_period {h}"
    if source == "regime":
        thr = regime_threshold(
            prices["high"], prices["low"], close,
            atr_mult=kw["macro_atr_mult"], atr_period=kw["atr_period"],
        )  # fmt: skip
        piv = regime_pivots_nb(kernel_input(close, np.float64), thr) if thr > 0 else np.zeros(1)
        longest = int(np.diff(piv).max()) if piv.size > 1 else int(close.shape[0])
        return longest + int(kw["atr_period"]), (
            f"label horizon: longest regime macro segment + atr_period {kw['atr_period']}"
        )
    ext = np.flatnonzero(zigzag_extremes(close, params.zigzag_threshold))
    longest = int(np.diff(ext).max()) if ext.size > 1 else int(close.shape[0])
    return longest, f"label horizon: longest zigzag segment ({params.zigzag_threshold:g})"


def _without_test_split(strategy: Any) -> Any:
    """The strategy with ``data_split`` {train, validation} renormalised and test 0: a fold's
    training window holds training and validation (early stopping) only."""
    import copy

    import vbt
    from vbt.model.train_config import split_fractions

    train, val, _ = split_fractions(strategy.training or {})
    raw = copy.deepcopy(strategy.raw)
    raw["training"] = dict(raw.get("training") or {})
    raw["training"]["data_split"] = {
        "train": train / (train + val), "validation": val / (train + val), "test": 0.0,
    }  # fmt: skip
    return vbt.load_strategy(raw, name=strategy.source or strategy.name)


def _check_model_matches(strategy: Any, model_dir: str | Path) -> None:
    from vbt.model.bundle import resolve_model_dir
    from vbt.model.metadata import load_metadata
    from vbt.strategy import resolve_features

    meta = load_metadata(resolve_model_dir(Path(model_dir)))
    if tuple(meta.resolved_features) != tuple(resolve_features(strategy)):
        raise ConfigError(f"model_dir {model_dir}: its features are not the strategy's "
                          f"({strategy.name}); research the strategy it was trained from")  # fmt: skip
