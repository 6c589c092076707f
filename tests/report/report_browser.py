"""Open a report in headless Chromium (Debian's package, driven by Playwright) and say what it
showed: console errors, uncaught exceptions, every network request, the plots drawn, a screenshot.

Chromium is found at ``CHROMIUM`` (``/usr/bin/chromium``; ``make test`` installs it when missing).
It starts with the flags a closed network needs (no background networking, no component
updates) and a fresh profile; every request other than the page's own file is aborted and
recorded, so a page that reaches outside itself is caught even offline.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("VBT_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class PageVisit:
    """What a visit saw: console messages of type error, uncaught page errors, requests other
    than the page itself, the page's ``data-figures`` and ``data-plots`` (figures declared and
    drawn), per-figure counts of drawn plot elements, and the screenshot's path."""

    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    figures: int = 0
    plots: int = 0
    drawn: list[dict] = field(default_factory=list)
    screenshot: Path | None = None


#: per figure div: the plotly root, its SVG, and the drawn trace elements of every kind used
COUNT_JS = """() => Array.from(document.querySelectorAll('[data-figure]')).map(d => ({
  plotly: d.classList.contains('js-plotly-plot'),
  svg: d.querySelectorAll('svg.main-svg').length,
  traces: d.querySelectorAll('.scatterlayer .trace, .barlayer .trace, .heatmaplayer .hm').length,
  paths: d.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.point, .barlayer path, .heatmaplayer image').length,
}))"""


def visit(
    html_file: Path,
    screenshot: Path,
    *,
    width: int = 1400,
    height: int | None = None,
    scale: float = 1.0,
    timeout_ms: int = 60_000,
) -> PageVisit:
    """Load ``html_file`` from disk, wait until every figure is drawn (``data-plots`` set), count
    what was drawn and save a screenshot to ``screenshot``: the whole page, or its top ``height``
    CSS pixels; ``scale`` is the device pixel ratio (0.6 gives a smaller image)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's chromium (make test does: scripts/system_deps.sh)"
        )
    out = PageVisit()
    url = Path(html_file).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=FLAGS, headless=True,
            viewport={"width": width, "height": height or 900}, device_scale_factor=scale,
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.on("console", lambda m: out.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: out.errors.append(f"uncaught: {e}"))

            def route(r):
                if r.request.url == url:
                    r.continue_()
                else:
                    out.outside_requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load", timeout=timeout_ms)
            out.figures = int(page.get_attribute("body", "data-figures") or 0)
            page.wait_for_selector("body[data-plots]", timeout=timeout_ms)
            out.plots = int(page.get_attribute("body", "data-plots") or 0)
            out.drawn = page.evaluate(COUNT_JS)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=height is None)
            out.screenshot = screenshot
        finally:
            browser.close()
    return out
