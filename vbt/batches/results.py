"""A batch's output folder: ``results.jsonl`` (one line per job, written as each finishes) and
``summary.json`` (the jobs ranked).

A line is a complete JSON record, appended with one write, flushed and fsynced, so a killed batch
leaves whole lines (a partial last line is cut before anything is appended). Records:

``{"id", "index", "name", "status": "ok", "job": <canonical job>, "run": {strategy, symbol,
timeframe, start, end, model_path, output_type, bars, valid_bars}, "params": {...}, "metrics":
{...}, "sweep": {...} (grid jobs), "timings": {...}, "shared": {...}, "worker": pid,
"finished_at"}`` or, for a job that failed, ``"status": "error"`` and ``"error": {"type",
"message"}`` (one line naming the problem) in place of the run, params and metrics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vbt.atomic import append_line, atomic_write

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
#: metrics shown in each row of the summary's ranking
SUMMARY_METRICS = ("total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades",
                   "win_rate", "profit_factor")  # fmt: skip


def read_records(folder: str | Path) -> dict[str, dict[str, Any]]:
    """{job id: its record} from ``results.jsonl`` (the last complete line of each id)."""
    path = Path(folder) / RESULTS_FILE
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                out[rec["id"]] = rec
    return out


class ResultsFile:
    """Appends records to ``results.jsonl`` durably. ``drop`` ids are removed from the file first
    (their jobs run again)."""

    def __init__(self, folder: str | Path, drop: Iterable[str] = ()):
        self.path = Path(folder) / RESULTS_FILE
        drop = set(drop)
        if self.path.is_file():
            data = self.path.read_bytes()
            keep = data[: data.rfind(b"\n") + 1]  # cut a partial last line
            if drop:
                lines = [ln for ln in keep.splitlines(keepends=True) if _id(ln) not in drop]
                keep = b"".join(lines)
            if keep != data:
                atomic_write(self.path, lambda f: f.write(keep))

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str, allow_nan=False) + "\n").encode()
        append_line(self.path, line)


def _id(line: bytes) -> str | None:
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec.get("id") if isinstance(rec, dict) else None


def ranking(records: list[dict[str, Any]], rank_by: str) -> list[dict[str, Any]]:
    """The ``ok`` records as summary rows, best first by ``rank_by`` (lowest first for the
    metrics of ``vbt.metrics.LOWER_IS_BETTER``); undefined (null) values last; ties keep the
    spec's order."""
    from vbt.metrics import LOWER_IS_BETTER

    rows = []
    for rec in records:
        if rec.get("status") != "ok":
            continue
        job, run, m = rec["job"], rec.get("run", {}), rec.get("metrics", {})
        row = {
            "id": rec["id"], "index": rec["index"], "name": rec.get("name"),
            "model": job.get("model") or run.get("model_path"), "strategy": job.get("strategy"),
            "symbol": run.get("symbol"), "timeframe": run.get("timeframe"),
            "start": run.get("start"), "end": run.get("end"),
            rank_by: m.get(rank_by), **{k: m.get(k) for k in SUMMARY_METRICS},
        }  # fmt: skip
        if "sweep" in rec:
            row["best_params"] = rec["sweep"].get("best_params")
            row["combinations"] = rec["sweep"].get("combinations")
        rows.append(row)
    sign = 1.0 if rank_by in LOWER_IS_BETTER else -1.0
    rows.sort(key=lambda r: (r[rank_by] is None, sign * (r[rank_by] or 0.0), r["index"]))
    for k, row in enumerate(rows, 1):
        row["rank"] = k
    return [{"rank": r.pop("rank"), **r} for r in rows]


def write_summary(folder: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` atomically."""
    path = Path(folder) / SUMMARY_FILE
    text = json.dumps(summary, indent=2, default=str, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return path
