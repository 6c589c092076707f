"""Parameter sweeps: many decision, cost and sizing combinations over one inference.

``vbt.sweep(config_or_prepared_run, grid={...})`` prepares the run once (model, data, features,
inference), then runs every combination in one parallel Numba kernel that keeps each
combination's running metrics and writes no per-bar logs. Every row equals a single backtest
with that row's parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl

from vbt.arguments import (
    CALLBACK,
    CANCEL,
    MAPPING,
    OPTIONAL_PATH,
    OPTIONAL_TEXT,
    SEED,
    Arguments,
    count,
    one_of,
)
from vbt.config import BacktestConfig
from vbt.errors import ConfigError
from vbt.metrics import LOWER_IS_BETTER, finish_metrics
from vbt.model.bundle import ModelBundle
from vbt.results.sweep import SweepResult
from vbt.sim.records import params_field
from vbt.sweeps.constraint import Constraint
from vbt.sweeps.grid import (
    INTEGER,
    OPTIONAL,
    SWEEPABLE,
    Grid,
    parse_constraint,
    parse_values,
    select,
)
from vbt.sweeps.runner import check_threads, run_sweep

__all__ = ["LOWER_IS_BETTER", "SWEEPABLE", "Grid", "SweepResult", "parse_constraint",
           "parse_values", "select", "sweep"]  # fmt: skip

#: most Numba threads a sweep may ask for (and at most NUMBA_NUM_THREADS)
MAX_THREADS = 1024
#: the arguments of ``sweep`` (``vbt sweep``'s flags go through them too); the constraint and
#: the grid have their own parsers (``parse_constraint``, ``Grid.parse``)
ARGUMENTS = Arguments(
    "sweep", grid=MAPPING, max_combos=count(1, optional=True), seed=SEED,
    threads=count(1, MAX_THREADS, optional=True), progress=CALLBACK, cancel=CANCEL,
    checkpoint=OPTIONAL_PATH, resume_from=OPTIONAL_PATH, backend=one_of("local", "ray"),
    ray_address=OPTIONAL_TEXT, task_combo_bars=count(1, optional=True),
)  # fmt: skip


def sweep(
    config_or_prepared: Any,
    grid: Mapping[str, Any],
    *,
    constraint: str | Callable[[Any], bool] | None = None,
    max_combos: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    cancel: Any = None,
    checkpoint: str | Path | None = None,
    resume_from: str | Path | None = None,
    backend: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    task_combo_bars: int | None = None,
) -> SweepResult:
    """Backtest every combination of ``grid`` over one inference.

    Parameters
    ----------
    config_or_prepared : BacktestConfig or PreparedRun
        The run to sweep; its parameters are the base that the grid varies.
    grid : dict {parameter: values}
        Sweepable parameters (``vbt.sweeps.SWEEPABLE``): confidence_threshold,
        min_signal_separation (hours), position_awareness, allow_short_from_flat,
        round_trip_cost and min_edge_multiplier (regression), position_fraction, commission,
        slippage, initial_capital. Values: a list, a ``range``, ``{"start", "stop", "step"}`` or
        a string ``"start:stop:step"`` (stop included) or ``"a,b,c"``. The risk exits
        (stop_loss, take_profit, trailing_stop, max_holding_bars) are sweepable too, None or
        "off" meaning off.
    constraint : str or callable, optional
        Keep only the combinations for which it holds: an expression such as
        ``"slippage <= commission / 2"`` (a bounded grammar, README "Sweeps" and
        ``vbt.sweeps.constraint``: at most 1,000 characters, 100 terms, 32 levels; ``**`` only
        with a written exponent in [-4, 4]; division by zero is a ``ConfigError`` naming the
        combination) or a callable given each combination (``p.commission``).
    max_combos : int, optional
        Run a random subset of that many combinations (seeded by ``seed``), drawn after the
        constraint.
    threads : int, optional
        Numba threads (default: the usable cores).
    progress, cancel, checkpoint, resume_from
        As for ``BacktestEngine.run``: progress(done, total) counts combination-bars; a cancelled
        sweep writes ``checkpoint`` and raises ``CancelledError``; ``resume_from`` continues it
        with identical results.
    backend : {"local", "ray"}, default "local"
        "ray" runs blocks of combinations as tasks on a Ray cluster (``ray_address``; None: the
        one Ray is initialised with, else a local one), with identical results; Ray retries a
        task whose worker dies, so checkpoints are for the local backend only.
    task_combo_bars : int, optional
        Ray only: the work per task, in combination-bars (default
        ``vbt.sweeps.ray_backend.DEFAULT_TASK_COMBO_BARS``, about a second on one core); raise it
        for grids of millions of combinations (README "Scale-out").

    Returns
    -------
    SweepResult
        ``.table`` (one row per combination), ``.best(k, by)``, ``.save(dir)``, ``.rerun(i)``.

    Raises
    ------
    ConfigError
        A bad argument (``ARGUMENTS``: seed, max_combos, threads, ..., naming it), an unknown
        parameter, a value out of range, an empty or repeated value, a parameter that does
        nothing for this model, or a bad constraint, naming the parameter and the value; all
        before the data is read (the arguments, the constraint's grammar and the grid's values
        before the model is loaded).

    Examples
    --------
    >>> res = vbt.sweep(cfg, {"confidence_threshold": "0.4:0.8:0.05", "commission": [5e-4, 1e-3]})
    >>> res.best(5, by="sharpe_ratio")
    """
    from vbt.sim.funnel import signal_counts  # these two are not loaded by `vbt --help`
    from vbt.stages import PreparedRun, prepare, resolve

    t0 = time.perf_counter()
    # every argument, the constraint and the grid are checked before the model or data is read
    ARGUMENTS.check(
        grid=grid, max_combos=max_combos, seed=seed, threads=threads, progress=progress,
        cancel=cancel, checkpoint=checkpoint, resume_from=resume_from, backend=backend,
        ray_address=ray_address, task_combo_bars=task_combo_bars,
    )  # fmt: skip
    if backend == "ray" and (checkpoint or resume_from):
        raise ConfigError("checkpoint/resume_from: the 'ray' backend retries failed tasks itself")
    if task_combo_bars is not None and backend != "ray":
        raise ConfigError(f"task_combo_bars = {task_combo_bars!r}: with backend='ray' only")
    if backend == "local":
        check_threads(threads)  # also at most NUMBA_NUM_THREADS
    keep = parse_constraint(constraint)
    g = Grid.parse(grid)  # the axes and their values; what depends on the model comes next
    if isinstance(config_or_prepared, PreparedRun):
        prepared, base = config_or_prepared, config_or_prepared.params
        bundle = None
    elif isinstance(config_or_prepared, BacktestConfig):
        prepared = None
        bundle = ModelBundle.load(config_or_prepared.model_path)
        base = resolve(config_or_prepared, bundle)[2]
    else:
        raise ConfigError("sweep: pass a vbt.BacktestConfig or a PreparedRun")
    # everything about the grid is checked before the data is read
    g.check_for(base)
    combos = select(g, base, keep, max_combos, seed)
    if prepared is None:
        prepared = prepare(config_or_prepared, bundle=bundle)
    t1 = time.perf_counter()
    if backend == "ray":
        from vbt.sweeps.ray_backend import run_sweep_ray

        size = {} if task_combo_bars is None else {"task_combo_bars": int(task_combo_bars)}
        accs = run_sweep_ray(
            prepared.inputs, base, g, combos, chunk_bars=prepared.config.chunk_bars,
            address=ray_address, progress=progress, cancel=cancel, **size,
        )  # fmt: skip
    else:
        accs = run_sweep(
            prepared.inputs, base, g, combos, chunk_bars=prepared.config.chunk_bars,
            threads=threads, progress=progress, cancel=cancel, checkpoint=checkpoint,
            resume_from=resume_from,
            fingerprint=prepared.fingerprint if checkpoint or resume_from else "",
        )  # fmt: skip
    t2 = time.perf_counter()
    values = g.settings(base, combos)  # the swept settings as columns, the others the base's
    cols = {k: values[k] for k in g.names}
    signals = signal_counts(
        prepared.inputs, base.execution.warmup_bars, base.decisions.is_regression,
        # as the kernel's records hold them (one builder)
        params_field("confidence_threshold", values), params_field("regression_threshold", values),
    )  # fmt: skip
    metrics = finish_metrics(
        accs, values["initial_capital"], prepared.span_ns, len(prepared.inputs),
        prepared.config.periods_per_year, signals,
    )  # fmt: skip
    params = {k: pl.Series(k, v, nan_to_null=k in OPTIONAL) for k, v in cols.items()}
    metrics = {k: pl.Series(k, v, nan_to_null=True) for k, v in metrics.items()}  # undefined
    for k in INTEGER & params.keys():  # a count (of bars), null when off
        params[k] = params[k].cast(pl.Int64)
    table = pl.DataFrame({"combo": combos, **params, **metrics})
    timings = {"prepare_s": t1 - t0, "sweep_s": t2 - t1, "summarize_s": time.perf_counter() - t2}
    settings = {
        "constraint": (
            keep.text if isinstance(keep, Constraint) else None if keep is None else repr(keep)
        ),  # fmt: skip
        "max_combos": max_combos,
        "seed": seed,
        "grid_size": g.size,
    }
    return SweepResult(table=table, grid=g, base=base, info=prepared.info, settings=settings,
                       timings=timings, prepared=prepared)  # fmt: skip
