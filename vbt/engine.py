"""BacktestConfig and BacktestEngine: data → features → signals → scan → metrics.

The engine owns the wiring and nothing else: each stage lives in its own module and no stage
reaches into another. The model is read once, through ``ModelBundle.load``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vbt.data import load_data, strategy_context, timeframe_ns
from vbt.errors import ConfigError, DataError
from vbt.metrics import compute_metrics
from vbt.results import BacktestResult, equity_frame, trades_frame


class BacktestConfig(BaseModel):
    """One backtest. Money in account currency; commission and slippage are fractions.

    Decision overrides (confidence_threshold, min_signal_separation in hours, position_awareness,
    allow_short_from_flat) default to the model's config.json ``decisions``. ``timeframes``
    defaults to the model's training timeframes; ``timeframe`` is the base (traded) timeframe and
    defaults to the model's base timeframe (the first of its training timeframes).
    ``periods_per_year`` overrides the annualisation inferred from the data. Invalid values raise
    ``ConfigError`` naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_path: str
    data_dir: str = "data_fixtures"
    symbol: str = "EURUSD"
    timeframe: str | None = None
    timeframes: list[str] | None = None
    start_date: str | None = None
    end_date: str | None = None
    initial_capital: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    commission: float = Field(0.001, ge=0, lt=1)
    slippage: float = Field(0.0005, ge=0, lt=1)
    position_fraction: float = Field(0.25, gt=0, le=1)
    warmup_bars: int = Field(50, ge=0)
    confidence_threshold: float | None = Field(None, ge=0, le=1)
    min_signal_separation: float | None = Field(None, ge=0)
    position_awareness: bool | None = None
    allow_short_from_flat: bool | None = None
    periods_per_year: float | None = Field(None, gt=0)
    chunk_bars: int = Field(65_536, ge=1)
    feature_cache_dir: str | None = None

    def __init__(self, **data: Any) -> None:
        for key in ("model_path", "data_dir", "feature_cache_dir"):
            if isinstance(data.get(key), Path):
                data[key] = str(data[key])
        for key in ("start_date", "end_date"):
            if data.get(key) is not None and not isinstance(data[key], str):
                data[key] = str(data[key])
        try:
            super().__init__(**data)
        except ValidationError as exc:
            parts = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
            raise ConfigError("BacktestConfig: " + "; ".join(parts)) from None
        if self.timeframe is not None:
            timeframe_ns(self.timeframe)
        for tf in self.timeframes or []:
            timeframe_ns(tf)


ProgressFn = Callable[[int, int], Any]


class BacktestEngine:
    """Runs one backtest described by a ``BacktestConfig``.

    ``run(progress=None, cancel=None, checkpoint=None, resume_from=None)``: progress(done, total)
    is called at each scan chunk boundary; ``cancel`` (callable → bool, or an Event) stops the run
    at the next boundary with ``CancelledError`` after writing ``checkpoint`` (a path) if given;
    ``checkpoint`` is also rewritten atomically after every chunk; ``resume_from`` (a checkpoint
    path) continues a run and gives results identical to an uninterrupted one.
    """

    def __init__(self, config: BacktestConfig):
        if not isinstance(config, BacktestConfig):
            raise ConfigError("BacktestEngine needs a vbt.BacktestConfig")
        self.config = config
        self._bundle = None

    @property
    def bundle(self):
        """The ModelBundle, loaded on first use and then kept (one torch.load per engine)."""
        if self._bundle is None:
            from vbt.model.bundle import ModelBundle

            self._bundle = ModelBundle.load(self.config.model_path)
        return self._bundle

    def run(
        self,
        progress: ProgressFn | None = None,
        cancel: Any = None,
        checkpoint: str | Path | None = None,
        resume_from: str | Path | None = None,
    ) -> BacktestResult:
        from vbt.decide.function import DecisionParams
        from vbt.features.frame import build_features
        from vbt.signals import infer_signals
        from vbt.sim.runner import ScanInputs, ScanParams, run_scan
        from vbt.strategy import load_strategy

        cfg = self.config
        t0 = time.perf_counter()
        bundle = self.bundle
        strategy = load_strategy(bundle.strategy_config)
        base = cfg.timeframe or strategy.base_timeframe  # the model's first training timeframe
        tfs = list(cfg.timeframes or bundle.metadata.training_timeframes or [base])
        if base not in tfs:
            tfs.insert(0, base)
        bars = load_data(cfg.data_dir, cfg.symbol, tfs, cfg.start_date, cfg.end_date)
        frame = build_features(
            strategy, bars, bundle.feature_names, base_timeframe=base,
            cache_dir=cfg.feature_cache_dir, validate=False,  # load_data validated the bars
            context=strategy_context(strategy, cfg.data_dir),
        )  # fmt: skip
        n = frame.n_bars
        if n <= cfg.warmup_bars:
            raise DataError(
                f"{cfg.symbol} {base}: only {n} bars between start_date={cfg.start_date} and "
                f"end_date={cfg.end_date}; warmup_bars={cfg.warmup_bars} needs more"
            )
        decisions = DecisionParams.from_config(
            strategy.decisions,
            bundle.output_type,
            confidence_threshold=cfg.confidence_threshold,
            min_signal_separation=cfg.min_signal_separation,
            position_awareness=cfg.position_awareness,
            allow_short_from_flat=cfg.allow_short_from_flat,
        )
        signals = infer_signals(bundle, frame, decisions.regression_threshold)
        base_bars = bars[base]
        inputs = ScanInputs(
            ts_ns=frame.ts_ns,
            open=base_bars.get_column("open").to_numpy(),
            close=base_bars.get_column("close").to_numpy(),
            raw=signals.raw,
            confidence=signals.confidence,
        )
        bar_ns = timeframe_ns(base)
        params = ScanParams.from_decisions(
            decisions,
            initial_cash=cfg.initial_capital,
            commission=cfg.commission,
            slippage=cfg.slippage,
            position_fraction=cfg.position_fraction,
            warmup_bars=cfg.warmup_bars,
            bar_ns=bar_ns,
        )
        scan = run_scan(
            inputs, params, chunk_bars=cfg.chunk_bars, progress=progress, cancel=cancel,
            checkpoint=checkpoint, resume_from=resume_from,
            fingerprint=_fingerprint(cfg, inputs),
        )  # fmt: skip
        w = cfg.warmup_bars
        span_ns = int(inputs.ts_ns[-1] + bar_ns - inputs.ts_ns[0])
        metrics = compute_metrics(
            scan.equity[w:], scan.position[w:], scan.trades, cfg.initial_capital, span_ns, n,
            cfg.periods_per_year,
        )  # fmt: skip
        info = {
            "strategy": strategy.name,
            "symbol": cfg.symbol,
            "timeframe": base,
            "timeframes": tfs,
            "start": str(frame.timestamps[0]),
            "end": str(frame.timestamps[-1]),
            "model_path": str(cfg.model_path),
            "output_type": bundle.output_type,
            "valid_bars": int(frame.valid.sum()),
            "execution_time_s": round(time.perf_counter() - t0, 4),
            "config": cfg.model_dump(),
            "decisions": dataclasses.asdict(decisions),
        }
        return BacktestResult(
            metrics=metrics,
            trades=trades_frame(scan.trades),
            equity=equity_frame(
                inputs.ts_ns[w:], inputs.close[w:], scan.equity[w:], scan.position[w:]
            ),
            info=info,
        )


def _fingerprint(cfg: BacktestConfig, inputs) -> str:
    """Identity of a run for checkpoints: the scan's inputs and the execution config."""
    h = hashlib.sha256()
    for a in (inputs.ts_ns, inputs.open, inputs.close, inputs.raw, inputs.confidence):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(cfg.model_dump_json(exclude={"chunk_bars", "feature_cache_dir"}).encode())
    return h.hexdigest()[:32]
