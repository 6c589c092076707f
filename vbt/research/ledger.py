"""The trial ledger: every combination backtested and every research run made in an output folder.

The deflated Sharpe ratio needs to know how many strategies were tried before the one being
judged, and how much their Sharpe ratios varied. ``trials.jsonl`` in the output folder keeps one
JSON line per entry (a batch job, a research run): its key, how many trials it made (a sweep's
combinations count one each), and the count, sum and sum of squares of their finite annualised
Sharpe ratios, so that the variance across every trial ever made there is exact without keeping
each one. An entry is written once per key: re-running the same job or the same research (same
strategy file, settings and data) adds nothing, since it repeats a trial rather than making a new
one. Lines are appended with one write each, flushed and fsynced; a partial last line (a killed
process) is ignored. Research runs (``vbt.research.run``) and batches (``vbt.batch``) add to it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbt.atomic import append_line
from vbt.timefmt import now_iso_z

LEDGER_FILE = "trials.jsonl"


@dataclass(frozen=True)
class LedgerStats:
    """The trials of a ledger: ``trials`` (N, every combination and run), and over the finite
    annualised Sharpe ratios among them: ``sharpe_count``, ``sharpe_mean``, ``sharpe_variance``
    (ddof=1; None with fewer than two)."""

    trials: int
    sharpe_count: int
    sharpe_mean: float | None
    sharpe_variance: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sharpe_sums(sharpes: Iterable[float | None]) -> tuple[int, float, float]:
    """(count, sum, sum of squares) of the finite values."""
    n, s, ss = 0, 0.0, 0.0
    for v in sharpes:
        if v is not None and math.isfinite(v):
            n, s, ss = n + 1, s + float(v), ss + float(v) * float(v)
    return n, s, ss


class TrialLedger:
    """``trials.jsonl`` in ``folder`` (created on the first entry)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LEDGER_FILE

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry, in the order written (the first of each key)."""
        if not self.path.is_file():
            return []
        out, seen = [], set()
        with self.path.open("rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a partial last line
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("key") not in seen:
                    seen.add(entry.get("key"))
                    out.append(entry)
        return out

    def keys(self) -> set[str]:
        return {e["key"] for e in self.entries()}

    def add(
        self,
        key: str,
        kind: str,
        sharpe_ratios: Iterable[float | None],
        *,
        trials: int | None = None,
        what: dict[str, Any] | None = None,
        known: set[str] | None = None,
    ) -> bool:
        """Append an entry unless ``key`` is already there (``known``: the keys, if the caller
        keeps them). ``sharpe_ratios``: annualised, None where undefined; ``trials`` defaults to
        their number. Returns whether an entry was written."""
        keys = known if known is not None else self.keys()
        if key in keys:
            return False
        values = list(sharpe_ratios)
        n, s, ss = sharpe_sums(values)
        entry = {
            "key": key, "kind": kind, "trials": int(trials if trials is not None else len(values)),
            "sharpe_n": n, "sharpe_sum": s, "sharpe_sumsq": ss,
            "time": now_iso_z(), "what": what or {},
        }  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        line = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode()
        append_line(self.path, line)
        keys.add(key)
        return True

    def _repair(self) -> None:
        """Cut a partial last line (left by a killed process) so the next entry starts clean."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def stats(self) -> LedgerStats:
        """N and the mean and variance of the finite annualised Sharpe ratios of all entries."""
        n_trials, n, s, ss = 0, 0, 0.0, 0.0
        for e in self.entries():
            n_trials += int(e.get("trials", 0))
            n += int(e.get("sharpe_n", 0))
            s += float(e.get("sharpe_sum", 0.0))
            ss += float(e.get("sharpe_sumsq", 0.0))
        mean = s / n if n else None
        var = max(0.0, (ss - s * s / n) / (n - 1)) if n > 1 else None
        return LedgerStats(trials=n_trials, sharpe_count=n, sharpe_mean=mean, sharpe_variance=var)
