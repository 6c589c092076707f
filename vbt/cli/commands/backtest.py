"""``vbt backtest``: one backtest of a v3 model directory."""

from __future__ import annotations

import argparse

import vbt
from vbt.cli.options import config_from_args, write_report
from vbt.cli.process import own_process
from vbt.cli.views import print_backtest, run_with_progress
from vbt.paths import check_output_dir, check_output_file


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.out:
        check_output_dir(args.out, "--out")
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    cfg = cfg.resolved()  # the data folder and model symbol: checked before torch loads
    own_process(args)
    result = run_with_progress(
        vbt.BacktestEngine(cfg), args.json, args.checkpoint, args.resume_from
    )
    if args.out:
        result.save(args.out)
    report = write_report(result.report, args.report) if args.report else None
    print_backtest(result, args.json, saved=args.out, report=report)
    return 0
