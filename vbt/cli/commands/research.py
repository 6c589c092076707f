"""``vbt research``: train a strategy, backtest it out of sample and judge it against chance."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

import vbt
from vbt.cli.options import write_report
from vbt.cli.views import print_research, show_progress
from vbt.errors import ConfigError
from vbt.paths import check_output_file


def run(args: argparse.Namespace) -> int:
    config = settings_from_args(args.settings)
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    report = vbt.research.run(
        args.strategy, data_dir=args.data_dir, symbol=args.symbol, out_dir=args.out,
        walk_forward=args.walk_forward, purge_bars=args.purge_bars,
        embargo_bars=args.embargo_bars, start_date=args.start_date, end_date=args.end_date,
        seed=args.seed, epochs=args.epochs, simulations=args.simulations, config=config,
        progress=show_progress(args.json),
    )  # fmt: skip
    d = report.report
    page = write_report(report.write_report, args.report) if args.report else None
    print_research(d, args.json, page)
    return 0


def settings_from_args(settings: list[str]) -> dict[str, Any]:
    """The run settings of each --set NAME=VALUE (VALUE read as YAML)."""
    config: dict[str, Any] = {}
    for item in settings:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE, e.g. commission=0.0005")
        try:
            config[name.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: {value!r} is not a value") from None
    return config
