"""``vbt report``: the HTML report of a saved backtest, sweep or research run."""

from __future__ import annotations

import argparse
from pathlib import Path

from vbt.cli.options import heatmap_axes


def run(args: argparse.Namespace) -> int:
    from vbt.report import write_report  # the renderer (plotly): not needed by the parser

    path = Path(args.out) if args.out else Path(args.result_dir) / "report.html"
    options = {"by": args.by, "params": heatmap_axes(args.heatmap), "top": args.top}
    written = write_report(args.result_dir, path, **options)
    print(f"report: {written}")
    return 0
