"""What the commands show on a terminal: each command's summary (rich tables on stdout) or, with
``--json``, its machine-readable result; progress bars on stderr, only on a terminal and never
with ``--json``.

rich and ``vbt.summary`` (the view model shared with the HTML report: metric sections, the
signal funnel, formatting) are imported when a view is drawn: ``vbt --help`` and a bad input
never need them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any


def console(stderr: bool = False):
    from rich.console import Console

    con = Console(highlight=False, stderr=stderr)
    if not con.is_terminal:  # piped or captured: rich assumes 80 columns; tables need more
        con = Console(highlight=False, width=120, stderr=stderr)
    return con


def show_progress(as_json: bool) -> bool:
    """Progress bars only on a terminal, and never with --json."""
    return not as_json and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(label: str, unit: str):
    """A transient rich progress bar on stderr, shown from the first report on (so that an error
    raised before any work prints nothing else); yields progress(done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), transient=True, console=console(stderr=True),
    )  # fmt: skip
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if task is not None:
            bar.stop()


def run_with_progress(engine, as_json: bool, checkpoint, resume_from):
    """``engine.run``, with a progress bar when ``show_progress``."""
    if not show_progress(as_json):
        return engine.run(checkpoint=checkpoint, resume_from=resume_from)
    with progress_bar("backtest", "bars") as progress:
        return engine.run(progress=progress, checkpoint=checkpoint, resume_from=resume_from)


# ---------------------------------------------------------------------------------------------
# each command's summary


def print_training(name: str, symbol: str, model_dir: Any, metrics: dict[str, Any],
                   as_json: bool) -> None:  # fmt: skip
    """``vbt train``: the model directory, which epoch it kept, the training metrics."""
    if as_json:
        print(json.dumps({"model_path": str(model_dir), "training_metrics": metrics}, default=str))
        return
    con = console()
    con.print(f"[bold]trained[/] {name} on {symbol} → {model_dir}")
    con.print(kept_epoch(metrics))
    shown = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
    con.print(kv_table("training", shown))


def kept_epoch(metrics: dict[str, Any]) -> str:
    """Which epoch's weights the model holds, and why training stopped."""
    done = metrics.get("epochs_trained")
    stop = f"stopped early after epoch {done}" if metrics.get("early_stopped") else f"{done} epochs"
    which = "validation" if metrics.get("best_val_loss") is not None else "training"
    return f"{stop}; kept epoch {metrics.get('best_epoch')} (best {which} loss)"


def print_backtest(result, as_json: bool, saved: Any = None, report: Any = None) -> None:
    """A backtest's summary: the run, the metrics and the signal funnel (rows, names and
    formatting from ``vbt.summary``, as the HTML report), why it made no trade, the first
    trades; or, with ``as_json``, ``result.to_dict()`` (plus ``report``: the report's path)."""
    if as_json:
        print(json.dumps(result.to_dict() | ({"report": str(report)} if report else {}),
                         default=str))  # fmt: skip
        return
    from rich.table import Table

    from vbt.summary import describe_run, funnel_rows, metric_rows, no_trade_reason

    con = console()
    i = result.info
    run = i.to_dict()
    con.print(
        f"[bold]{describe_run(run)}[/]  ({result.equity.height:,} bars after warm-up, "
        f"{i.execution_time_s:.2f} s)"
    )
    table = Table(title="metrics")
    for name, justify in (("", "left"), ("metric", "left"), ("value", "right")):
        table.add_column(name, justify=justify)
    section = None
    for row in metric_rows(result.metrics):
        table.add_row(row.section if row.section != section else "", row.name, row.text)
        section = row.section
    con.print(table)
    con.print(
        kv_table("signal funnel", {r.label: r.text for r in funnel_rows(result.metrics, run)})
    )
    reason = no_trade_reason(result.metrics, i.params)
    if reason:
        con.print(reason)
    t = result.trades
    if t.height:
        table = Table(title=f"trades (first 10 of {t.height}; all in trades.parquet)")
        cols = {
            "side": str, "entry_time": _time, "exit_time": _time, "qty": "{:,.0f}".format,
            "entry_price": "{:.5f}".format, "exit_price": "{:.5f}".format,
            "net_pnl": "{:,.2f}".format, "return_pct": "{:.3f}".format, "exit_reason": str,
        }  # fmt: skip
        for c in cols:
            table.add_column(c, justify="right", no_wrap=True)
        for row in t.head(10).iter_rows(named=True):
            table.add_row(*[fmt(row[c]) for c, fmt in cols.items()])
        con.print(table)
    if saved:
        con.print(f"results saved to {saved}/ (metrics.json, trades.parquet, equity.parquet)")
    if report:
        con.print(f"report: {report}")


def print_sweep(result, as_json: bool, *, by: str, top: int, saved: Any = None,
                report: Any = None) -> None:  # fmt: skip
    """A sweep's summary: the run, the ``top`` best combinations by ``by``; or, with
    ``as_json``, ``result.summary(top, by)`` (plus ``report``)."""
    if as_json:
        summary = result.summary(top, by)
        print(json.dumps(summary | ({"report": str(report)} if report else {}), default=str))
        return
    from rich.table import Table

    from vbt.summary import format_cell, sweep_columns

    con = console()
    i, t = result.info, result.timings
    con.print(
        f"[bold]{i.strategy}[/] {i.symbol} {i.timeframe} {i.start[:16]} → {i.end[:16]} UTC: "
        f"{result.table.height:,} combinations of {result.settings['grid_size']:,} "
        f"({t['prepare_s']:.2f} s to prepare, {t['sweep_s']:.2f} s to sweep)"
    )
    best = result.best(top, by)
    shown = ["combo", *sweep_columns(result.grid.names, by)]
    table = Table(title=f"best {best.height} by {by}")
    for c in shown:
        table.add_column(c, justify="right", no_wrap=True)
    for row in best.iter_rows(named=True):
        table.add_row(*[format_cell(c, row[c]) for c in shown])
    con.print(table)
    if saved:
        con.print(f"results saved to {saved}/ (results.parquet, summary.json)")
    if report:
        con.print(f"report: {report}")


def print_batch(result, as_json: bool, *, top: int) -> None:
    """A batch's summary: the counts, the ``top`` ranked jobs, the failures; or, with
    ``as_json``, its ``summary.json``."""
    s = result.summary
    if as_json:
        print(json.dumps(s, default=str))
        return
    from rich.table import Table

    con = console()
    con.print(
        f"[bold]batch[/] {s['spec']}: {s['jobs']} jobs, {s['ok']} ok, {s['error']} failed "
        f"({s['ran']} run now, {s['skipped']} already done; {s['wall_s']:.2f} s)"
    )
    by = s["rank_by"]
    table = Table(title=f"best {min(top, len(s['ranking']))} by {by}")
    cols = ("rank", "index", "name", "symbol", "timeframe", by, "total_return_pct", "total_trades")
    cols = tuple(dict.fromkeys(cols))
    for c in cols:
        table.add_column(c, justify="right", no_wrap=True)
    for row in s["ranking"][:top]:
        table.add_row(*[_fmt(row.get(c)) for c in cols])
    con.print(table)
    for e in s["errors"]:
        con.print(f"jobs[{e['index']}] failed: {e['type']}: {e['message']}")
    con.print(f"results in {result.out_dir}/ (results.jsonl, summary.json)")


def print_research(d: dict[str, Any], as_json: bool, page: Any = None) -> None:
    """A research run's summary (``d``: its report.json): the out-of-sample span, the verdict
    and its reasons, the metrics against buy-and-hold and chance; or, with ``as_json``, ``d``
    (plus ``report``: the HTML page's path)."""
    if as_json:
        print(json.dumps(d | ({"report": str(page)} if page else {}), default=str))
        return
    con = console()
    oos = d["out_of_sample"]
    con.print(
        f"[bold]{d['strategy']}[/] {d['symbol']} {d['timeframe']}: {d['mode'].replace('_', ' ')}, "
        f"out of sample {oos['start'][:16]} → {oos['end'][:16]} UTC ({oos['bars']:,} bars)"
    )
    con.print(f"[bold]verdict: {d['verdict']['verdict']}[/]")
    for reason in d["verdict"]["reasons"]:
        con.print(f"  - {reason}")
    m, bh, st = d["metrics"], d["buy_and_hold"], d["sharpe_statistics"]
    shown = {
        "sharpe_ratio": m.get("sharpe_ratio"), "buy_and_hold sharpe_ratio": bh.get("sharpe_ratio"),
        "total_return_pct": m.get("total_return_pct"),
        "buy_and_hold total_return_pct": bh.get("total_return_pct"),
        "max_drawdown_pct": m.get("max_drawdown_pct"), "total_trades": m.get("total_trades"),
        "random-entry p-value": d["random_entry"].get("p_value"), "PSR(0)": st.get("psr"),
        "DSR": st.get("dsr"), "trials in the ledger": st.get("trials"),
    }  # fmt: skip
    con.print(kv_table("out of sample", shown))
    con.print(f"report saved to {d['saved']}/ (report.json, equity.parquet, trades.parquet)")
    if page:
        con.print(f"report: {page}")


# ---------------------------------------------------------------------------------------------
# table helpers


def kv_table(title: str, values: dict[str, Any]):
    """A two-column table; values are shown as ``format_value`` writes them (text unchanged)."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("name")
    table.add_column("value", justify="right")
    for k, v in values.items():
        table.add_row(k, _fmt(v))
    return table


def _time(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _fmt(v: Any) -> str:
    from vbt.summary import format_value

    return format_value(v)
