"""The research cycle without the language model: validate, train, test out of sample, judge.

``research(strategy, ...)``:

1. **Validate** everything that needs no data (the strategy, its training settings and network,
   the data folder, the output folder, the run settings): ``ConfigError`` before any work.
2. **Train** (``vbt.train``) and **backtest only the held-out test split** that training and early
   stopping never saw (``vbt.research.split``), or, with ``walk_forward=K``, retrain per fold and
   stitch the K out-of-sample test blocks into one equity curve. The features of a test bar are
   computed over every bar before it (indicators are causal); the bars before the test period are
   the backtest's warm-up, so it neither decides nor marks equity there, and the metrics
   (annualisation and CAGR included) cover the test bars only.
3. **Assess**: the metrics; buy-and-hold and random entries over the same bars
   (``vbt.research.baselines``); the probabilistic and deflated Sharpe ratios
   (``vbt.research.stats``), the trials counted in the output folder's ledger
   (``vbt.batches.ledger``), this run included; a verdict (``vbt.research.verdict``).

The output folder keeps ``trials.jsonl``, ``models/<training>/`` (reused when a run trains the
same way again: training is deterministic) and ``runs/<run>/`` (``report.json``, and the
out-of-sample ``equity.parquet``, with buy-and-hold's equity beside the strategy's, and
``trades.parquet``); ``<run>`` is a hash of the strategy file's content and every setting,
``<training>`` of those that change the training. ``report.json`` also keeps what training
recorded about each model's fit (``training``: ``vbt.research.fit``) and, for a walk-forward,
each fold's out-of-sample metrics (``walk_forward.folds[i].metrics``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vbt.config import SUBJECT_FIELDS, BacktestConfig
from vbt.errors import ConfigError, DataError
from vbt.results.research import ResearchReport
from vbt.results.saved import write_research

#: run settings a research run takes (the rest it sets itself: dates, warm-up, annualisation)
RESEARCH_CONFIG_FIELDS = tuple(
    k for k in BacktestConfig.model_fields
    if k not in (*SUBJECT_FIELDS, "warmup_bars", "periods_per_year")
)  # fmt: skip
MAX_SIMULATIONS = 1_000_000
MODELS_DIR, RUNS_DIR = "models", "runs"


@dataclass(frozen=True, eq=False)
class _Segment:
    """The out-of-sample part of one backtest: the result (metrics over these bars only), the
    scan's trade records, the equity and position of its bars, and where they lie."""

    prepared: Any
    result: Any
    trades: np.ndarray
    equity: np.ndarray
    position: np.ndarray
    first: int
    span_ns: int
    periods_per_year: float


def research(
    strategy: str | Path | Any,
    *,
    data_dir: str | Path | None = None,
    symbol: str | None = None,
    out_dir: str | Path = "research",
    walk_forward: int | None = None,
    purge_bars: int | None = None,
    embargo_bars: int | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    seed: int = 0,
    epochs: int | None = None,
    simulations: int = 1000,
    config: dict[str, Any] | None = None,
    model_dir: str | Path | None = None,
    progress: bool = False,
) -> ResearchReport:
    """Research ``strategy`` (a v3 strategy YAML path or mapping): see the module docstring.

    Parameters
    ----------
    data_dir, symbol : the bars (default: ``VBT_DATA_DIR``; the strategy's symbol)
    out_dir : the folder of the trial ledger, models and reports (default "research")
    walk_forward : K folds (default: one held-out split, the strategy's ``data_split``)
    purge_bars : bars between a fold's training window and its test block (default: the label
        horizon: ``horizon`` for forward returns, the longest zigzag segment of the closes)
    embargo_bars : bars after each test block never trained on (default: 1 % of the bars)
    start_date, end_date : the bars used (default: the strategy's training_data range, else all)
    seed, epochs : training (see ``vbt.train``)
    simulations : random-entry Monte Carlo runs (default 1000)
    config : run settings for the backtests (costs, sizing, decisions, risk exits):
        ``RESEARCH_CONFIG_FIELDS``
    model_dir : research an already trained model (its ``metrics.json`` split is used; single
        split only) instead of training one

    Returns
    -------
    ResearchReport
    """
    import polars as pl

    import vbt
    from vbt.batches.ledger import TrialLedger
    from vbt.config import resolve_data_dir
    from vbt.model.trainer import training_range
    from vbt.model.validation import check_seed, check_training_setup
    from vbt.paths import check_output_dir
    from vbt.research.fit import fit_record

    t0 = time.perf_counter()
    strategy = vbt.load_strategy(strategy)
    check_training_setup(strategy, epochs=epochs, device="cpu")
    check_seed(seed)
    data_dir = str(Path(resolve_data_dir(data_dir)).resolve())
    out = check_output_dir(out_dir, "out_dir")
    symbol = _symbol(strategy, symbol)
    config = _check_config(config or {})
    _check_counts(walk_forward, purge_bars, embargo_bars, simulations, model_dir)
    start_date, end_date = training_range(strategy, start_date, end_date)
    settings = {
        "strategy_sha256": _strategy_digest(strategy), "symbol": symbol, "data_dir": data_dir,
        "start_date": _text(start_date), "end_date": _text(end_date), "walk_forward": walk_forward,
        "purge_bars": purge_bars, "embargo_bars": embargo_bars, "seed": seed, "epochs": epochs,
        "config": config, "model_dir": str(model_dir) if model_dir else None,
    }  # fmt: skip
    key = _digest(settings)
    # the models depend on everything but the run settings: a new cost is a new trial, not a
    # new training
    models_key = _digest({k: v for k, v in settings.items() if k != "config"})
    out.mkdir(parents=True, exist_ok=True)
    ctx = _Run(strategy, data_dir, symbol, out / MODELS_DIR / models_key, seed, epochs, config,
               progress)  # fmt: skip
    timings: dict[str, float] = {}
    if walk_forward:
        plan, segments, models = ctx.walk_forward(
            walk_forward, purge_bars, embargo_bars, start_date, end_date, timings
        )
    else:
        plan, segments, models = ctx.held_out(model_dir, start_date, end_date, timings)
    t = time.perf_counter()
    oos = _stitch(segments)
    ledger = TrialLedger(out)
    sharpe = oos["metrics"].get("sharpe_ratio")
    new_trial = ledger.add(key, "research", [sharpe], what={"strategy": strategy.name, **settings})
    assess, bh_equity = _assess(segments, oos, ledger.stats(), simulations, seed)
    oos["equity_frame"] = oos["equity_frame"].with_columns(pl.Series("buy_and_hold", bh_equity))
    timings["assess_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    first = segments[0]
    report = {
        "strategy": strategy.name,
        "strategy_file": strategy.source,
        "symbol": symbol,
        "timeframe": first.prepared.info.timeframe,
        "data_dir": data_dir,
        "mode": "walk_forward" if walk_forward else "held_out",
        **plan,
        "models": [str(m) for m in models],
        "training": [fit_record(m) for m in models],
        "out_of_sample": oos["period"],
        "metrics": oos["metrics"],
        **assess,
        "ledger": {
            "path": str(ledger.path),
            "run": key,
            "new_trial": new_trial,
            **ledger.stats().to_dict(),
        },  # fmt: skip
        "settings": {**settings, "simulations": simulations},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    run_dir = out / RUNS_DIR / key
    run_dir.mkdir(parents=True, exist_ok=True)
    report["saved"] = str(run_dir)
    write_research(run_dir, report, oos["equity_frame"], oos["trades_frame"])
    return ResearchReport(report=report, path=run_dir, equity=oos["equity_frame"],
                          trades=oos["trades_frame"])  # fmt: skip


# ---------------------------------------------------------------------------------- validation


def _symbol(strategy: Any, symbol: str | None) -> str:
    if symbol:
        return symbol
    if len(strategy.symbols) != 1:
        raise ConfigError(f"symbol: not given, and the strategy lists {', '.join(strategy.symbols)};"
                          " choose one (--symbol)")  # fmt: skip
    return strategy.symbols[0]


def _check_config(config: dict[str, Any]) -> dict[str, Any]:
    from vbt.config import BacktestConfig

    bad = [k for k in config if k not in RESEARCH_CONFIG_FIELDS]
    if bad:
        raise ConfigError(f"config.{bad[0]}: not a research run setting (research sets the dates, "
                          f"the warm-up and the annualisation); settings: "
                          f"{', '.join(RESEARCH_CONFIG_FIELDS)}")  # fmt: skip
    config = {k: v for k, v in config.items() if v is not None}
    BacktestConfig(model_path="<research>", **config)  # ConfigError naming the field
    return config


def _check_counts(k, purge, embargo, simulations, model_dir) -> None:
    for name, value, lo in (("walk_forward", k, 1), ("purge_bars", purge, 0),
                            ("embargo_bars", embargo, 0), ("simulations", simulations, 1)):  # fmt: skip
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ConfigError(f"{name} = {value!r}: must be an integer >= {lo}")
    if simulations is None or simulations > MAX_SIMULATIONS:
        raise ConfigError(f"simulations = {simulations!r}: must be in [1, {MAX_SIMULATIONS:,}]")
    if k is None and (purge is not None or embargo is not None):
        raise ConfigError("purge_bars / embargo_bars: only with walk_forward")
    if k is not None and model_dir is not None:
        raise ConfigError(
            "model_dir: a walk-forward trains a model per fold; give one or the other"
        )


def _strategy_digest(strategy: Any) -> str:
    if strategy.source is not None:
        return hashlib.sha256(Path(strategy.source).read_bytes()).hexdigest()
    return hashlib.sha256(
        json.dumps(strategy.raw, sort_keys=True, default=str).encode()
    ).hexdigest()


def _digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------- the runs


class _Run:
    """Training and out-of-sample backtests of one research run."""

    def __init__(self, strategy, data_dir, symbol, models, seed, epochs, config, progress):
        self.strategy, self.data_dir, self.symbol = strategy, data_dir, symbol
        self.models, self.seed, self.epochs = models, seed, epochs
        self.config, self.progress = config, progress

    def train(self, name: str, strategy: Any, start, end, exclude=None) -> Path:
        """Train into ``models/<run>/<name>/`` (reused when a previous run finished it)."""
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
        return _Segment(prepared, result, scan.trades, scan.equity[first:], scan.position[first:],
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
            purge, purge_source = label_horizon(self.strategy, bars.get_column("close").to_numpy())
        embargo = embargo if embargo is not None else math.ceil(0.01 * n)
        folds = walk_forward_folds(n, k, purge, embargo)
        fold_strategy = _without_test_split(self.strategy)
        t_train = t_test = 0.0
        segments, models, capital = [], [], None
        iso = [_iso(t) for t in ts]
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


def label_horizon(strategy: Any, close: np.ndarray) -> tuple[int, str]:
    """How far ahead a training label reads, in bars: ``horizon`` for forward-return labels; for
    zigzag labels the longest segment between two extremes of ``close`` (a bar's label is set by
    the extreme that ends its segment)."""
    from vbt.model.labels import zigzag_extremes
    from vbt.model.train_config import TrainParams

    params = TrainParams.from_strategy(strategy)
    if params.label_source == "forward_return":
        return int(params.horizon), f"label horizon: forward_return horizon {params.horizon}"
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


# ---------------------------------------------------------------------------------- assessment


def _stitch(segments: list[_Segment]) -> dict[str, Any]:
    """The out-of-sample curve: one segment as it is; several chained (each fold started with
    the previous one's final equity) with metrics over the whole curve."""
    from vbt.metrics import FUNNEL_METRICS, curve_metrics, infer_periods_per_year
    from vbt.results.saved import equity_frame, trades_frame

    equity = np.concatenate([s.equity for s in segments])
    position = np.concatenate([s.position for s in segments])
    trades = np.concatenate([s.trades for s in segments])
    first, last = segments[0], segments[-1]
    x0, xl = first.prepared.inputs, last.prepared.inputs
    ts = np.concatenate([s.prepared.inputs.ts_ns[s.first :] for s in segments])
    close = np.concatenate([s.prepared.inputs.close[s.first :] for s in segments])
    span = int(xl.ts_ns[-1] + last.prepared.params.bar_ns - x0.ts_ns[first.first])
    if len(segments) == 1:
        metrics = dict(first.result.metrics)
        ppy = first.periods_per_year
    else:
        ppy = infer_periods_per_year(equity.shape[0], span)
        ic = first.result.metrics["initial_capital"]
        metrics = curve_metrics(equity, position, trades, ic, span, equity.shape[0], ppy)
        for k in FUNNEL_METRICS:
            vals = [s.result.metrics[k] for s in segments if s.result.metrics[k] is not None]
            agg = max if k == "highest_confidence" else sum
            metrics[k] = agg(vals) if vals else None
    return {
        "metrics": metrics,
        "equity": equity,
        "position": position,
        "trades": trades,
        "periods_per_year": ppy,
        "span_ns": span,
        "period": {"start": _iso_ns(ts[0]), "end": _iso_ns(ts[-1]), "bars": int(ts.shape[0])},
        "equity_frame": equity_frame(ts, close, equity, position),
        "trades_frame": trades_frame(trades),
    }


def _assess(segments, oos, stats, simulations: int, seed: int) -> tuple[dict[str, Any], np.ndarray]:
    """The baselines, the Sharpe ratio statistics and the verdict (``report.json``'s entries),
    and buy-and-hold's equity over the out-of-sample bars (float64[bars])."""
    from vbt.metrics import finish_metrics, json_safe
    from vbt.research import baselines as bl
    from vbt.research.stats import dsr, expected_max_sharpe, psr, return_moments
    from vbt.research.verdict import verdict

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
    bh_acc = bh_scan.acc
    bh = {k: json_safe(v[0]) for k, v in metrics_of(bh_acc).items()
          if k in ("total_return_pct", "annualized_return", "sharpe_ratio", "max_drawdown_pct",
                   "volatility", "final_equity")}  # fmt: skip
    rng = np.random.default_rng(seed)
    holds = (trades["exit_idx"] - trades["entry_idx"]).astype(np.int64)
    sharpe = oos["metrics"].get("sharpe_ratio")
    if trades.shape[0]:
        raws = [bl.random_entry_signals(n, first, holds, trades["side"], rng)
                for _ in range(simulations)]  # fmt: skip
        cols = metrics_of(bl.run_signals(prepared, raws, bl.baseline_params(params, shorts)))
        random = bl.RandomEntryResult(simulations, seed, int(trades.shape[0]),
                                      cols["sharpe_ratio"], cols["total_return_pct"],
                                      bl.p_value(sharpe, cols["sharpe_ratio"]), sharpe)  # fmt: skip
        random_dict = random.to_dict()
    else:
        random = None
        random_dict = {"simulations": 0, "seed": seed, "trades": 0, "p_value": None,
                       "note": "no trade out of sample: nothing to place at random"}  # fmt: skip

    eq = oos["equity"]
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
    sharpe_stats = {
        "observations": mom.observations, "sharpe_per_bar": mom.sharpe,
        "skewness": mom.skewness, "kurtosis": mom.kurtosis, "psr": psr0, "dsr": dsr_value,
        "trials": stats.trials, "trial_sharpe_variance": stats.sharpe_variance,
        "variance_source": source,
        "expected_max_sharpe": sr0 * math.sqrt(ppy) if sr0 is not None else None,
    }  # fmt: skip
    judged = verdict(
        trades=int(trades.shape[0]), sharpe=sharpe, bh_sharpe=bh.get("sharpe_ratio"),
        p_random=random.p_value if random is not None else None, psr0=psr0, dsr=dsr_value,
        trials=stats.trials, simulations=simulations,
    )  # fmt: skip
    assessed = {"buy_and_hold": bh, "random_entry": random_dict,
                "sharpe_statistics": sharpe_stats, "verdict": judged}  # fmt: skip
    return assessed, np.asarray(bh_scan.equity[first:], dtype=np.float64)


def _iso(t: Any) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_ns(ns: int) -> str:
    return np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s") + "Z"
