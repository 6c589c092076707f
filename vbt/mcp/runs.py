"""The runs an agent makes through the server, and what it reads back.

Each function takes the ``Workspace`` first and keyword arguments as the tools name them, checks
them (a ``ConfigError`` naming the argument, before any long work), and returns JSON-able data.

- ``backtest`` and ``sweep`` run in the calling thread (``progress(done, total)``; ``cancel``: an
  Event that stops the scan at its next chunk). ``train``, ``research`` and ``batch`` are run by
  ``vbt.mcp.server`` in a process of their own (``child_main``), which a cancelled call kills.
- A run is written to ``.partial/<run_id>/`` and moved to ``runs/<run_id>/`` only when complete;
  a cancelled or failed call leaves nothing in ``runs/`` (``research`` writes its own
  ``runs/<key>/`` and ``models/<key>/``: the server removes what a cancelled one created).
- **Every trial counts:** a backtest adds one trial to the workspace's ledger (``trials.jsonl``)
  and a sweep one per combination, keyed by what was run, so repeating a run adds nothing;
  research runs add theirs (``vbt.research``), and a batch's ledger is merged in. The deflated
  Sharpe ratio of the next research verdict counts them all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from vbt.errors import CancelledError, ConfigError, DataError
from vbt.mcp.workspace import Workspace
from vbt.metrics import LOWER_IS_BETTER, METRIC_NAMES, check_metric
from vbt.research.ledger import TrialLedger
from vbt.results.saved import load, read_json
from vbt.summary import funnel

#: the most trades, rows or runs one answer carries
MAX_PAGE = 1000
#: run settings only the server sets: paths (the model argument, --data-dir, the workspace)
SERVER_FIELDS = ("model_path", "data_dir", "feature_cache_dir")


def _digest(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _count(value: Any, argument: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{argument} = {value!r}: must be an integer in [{lo:,}, {hi:,}]")
    return value


def _mapping(value: Any, argument: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{argument} = {value!r}: must be a mapping of run settings")
    return value


def _config(ws: Workspace, model: Any, config: Any) -> Any:
    from vbt.config import BacktestConfig

    model_dir = ws.inside(model, "model")
    settings = _mapping(config, "config")
    for key in SERVER_FIELDS:
        if key in settings:
            raise ConfigError(f"config.{key}: set by the server, not by a call (the model "
                              "argument, --data-dir; files go in the workspace)")  # fmt: skip
    data_dir = str(ws.data_dir) if ws.data_dir else None
    try:
        return BacktestConfig(model_path=str(model_dir), data_dir=data_dir, **settings)
    except ConfigError as exc:  # "BacktestConfig: commission = -1: ..." names config.commission
        raise ConfigError(re.sub(r"^BacktestConfig: ", "config.", str(exc))) from None


def _stopped(cancel: Any) -> None:
    """Raise ``CancelledError`` if the call was cancelled (checked before a run is counted)."""
    if cancel is not None and cancel.is_set():
        raise CancelledError("cancelled by the client")


def _ledger_view(ledger: TrialLedger, new: bool) -> dict[str, Any]:
    return {"new_trial": new, **ledger.stats().to_dict()}


# -- runs in this process ----------------------------------------------------------------------


def backtest(ws: Workspace, *, model: Any, config: Any = None, progress=None, cancel=None):
    """One backtest of ``model`` (a model folder in the workspace) with run settings ``config``
    (``BacktestConfig`` fields): its run id, metrics, signal funnel and the ledger's count."""
    from vbt.engine import BacktestEngine

    cfg = _config(ws, model, config)
    ledger = TrialLedger(ws.root)
    ledger.check()
    run_id = ws.new_run_id("backtest")
    part = ws.partial(run_id)
    try:
        result = BacktestEngine(cfg).run(progress=progress, cancel=cancel)
        result.save(part)
        _stopped(cancel)
        key = _digest({"kind": "backtest", "config": cfg.model_dump(mode="json")})
        new = ledger.add(key, "backtest", [result.metrics.get("sharpe_ratio")],
                         what={"run_id": run_id, "model": ws.relative(cfg.model_path)})  # fmt: skip
        final = ws.publish(part, run_id)
    except BaseException:
        ws.discard(part)
        raise
    run = result.info.to_dict() if result.info is not None else {}
    return {
        "run_id": run_id, "path": ws.relative(final), "metrics": result.metrics,
        "trade_count": result.trades.height,
        "funnel": {name: n for name, _, n in funnel(result.metrics, run)},
        "ledger": _ledger_view(ledger, new),
    }  # fmt: skip


def sweep(ws: Workspace, *, model: Any, grid: Any, config: Any = None, constraint: Any = None,
          max_combos: Any = None, seed: Any = 0, top: Any = 10, by: Any = "sharpe_ratio",
          progress=None, cancel=None) -> dict[str, Any]:  # fmt: skip
    """A sweep of ``grid`` ({parameter: values or "start:stop:step"}) over one inference of
    ``model``: its run id, the ``top`` best combinations by ``by``, and the ledger's count
    (every combination is a trial)."""
    import vbt

    cfg = _config(ws, model, config)
    top = _count(top, "top", 1, MAX_PAGE)
    check_metric(by, f"by = {by!r}")
    ledger = TrialLedger(ws.root)
    ledger.check()
    run_id = ws.new_run_id("sweep")
    part = ws.partial(run_id)
    try:
        result = vbt.sweep(cfg, grid, constraint=constraint, max_combos=max_combos, seed=seed,
                           progress=progress, cancel=cancel)  # fmt: skip
        result.save(part)
        _stopped(cancel)
        key = _digest({"kind": "sweep", "config": cfg.model_dump(mode="json"), "grid": grid,
                       "constraint": constraint, "max_combos": max_combos, "seed": seed})  # fmt: skip
        sharpes = result.table["sharpe_ratio"].to_list()
        new = ledger.add(key, "sweep", sharpes, trials=len(sharpes),
                         what={"run_id": run_id, "model": ws.relative(cfg.model_path)})  # fmt: skip
        final = ws.publish(part, run_id)
    except BaseException:
        ws.discard(part)
        raise
    summary = result.summary(top, by)
    return {"run_id": run_id, "path": ws.relative(final), **summary,
            "ledger": _ledger_view(ledger, new)}  # fmt: skip


# -- runs in a process of their own (vbt.mcp.server starts them) -------------------------------


def train(ws: Workspace, *, strategy: Any, symbol: Any = None, epochs: Any = None,
          seed: Any = 0) -> dict[str, Any]:  # fmt: skip
    """Train ``strategy`` (a file in the workspace) into ``models/``: the model folder."""
    import vbt

    path = ws.inside(strategy, "strategy")
    out = vbt.train(str(path), data_dir=ws.data_dir, symbol=symbol, out_dir=ws.models,
                    epochs=epochs, seed=seed, progress=False)  # fmt: skip
    metrics = (
        read_json(Path(out) / "metrics.json") if (Path(out) / "metrics.json").is_file() else {}
    )
    return {"model": ws.relative(out), "training": metrics}


def research(ws: Workspace, *, strategy: Any, symbol: Any = None, walk_forward: Any = None,
             epochs: Any = None, seed: Any = 0, simulations: Any = 1000,
             config: Any = None) -> dict[str, Any]:  # fmt: skip
    """Research ``strategy`` out of sample (held-out test, or ``walk_forward`` folds): the run
    id, the verdict and its reasons, the out-of-sample metrics and the ledger's counts."""
    from vbt.research.cycle import research as run

    path = ws.inside(strategy, "strategy")
    settings = _mapping(config, "config")
    for key in SERVER_FIELDS:
        if key in settings:
            raise ConfigError(f"config.{key}: set by the server, not by a call")
    report = run(str(path), data_dir=ws.data_dir, symbol=symbol, out_dir=ws.root,
                 walk_forward=walk_forward, epochs=epochs, seed=seed, simulations=simulations,
                 config=settings)  # fmt: skip
    return research_view(ws, report.report)


def research_view(ws: Workspace, report: dict[str, Any]) -> dict[str, Any]:
    """What an agent reads of a research report."""
    keep = ("strategy", "symbol", "mode", "split", "out_of_sample", "metrics", "verdict",
            "sharpe_statistics", "buy_and_hold", "ledger")  # fmt: skip
    out = {k: report[k] for k in keep if k in report}
    random = report.get("random_entry") or {}
    out["random_entry"] = {k: v for k, v in random.items() if not isinstance(v, list | dict)}
    if isinstance(out.get("ledger"), dict) and out["ledger"].get("path"):
        out["ledger"] = {**out["ledger"], "path": ws.relative(out["ledger"]["path"])}
    out["run_id"] = Path(report.get("saved", "")).name
    out["path"] = ws.relative(report["saved"]) if report.get("saved") else None
    out["models"] = [ws.relative(m) for m in report.get("models", [])]
    return out


#: a batch spec's path fields, each read relative to the workspace (data_dir: to --data-dir)
SPEC_PATHS = ("model", "strategy")


def rooted_spec(ws: Workspace, spec: Any) -> dict[str, Any]:
    """The batch spec file ``spec`` (in the workspace) with every path in it resolved (relative
    to the spec's folder) inside the workspace (``model``, ``strategy``) or the data folder
    (``data_dir``); a path outside
    either, or a ``feature_cache_dir``, is a ``ConfigError`` naming its key."""
    from vbt.batches.spec import read_spec

    raw, base, _ = read_spec(ws.inside(spec, "spec"))  # base: the spec's folder
    raw = copy.deepcopy(raw)
    defaults = raw.setdefault("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"spec {spec}: not a batch spec (a mapping with defaults and jobs)")
    jobs = raw.get("jobs")
    sections = [("spec.defaults", defaults)]
    if isinstance(jobs, list):
        sections += [(f"spec.jobs[{i}]", j) for i, j in enumerate(jobs) if isinstance(j, dict)]
    for where, section in sections:
        for key in SPEC_PATHS:  # relative to the spec's folder, as vbt batch reads them
            value = section.get(key)
            if value is not None:
                given = str(base / value) if isinstance(value, str) else value
                section[key] = str(ws.inside(given, f"{where}.{key}"))
        if section.get("data_dir") is not None:
            data = Path(str(section["data_dir"]))
            real = (data if data.is_absolute() else (ws.data_dir or ws.root) / data).resolve()
            if ws.data_dir is None or (real != ws.data_dir and ws.data_dir not in real.parents):
                raise ConfigError(f"{where}.data_dir = {section['data_dir']!r}: outside the "
                                  "data folder (--data-dir)")  # fmt: skip
            section["data_dir"] = str(real)
        config = section.get("config")
        if isinstance(config, dict):
            for key in SERVER_FIELDS:
                if key in config:
                    raise ConfigError(f"{where}.config.{key}: set by the server, not by a spec")
    if ws.data_dir is not None:
        defaults.setdefault("data_dir", str(ws.data_dir))
    return raw


def batch(ws: Workspace, *, spec: dict[str, Any], out: Path) -> dict[str, Any]:
    """Run the batch ``spec`` (``rooted_spec``'s) into ``out``: its summary."""
    import vbt

    result = vbt.batch(spec, out, progress=None)
    return {"summary": result.summary}


def merge_ledger(ws: Workspace, folder: Path) -> None:
    """Add the entries of ``folder``'s ledger (a batch's) to the workspace's."""
    theirs = TrialLedger(folder)
    ours = TrialLedger(ws.root)
    known = ours.keys()
    for e in theirs.entries():
        if e["key"] not in known:
            ours.add_entry(e, known=known)


# -- reading runs back -------------------------------------------------------------------------


def _run_dir(ws: Workspace, run_id: Any) -> Path:
    if (not isinstance(run_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", run_id)
            or run_id in (".", "..")):  # fmt: skip
        raise ConfigError(f"run_id = {run_id!r:.120}: must be a run id (list_runs gives them)")
    path = ws.runs / run_id
    if not path.is_dir():
        raise ConfigError(f"run_id = {run_id!r}: no such run in the workspace (see list_runs)")
    return path


def _kind(path: Path) -> str:
    if (path / "summary.json").is_file() and (path / "results.jsonl").is_file():
        return "batch"
    data = load(path)
    return type(data).__name__.removesuffix("Data").lower()


def get_run(ws: Workspace, *, run_id: Any, offset: Any = 0, limit: Any = 50) -> dict[str, Any]:
    """A run: a backtest's run info, metrics, funnel and trades ``[offset, offset + limit)``; a
    sweep's summary and best rows; a research run's verdict, reasons and statistics; a batch's
    summary."""
    path = _run_dir(ws, run_id)
    offset = _count(offset, "offset", 0, 2**31)
    limit = _count(limit, "limit", 1, MAX_PAGE)
    if _kind(path) == "batch":
        return {"run_id": run_id, "kind": "batch", "summary": read_json(path / "summary.json")}
    data = load(path)
    kind = _kind(path)
    if kind == "backtest":
        trades = data.trades.slice(offset, limit)
        return {"run_id": run_id, "kind": kind, "run": data.run, "metrics": data.metrics,
                "funnel": {n: v for n, _, v in funnel(data.metrics, data.run)},
                "trades": _rows(trades), "trades_offset": offset,
                "trades_total": data.trades.height}  # fmt: skip
    if kind == "sweep":
        rows = data.table.slice(offset, limit)
        return {"run_id": run_id, "kind": kind, "summary": data.summary, "rows": _rows(rows),
                "rows_offset": offset, "rows_total": data.table.height}  # fmt: skip
    return {"run_id": run_id, "kind": kind, **research_view(ws, data.report)}


def _rows(frame) -> list[dict[str, Any]]:
    import polars as pl

    frame = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return json.loads(frame.write_json())


def _headline(ws: Workspace, path: Path) -> dict[str, Any]:
    """A run's kind and headline metrics (a sweep: its best row by Sharpe ratio)."""
    kind = _kind(path)
    if kind == "batch":
        return {"run_id": path.name, "kind": kind, "metrics": {}}
    data = load(path)
    if kind == "backtest":
        metrics = data.metrics
    elif kind == "sweep":
        best = data.summary.get("best") or [{}]
        metrics = {k: v for k, v in best[0].items() if k in METRIC_NAMES}
    else:
        metrics = data.report.get("metrics", {})
    return {"run_id": path.name, "kind": kind, "metrics": metrics}


def list_runs(ws: Workspace, *, kind: Any = None, sort_by: Any = None,
              limit: Any = 20) -> dict[str, Any]:  # fmt: skip
    """The workspace's runs (newest first, or best first by metric ``sort_by``), with their
    headline metrics; a run whose files cannot be read is listed with its problem."""
    if kind is not None and kind not in ("backtest", "sweep", "research", "batch"):
        raise ConfigError(f"kind = {kind!r}: must be backtest, sweep, research or batch")
    if sort_by is not None:
        check_metric(sort_by, f"sort_by = {sort_by!r}")
    limit = _count(limit, "limit", 1, MAX_PAGE)
    runs = []
    for path in sorted(ws.runs.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        if not path.is_dir():
            continue
        try:
            entry = _headline(ws, path)
        except (ConfigError, DataError) as exc:
            entry = {"run_id": path.name, "kind": None, "metrics": {}, "problem": str(exc)}
        if kind is None or entry["kind"] == kind:
            runs.append(entry)
    if sort_by is not None:
        lower = sort_by in LOWER_IS_BETTER

        def order(e):
            v = e["metrics"].get(sort_by)
            return (v is None, (v if lower else -v) if v is not None else 0)

        runs.sort(key=order)
    return {"runs": runs[:limit], "total": len(runs)}


def compare_runs(ws: Workspace, *, run_ids: Any, metrics: Any = None) -> dict[str, Any]:
    """A metric-by-run table of the runs ``run_ids`` (2 to 50): ``metrics`` (default: the
    headline ones) for each, and which run is best at each."""
    if not isinstance(run_ids, list) or not 2 <= len(run_ids) <= 50:
        raise ConfigError(f"run_ids = {run_ids!r}: must be a list of 2 to 50 run ids")
    names = metrics or ["total_return", "sharpe_ratio", "max_drawdown", "total_trades",
                        "win_rate", "profit_factor"]  # fmt: skip
    if not isinstance(names, list):
        raise ConfigError(f"metrics = {metrics!r}: must be a list of metric names")
    for n in names:
        check_metric(n, f"metrics: {n!r}")
    heads = [_headline(ws, _run_dir(ws, r)) for r in run_ids]
    table = {n: {h["run_id"]: h["metrics"].get(n) for h in heads} for n in names}
    best = {}
    for n, values in table.items():
        defined = {r: v for r, v in values.items() if v is not None}
        if defined:
            pick = min if n in LOWER_IS_BETTER else max
            best[n] = pick(defined, key=defined.get)
    return {"runs": [{"run_id": h["run_id"], "kind": h["kind"]} for h in heads],
            "metrics": table, "best": best}  # fmt: skip


def report(ws: Workspace, *, run_id: Any) -> dict[str, Any]:
    """Write the run's HTML report to ``runs/<run_id>/report.html``: its path."""
    from vbt.report import write_report

    path = _run_dir(ws, run_id)
    if _kind(path) == "batch":
        raise ConfigError(f"run_id = {run_id!r}: a batch has no page; report one of its jobs")
    page = write_report(path, path / "report.html")
    return {"run_id": run_id, "report": ws.relative(page)}


def ledger(ws: Workspace) -> dict[str, Any]:
    """The trial ledger: trials so far (the DSR's N), the Sharpe ratios' count, mean and
    variance, and the last entries."""
    led = TrialLedger(ws.root)
    entries = led.entries()
    last = [{k: e.get(k) for k in ("kind", "trials", "time", "what")} for e in entries[-10:]]
    return {"path": ws.relative(led.path), "entries": len(entries), **led.stats().to_dict(),
            "last": last}  # fmt: skip


__all__ = ["MAX_PAGE", "backtest", "batch", "compare_runs", "get_run", "ledger", "list_runs",
           "merge_ledger", "report", "research", "research_view", "sweep", "train"]  # fmt: skip
