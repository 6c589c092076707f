"""``vbt batch``: the jobs of a batch spec, sharing bars, features and inference."""

from __future__ import annotations

import argparse

import vbt
from vbt.cli.views import print_batch, progress_bar, show_progress
from vbt.paths import check_output_dir


def run(args: argparse.Namespace) -> int:
    """0 when every job succeeded, else ``vbt.results.batch.EXIT_JOBS_FAILED``."""
    check_output_dir(args.out, "--out")
    kwargs = dict(jobs=args.jobs, retry_errors=args.retry_errors, backend=args.backend,
                  ray_address=args.ray_address)  # fmt: skip
    if not show_progress(args.json):
        result = vbt.batch(args.spec, args.out, **kwargs)
    else:
        with progress_bar("batch", "jobs") as progress:
            result = vbt.batch(args.spec, args.out, progress=progress, **kwargs)
    print_batch(result, args.json, top=args.top)
    return result.exit_status
