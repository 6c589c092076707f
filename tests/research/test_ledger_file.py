"""A damaged trial ledger (``trials.jsonl``): every complete line is checked before a count is
used (``vbt.research.ledger.LedgerEntry``), so a non-numeric or NaN field, a negative count or
more Sharpe ratios than trials is a ``DataError`` naming the file, the line and the field, never
a KeyError nor a deflated Sharpe ratio computed from nonsense; research refuses it before any
training. A fuzz test damages one line of a real ledger."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbt
import vbt.research.cycle
from tests.hostile import damage_document
from tests.research.conftest import DATA
from vbt.errors import DataError
from vbt.research.ledger import LEDGER_FILE, TrialLedger


def ledger(folder: Path) -> TrialLedger:
    """Three entries: a research run, a sweep of four (one Sharpe ratio undefined), a backtest."""
    led = TrialLedger(folder)
    led.add("r1", "research", [1.5])
    led.add("b1", "batch", [0.5, -0.25, None, 2.0], trials=4)
    led.add("b2", "batch", [None], trials=1)
    return led


def entries(folder: Path) -> list[dict]:
    return [json.loads(ln) for ln in (folder / LEDGER_FILE).read_text().splitlines()]


def rewrite(folder: Path, lines: list) -> None:
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines)
    (folder / LEDGER_FILE).write_text(text)


@pytest.mark.parametrize(
    "line, change, message",
    [
        (1, {"trials": "4"}, "line 2: trials = '4': input should be a valid integer"),
        (1, {"sharpe_sum": "NaN"}, "line 2: sharpe_sum = 'NaN': input should be a valid number"),
        (0, {"sharpe_sum": math.nan}, "line 1: sharpe_sum: not a number"),
        (0, {"sharpe_sumsq": math.inf}, "line 1: sharpe_sumsq: not finite"),
        (2, {"trials": -3}, "line 3: trials = -3: input should be greater than or equal to 0"),
        (1, {"sharpe_n": 9}, "line 2: sharpe_n = 9: more Sharpe ratios than trials (4)"),
        (0, {"sharpe_sumsq": -1.0}, "line 1: sharpe_sumsq = -1.0: input should be greater"),
        (2, {"key": None}, "line 3: key = None: input should be a valid string"),
    ],
)
def test_a_damaged_field_names_the_line(tmp_path, line, change, message):
    ledger(tmp_path)
    lines = entries(tmp_path)
    lines[line].update(change)
    rewrite(tmp_path, lines)
    with pytest.raises(DataError) as err:
        TrialLedger(tmp_path).stats()
    text = str(err.value)
    assert text.startswith(f"{tmp_path / LEDGER_FILE}: {message}") and "\n" not in text, text


@pytest.mark.parametrize("field", ["trials", "sharpe_n", "sharpe_sum", "sharpe_sumsq", "key"])
def test_a_missing_field_names_it(tmp_path, field):
    ledger(tmp_path)
    lines = entries(tmp_path)
    del lines[1][field]
    rewrite(tmp_path, lines)
    with pytest.raises(DataError, match=f"line 2: {field}: missing"):
        TrialLedger(tmp_path).keys()


def test_lines_that_are_not_entries(tmp_path):
    ledger(tmp_path)
    lines = entries(tmp_path)
    for junk, message in (("{oops", "line 2: not valid JSON"), ("7", "line 2: not a JSON object")):
        rewrite(tmp_path, [lines[0], junk, *lines[1:]])
        with pytest.raises(DataError, match=message):
            TrialLedger(tmp_path).stats()


def test_research_refuses_a_damaged_ledger_before_training(strategy_file, tmp_path,
                                                           monkeypatch):  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    ledger(out)
    lines = entries(out)
    lines[0]["trials"] = -1
    rewrite(out, lines)

    def never(*args, **kwargs):
        raise AssertionError("research trained with a damaged ledger")

    monkeypatch.setattr(vbt.research.cycle, "Runner", never)
    with pytest.raises(DataError, match=r"trials.jsonl: line 1: trials = -1"):
        vbt.research.run(strategy_file, data_dir=DATA, out_dir=out)


# ------------------------------------------------------------------------------------ fuzz


def test_fuzz_damaged_ledger_lines(tmp_path):
    s = ledger(tmp_path).stats()  # intact: every trial counted
    assert (s.trials, s.sharpe_count) == (6, 4)
    assert s.sharpe_mean == pytest.approx((1.5 + 0.5 - 0.25 + 2.0) / 4)
    pristine = (tmp_path / LEDGER_FILE).read_bytes()
    lines = entries(tmp_path)

    @settings(max_examples=100, deadline=2000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def fuzz(data):
        if data.draw(st.integers(0, 4)) == 0:  # a crash while appending: bytes cut anywhere
            cut = data.draw(st.integers(0, len(pristine)))
            (tmp_path / LEDGER_FILE).write_bytes(pristine[:cut])
            assert len(TrialLedger(tmp_path).entries()) == pristine[:cut].count(b"\n")
            return
        damaged = json.loads(json.dumps(lines))
        k = data.draw(st.integers(0, len(damaged) - 1))
        damaged[k] = damage_document(damaged[k], data)
        rewrite(tmp_path, damaged)
        try:
            s = TrialLedger(tmp_path).stats()
        except DataError as exc:
            text = str(exc)
            assert "\n" not in text and f"{LEDGER_FILE}: line {k + 1}: " in text, text
            return
        assert s.trials >= 0 and 0 <= s.sharpe_count <= s.trials
        assert all(v is None or math.isfinite(v) for v in (s.sharpe_mean, s.sharpe_variance))

    fuzz()
