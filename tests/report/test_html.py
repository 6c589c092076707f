"""The written report: self-contained, within its size budget, and showing exactly the numbers of
metrics.json (backtest) and results.parquet (sweep); the same page from memory and from disk."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
from report_pages import number, parse

import vbt
from vbt.metrics import LOWER_IS_BETTER
from vbt.report import render_report, write_report
from vbt.report.downsample import DEFAULT_BUCKETS
from vbt.report.html import plotly_js

#: the issue's budget for a 1M-bar run, in bytes (6 MB read as 6,000,000, the stricter reading)
SIZE_BUDGET = 6_000_000


def assert_self_contained(text: str) -> None:
    """No external script, style, font, image or frame: no src/href other than a fragment or
    data URL, no <link>, no @import, url() or @font-face in the style; plotly.js inlined once.
    (The inlined plotly.js holds the addresses of map tile servers, used only by map traces,
    which the pages do not have; the browser test checks that no request is ever made.)"""
    page = parse(text)
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base"), tag
        for key in ("src", "href", "srcset", "poster", "data", "action", "xlink:href"):
            value = attrs.get(key)
            assert value is None or value.startswith(("#", "data:")), (tag, key, value)
    for style in page.styles:
        assert not re.search(r"@import|url\(|@font-face", style), style
    assert [a for a, _body in page.scripts if "src" in a] == []
    assert len(page.scripts) == 3  # plotly.js, the figures' JSON, the few lines that draw them
    js, _version = plotly_js()
    assert text.count(js) == 1 and page.scripts[0][1] == js


def test_backtest_page_is_self_contained_and_the_same_from_memory_and_disk(traded, tmp_path):
    traded.save(tmp_path / "run")
    from_disk = render_report(tmp_path / "run")
    assert render_report(traded) == from_disk
    assert_self_contained(from_disk)
    page = parse(from_disk)
    assert page.tags[0][0] == "html" and 'data-kind="backtest"' in from_disk
    assert len(page.figures) == int(re.search(r'data-figures="(\d+)"', from_disk)[1]) == 8


def test_the_numbers_shown_equal_metrics_json(traded, tmp_path):
    traded.save(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    metrics = saved["metrics"]
    out = write_report(tmp_path / "run", tmp_path / "report.html")
    page = parse(out.read_text())

    rows = page.table_rows("name")
    names = [a["data-name"] for a, _cells in rows]
    assert {"total_return", "sharpe_ratio", "max_drawdown_pct", "win_rate", "profit_factor",
            "total_trades", "raw_buy_signals", "removed_by_position"} <= set(names)  # fmt: skip
    for attrs, cells in rows:
        name = attrs["data-name"]
        expected = {"data_bars": saved["bars"], "valid_bars": saved["valid_bars"]}.get(
            name, metrics.get(name))  # fmt: skip
        assert json.loads(attrs["data-value"]) == expected, name
        # the visible value: in the metrics table the third cell, in the funnel the second
        shown = cells[2] if len(cells) == 4 else cells[1]
        value, decimals = number(shown)
        if expected is None:
            assert value is None, (name, shown)
            continue
        scale = 100.0 if shown.endswith("%") else 1.0
        assert abs(value - expected * scale) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (name, shown)

    for fact in (saved["strategy"], saved["symbol"], saved["model_path"], saved["start"][:16],
                 saved["end"][:16], saved["output_type"]):  # fmt: skip
        assert str(fact) in page.text, fact


def test_the_drawn_curves_are_the_saved_curves(traded, tmp_path):
    traded.save(tmp_path / "run")
    eq = pl.read_parquet(tmp_path / "run" / "equity.parquet")
    figures = parse(render_report(tmp_path / "run")).figures
    [equity_fig] = [f for f in figures if any(t.get("name") == "strategy" for t in f["data"])]
    curve = next(t for t in equity_fig["data"] if t["name"] == "strategy")
    # every drawn point is a saved (time, equity) point, and the extremes are drawn
    saved = dict(zip(eq["timestamp"].dt.epoch("ms").to_list(), eq["equity"].to_list(), strict=True))
    assert len(curve["x"]) == len(set(curve["x"])) and set(curve["x"]) <= set(saved)
    assert curve["y"] == pytest.approx([saved[t] for t in curve["x"]], rel=1e-6)
    assert max(curve["y"]) == pytest.approx(max(saved.values()), rel=1e-6)
    assert min(curve["y"]) == pytest.approx(min(saved.values()), rel=1e-6)
    trades = pl.read_parquet(tmp_path / "run" / "trades.parquet")
    [price_fig] = [f for f in figures if any(t.get("name") == "entry" for t in f["data"])]
    entries = next(t for t in price_fig["data"] if t["name"] == "entry")
    assert entries["x"] == trades["entry_time"].dt.epoch("ms").to_list()
    assert entries["y"] == pytest.approx(trades["entry_price"].to_list(), rel=1e-6)


def test_a_run_without_trades_has_a_page_that_says_why(untraded, tmp_path):
    text = render_report(untraded)
    assert_self_contained(text)
    page = parse(text)
    assert "no trades: confidence_threshold 0.95 removed" in page.text
    assert page.text.count("No trades.") == 3  # P&L, confidence, costs: nothing to draw


def test_a_million_bars_fit_the_size_budget(million, tmp_path):
    assert million.equity.height == 1_000_000 - 50 and million.metrics["total_trades"] > 1000
    out = million.report(tmp_path / "big.html")
    size = out.stat().st_size
    print(f"\n[report] 1M-bar backtest report: {size:,} bytes "
          f"(plotly.js {len(plotly_js()[0].encode()):,})")  # fmt: skip
    assert size <= SIZE_BUDGET
    page = parse(out.read_text())
    equity = million.equity["equity"].to_numpy()
    [equity_fig] = [f for f in page.figures if any(t.get("name") == "strategy" for t in f["data"])]
    curve = next(t for t in equity_fig["data"] if t["name"] == "strategy")
    assert len(curve["y"]) <= 2 * DEFAULT_BUCKETS + 2
    # peaks and troughs survive the downsampling
    assert max(curve["y"]) == pytest.approx(equity.max(), rel=1e-6)
    assert min(curve["y"]) == pytest.approx(equity.min(), rel=1e-6)
    [dd_fig] = [f for f in page.figures if any(t.get("name") == "drawdown" for t in f["data"])]
    dd = next(t for t in dd_fig["data"] if t["name"] == "drawdown")
    assert -min(dd["y"]) == pytest.approx(million.metrics["max_drawdown_pct"], rel=1e-6)
    assert len(dd_fig["layout"]["shapes"]) == 5  # the five worst drawdowns are marked
    # the trades drawn: the 1,000 largest by |net P&L|, in time order
    entries = next(t for f in page.figures for t in f["data"] if t.get("name") == "entry")
    largest = (million.trades.with_row_index("i")
               .sort(pl.col("net_pnl").abs(), descending=True, maintain_order=True)
               .head(1000).sort("i"))  # fmt: skip
    assert entries["x"] == largest["entry_time"].dt.epoch("ms").to_list()


def _cell_best(table: pl.DataFrame, x: str, y: str, by: str) -> dict:
    """By hand: the best value of ``by`` per (x, y) cell, over the other parameters."""
    best: dict = {}
    pick = min if by in LOWER_IS_BETTER else max
    for row in table.iter_rows(named=True):
        if row[by] is None:
            continue
        key = (row[x], row[y])
        best[key] = row[by] if key not in best else pick(best[key], row[by])
    return best


def test_sweep_page_shows_the_sweep(swept, tmp_path):
    swept.save(tmp_path / "sweep")
    by, x, y = "total_return_pct", "commission", "confidence_threshold"
    text = render_report(tmp_path / "sweep", by=by, params=(x, y), top=5)
    assert text == render_report(swept, by=by, params=(x, y), top=5)
    assert_self_contained(text)
    page = parse(text)
    table = pl.read_parquet(tmp_path / "sweep" / "results.parquet")
    # the top table: the best five combinations, in order
    combos = [int(a["data-combo"]) for a, _cells in page.table_rows("combo")]
    assert combos == swept.best(5, by)["combo"].to_list()
    # the heatmap: each cell the best over the other swept parameter (min_signal_separation)
    heat = next(t for f in page.figures for t in f["data"] if t["type"] == "heatmap")
    best = _cell_best(table, x, y, by)
    xs, ys = sorted(table[x].unique()), sorted(table[y].unique())
    assert heat["x"] == [vbt.summary.format_value(v) for v in xs]
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            assert heat["z"][i][j] == pytest.approx(best[(xv, yv)], rel=1e-6)
    # the distribution covers every combination
    hist = next(t for f in page.figures for t in f["data"] if t.get("name") == "combinations")
    assert sum(hist["y"]) == table[by].drop_nulls().len() == table.height


def test_sweep_page_options_are_checked(swept):
    with pytest.raises(vbt.ConfigError, match="not a metric"):
        render_report(swept, by="sharpe")
    with pytest.raises(vbt.ConfigError, match="give two different swept parameters"):
        render_report(swept, params=("commission", "slippage"))
    with pytest.raises(vbt.ConfigError, match="only for a sweep"):
        render_report(swept.rerun(0), by="total_return")


def test_default_heatmap_axes_are_the_first_two_that_vary(swept):
    page = parse(render_report(swept))
    heat = next(t for f in page.figures for t in f["data"] if t["type"] == "heatmap")
    assert len(heat["x"]) == 5 and len(heat["y"]) == 3  # confidence_threshold × commission
    assert np.isfinite([v for row in heat["z"] for v in row if v is not None]).all()


def test_a_sweep_of_one_parameter_draws_a_line(swept):
    """With one swept parameter there is no heatmap: the metric is drawn against it."""
    from vbt.report import SweepData

    t = swept.table.filter((pl.col("commission") == 0.0) & (pl.col("min_signal_separation") == 4))
    s = swept.summary(k=0)
    one = SweepData(table=t.drop("commission", "min_signal_separation"),
                    summary=s | {"grid": {"confidence_threshold": s["grid"]["confidence_threshold"]}})  # fmt: skip
    page = parse(render_report(one, by="total_return"))
    [curve] = [t for f in page.figures for t in f["data"] if t.get("name") == "total_return"]
    assert curve["x"] == ["0.4", "0.45", "0.5", "0.55", "0.6"]
    assert curve["y"] == pytest.approx(
        t.sort("confidence_threshold")["total_return"].to_list(), rel=1e-6
    )
    assert not any(t["type"] == "heatmap" for f in page.figures for t in f["data"])
