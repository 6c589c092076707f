"""The pages in a real browser (backtest, sweep, 1M-bar backtest, held-out and walk-forward
research): headless Chromium (Debian's package; ``make test`` installs it when it is missing, so
this never skips) opens each page from disk with every request but the page's own blocked. The console shows no error, no request leaves the page, every figure is drawn (the
DOM holds its SVG and its traces), and a screenshot is written under ``out/report/``."""

from __future__ import annotations

import pytest
from report_browser import visit
from reportkit import SCREENS

PNG = b"\x89PNG\r\n\x1a\n"


def check_visit(html_file, name: str) -> None:
    seen = visit(html_file, SCREENS / f"{name}.png")
    assert seen.errors == [], seen.errors
    assert seen.outside_requests == [], seen.outside_requests
    assert seen.figures > 0 and seen.plots == seen.figures == len(seen.drawn)
    for i, fig in enumerate(seen.drawn):
        assert fig["plotly"] and fig["svg"] >= 1 and fig["traces"] >= 1, (i, fig)
        assert fig["paths"] >= 1, (i, fig)  # a line, a marker, a bar or a heatmap image
    shot = seen.screenshot
    assert shot is not None and shot.read_bytes()[:8] == PNG and shot.stat().st_size > 20_000


@pytest.fixture(scope="module")
def pages(tmp_path_factory, traded, swept, million, researched, walked):
    d = tmp_path_factory.mktemp("pages")
    return {
        "backtest": traded.report(d / "backtest.html"),
        "sweep": swept.report(d / "sweep.html", by="total_return_pct"),
        "backtest_1m_bars": million.report(d / "backtest_1m_bars.html"),
        "research": researched.write_report(d / "research.html"),
        "research_walk_forward": walked.write_report(d / "research_walk_forward.html"),
    }


@pytest.mark.parametrize(
    "name", ["backtest", "sweep", "backtest_1m_bars", "research", "research_walk_forward"]
)
def test_page_renders_in_chromium(pages, name):
    check_visit(pages[name], name)


def test_the_browser_check_catches_a_broken_page(traded, tmp_path):
    """The checks above can fail: a page that logs an error and loads an outside image is caught
    (the request is blocked and recorded, so nothing leaves the machine)."""
    text = traded.report(tmp_path / "ok.html").read_text()
    broken = text.replace(
        "</main>",
        '<img src="https://example.invalid/pixel.png"><script>console.error("boom")</script></main>',
    )
    (tmp_path / "broken.html").write_text(broken)
    seen = visit(tmp_path / "broken.html", tmp_path / "broken.png")
    assert "boom" in seen.errors
    assert seen.outside_requests == ["https://example.invalid/pixel.png"]
    assert seen.plots == seen.figures  # the figures themselves still draw
