"""The ``vbt`` command line: demo, backtest, train.

Each command prints a readable summary; ``--json`` prints machine-readable results instead.
Bad input exits with status 2 and a one-line error naming what is wrong (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
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
    b.add_argument("model_path")
    b.add_argument("--data-dir", default="data_fixtures")
    b.add_argument("--symbol", default="EURUSD")
    b.add_argument("--timeframe", default=None, help="base timeframe (model's first by default)")
    b.add_argument("--start-date")
    b.add_argument("--end-date")
    b.add_argument("--initial-capital", type=float, default=100_000.0)
    b.add_argument("--commission", type=float, default=0.001)
    b.add_argument("--slippage", type=float, default=0.0005)
    b.add_argument("--position-fraction", type=float, default=0.25)
    b.add_argument("--warmup-bars", type=int, default=50)
    b.add_argument("--confidence-threshold", type=float)
    b.add_argument("--min-signal-separation", type=float, help="hours")
    b.add_argument("--allow-short-from-flat", action="store_true", default=None)
    b.add_argument("--out", help="save metrics.json, trades.parquet, equity.parquet here")
    b.add_argument("--checkpoint", help="checkpoint file, rewritten at each chunk boundary")
    b.add_argument("--resume-from", help="resume from this checkpoint file")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_backtest)

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
    return p


def _console():
    from rich.console import Console

    con = Console(highlight=False)
    if not con.is_terminal:  # piped or captured: rich assumes 80 columns; tables need more
        con = Console(highlight=False, width=120)
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

    cfg = vbt.BacktestConfig(
        model_path=args.model_path, data_dir=args.data_dir, symbol=args.symbol,
        timeframe=args.timeframe, start_date=args.start_date, end_date=args.end_date,
        initial_capital=args.initial_capital, commission=args.commission,
        slippage=args.slippage, position_fraction=args.position_fraction,
        warmup_bars=args.warmup_bars, confidence_threshold=args.confidence_threshold,
        min_signal_separation=args.min_signal_separation,
        allow_short_from_flat=args.allow_short_from_flat,
    )  # fmt: skip
    result = _run_with_progress(
        vbt.BacktestEngine(cfg), args.json, args.checkpoint, args.resume_from
    )
    if args.out:
        result.save(args.out)
    _report(result, args.json, saved=args.out)
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("bars"),
        TimeElapsedColumn(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("scan", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return engine.run(progress=progress, checkpoint=checkpoint, resume_from=resume_from)


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
