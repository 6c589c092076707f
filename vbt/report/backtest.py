"""The backtest page: equity against buy and hold, the metrics (the CLI's view model), the run,
the signal funnel, drawdowns, trades on the price, monthly returns, the P&L distribution,
results by confidence, and what costs took.

Every number is computed from the full-resolution equity curve and trades; only the drawn lines
are downsampled (``minmax_indices``), so peaks and troughs survive at any length.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from vbt.params import RUN_SETTINGS
from vbt.report import analysis as an
from vbt.report.blocks import downsampled_note, drawn_points, metrics_table
from vbt.report.downsample import DEFAULT_BUCKETS
from vbt.report.figures import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    bars,
    compact,
    figure,
    heatmap,
    histogram,
    line,
    ms,
)
from vbt.report.html import Block, Page, esc, table
from vbt.results.saved import BacktestData
from vbt.summary import (
    FUNNEL_STAGES,
    describe_run,
    format_unit,
    format_value,
    funnel,
    funnel_rows,
    no_trade_reason,
)

#: at most this many trades are drawn on the price (the largest by |net P&L|); all are counted
MAX_TRADE_MARKERS = 1000
#: months shown with their value written in the cell (more rows: colour only)
MAX_LABELLED_YEARS = 40
#: funnel stages drawn in the funnel chart (counts of signals and trades, not of bars)
SIGNAL_STAGES = tuple(name for name, _label in FUNNEL_STAGES if name != "bars")
#: run parameters listed in the run table, in order: every run setting (``vbt.params``)
RUN_PARAMS = RUN_SETTINGS


def build(data: BacktestData, *, buckets: int = DEFAULT_BUCKETS) -> Page:
    """The backtest page of ``data`` (a run in memory or read from its folder)."""
    run, metrics, trades, eq = data.run, data.metrics, data.trades, data.equity
    ts = eq["timestamp"].dt.epoch("ns").to_numpy()
    equity = eq["equity"].to_numpy().astype(np.float64)
    close = eq["close"].to_numpy().astype(np.float64)
    ic = float(metrics["initial_capital"])
    bh = an.buy_and_hold(close, ic) if close.size else close
    bh_metrics = an.buy_and_hold_metrics(close, run, metrics) if close.size else {}
    reason = no_trade_reason(metrics, run.get("params", {}))
    blocks = [
        _equity_block(ts, equity, bh, buckets),  # a plot first, then the numbers
        Block(
            "Metrics",
            metrics_table(metrics, bh_metrics, "buy and hold"),
            note="Buy and hold: the initial capital in the symbol from the first bar after "
            "the warm-up, no costs, through the same formulas.",
            tall=True,
        ),
        Block("Run", _run_table(run)),
        _signal_funnel(run, metrics, reason),
        _drawdown_block(ts, equity, buckets),
        _trades_block(ts, close, trades, buckets),
        _monthly_block(eq["timestamp"], equity, ic),
        _pnl_block(trades),
        _confidence_block(trades),
        _costs_block(trades, buckets),
    ]
    title = f"Backtest: {run.get('strategy')} on {run.get('symbol')} {run.get('timeframe')}"
    subtitle = f"{describe_run(run)} · {metrics.get('bars', 0):,} bars after warm-up"
    if reason:
        subtitle += f" · {reason}"
    return Page("backtest", title, subtitle, blocks)


def _run_table(run: dict[str, Any]) -> str:
    params = run.get("params", {})
    config = run.get("config", {})
    rows = [
        ("strategy", run.get("strategy")),
        ("model", run.get("model_path")),
        ("output type", run.get("output_type")),
        ("symbol", run.get("symbol")),
        ("timeframes", ", ".join(run.get("timeframes") or [str(run.get("timeframe"))])),
        (
            "span (bar open times, UTC)",
            f"{str(run.get('start'))[:16]} → {str(run.get('end'))[:16]}",
        ),
        ("data folder", config.get("data_dir")),
        ("bars (warm-up included)", run.get("bars")),
    ]
    rows += [(k, params[k]) for k in RUN_PARAMS if k in params]
    return table(["", ""], [[k, format_value(v)] for k, v in rows], numeric={1}, cls="kv")


def _signal_funnel(run: dict[str, Any], metrics: dict[str, Any], reason: str | None) -> Block:
    rows = funnel_rows(metrics, run)
    attrs = [{"name": r.name, "value": json.dumps(r.value)} for r in rows]
    html = (f'<p class="verdict">{esc(reason)}</p>' if reason else "") + table(
        ["stage", "count"], [[r.label, r.text] for r in rows], numeric={1}, row_attrs=attrs,
        cls="funnel",
    )  # fmt: skip
    stages = funnel(metrics, run)
    shown = [(label, n or 0) for name, label, n in stages if name in SIGNAL_STAGES]
    fig = figure(
        [bars([n for _l, n in shown][::-1], [label for label, _n in shown][::-1], "count", BLUE,
              orientation="h", text=[f"{n:,}" for _l, n in shown][::-1],
              textposition="auto", showlegend=False)],
        height=280, margin={"l": 8}, xaxis={"type": "linear"}, yaxis={"automargin": True},
    )  # fmt: skip
    return Block("Signal funnel", html, fig,
                 note="Raw signals are the model's BUY and SELL after the warm-up; each filter "
                      "removes some; the signals that pass execute at the next bar's open.")  # fmt: skip


def _equity_block(ts, equity, bh, buckets) -> Block:
    if not equity.size:
        return Block("Equity", note="No equity points.", wide=True)
    fig = figure(
        [line(*drawn_points(ts, bh, buckets), "buy and hold", GREY),
         line(*drawn_points(ts, equity, buckets), "strategy", BLUE)],
        height=360, xaxis={"type": "date"}, yaxis={"title": {"text": "equity"}},
    )  # fmt: skip
    return Block("Equity against buy and hold", figure=fig, wide=True,
                 note=downsampled_note(equity.size, buckets))  # fmt: skip


def _drawdown_block(ts, equity, buckets) -> Block:
    if not equity.size:
        return Block("Drawdown", note="No equity points.", wide=True)
    dd = an.drawdown(equity)
    worst = an.worst_drawdowns(equity, 5)
    last = ts.size - 1
    shapes, notes, rows = [], [], []
    for rank, p in enumerate(worst, 1):
        end = p.recovery if p.recovery is not None else last
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
                       "x0": int(ts[p.peak] // 10**6), "x1": int(ts[end] // 10**6),
                       "fillcolor": RED, "opacity": 0.10, "line": {"width": 0}})  # fmt: skip
        notes.append({"x": int(ts[p.trough] // 10**6), "y": -p.depth, "text": f"#{rank}",
                      "showarrow": True, "arrowhead": 0, "ay": 18, "font": {"size": 11}})  # fmt: skip
        rows.append([rank, _day(ts[p.peak]), _day(ts[p.trough]),
                     _day(ts[p.recovery]) if p.recovery is not None else "not recovered",
                     format_unit("fraction", p.depth), f"{p.bars:,}"])  # fmt: skip
    x, y = drawn_points(ts, -dd, buckets)
    fig = figure(
        [line(x, y, "drawdown", RED, fill="tozeroy", fillcolor="rgba(192,57,43,0.25)")],
        height=300, shapes=shapes, annotations=notes, showlegend=False,
        xaxis={"type": "date"}, yaxis={"tickformat": ".1%", "title": {"text": "below peak"}},
    )  # fmt: skip
    html = table(["#", "peak", "trough", "recovered", "depth", "bars"], rows,
                 numeric={0, 4, 5}, cls="drawdowns") if rows else ""  # fmt: skip
    note = "The five deepest drawdowns are shaded, peak to recovery." if rows else (
        "The equity never fell below a previous peak.")  # fmt: skip
    return Block("Drawdown", html, fig, note=note, wide=True)


def _trades_block(ts, close, trades: pl.DataFrame, buckets) -> Block:
    if not close.size:
        return Block("Trades on the price", note="No bars.", wide=True)
    traces = [line(*drawn_points(ts, close, buckets), "close", GREY)]
    shown = trades
    if trades.height > MAX_TRADE_MARKERS:
        size = np.abs(trades["net_pnl"].to_numpy())
        keep = np.argsort(-size, kind="stable")[:MAX_TRADE_MARKERS]
        shown = trades.with_row_index("_i").filter(pl.col("_i").is_in(keep)).drop("_i")
    if shown.height:
        long = shown["side"].to_numpy() == "LONG"
        pnl = shown["net_pnl"].to_numpy()
        custom = [[s, round(float(p), 2), r, round(float(c), 4)] for s, p, r, c in zip(
            shown["side"].to_list(), pnl, shown["exit_reason"].to_list(),
            shown["confidence"].fill_nan(None).fill_null(float("nan")).to_list(), strict=True)]  # fmt: skip
        hover = ("%{customdata[0]} %{text}<br>net P&L %{customdata[1]:,.2f}<br>exit: "
                 "%{customdata[2]}<br>confidence %{customdata[3]}<extra></extra>")  # fmt: skip
        entry_t = shown["entry_time"].dt.epoch("ns").to_numpy()
        exit_t = shown["exit_time"].dt.epoch("ns").to_numpy()
        traces.append({
            "type": "scatter", "mode": "markers", "name": "entry", "x": ms(entry_t),
            "y": compact(shown["entry_price"].to_numpy()), "customdata": custom,
            "text": ["entry"] * shown.height, "hovertemplate": hover,
            "marker": {"symbol": np.where(long, "triangle-up", "triangle-down").tolist(),
                       "color": BLUE, "size": 8},
        })  # fmt: skip
        traces.append({
            "type": "scatter", "mode": "markers", "name": "exit", "x": ms(exit_t),
            "y": compact(shown["exit_price"].to_numpy()), "customdata": custom,
            "text": ["exit"] * shown.height, "hovertemplate": hover,
            "marker": {"symbol": "x", "size": 7, "color": np.where(pnl > 0, GREEN, RED).tolist()},
        })  # fmt: skip
    fig = figure(traces, height=380, xaxis={"type": "date"}, yaxis={"title": {"text": "price"}})
    if trades.height > MAX_TRADE_MARKERS:
        note = (f"{trades.height:,} trades; the {MAX_TRADE_MARKERS:,} largest by |net P&L| are "
                "drawn (all are in trades.parquet). ")  # fmt: skip
    else:
        note = f"{trades.height:,} trades: ▲ long entry, ▼ short entry, × exit (green: a gain). "
    return Block("Trades on the price", figure=fig, wide=True,
                 note=note + downsampled_note(close.size, buckets))  # fmt: skip


def _monthly_block(timestamps: pl.Series, equity: np.ndarray, ic: float) -> Block:
    if not equity.size:
        return Block("Monthly returns", note="No equity points.")
    years, grid = an.monthly_returns(timestamps, equity, ic)
    labelled = len(years) <= MAX_LABELLED_YEARS
    text = [[format_unit("fraction", v) if np.isfinite(v) else "" for v in row] for row in grid]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    trace = heatmap(
        [compact(row) for row in grid], months, [str(y) for y in years], colorbar="return",
        text=text if labelled else None, diverging=True,
        hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
    )  # fmt: skip
    trace["colorbar"]["tickformat"] = ".1%"
    fig = figure([trace], height=min(1400, max(240, 120 + 26 * len(years))),
                 yaxis={"autorange": "reversed", "type": "category"})  # fmt: skip
    return Block("Monthly returns", figure=fig,
                 note="Each month's last equity over the previous month's (UTC months).")  # fmt: skip


def _pnl_block(trades: pl.DataFrame) -> Block:
    if not trades.height:
        return Block("P&L distribution", note="No trades.")
    centres, counts = histogram(trades["net_pnl"].to_numpy())
    fig = figure(
        [bars(compact(centres), counts.tolist(), "trades",
              np.where(centres > 0, GREEN, RED).tolist(),
              hovertemplate="net P&L ≈ %{x:,.2f}: %{y} trades<extra></extra>")],
        height=300, showlegend=False, bargap=0.05,
        xaxis={"title": {"text": "net P&L per trade"}}, yaxis={"title": {"text": "trades"}},
    )  # fmt: skip
    mean = format_unit("currency", trades["net_pnl"].mean())
    return Block("P&L distribution", figure=fig, note=f"{trades.height:,} trades; mean {mean}.")


def _confidence_block(trades: pl.DataFrame) -> Block:
    if not trades.height:
        return Block("Hit rate and mean P&L by confidence decile", note="No trades.")
    conf = trades["confidence"].fill_null(float("nan")).to_numpy()
    groups = an.by_confidence(conf, trades["net_pnl"].to_numpy())
    labels = [f"{g.low:.3f}–{g.high:.3f}" for g in groups]
    x = [str(i) for i in range(1, len(groups) + 1)]
    fig = figure(
        [bars(x, compact([g.hit_rate for g in groups]), "hit rate", BLUE, customdata=labels,
              hovertemplate="confidence %{customdata}: hit rate %{y:.1%}<extra></extra>"),
         line(x, compact([g.mean_pnl for g in groups]), "mean net P&L", ORANGE,
              mode="lines+markers", yaxis="y2", customdata=labels,
              hovertemplate="confidence %{customdata}: mean net P&L %{y:,.2f}<extra></extra>")],
        height=320, yaxis={"tickformat": ".0%", "title": {"text": "hit rate"}, "range": [0, 1]},
        yaxis2={"overlaying": "y", "side": "right", "title": {"text": "mean net P&L"},
                "showgrid": False, "zeroline": True},
        xaxis={"type": "category", "title": {"text": "confidence group, lowest to highest"}},
    )  # fmt: skip
    rows = [[i, lab, g.trades, format_unit("fraction", g.hit_rate),
             format_unit("currency", g.mean_pnl)]
            for i, lab, g in zip(x, labels, groups, strict=True)]  # fmt: skip
    html = table(["group", "confidence", "trades", "hit rate", "mean net P&L"], rows,
                 numeric={0, 2, 3, 4})  # fmt: skip
    return Block("Hit rate and mean P&L by confidence decile", html, fig,
                 note="Trades sorted by the confidence of the decision that opened them, in ten "
                      "groups of equal count.")  # fmt: skip


def _costs_block(trades: pl.DataFrame, buckets: int) -> Block:
    title = "Gross against net: what costs took"
    if not trades.height:
        return Block(title, note="No trades.")
    c = an.cost_breakdown(trades)
    rows = [["P&L before costs (at reference prices)", c["before_costs"]],
            ["− slippage", c["slippage"]], ["= gross P&L (at the fills)", c["gross"]],
            ["− commissions (entry and exit)", c["commissions"]], ["= net P&L", c["net"]]]  # fmt: skip
    html = table(["", "currency"], [[k, format_unit("currency", v)] for k, v in rows],
                 numeric={1}, cls="costs")  # fmt: skip
    t = trades.sort("exit_time", maintain_order=True)
    x = t["exit_time"].dt.epoch("ns").to_numpy()
    gross = t["gross_pnl"].to_numpy()
    series = [("before costs", GREY, gross + t["slippage_cost"].to_numpy()),
              ("gross (after slippage)", ORANGE, gross), ("net (after commissions)", BLUE,
              t["net_pnl"].to_numpy())]  # fmt: skip
    traces = [line(*drawn_points(x, np.cumsum(v), buckets), name, color, line_shape="hv")
              for name, color, v in series]  # fmt: skip
    fig = figure(traces, height=300, xaxis={"type": "date"},
                 yaxis={"title": {"text": "cumulative P&L"}})  # fmt: skip
    return Block(title, html, fig, note="Cumulative over the trades, at their exit times.")


def _day(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns"))[:16].replace("T", " ")
