"""``vbt sweep``: many decision, cost and sizing combinations over one inference."""

from __future__ import annotations

import argparse
from typing import Any

import vbt
from vbt.cli.options import config_from_args, heatmap_axes, write_report
from vbt.cli.views import print_sweep, progress_bar, show_progress
from vbt.errors import ConfigError
from vbt.metrics import check_metric
from vbt.paths import check_output_dir, check_output_file


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    grid = grid_from_args(args)
    check_metric(args.by, f"--by {args.by!r}")
    if args.out:
        check_output_dir(args.out, "--out")
    if args.checkpoint:
        check_output_file(args.checkpoint, "checkpoint")
    heatmap = heatmap_axes(args.heatmap)
    if heatmap and not set(heatmap) <= set(grid):  # known before the sweep runs
        raise ConfigError(f"--heatmap {args.heatmap}: swept: {', '.join(grid)}")
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    kwargs = dict(
        constraint=args.constraint, max_combos=args.max_combos, seed=args.seed,
        threads=args.threads, checkpoint=args.checkpoint, resume_from=args.resume_from,
        backend=args.backend, ray_address=args.ray_address,
    )  # fmt: skip
    if not show_progress(args.json):
        result = vbt.sweep(cfg, grid, **kwargs)
    else:
        with progress_bar("sweep", "combination-bars") as progress:
            result = vbt.sweep(cfg, grid, progress=progress, **kwargs)
    if args.out:
        result.save(args.out)
    report = None
    if args.report:
        report = write_report(result.report, args.report, by=args.by, params=heatmap, top=args.top)
    print_sweep(result, args.json, by=args.by, top=args.top, saved=args.out, report=report)
    return 0


def grid_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """--grid-file first, then each --grid NAME=VALUES (a later one replaces an earlier one)."""
    from vbt.strategy.yamlfile import read_yaml  # vbt.strategy: not needed by the parser

    grid: dict[str, Any] = {}
    if args.grid_file:
        loaded = read_yaml(args.grid_file, "grid file")  # bounded aliases, no duplicate keys
        if not isinstance(loaded, dict):
            raise ConfigError(f"{args.grid_file}: a grid file is a mapping {{parameter: values}}")
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
