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

Every complete line is checked (``LedgerEntry``) before a count is used: a line that is not JSON,
misses a field or holds a wrong type, a count below zero, more Sharpe ratios than trials, or a
sum that is not a finite number is a ``DataError`` naming the file, the line and the field
(``trials.jsonl: line 4: trials = -3: input should be greater than or equal to 0``), so the
deflated Sharpe ratio is never computed from a ledger it cannot trust.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vbt.atomic import append_line
from vbt.errors import DataError
from vbt.results.saved import complete_lines, parse_line, problem
from vbt.timefmt import now_iso_z

LEDGER_FILE = "trials.jsonl"

_Count = Annotated[int, Field(ge=0)]
_Number = Annotated[float, Field(allow_inf_nan=False)]


class LedgerEntry(BaseModel):
    """One line of ``trials.jsonl``: its key, kind, trials (>= 0), the count (<= trials), sum
    and sum of squares (>= 0) of their finite Sharpe ratios; ``time`` and ``what`` describe it."""

    model_config = ConfigDict(extra="allow", strict=True)
    key: Annotated[str, Field(min_length=1)]
    kind: str
    trials: _Count
    sharpe_n: _Count
    sharpe_sum: _Number
    sharpe_sumsq: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    time: str | None = None
    what: dict[str, Any] | None = None

    def inconsistency(self) -> str | None:
        """What contradicts itself in the entry (None: nothing)."""
        if self.sharpe_n > self.trials:
            return f"sharpe_n = {self.sharpe_n}: more Sharpe ratios than trials ({self.trials})"
        if self.sharpe_n == 0 and (self.sharpe_sum or self.sharpe_sumsq):
            return "sharpe_sum, sharpe_sumsq: not 0 with no Sharpe ratio (sharpe_n = 0)"
        return None


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
        """Every complete entry, in the order written (the first of each key), each checked
        (``LedgerEntry``; a ``DataError`` names the first line that is not one)."""
        if not self.path.is_file():
            return []
        out, seen = [], set()
        for number, line in complete_lines(self.path):
            where = f"{self.path}: line {number}"
            entry = parse_line(line, self.path, number)
            if not isinstance(entry, dict):
                raise DataError(f"{where}: not a JSON object; not a trial ledger's entry")
            try:
                wrong = LedgerEntry.model_validate(entry).inconsistency()
            except ValidationError as exc:
                wrong = problem(exc, entry)
            if wrong:
                raise DataError(f"{where}: {wrong}")
            if entry["key"] not in seen:
                seen.add(entry["key"])
                out.append(entry)
        return out

    def check(self) -> None:
        """A ``DataError`` when a complete line is not an entry (read before any work)."""
        self.entries()

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

    def add_entry(self, entry: dict[str, Any], *, known: set[str] | None = None) -> bool:
        """Append ``entry``, a checked entry of another ledger (a batch's), unless its key is
        already here. Returns whether it was written."""
        keys = known if known is not None else self.keys()
        if entry["key"] in keys:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        append_line(self.path, (json.dumps(entry, sort_keys=True, default=str) + "\n").encode())
        keys.add(entry["key"])
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
            n_trials += e["trials"]
            n += e["sharpe_n"]
            s += float(e["sharpe_sum"])
            ss += float(e["sharpe_sumsq"])
        mean = s / n if n else None
        var = max(0.0, (ss - s * s / n) / (n - 1)) if n > 1 else None
        if not all(math.isfinite(v) for v in (s, ss, mean or 0.0, var or 0.0)):
            raise DataError(f"{self.path}: the Sharpe ratios' sums overflow; not a trial ledger")
        return LedgerStats(trials=n_trials, sharpe_count=n, sharpe_mean=mean, sharpe_variance=var)
