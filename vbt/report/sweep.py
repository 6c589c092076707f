"""The sweep page: a heatmap of one metric over two swept parameters, the top-k table, and the
distribution of the metric over every combination."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from vbt.errors import ConfigError
from vbt.metrics import LOWER_IS_BETTER, check_metric, rank
from vbt.report.figures import BLUE, bars, compact, figure, heatmap, histogram, line
from vbt.report.html import Block, Page, table
from vbt.results.saved import SweepData
from vbt.summary import describe_run, format_cell, format_metric, format_value, sweep_columns


def build(
    data: SweepData,
    *,
    by: str = "sharpe_ratio",
    params: tuple[str, str] | list[str] | None = None,
    top: int = 10,
) -> Page:
    """The sweep page of ``data``, ranking and colouring by metric ``by``, the heatmap over the
    swept parameters ``params`` (x, then y; default: the first two swept parameters with more
    than one value). Raises ``ConfigError`` for an unknown metric or a parameter not swept."""
    check_metric(by, f"--by {by!r}")
    names = data.grid_names
    axes = _axes(data, names, params)
    t, s = data.table, data.summary
    blocks = [
        Block("Run and grid", _grid_table(s)),
        _heatmap_block(t, axes, names, by),
        _top_block(t, names, by, top),
        _distribution_block(t, by),
    ]
    run = s.get("run", {})
    title = f"Sweep: {run.get('strategy')} on {run.get('symbol')} {run.get('timeframe')}"
    subtitle = (f"{describe_run(run)} · {t.height:,} combinations of "
                f"{s.get('grid_size', t.height):,} · by {by}")  # fmt: skip
    return Page("sweep", title, subtitle, blocks)


def _axes(data: SweepData, names: list[str], params) -> list[str]:
    if params:
        params = list(params)
        bad = [p for p in params if p not in names]
        if bad or len(params) != 2 or params[0] == params[1]:
            raise ConfigError(
                f"heatmap parameters {', '.join(map(str, params))}: give two different swept "
                f"parameters; swept: {', '.join(names)}"
            )
        return params
    varied = [n for n in names if data.table[n].n_unique() > 1]
    return (varied + [n for n in names if n not in varied])[:2]


def _grid_table(s: dict[str, Any]) -> str:
    rows = [[name, ", ".join(format_value(v) for v in values)]
            for name, values in s.get("grid", {}).items()]  # fmt: skip
    rows += [["constraint", format_value(s.get("constraint"))],
             ["max_combos (seed)", f"{format_value(s.get('max_combos'))} ({s.get('seed')})"],
             ["combinations run", format_value(s.get("combinations"))]]  # fmt: skip
    base = s.get("base_params", {})
    rows += [[f"base {k}", format_value(v)] for k, v in base.items() if k not in s.get("grid", {})]
    return table(["parameter", "values"], rows, cls="kv")


def _label(v: Any) -> str:
    return "off" if v is None else format_value(v)


def _heatmap_block(t: pl.DataFrame, axes: list[str], names: list[str], by: str) -> Block:
    title = f"{by} over {' and '.join(axes)}"
    best = pl.col(by).min() if by in LOWER_IS_BETTER else pl.col(by).max()
    others = [n for n in names if n not in axes]
    note = (f"Each cell: the best {by} over the other swept parameters ({', '.join(others)})."
            if others else f"Each cell: one combination's {by}.")  # fmt: skip
    if len(axes) == 1:
        g = t.group_by(axes[0]).agg(best.alias("v")).sort(axes[0], nulls_last=False)
        xs = [_label(v) for v in g[axes[0]].to_list()]
        fig = figure([line(xs, compact(g["v"].cast(pl.Float64).to_numpy()), by, BLUE,
                           mode="lines+markers")],
                     height=340, xaxis={"type": "category", "title": {"text": axes[0]}},
                     yaxis={"title": {"text": by}})  # fmt: skip
        return Block(f"{by} over {axes[0]}", figure=fig, note=note, wide=True)
    x, y = axes
    g = t.group_by([x, y]).agg(best.alias("v"))
    xs = t[x].unique().sort(nulls_last=False).to_list()
    ys = t[y].unique().sort(nulls_last=False).to_list()
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    z = np.full((len(ys), len(xs)), np.nan)
    for a, b, v in g.iter_rows():
        z[yi[b], xi[a]] = np.nan if v is None else v
    text = None
    if z.size <= 400:
        text = [[format_metric(by, v) if np.isfinite(v) else "" for v in row] for row in z]
    trace = heatmap([compact(row) for row in z], [_label(v) for v in xs], [_label(v) for v in ys],
                    colorbar=by, text=text, better_low=by in LOWER_IS_BETTER,
                    hovertemplate=f"{x} %{{x}}, {y} %{{y}}: %{{z}}<extra></extra>")  # fmt: skip
    fig = figure([trace], height=min(900, 160 + 34 * len(ys)),
                 xaxis={"type": "category", "title": {"text": x}},
                 yaxis={"type": "category", "title": {"text": y}})  # fmt: skip
    return Block(title, figure=fig, note=note, wide=True)


def _top_block(t: pl.DataFrame, names: list[str], by: str, top: int) -> Block:
    best = rank(t, top, by)
    cols = ["combo", *sweep_columns(names, by)]
    rows = [[i + 1, *(format_cell(c, r[c]) for c in cols)]
            for i, r in enumerate(best.iter_rows(named=True))]  # fmt: skip
    attrs = [{"combo": r["combo"]} for r in best.iter_rows(named=True)]
    order = "lowest" if by in LOWER_IS_BETTER else "highest"
    return Block(f"Top {best.height} by {by}",
                 table(["rank", *cols], rows, numeric=set(range(len(cols) + 1)), row_attrs=attrs,
                       cls="top"),
                 note=f"Ranked by {by}, {order} first; undefined values last.", wide=True)  # fmt: skip


def _distribution_block(t: pl.DataFrame, by: str) -> Block:
    values = t[by].cast(pl.Float64).to_numpy()
    finite = values[np.isfinite(values)]
    undefined = values.size - finite.size
    note = f"{finite.size:,} combinations" + (
        f"; {undefined:,} with {by} undefined are left out." if undefined else ".")  # fmt: skip
    if not finite.size:
        return Block(f"Distribution of {by}", note=note)
    centres, counts = histogram(finite)
    fig = figure([bars(compact(centres), counts.tolist(), "combinations", BLUE,
                       hovertemplate=f"{by} ≈ %{{x}}: %{{y}}<extra></extra>")],
                 height=300, showlegend=False, bargap=0.05,
                 xaxis={"title": {"text": by}}, yaxis={"title": {"text": "combinations"}})  # fmt: skip
    return Block(f"Distribution of {by} over all combinations", figure=fig, note=note, wide=True)
