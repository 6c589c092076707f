"""The ``vbt`` command line: demo, backtest, sweep, train, worker.

Each command prints a readable summary; ``--json`` prints machine-readable results instead.
Bad input exits with status 2 and a one-line error naming what is wrong (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vbt.errors import VbtError

ROOT = Path(__file__).resolve().parent.parent
DEMO_STRATEGY = ROOT / "data_fixtures" / "strategies" / "rsi_bbands_mtf.yaml"
DEMO_DATA = ROOT / "data_fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except VbtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vbt", description="Vectorized backtests of PyTorch models")
    sub = p.add_subparsers(dest="command")

    d = sub.add_parser("demo", help="train a small model on the bundled data and backtest it")
    d.add_argument("--out", default="out/demo", help="where models and results go (out/demo)")
    d.add_argument("--json", action="store_true", help="print JSON results")
    d.set_defaults(func=_demo)

    b = sub.add_parser("backtest", help="backtest a v3 model directory")
    _add_run_options(b)
    b.add_argument("--out", help="save metrics.json, trades.parquet, equity.parquet here")
    b.add_argument("--checkpoint", help="checkpoint file, rewritten at each chunk boundary")
    b.add_argument("--resume-from", help="resume from this checkpoint file")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_backtest)

    w = sub.add_parser(
        "sweep",
        help="backtest many decision, cost and sizing combinations over one inference",
        description="Sweep parameters that act after the model (decision filters, regression "
        "threshold, sizing, costs) over one inference. Sweepable: " + ", ".join(_sweepable()),
    )
    _add_run_options(w)
    w.add_argument(
        "--grid", action="append", default=[], metavar="NAME=VALUES",
        help="a swept parameter: NAME=start:stop:step (stop included) or NAME=a,b,c; repeat",
    )  # fmt: skip
    w.add_argument(
        "--grid-file", help="YAML/JSON mapping {name: list | start:stop:step | {start, stop, step}}"
    )
    w.add_argument(
        "--constraint", help="keep combinations where this holds, e.g. 'slippage <= commission'"
    )
    w.add_argument("--max-combos", type=int, help="run a seeded random subset of this many")
    w.add_argument("--seed", type=int, default=0, help="seed of the --max-combos draw (default 0)")
    w.add_argument("--threads", type=int, help="Numba threads (default: the usable cores)")
    w.add_argument("--by", default="sharpe_ratio", help="metric to rank by (default sharpe_ratio)")
    w.add_argument("--top", type=int, default=10, help="rows to show (default 10)")
    w.add_argument("--out", help="save results.parquet and summary.json here")
    w.add_argument("--checkpoint", help="checkpoint file, rewritten at each chunk boundary")
    w.add_argument("--resume-from", help="resume from this checkpoint file")
    w.add_argument("--json", action="store_true", help="print the summary as JSON")
    w.set_defaults(func=_sweep)

    t = sub.add_parser("train", help="train a v3 strategy into a model directory")
    t.add_argument("strategy")
    t.add_argument("--data-dir", default="data_fixtures")
    t.add_argument(
        "--symbol", default=None, help="default: every symbol of the strategy (multi_symbol: all)"
    )
    t.add_argument("--out-dir", default="models")
    t.add_argument("--device", default="cpu")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_train)

    _add_worker_parser(sub)
    return p


def _add_worker_parser(sub) -> None:
    """``vbt worker``: the HTTP job service (vbt.worker)."""
    w = sub.add_parser(
        "worker", help="serve backtests and sweeps over HTTP (the older worker API)",
        description="HTTP worker. Binds to loopback by default; any other --host needs a bearer "
        "token in VBT_WORKER_TOKEN, which every endpoint but /health then requires.",
    )  # fmt: skip
    w.add_argument("--host", default="127.0.0.1")
    w.add_argument("--port", type=int, default=5003)
    w.add_argument("--models-root", required=True, help="model paths resolve inside this")
    w.add_argument("--data-root", required=True, help="data paths resolve inside this")
    w.add_argument("--state-dir", required=True, help="job store, checkpoints and results")
    w.add_argument("--max-concurrent", type=int, default=1, help="jobs at once (default 1)")
    w.add_argument("--max-queue", type=int, default=64, help="waiting jobs before 503 (64)")
    w.add_argument("--max-body-bytes", type=int, default=1 << 20, help="request body limit")
    w.add_argument(
        "--checkpoint-bars",
        type=int,
        default=65_536,
        help="bars per chunk: progress, cancel and checkpoints between chunks",
    )
    w.add_argument(
        "--chunk-delay",
        type=float,
        default=0.0,
        help="seconds to pause after each chunk (testing cancel and crash paths)",
    )
    w.set_defaults(func=_worker)


def _worker(args) -> int:
    from vbt.worker.server import serve
    from vbt.worker.settings import WorkerSettings

    settings = WorkerSettings.from_env(
        models_root=args.models_root, data_root=args.data_root, state_dir=args.state_dir,
        host=args.host, port=args.port, max_concurrent=args.max_concurrent,
        max_queue=args.max_queue, max_body_bytes=args.max_body_bytes,
        checkpoint_bars=args.checkpoint_bars, chunk_delay_s=args.chunk_delay,
    )  # fmt: skip
    serve(settings)
    return 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that say what to run (model, data, dates) and its parameters."""
    p.add_argument("model_path")
    p.add_argument("--data-dir", default="data_fixtures")
    p.add_argument("--symbol", default="EURUSD")
    p.add_argument("--timeframe", default=None, help="base timeframe (model's first by default)")
    p.add_argument("--start-date")
    p.add_argument("--end-date")
    p.add_argument("--initial-capital", type=float, default=100_000.0)
    p.add_argument("--commission", type=float, default=0.001)
    p.add_argument("--slippage", type=float, default=0.0005)
    p.add_argument("--position-fraction", type=float, default=0.25)
    p.add_argument("--warmup-bars", type=int, default=50)
    p.add_argument("--confidence-threshold", type=float)
    p.add_argument("--min-signal-separation", type=float, help="hours")
    p.add_argument("--allow-short-from-flat", action="store_true", default=None)


def _config_from_args(args):
    import vbt

    return vbt.BacktestConfig(
        model_path=args.model_path, data_dir=args.data_dir, symbol=args.symbol,
        timeframe=args.timeframe, start_date=args.start_date, end_date=args.end_date,
        initial_capital=args.initial_capital, commission=args.commission,
        slippage=args.slippage, position_fraction=args.position_fraction,
        warmup_bars=args.warmup_bars, confidence_threshold=args.confidence_threshold,
        min_signal_separation=args.min_signal_separation,
        allow_short_from_flat=args.allow_short_from_flat,
    )  # fmt: skip


def _sweepable() -> list[str]:
    from vbt.sweeps.grid import SWEEPABLE

    return list(SWEEPABLE)


def _grid_from_args(args) -> dict[str, Any]:
    """--grid-file first, then each --grid NAME=VALUES (a later one replaces an earlier one)."""
    from vbt.errors import ConfigError

    grid: dict[str, Any] = {}
    if args.grid_file:
        import yaml

        path = Path(args.grid_file)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the grid file ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a grid file is a mapping {{parameter: values}}")
        grid.update(loaded)
    for item in args.grid:
        name, eq, values = item.partition("=")
        if not eq or not name.strip():
            raise ConfigError(
                f"--grid {item!r}: expected NAME=VALUES, e.g. commission=0.0005,0.001"
            )
        grid[name.strip()] = values
    if not grid:
        raise ConfigError("sweep: give at least one --grid NAME=VALUES (or --grid-file)")
    return grid


def _console(stderr: bool = False):
    from rich.console import Console

    con = Console(highlight=False, stderr=stderr)
    if not con.is_terminal:  # piped or captured: rich assumes 80 columns; tables need more
        con = Console(highlight=False, stderr=stderr, width=120)
    return con


def _train(args) -> int:
    import vbt

    strategy = vbt.load_strategy(args.strategy)
    symbol = args.symbol or ", ".join(strategy.symbols)
    model_dir = vbt.train(
        strategy, data_dir=args.data_dir, symbol=args.symbol, out_dir=args.out_dir,
        device=args.device, seed=args.seed, epochs=args.epochs, progress=not args.json,
    )  # fmt: skip
    metrics = json.loads((Path(model_dir) / "metrics.json").read_text())
    if args.json:
        print(json.dumps({"model_path": str(model_dir), "training_metrics": metrics}, default=str))
    else:
        _console().print(f"[bold]trained[/] {strategy.name} on {symbol} → {model_dir}")
        shown = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
        _console().print(_kv_table("training", shown))
    return 0


def _backtest(args) -> int:
    import vbt

    cfg = _config_from_args(args)
    result = _run_with_progress(
        vbt.BacktestEngine(cfg), args.json, args.checkpoint, args.resume_from
    )
    if args.out:
        result.save(args.out)
    _report(result, args.json, saved=args.out)
    return 0


def _sweep(args) -> int:
    import vbt
    from vbt.metrics import METRIC_NAMES

    cfg = _config_from_args(args)
    grid = _grid_from_args(args)
    if args.by not in METRIC_NAMES:
        raise vbt.ConfigError(f"--by {args.by!r}: not a metric; metrics: {', '.join(METRIC_NAMES)}")
    kwargs = dict(
        constraint=args.constraint, max_combos=args.max_combos, seed=args.seed,
        threads=args.threads, checkpoint=args.checkpoint, resume_from=args.resume_from,
    )  # fmt: skip
    if args.json:
        result = vbt.sweep(cfg, grid, **kwargs)
    else:
        with _progress_bar("sweep", "combination-bars") as progress:
            result = vbt.sweep(cfg, grid, progress=progress, **kwargs)
    if args.out:
        result.save(args.out)
    if args.json:
        print(json.dumps(result.summary(args.top, args.by), default=str))
        return 0
    con = _console()
    i, t = result.info, result.timings
    con.print(
        f"[bold]{i.strategy}[/] {i.symbol} {i.timeframe} {i.start[:16]} → {i.end[:16]} UTC: "
        f"{result.table.height:,} combinations of {result.settings['grid_size']:,} "
        f"({t['prepare_s']:.2f} s to prepare, {t['sweep_s']:.2f} s to sweep)"
    )
    best = result.best(args.top, args.by)
    shown = ["combo", *result.grid.names, args.by]
    shown += [c for c in ("total_return_pct", "max_drawdown_pct", "total_trades", "win_rate")
              if c not in shown]  # fmt: skip
    from rich.table import Table

    table = Table(title=f"best {best.height} by {args.by}")
    for c in shown:
        table.add_column(c, justify="right", no_wrap=True)
    for row in best.iter_rows(named=True):
        table.add_row(*[_fmt(row[c]) for c in shown])
    con.print(table)
    if args.out:
        con.print(f"results saved to {args.out}/ (results.parquet, summary.json)")
    return 0


def _demo(args) -> int:
    import vbt

    out = Path(args.out)
    con = _console()
    if not args.json:
        con.print(
            f"[bold]vbt demo[/]: train {DEMO_STRATEGY.name} on the bundled EURUSD data, then backtest"
        )
    model_dir = vbt.train(
        DEMO_STRATEGY, data_dir=DEMO_DATA, symbol="EURUSD", out_dir=out / "models",
        seed=0, progress=not args.json,
    )  # fmt: skip
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DEMO_DATA), symbol="EURUSD")
    result = _run_with_progress(vbt.BacktestEngine(cfg), args.json, None, None)
    result.save(out / "results")
    _report(result, args.json, saved=out / "results")
    if not args.json:
        con.print(
            "note: the bundled bars are synthetic (a near-random walk), so the model has little to"
            " learn and costs (commission + slippage on entry and exit) dominate the result."
        )
    return 0


def _run_with_progress(engine, quiet: bool, checkpoint, resume_from):
    if quiet:
        return engine.run(checkpoint=checkpoint, resume_from=resume_from)
    with _progress_bar("backtest", "bars") as progress:
        return engine.run(progress=progress, checkpoint=checkpoint, resume_from=resume_from)


@contextmanager
def _progress_bar(label: str, unit: str):
    """A transient rich progress bar, shown from the first report on (so that an error raised
    before any work prints nothing else); yields progress(done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), transient=True, console=_console(stderr=True),
    )  # fmt: skip
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if task is not None:
            bar.stop()


def _report(result, as_json: bool, saved: Any = None) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), default=str))
        return
    from rich.table import Table

    con = _console()
    i = result.info
    con.print(
        f"[bold]{i.strategy}[/] {i.symbol} {i.timeframe} ({i.output_type}) "
        f"{i.start[:16]} → {i.end[:16]} UTC  ({result.equity.height:,} bars after warm-up, "
        f"{i.execution_time_s:.2f} s)"
    )
    con.print(_kv_table("metrics", result.metrics))
    t = result.trades
    if t.height:
        table = Table(title=f"trades (first 10 of {t.height}; all in trades.parquet)")
        cols = {
            "side": str, "entry_time": _time, "exit_time": _time, "qty": "{:,.0f}".format,
            "entry_price": "{:.5f}".format, "exit_price": "{:.5f}".format,
            "net_pnl": "{:,.2f}".format, "return_pct": "{:.3f}".format, "exit_reason": str,
        }  # fmt: skip
        for c in cols:
            table.add_column(c, justify="right", no_wrap=True)
        for row in t.head(10).iter_rows(named=True):
            table.add_row(*[fmt(row[c]) for c, fmt in cols.items()])
        con.print(table)
    else:
        con.print("no trades")
    if saved:
        con.print(f"results saved to {saved}/ (metrics.json, trades.parquet, equity.parquet)")


def _kv_table(title: str, values: dict[str, Any]):
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("name")
    table.add_column("value", justify="right")
    for k, v in values.items():
        table.add_row(k, _fmt(v))
    return table


def _time(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


if __name__ == "__main__":
    raise SystemExit(main())
