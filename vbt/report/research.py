"""The research page: the verdict and its reasons, the out-of-sample equity against buy and hold,
the out-of-sample metrics beside buy-and-hold's, the run, in sample against out of sample (what
training recorded about the fit; per fold for a walk-forward, with each fold's out-of-sample
metrics), the random-entry baseline, and the probabilistic and deflated Sharpe ratios.

The page reads ``report.json`` and ``equity.parquet`` (``ResearchData``) and shows their numbers
as ``vbt.summary`` writes them. A section whose data the run did not record (the folds of a
held-out run, a field a report.json from an older vbt lacks) is left out, not drawn empty.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from vbt.report.blocks import downsampled_note, drawn_points, metrics_table
from vbt.report.downsample import DEFAULT_BUCKETS
from vbt.report.figures import BLUE, GREEN, GREY, ORANGE, RED, bars, compact, figure, line
from vbt.report.html import Block, Page, esc, table
from vbt.results.saved import NOT_BETTER, PROMISING, ResearchData
from vbt.summary import (
    FOLD_SHOWN,
    RANDOM_QUANTILES,
    RESEARCH_SPECS,
    SPECS,
    format_metric,
    format_research,
    format_value,
    verdict_rows,
)

#: the held-out split's parts as shown: (key in ``split`` and ``training[0]``, label)
SPLITS = (
    ("train", "train (in sample)"),
    ("validation", "validation (in sample: early stopping)"),
    ("test", "test (out of sample: held out)"),
)
#: ``sharpe_statistics`` as shown, in order
SHARPE_SHOWN = (
    "observations", "sharpe_per_bar", "skewness", "kurtosis", "psr", "trials",
    "trial_sharpe_variance", "variance_source", "expected_max_sharpe", "dsr",
)  # fmt: skip
#: the verdict's label → the CSS class of its line (inconclusive keeps the plain one)
VERDICT_CLASS = {PROMISING: "good", NOT_BETTER: "bad"}


def build(data: ResearchData, *, buckets: int = DEFAULT_BUCKETS) -> Page:
    """The research page of ``data`` (a run in memory or read from its ``runs/<run>/`` folder)."""
    r = data.report
    wf = r.get("walk_forward") if isinstance(r.get("walk_forward"), dict) else None
    blocks = [
        _verdict_block(r["verdict"]),
        _equity_block(data.equity, wf, buckets),
        _folds_block(r, wf) if wf else None,  # the folds under the curve they stitch into
        Block(
            "Out-of-sample metrics",
            metrics_table(r["metrics"], r.get("buy_and_hold") or {}, "buy and hold"),
            note="Over the out-of-sample bars only (annualisation included). Buy and hold: the "
            "same bars under the same rules (a BUY at the first decision, filled at the next "
            "open, sized and charged like the strategy's trades).",
            tall=True,
        ),
        Block("Run", _run_table(r, wf)),
        None if wf else _fit_block(r),
        _random_block(r),
        _sharpe_block(r),
    ]
    oos = r["out_of_sample"]
    title = f"Research: {r.get('strategy')} on {r.get('symbol')} {r.get('timeframe')}"
    subtitle = (f"{_mode(r, wf)} · out of sample {_when(oos.get('start'))} → "
                f"{_when(oos.get('end'))} UTC ({format_value(oos.get('bars'))} bars) · verdict: "
                f"{r['verdict'].get('verdict')}")  # fmt: skip
    return Page("research", title, subtitle, [b for b in blocks if b is not None])


def _verdict_block(v: dict[str, Any]) -> Block:
    label = v.get("verdict")
    cls = " ".join(["verdict", VERDICT_CLASS.get(label, "")]).strip()
    reasons = "".join(f"<li>{esc(x)}</li>" for x in v.get("reasons", []))
    rows = verdict_rows(v)
    checks = v.get("checks", {})
    html = (
        f'<p class="{cls}" data-verdict="{esc(label)}">Verdict: {esc(label)}</p>'
        f'<ul class="reasons">{reasons}</ul>'
        + table(["check", "rule", "result"], [[what, rule, res] for _n, what, rule, res in rows],
                row_attrs=[{"check": n, "value": json.dumps(checks.get(n))} for n, *_ in rows],
                cls="checks")
    )  # fmt: skip
    return Block("Verdict", html, wide=True,
                 note="promising: every check passes; not better than chance: nothing beat "
                      "chance (see the reasons); inconclusive: anything between "
                      "(vbt.research.verdict).")  # fmt: skip


def _equity_block(eq: pl.DataFrame, wf: dict | None, buckets: int) -> Block:
    title = ("Walk-forward: the stitched out-of-sample equity against buy and hold" if wf
             else "Held-out test: equity against buy and hold")  # fmt: skip
    if not eq.height:
        return Block(title, note="No equity points.", wide=True)
    ts = eq["timestamp"].dt.epoch("ns").to_numpy()
    equity = eq["equity"].to_numpy().astype(np.float64)
    traces, notes = [], []
    if "buy_and_hold" in eq.columns:
        bh = eq["buy_and_hold"].to_numpy().astype(np.float64)
        traces.append(line(*drawn_points(ts, bh, buckets), "buy and hold", GREY))
    else:
        notes.append("This run's equity.parquet holds no buy-and-hold curve (an older vbt).")
    traces.append(line(*drawn_points(ts, equity, buckets), "strategy", BLUE))
    shapes, marks = [], []
    for fold in (wf or {}).get("folds", []):
        if not fold.get("test"):
            continue
        x = int(np.datetime64(str(fold["test"][0]).rstrip("Z"), "ms").astype(np.int64))
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0,
                       "y1": 1, "line": {"color": GREY, "width": 1, "dash": "dot"}})  # fmt: skip
        marks.append({"x": x, "y": 1, "xref": "x", "yref": "paper", "text": f"fold {fold['fold']}",
                      "showarrow": False, "xanchor": "left", "yanchor": "top",
                      "font": {"size": 11}})  # fmt: skip
    if wf:
        notes.append("Each fold trades its test block with its own model, starting with the "
                     "previous fold's final equity; dotted lines: each fold's first bar.")  # fmt: skip
    fig = figure(traces, height=360, shapes=shapes, annotations=marks, xaxis={"type": "date"},
                 yaxis={"title": {"text": "equity"}})  # fmt: skip
    notes.append(downsampled_note(equity.size, buckets))
    return Block(title, figure=fig, note=" ".join(n for n in notes if n), wide=True)


def _run_table(r: dict[str, Any], wf: dict | None) -> str:
    s = r.get("settings", {})
    oos = r["out_of_sample"]
    models = r.get("models") or []
    rows: list[tuple[str, Any]] = [
        ("strategy", r.get("strategy")),
        ("strategy file", r.get("strategy_file")),
        ("symbol", r.get("symbol")),
        ("timeframe", r.get("timeframe")),
        ("data folder", r.get("data_dir")),
        ("mode", _mode(r, wf)),
    ]
    split = r.get("split")
    if isinstance(split, dict):
        rows.append(("bars used (UTC)", f"{_when(split.get('data_start'))} → "
                                        f"{_when(split.get('data_end'))}"))  # fmt: skip
        rows += [(label.split(" (")[0], _span(split.get(k), split.get(f"{k}_bars")))
                 for k, label in SPLITS]  # fmt: skip
    if wf:
        rows += [
            ("bars used", wf.get("bars")),
            ("purge", f"{format_value(wf.get('purge_bars'))} bars ({wf.get('purge_source')})"),
            ("embargo", f"{format_value(wf.get('embargo_bars'))} bars after each test block"),
        ]
    rows += [
        ("out of sample (UTC)", f"{_when(oos.get('start'))} → {_when(oos.get('end'))} "
                                f"({format_value(oos.get('bars'))} bars)"),
        ("seed", s.get("seed")),
        ("epochs", s.get("epochs") if s.get("epochs") is not None else "the strategy's"),
        ("run settings", ", ".join(f"{k}={format_value(v)}" for k, v in
                                   (s.get("config") or {}).items()) or "defaults"),
        ("models", models[0] if len(models) == 1 else len(models)),
        ("run", (r.get("ledger") or {}).get("run")),
        ("saved in", r.get("saved")),
    ]  # fmt: skip
    return table(["", ""], [[k, format_value(v)] for k, v in rows], numeric={1}, cls="kv")


def _fit_block(r: dict[str, Any]) -> Block | None:
    """The held-out split: its parts' bars and what training recorded about the fit on each."""
    split = r.get("split")
    if not isinstance(split, dict):
        return None
    fits = r.get("training") or []
    fit = fits[0] if len(fits) == 1 and isinstance(fits[0], dict) else None
    headers = ["split", "bars (UTC)"] + (["samples", "loss", "accuracy"] if fit else [])
    rows, attrs = [], []
    for k, label in SPLITS:
        row = [label, _span(split.get(k), split.get(f"{k}_bars"))]
        if fit:
            part = fit.get(k) or {}
            row += [format_research(q, part.get(q)) for q in ("samples", "loss", "accuracy")]
            attrs.append({"fit": k, "value": json.dumps(part)})
        else:
            attrs.append({"fit": k})
        rows.append(row)
    html = table(headers, rows, numeric={2, 3, 4}, row_attrs=attrs, cls="fit")
    if not fit:
        return Block("In sample against out of sample", html,
                     note="This report.json records no training fit (an older vbt); the "
                          "out-of-sample backtest is in 'Out-of-sample metrics'.")  # fmt: skip
    accuracy = [(fit.get(k) or {}).get("accuracy") for k, _label in SPLITS]
    fig = None
    if any(a is not None for a in accuracy):
        fig = figure(
            [bars([k for k, _l in SPLITS], compact([np.nan if a is None else a for a in accuracy]),
                  "accuracy", [GREY, GREY, BLUE], showlegend=False,
                  hovertemplate="%{x}: %{y:.2%}<extra></extra>")],
            height=260, yaxis={"tickformat": ".0%", "title": {"text": "accuracy"}},
            xaxis={"type": "category"},
        )  # fmt: skip
    early = ", stopped early" if fit.get("early_stopped") else ""
    note = (f"Loss and {fit.get('accuracy_kind') or ''} accuracy as training recorded them for the "
            f"kept epoch (epoch {format_value(fit.get('best_epoch'))} of "
            f"{format_value(fit.get('epochs_trained'))}{early}); the test split is the one the "
            "backtest trades, and the backtest's metrics exist out of sample only.")  # fmt: skip
    return Block("In sample against out of sample", html, fig, note=note)


def _folds_block(r: dict[str, Any], wf: dict[str, Any]) -> Block | None:
    folds = [f for f in wf.get("folds", []) if isinstance(f, dict)]
    if not folds:
        return None
    fits = r.get("training") or []
    fitted = len(fits) == len(folds) and all(isinstance(f, dict) for f in fits)
    measured = all(isinstance(f.get("metrics"), dict) for f in folds)
    headers = ["fold", "trained on (UTC)", "tested on (UTC)"]
    if fitted:
        headers += ["train loss", "train accuracy", "validation loss", "validation accuracy"]
    if measured:
        headers += [SPECS[m].label for m in FOLD_SHOWN]
    rows, attrs = [], []
    for i, fold in enumerate(folds):
        row = [fold.get("fold"), _span(fold.get("train"), fold.get("train_bars")),
               _span(fold.get("test"), fold.get("test_bars"))]  # fmt: skip
        if fitted:
            row += [format_research(q, (fits[i].get(part) or {}).get(q))
                    for part in ("train", "validation") for q in ("loss", "accuracy")]  # fmt: skip
        if measured:
            row += [format_metric(m, fold["metrics"].get(m)) for m in FOLD_SHOWN]
        rows.append(row)
        attrs.append({"fold": fold.get("fold")})
    html = table(headers, rows, numeric=set(range(3, len(headers))), row_attrs=attrs, cls="folds")
    fig = None
    if measured:
        ret = [f["metrics"].get("total_return_pct") for f in folds]
        fig = figure(
            [bars([f"fold {f.get('fold')}" for f in folds],
                  compact([np.nan if v is None else v for v in ret]), "total return",
                  [GREEN if (v or 0) > 0 else RED for v in ret], showlegend=False,
                  hovertemplate="%{x}: %{y:.2%}<extra></extra>")],
            height=260, xaxis={"type": "category"},
            yaxis={"tickformat": ".2%", "title": {"text": "out-of-sample total return"}},
        )  # fmt: skip
    note = (f"Anchored: each fold's model trains (training and validation) on the bars before its "
            f"test block, less a purge of {format_value(wf.get('purge_bars'))} bars before it and "
            f"an embargo of {format_value(wf.get('embargo_bars'))} bars after each earlier test "
            "block, and trades only its test block.")  # fmt: skip
    if fitted:
        note += " Loss and accuracy: the kept epoch's, as training recorded them."
    return Block("Walk-forward folds", html, fig, note=note, wide=True)


def _random_block(r: dict[str, Any]) -> Block | None:
    rnd = r.get("random_entry")
    title = "Random entries (Monte Carlo) against the strategy"
    if not isinstance(rnd, dict):
        return None
    if not rnd.get("simulations"):
        return Block(title, note=str(rnd.get("note") or "No simulation was run."))
    kv = _kv_table([(f"random_entry.{k}", RESEARCH_SPECS[k].label, rnd.get(k))
                    for k in ("simulations", "seed", "trades", "p_value")])  # fmt: skip
    strategy = {"sharpe_ratio": rnd.get("strategy"),
                "total_return_pct": r["metrics"].get("total_return_pct")}  # fmt: skip
    rows, attrs = [], []
    for name, own in strategy.items():
        q = rnd.get(name) if isinstance(rnd.get(name), dict) else {}
        rows.append([SPECS[name].label, *(format_metric(name, q.get(k)) for k, _l in
                     RANDOM_QUANTILES), format_metric(name, own)])  # fmt: skip
        attrs.append({"statistic": name})
    quantiles = table(["simulated", *(label for _k, label in RANDOM_QUANTILES), "strategy"],
                      rows, numeric={1, 2, 3, 4, 5}, row_attrs=attrs, cls="quantiles")  # fmt: skip
    hist = (rnd.get("sharpe_ratio") or {}).get("histogram") or {}
    fig = _random_figure(
        hist, rnd.get("strategy"), (r.get("buy_and_hold") or {}).get("sharpe_ratio")
    )
    note = (f"Each simulation places the strategy's {format_value(rnd.get('trades'))} trades (the "
            "same sides and holding times) at random, non-overlapping times in the same bars, "
            "with the same costs and sizing; p = (1 + #{simulated Sharpe ≥ the strategy's}) / "
            "(1 + simulations).")  # fmt: skip
    return Block(title, kv + quantiles, fig, note=note)


def _random_figure(hist: dict, strategy: float | None, bh: float | None) -> dict | None:
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    e = np.asarray(edges, dtype=np.float64)
    top = max(counts)
    traces = [bars(compact((e[:-1] + e[1:]) / 2), counts, "simulations", GREY,
                   width=compact(np.diff(e)),
                   hovertemplate="Sharpe ≈ %{x:.3f}: %{y} simulations<extra></extra>")]  # fmt: skip
    marks = (
        (bh, "buy-and-hold's Sharpe ratio", ORANGE),
        (strategy, "strategy's Sharpe ratio", BLUE),
    )
    for value, name, color in marks:
        if value is not None:
            traces.append(line([value, value], [0, top], name, color,
                               line={"color": color, "width": 2, "dash": "dash"}))  # fmt: skip
    return figure(traces, height=300, bargap=0.02,
                  xaxis={"title": {"text": "Sharpe ratio (annualised)"}},
                  yaxis={"title": {"text": "simulations"}})  # fmt: skip


def _sharpe_block(r: dict[str, Any]) -> Block | None:
    st = r.get("sharpe_statistics")
    if not isinstance(st, dict):
        return None
    html = _kv_table([(f"sharpe_statistics.{k}", RESEARCH_SPECS[k].label, st.get(k))
                      for k in SHARPE_SHOWN])  # fmt: skip
    return Block("Probabilistic and deflated Sharpe ratios", html,
                 note="PSR(0) = Φ(SR̂ √(T−1) / √(1 − γ3 SR̂ + (γ4−1)/4 SR̂²)) over the per-bar "
                      "returns; DSR = PSR(SR0), SR0 the Sharpe ratio the best of N trials reaches "
                      "by luck (Bailey and López de Prado). N counts every research run and batch "
                      "combination in the output folder's trials.jsonl, this run included.")  # fmt: skip


def _kv_table(rows: list[tuple[str, str, Any]]) -> str:
    """A two-column table of (report.json key, label, value); each row carries its key and raw
    value (``data-key``, ``data-value``)."""
    return table(["", ""], [[label, format_research(key.rsplit(".", 1)[-1], v)]
                            for key, label, v in rows], numeric={1},
                 row_attrs=[{"key": key, "value": json.dumps(v)} for key, _l, v in rows],
                 cls="kv")  # fmt: skip


def _mode(r: dict[str, Any], wf: dict | None) -> str:
    if wf:
        return f"walk-forward, {len(wf.get('folds', []))} folds"
    return "held-out test split" if r.get("mode") == "held_out" else str(r.get("mode"))


def _span(times: Any, bars_: Any) -> str:
    """'first → last (n bars)' of a [first, last] pair of bar opens and [start, stop) indices."""
    text = f"{_when(times[0])} → {_when(times[1])}" if times and len(times) == 2 else "—"
    if bars_ and len(bars_) == 2:
        text += f" ({format_value(bars_[1] - bars_[0])} bars)"
    return text


def _when(t: Any) -> str:
    """An ISO 8601 time as 'YYYY-MM-DD HH:MM' (UTC)."""
    return "—" if t is None else str(t)[:16].replace("T", " ")
