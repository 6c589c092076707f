"""``vbt demo``: generate synthetic bars, train the demo strategy on them, backtest the model."""

from __future__ import annotations

import argparse

import vbt
from vbt.cli.views import console, print_backtest, run_with_progress, show_progress
from vbt.model.train_config import epochs_override
from vbt.paths import check_output_dir


def run(args: argparse.Namespace) -> int:
    from vbt.demo import DEMO_SYMBOL, demo_strategy_path, write_demo_data

    out = check_output_dir(args.out, "--out")
    strategy = vbt.load_strategy(demo_strategy_path())
    if args.epochs is not None:
        epochs_override(args.epochs)  # a bad --epochs: refused before any output
    con = console()
    if not args.json:
        con.print(
            f"[bold]vbt demo[/]: generate synthetic {DEMO_SYMBOL} bars, train {strategy.name} on "
            "them, then backtest"
        )
    data = write_demo_data(out / "data")
    model_dir = vbt.train(
        strategy, data_dir=data, symbol=DEMO_SYMBOL, out_dir=out / "models", seed=0,
        epochs=args.epochs, progress=show_progress(args.json),
    )  # fmt: skip
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data))
    result = run_with_progress(vbt.BacktestEngine(cfg), args.json, None, None)
    result.save(out / "results")
    report = result.report(out / "results" / "report.html")
    # the report's path is the demo's last line (after the note)
    print_backtest(result, args.json, saved=out / "results", report=report if args.json else None)
    if not args.json:
        con.print(
            "note: the demo bars are synthetic (a near-random walk), so the model has little to"
            " learn and costs (commission + slippage on entry and exit) dominate the result."
        )
        con.print(f"report: {report}")
    return 0
