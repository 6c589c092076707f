"""The HTML assembly: a page (title, blocks of text, tables and figures) as one self-contained file.

The file needs nothing outside itself: the CSS is inline, fonts are the system's (no font file),
plotly.js is inlined once, and the figures are JSON in the page, drawn by a few lines of script
when it loads. When every figure is drawn, ``<body data-plots="N">`` says how many (the browser
test waits for it). Text is HTML-escaped; JSON in script tags cannot close them.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from vbt import __version__


@dataclass
class Block:
    """One section of a page: a heading, then HTML (a table, a line of text), a figure and a
    note, each optional. ``wide`` blocks take the page's whole width, others half of it;
    ``tall`` ones two rows (the blocks after it fill the other half)."""

    title: str
    html: str = ""
    figure: dict[str, Any] | None = None
    note: str = ""
    wide: bool = False
    tall: bool = False


@dataclass
class Page:
    """kind: "backtest", "sweep", "research" (the page's ``data-kind``); title and subtitle: the
    header."""

    kind: str
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)


@cache
def plotly_js() -> tuple[str, str]:
    """(plotly.js source, its version), from the plotly package (read once per process)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    return get_plotlyjs(), get_plotlyjs_version()


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def table(
    headers: list[str],
    rows: list[list[Any]],
    *,
    numeric: set[int] | frozenset[int] = frozenset(),
    row_attrs: list[dict[str, Any]] | None = None,
    cls: str = "",
) -> str:
    """An HTML table; cells are escaped text (already formatted), ``numeric`` columns right
    aligned; ``row_attrs`` adds ``data-*`` attributes per row (the tests read them)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        attrs = "".join(
            f' data-{k}="{esc(v)}"' for k, v in (row_attrs[i] if row_attrs else {}).items()
        )
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if j in numeric else f"<td>{esc(c)}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr{attrs}>{cells}</tr>")
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render(page: Page) -> str:
    """The page as one HTML document (str)."""
    js, js_version = plotly_js()
    figures: list[dict[str, Any]] = []
    sections = []
    for block in page.blocks:
        parts = [f"<h2>{esc(block.title)}</h2>", block.html]
        if block.figure is not None:
            parts.append(f'<div class="plot" data-figure="{len(figures)}"></div>')
            figures.append(block.figure)
        if block.note:
            parts.append(f'<p class="note">{esc(block.note)}</p>')
        cls = "block" + (" wide" if block.wide else "") + (" tall" if block.tall else "")
        sections.append(f'<section class="{cls}">{"".join(parts)}</section>')
    payload = json.dumps(figures, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(page.title)}</title><style>{CSS}</style></head>"
        f'<body data-kind="{esc(page.kind)}" data-figures="{len(figures)}">'
        f'<header><h1>{esc(page.title)}</h1><p class="sub">{esc(page.subtitle)}</p></header>'
        f"<main>{''.join(sections)}</main>"
        f"<footer>vbt {esc(__version__)} · plots: plotly.js {esc(js_version)}, inlined; this "
        "file needs no network</footer>"
        f"<script>{js}</script>"
        f'<script type="application/json" id="vbt-figures">{payload}</script>'
        f"<script>{RENDER_JS}</script></body></html>\n"
    )


CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;
background:#f4f5f7}
header{padding:18px 28px 10px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:15px;margin:0 0 8px}
.sub{margin:0;color:#555}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));grid-auto-flow:row dense;
gap:14px;padding:14px 28px;align-items:start}
.block{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 14px;min-width:0}
.wide{grid-column:1/-1}
.tall{grid-row:span 2}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.section td{background:#f0f3f7;font-weight:600}
code{font-size:12px;color:#555}
.cols{columns:2 380px;column-gap:24px}
.cols table{break-inside:avoid;margin-bottom:10px}
.verdict{font-weight:600;padding:8px 10px;border-left:4px solid #d9822b;background:#fdf5ec;margin:0 0 8px}
.verdict.good{border-color:#2e8b57;background:#eef7f1}
.verdict.bad{border-color:#c0392b;background:#fbeeee}
ul.reasons{margin:0 0 10px;padding-left:20px}
.note{color:#666;font-size:12px;margin:6px 0 0}
footer{padding:10px 28px 18px;color:#777;font-size:12px}
"""

RENDER_JS = """
(function(){
  var specs=JSON.parse(document.getElementById('vbt-figures').textContent);
  var jobs=[];
  document.querySelectorAll('[data-figure]').forEach(function(div){
    var s=specs[+div.getAttribute('data-figure')];
    jobs.push(Plotly.newPlot(div,s.data,s.layout,{responsive:true,displaylogo:false}));
  });
  Promise.all(jobs).then(function(){document.body.setAttribute('data-plots',String(jobs.length));},
    function(e){console.error('vbt report: a figure failed to draw: '+e);});
})();
"""
