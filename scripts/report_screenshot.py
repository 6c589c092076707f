"""A screenshot of a report page, as the README shows one: Debian's Chromium (headless, through
the browser test's helper) draws the page, and the top of it is saved as a small PNG.

.venv/bin/python scripts/report_screenshot.py out/demo/results/report.html docs/report-backtest.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "report"))

from report_browser import visit  # noqa: E402  (the one place that knows how to drive Chromium)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", type=Path, help="a report written by vbt")
    p.add_argument("png", type=Path, help="the screenshot to write")
    p.add_argument(
        "--height", type=int, default=1250, help="CSS pixels from the top (default: %(default)s)"
    )
    p.add_argument(
        "--scale", type=float, default=0.7, help="device pixel ratio (default: %(default)s)"
    )
    args = p.parse_args()
    seen = visit(args.html, args.png, height=args.height, scale=args.scale)
    if seen.errors or seen.plots != seen.figures:
        raise SystemExit(f"the page did not draw cleanly: {seen.errors or seen.plots}")
    print(f"{args.png}: {args.png.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
