"""The research cycle without the language model: validate, train, test out of sample, judge.

``research(strategy, ...)``:

1. **Validate** everything that needs no data (the strategy, its training settings and network,
   the data folder, the output folder, the run settings): ``ConfigError`` before any work.
2. **Train** (``vbt.train``) and **backtest only the held-out test split** that training and early
   stopping never saw (``vbt.research.split``), or, with ``walk_forward=K``, retrain per fold
   (``vbt.research.runner``) and stitch the K out-of-sample test blocks into one equity curve
   (``vbt.research.segments``).
3. **Assess** (``vbt.research.assess``): the metrics; buy-and-hold and random entries over the
   same bars (``vbt.research.baselines``); the probabilistic and deflated Sharpe ratios
   (``vbt.research.stats``), the trials counted in the output folder's ledger
   (``vbt.research.ledger``), this run included; a verdict (``vbt.research.verdict``).

The output folder keeps ``trials.jsonl``, ``models/<training>/`` (reused when a run trains the
same way again: training is deterministic) and ``runs/<run>/`` (``report.json``, and the
out-of-sample ``equity.parquet``, with buy-and-hold's equity beside the strategy's, and
``trades.parquet``: ``vbt.results.saved``); ``<run>`` is a hash of the strategy file's content
and every setting, ``<training>`` of those that change the training. ``report.json`` also keeps
what training recorded about each model's fit (``training``: ``vbt.research.fit``) and, for a
walk-forward, each fold's out-of-sample metrics (``walk_forward.folds[i].metrics``).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from vbt.arguments import (
    DATE,
    FLAG,
    MAPPING,
    OPTIONAL_PATH,
    OPTIONAL_TEXT,
    PATH,
    SEED,
    STRATEGY,
    Arguments,
    count,
)
from vbt.config import SUBJECT_FIELDS, BacktestConfig
from vbt.errors import ConfigError
from vbt.research.assess import assess
from vbt.research.ledger import TrialLedger
from vbt.research.runner import Runner
from vbt.research.segments import stitch
from vbt.results.research import ResearchReport
from vbt.results.saved import MODELS_DIR, RUNS_DIR, write_research

#: run settings a research run takes (the rest it sets itself: dates, warm-up, annualisation)
RESEARCH_CONFIG_FIELDS = tuple(
    k for k in BacktestConfig.model_fields
    if k not in (*SUBJECT_FIELDS, "warmup_bars", "periods_per_year")
)  # fmt: skip
MAX_SIMULATIONS = 1_000_000
#: the arguments of ``research`` (the command line's flags go through them too; ``epochs`` is
#: checked by ``vbt.model.train_config.epochs_override``, in ``check_training_setup``)
ARGUMENTS = Arguments(
    "research", strategy=STRATEGY, data_dir=OPTIONAL_PATH, symbol=OPTIONAL_TEXT, out_dir=PATH,
    walk_forward=count(1, optional=True), purge_bars=count(0, optional=True),
    embargo_bars=count(0, optional=True), start_date=DATE, end_date=DATE, seed=SEED,
    simulations=count(1, MAX_SIMULATIONS), config=MAPPING, model_dir=OPTIONAL_PATH, progress=FLAG,
)  # fmt: skip


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

    Raises
    ------
    ConfigError
        A bad argument (``ARGUMENTS``: naming it), strategy, setting or folder, before any work.
    DataError
        The bars, or a damaged ``trials.jsonl`` in ``out_dir`` (naming the line).
    """
    import polars as pl

    import vbt
    from vbt.config import resolve_data_dir
    from vbt.model.trainer import training_range
    from vbt.model.validation import check_seed, check_training_setup
    from vbt.paths import check_output_dir
    from vbt.research.fit import fit_record

    ARGUMENTS.check(
        strategy=strategy, data_dir=data_dir, symbol=symbol, out_dir=out_dir,
        walk_forward=walk_forward, purge_bars=purge_bars, embargo_bars=embargo_bars,
        start_date=start_date, end_date=end_date, seed=seed, simulations=simulations,
        config=config, model_dir=model_dir, progress=progress,
    )  # fmt: skip
    t0 = time.perf_counter()
    strategy = vbt.load_strategy(strategy)
    check_training_setup(strategy, epochs=epochs, device="cpu")
    check_seed(seed)
    data_dir = str(Path(resolve_data_dir(data_dir)).resolve())
    out = check_output_dir(out_dir, "out_dir")
    TrialLedger(out).check()  # a damaged trials.jsonl is refused before any training
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
    ctx = Runner(strategy, data_dir, symbol, out / MODELS_DIR / models_key, seed, epochs, config,
                 progress)  # fmt: skip
    timings: dict[str, float] = {}
    if walk_forward:
        plan, segments, models = ctx.walk_forward(
            walk_forward, purge_bars, embargo_bars, start_date, end_date, timings
        )
    else:
        plan, segments, models = ctx.held_out(model_dir, start_date, end_date, timings)
    t = time.perf_counter()
    oos = stitch(segments)
    ledger = TrialLedger(out)
    sharpe = oos["metrics"].get("sharpe_ratio")
    new_trial = ledger.add(key, "research", [sharpe], what={"strategy": strategy.name, **settings})
    assessed, bh_equity = assess(segments, oos, ledger.stats(), simulations, seed)
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
        **assessed,
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
