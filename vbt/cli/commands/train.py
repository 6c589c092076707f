"""``vbt train``: a v3 strategy trained into a model directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import vbt
from vbt.cli.views import print_training, show_progress


def run(args: argparse.Namespace) -> int:
    strategy = vbt.load_strategy(args.strategy)
    symbol = args.symbol or ", ".join(strategy.symbols)
    model_dir = vbt.train(
        strategy, data_dir=args.data_dir, symbol=args.symbol, out_dir=args.out_dir,
        device=args.device, seed=args.seed, epochs=args.epochs,
        progress=show_progress(args.json), start_date=args.start_date, end_date=args.end_date,
    )  # fmt: skip
    metrics = json.loads((Path(model_dir) / "metrics.json").read_text())
    print_training(strategy.name, symbol, model_dir, metrics, args.json)
    return 0
