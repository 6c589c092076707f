"""A batch's result (``vbt.batch``): ``BatchResult`` and the ranking of its ``summary.json``.

The batch's files (``results.jsonl``, ``summary.json``, ``sweeps/<id>.parquet``) are written and
read by ``vbt.results.saved``; the batch itself is run by ``vbt.batches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbt.metrics import LOWER_IS_BETTER

#: exit status of ``vbt batch`` when the batch ran but some job failed
EXIT_JOBS_FAILED = 3
#: metrics shown in each row of the summary's ranking
SUMMARY_METRICS = ("total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades",
                   "win_rate", "profit_factor")  # fmt: skip


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The outcome of a batch.

    out_dir : Path; summary : the dict in ``summary.json``; records : one per job of the spec, in
    the spec's order (including those done by an earlier run into the same folder).
    """

    out_dir: Path
    summary: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """Whether every job succeeded."""
        return all(r.get("status") == "ok" for r in self.records)

    @property
    def exit_status(self) -> int:
        """0 when every job succeeded, else ``EXIT_JOBS_FAILED`` (3)."""
        return 0 if self.ok else EXIT_JOBS_FAILED


def ranking(records: list[dict[str, Any]], rank_by: str) -> list[dict[str, Any]]:
    """The ``ok`` records as summary rows, best first by ``rank_by`` (lowest first for the
    metrics of ``vbt.metrics.LOWER_IS_BETTER``); undefined (null) values last; ties keep the
    spec's order."""
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
