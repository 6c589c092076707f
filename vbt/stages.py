"""The three stages every entry point composes: ``prepare`` → ``simulate`` → ``summarize``.

- ``prepare(config)`` does everything that depends on the model and the data: model, strategy,
  bars, FeatureFrame, inference, scan inputs, the resolved parameters and the run's description.
- ``simulate(prepared, params)`` runs the scan for one parameter set (the Numba kernel).
- ``summarize(prepared, scan, params=...)`` finishes the metrics and builds the ``BacktestResult``.

``BacktestEngine.run`` is the three in a row; ``vbt.sweep`` runs ``prepare`` once and the sweep
kernel over many parameter sets; batches and the worker call the same stages. The parameters a
sweep varies (``vbt.params``) never change the inference, so one ``PreparedRun`` serves them all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vbt.arguments import CALLBACK, CANCEL, FLAG, OPTIONAL_PATH, Arguments, instance_of
from vbt.config import BacktestConfig
from vbt.data import load_data, strategy_context, timeframe_ns
from vbt.enums import SIGNAL_OUTPUT_TYPES
from vbt.errors import DataError
from vbt.metrics import metrics_dict
from vbt.model.label_sources import CLASS_NAMES_BY_OUTPUT_TYPE
from vbt.params import DECISION_OVERRIDES, EXECUTION_FIELDS, DecisionParams
from vbt.results.backtest import BacktestResult
from vbt.results.info import RunInfo
from vbt.results.saved import equity_frame, trades_frame
from vbt.sim.funnel import signal_counts
from vbt.sim.runner import (
    Checkpoint,
    ProgressFn,
    ScanInputs,
    ScanParams,
    ScanResult,
    run_scan,
)

if TYPE_CHECKING:
    import polars as pl

    from vbt.features.frame import FeatureFrame
    from vbt.model.bundle import ModelBundle
    from vbt.signals.inference import SignalFrame
    from vbt.strategy import Strategy


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """Everything a run needs before the scan, computed once.

    config: the BacktestConfig; bundle: the loaded ModelBundle; strategy: its Strategy; bars:
    {timeframe: polars DataFrame}; frame: the FeatureFrame on the base bars; signals: the
    SignalFrame (model outputs, raw signal and confidence); inputs: the ScanInputs; params: the
    ScanParams resolved from the model's decisions and the config; info: the RunInfo; span_ns:
    first base bar open to last base bar close; prepare_s: seconds this took.
    """

    config: BacktestConfig
    bundle: ModelBundle
    strategy: Strategy
    bars: dict[str, pl.DataFrame]
    frame: FeatureFrame
    signals: SignalFrame
    inputs: ScanInputs
    params: ScanParams
    info: RunInfo
    span_ns: int
    prepare_s: float

    @cached_property
    def fingerprint(self) -> str:
        """Identity of the run for checkpoints: the scan inputs and the config, without the
        parameters (a checkpoint carries those itself) and the chunking. Computed on first use."""
        h = hashlib.sha256()
        x = self.inputs
        for a in (x.ts_ns, x.open, x.high, x.low, x.close, x.raw, x.confidence, x.value):
            h.update(np.ascontiguousarray(a).tobytes())
        skip = {"chunk_bars", "feature_cache_dir", *DECISION_OVERRIDES, *EXECUTION_FIELDS}
        h.update(self.config.model_dump_json(exclude=skip).encode())
        return h.hexdigest()[:32]

    def config_with(self, params: ScanParams) -> dict[str, Any]:
        """The config as a dict, with the parameters of ``params`` in place of its own."""
        values = params.values()
        keep = {k: values[k] for k in (*DECISION_OVERRIDES, *EXECUTION_FIELDS)}
        return {**self.config.model_dump(), **keep}


def resolve(config: BacktestConfig, bundle: Any) -> tuple[Any, list[str], ScanParams]:
    """(strategy, timeframes with the base first, ScanParams) of a config and a loaded model,
    without touching the data: the model's decisions with the config's overrides, the config's
    execution parameters, the base timeframe's bar duration. Bad values raise ``ConfigError``."""
    from vbt.strategy import load_strategy

    strategy = load_strategy(bundle.strategy_config)
    base = config.timeframe or strategy.base_timeframe  # the model's first training timeframe
    listed = config.timeframes or bundle.metadata.training_timeframes or []
    tfs = [tf for tf in listed if tf != base]
    decisions = DecisionParams.from_config(
        strategy.decisions, bundle.output_type, **config.decision_overrides()
    )
    params = ScanParams(
        decisions=decisions, execution=config.execution(), bar_ns=timeframe_ns(base)
    )
    return strategy, [base, *tfs], params


class Sources:
    """Where ``prepare`` gets each piece of a run: the model, the bars, the context data, the
    features and the model's outputs. This default computes each one every time; a batch passes
    ``vbt.batches.cache.SharedSources``, which keeps them and hands the same piece to every job that
    needs it. The wiring (what is computed from what) stays in ``prepare``.
    """

    def bundle(self, model_path: str) -> Any:
        """The loaded ``ModelBundle`` of a model directory."""
        from vbt.model.bundle import ModelBundle

        return ModelBundle.load(model_path)

    def bars(self, data_dir: str, symbol: str, timeframes: list[str], start_date, end_date):
        """{timeframe: validated bars in the date range} (``vbt.data.load_data``)."""
        return load_data(data_dir, symbol, timeframes, start_date=start_date, end_date=end_date)

    def context(self, strategy: Any, data_dir: str) -> dict[str, Any]:
        """The context frames the strategy's indicators read (``vbt.data.strategy_context``)."""
        return strategy_context(strategy, data_dir)

    def features(self, strategy: Any, bars: dict[str, Any], names: tuple[str, ...], *,
                 base_timeframe: str, cache_dir: str | None, context: dict[str, Any]) -> Any:  # fmt: skip
        """The FeatureFrame of ``bars`` (``vbt.features.frame.build_features``; ``bars`` come
        from ``bars`` above, already validated)."""
        from vbt.features.frame import build_features

        return build_features(
            strategy, bars, feature_names=names, base_timeframe=base_timeframe,
            cache_dir=cache_dir, validate=False, context=context,
        )  # fmt: skip

    def outputs(self, bundle: Any, frame: Any) -> np.ndarray:
        """The model's outputs for every bar of ``frame``: float32[n, k], NaN rows where the
        input is not valid (``vbt.signals.model_outputs``)."""
        from vbt.signals import model_outputs

        return model_outputs(bundle.model, frame.values, frame.valid, bundle.sequence_length)


#: the arguments of ``prepare`` and ``simulate`` (``BacktestEngine.run`` and ``vbt backtest``
#: go through them)
PREPARE_ARGUMENTS = Arguments(
    "prepare", config=instance_of(BacktestConfig, "a vbt.BacktestConfig"),
    sources=instance_of(Sources, "a vbt.stages.Sources", optional=True),
)  # fmt: skip
SIMULATE_ARGUMENTS = Arguments(
    "simulate", prepared=instance_of(PreparedRun, "a PreparedRun (vbt.prepare)"),
    params=instance_of(ScanParams, "a ScanParams", optional=True), progress=CALLBACK,
    cancel=CANCEL, checkpoint=OPTIONAL_PATH,
    resume_from=instance_of(Checkpoint, "a Checkpoint", optional=True, path=True), record=FLAG,
)  # fmt: skip


def prepare(
    config: BacktestConfig, *, bundle: Any = None, sources: Sources | None = None
) -> PreparedRun:
    """Load the model (unless ``bundle`` is given) and the bars, compute the features once, run the
    model over every bar, and resolve the parameters. ``sources`` (default: compute everything)
    supplies the model, bars, context, features and model outputs; a batch shares them across
    jobs. Raises ``DataError`` when the date range holds no more bars than the warm-up needs."""
    from vbt.signals import signals_from_outputs

    PREPARE_ARGUMENTS.check(config=config, sources=sources)
    src = sources if sources is not None else Sources()
    cfg = config.resolved()  # data folder and symbol filled in; paths checked before any work
    t0 = time.perf_counter()
    bundle = bundle if bundle is not None else src.bundle(cfg.model_path)
    strategy, tfs, params = resolve(cfg, bundle)
    decisions, base, bar_ns = params.decisions, tfs[0], params.bar_ns
    bars = src.bars(cfg.data_dir, cfg.symbol, tfs, cfg.start_date, cfg.end_date)
    params.execution.check_affordable(bars[base]["open"].to_numpy(), f"{cfg.symbol} {base}")
    frame = src.features(
        strategy, bars, bundle.feature_names, base_timeframe=base,
        cache_dir=cfg.feature_cache_dir, context=src.context(strategy, cfg.data_dir),
    )  # fmt: skip
    n = frame.n_bars
    if n <= cfg.warmup_bars:
        raise DataError(
            f"{cfg.symbol} {base}: only {n} bars between start_date={cfg.start_date} and "
            f"end_date={cfg.end_date}; warmup_bars={cfg.warmup_bars} needs more"
        )
    if not frame.valid[cfg.warmup_bars :].any():
        raise DataError(
            f"{cfg.symbol} {base}: no bar after the warm-up has every feature defined, so the "
            f"model could never decide ({n} bars; are the indicators' warm-ups longer than "
            "the date range?)"
        )
    outputs = src.outputs(bundle, frame)
    signals = signals_from_outputs(outputs, bundle.output_type, decisions.regression_threshold)
    base_bars = bars[base]
    value = signals.outputs[:, 0] if decisions.is_regression and decisions.trades else None
    inputs = ScanInputs(
        ts_ns=frame.ts_ns,
        open=base_bars.get_column("open").to_numpy(),
        close=base_bars.get_column("close").to_numpy(),
        raw=signals.raw,
        confidence=signals.confidence,
        value=value,
        high=base_bars.get_column("high").to_numpy(),
        low=base_bars.get_column("low").to_numpy(),
    )
    info = RunInfo(
        strategy=strategy.name,
        symbol=cfg.symbol,
        timeframe=base,
        timeframes=tuple(tfs),
        start=str(frame.timestamps[0]),
        end=str(frame.timestamps[-1]),
        model_path=str(cfg.model_path),
        output_type=bundle.output_type,
        bars=n,
        valid_bars=int(frame.valid.sum()),
        class_counts=class_counts(signals.outputs, bundle.output_type, cfg.warmup_bars),
    )
    return PreparedRun(
        config=cfg, bundle=bundle, strategy=strategy, bars=bars, frame=frame, signals=signals,
        inputs=inputs, params=params, info=info,
        span_ns=int(inputs.ts_ns[-1] + bar_ns - inputs.ts_ns[0]),
        prepare_s=time.perf_counter() - t0,
    )  # fmt: skip


def class_counts(outputs: np.ndarray, output_type: str, warmup_bars: int) -> dict[str, int]:
    """For a model that never trades (a regime or context classifier): bars from
    ``warmup_bars`` on with finite outputs, by the class of their largest output
    (``CLASS_NAMES_BY_OUTPUT_TYPE``; ``class_<k>`` for an output beyond the named ones). Empty
    for a trading model (``SIGNAL_OUTPUT_TYPES``), whose signal funnel says more: counting
    costs tens of milliseconds on a million bars."""
    if output_type in SIGNAL_OUTPUT_TYPES or outputs.ndim != 2 or outputs.shape[1] < 2:
        return {}
    out = outputs[warmup_bars:]
    out = out[np.isfinite(out).all(axis=1)]
    counts = np.bincount(out.argmax(axis=1), minlength=outputs.shape[1])
    names = CLASS_NAMES_BY_OUTPUT_TYPE.get(output_type, ())
    return {(names[k] if k < len(names) else f"class_{k}"): int(c) for k, c in enumerate(counts)}


def simulate(
    prepared: PreparedRun,
    params: ScanParams | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: Any = None,
    checkpoint: str | Path | None = None,
    resume_from: str | Path | None = None,
    record: bool = True,
) -> ScanResult:
    """Run the scan of ``prepared`` with ``params`` (default: its own). See ``run_scan`` for
    progress, cancellation, checkpoints and ``record``."""
    SIMULATE_ARGUMENTS.check(
        prepared=prepared, params=params, progress=progress, cancel=cancel,
        checkpoint=checkpoint, resume_from=resume_from, record=record,
    )  # fmt: skip
    needs_id = checkpoint is not None or resume_from is not None
    return run_scan(
        prepared.inputs, params or prepared.params, chunk_bars=prepared.config.chunk_bars,
        progress=progress, cancel=cancel, checkpoint=checkpoint, resume_from=resume_from,
        fingerprint=prepared.fingerprint if needs_id else "", record=record,
    )  # fmt: skip


def summarize(
    prepared: PreparedRun,
    scan: ScanResult,
    *,
    params: ScanParams | None = None,
) -> BacktestResult:
    """The BacktestResult of a finished scan: metrics from its accumulators, trades and equity
    frames (empty when the scan kept no per-bar outputs), and the RunInfo with the parameters."""
    params = params or prepared.params
    w = params.execution.warmup_bars
    x = prepared.inputs
    d = params.decisions
    signals = signal_counts(x, w, d.is_regression, d.confidence_threshold, d.regression_threshold)
    metrics = metrics_dict(
        scan.acc, params.execution.initial_capital, prepared.span_ns, len(x),
        prepared.config.periods_per_year, signals,
    )  # fmt: skip
    info = dataclasses.replace(
        prepared.info,
        params=params.values(),
        config=prepared.config_with(params),
        timings={"prepare_s": prepared.prepare_s},
    )
    if scan.equity.shape[0]:
        equity = equity_frame(x.ts_ns[w:], x.close[w:], scan.equity[w:], scan.position[w:])
    else:
        equity = equity_frame(x.ts_ns[:0], x.close[:0], scan.equity, scan.position)
    return BacktestResult(
        metrics=metrics, trades=trades_frame(scan.trades), equity=equity, info=info
    )


def backtest(
    prepared: PreparedRun,
    params: ScanParams | None = None,
    **simulate_kwargs: Any,
) -> BacktestResult:
    """``simulate`` then ``summarize``, timing each."""
    t0 = time.perf_counter()
    scan = simulate(prepared, params, **simulate_kwargs)
    t1 = time.perf_counter()
    result = summarize(prepared, scan, params=params)
    t2 = time.perf_counter()
    timings = {"prepare_s": prepared.prepare_s, "simulate_s": t1 - t0, "summarize_s": t2 - t1}
    return dataclasses.replace(result, info=dataclasses.replace(result.info, timings=timings))
