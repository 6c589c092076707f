"""Resuming a batch from a damaged ``results.jsonl``: every complete line must be a job's record
(``vbt.results.saved.read_records``), so a line that parses but lacks a field or holds a wrong
type is a ``DataError`` naming the file and the line before any job runs, never a KeyError
later; the one line left out is a partial last line (a batch killed while appending). A fuzz
test damages one line of a real batch's file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbt
import vbt.batches
from tests.hostile import damage_document
from vbt.errors import DataError
from vbt.results.batch import ranking
from vbt.results.saved import RESULTS_FILE, read_records


@pytest.fixture(scope="module")
def finished(models, data_dir, tmp_path_factory):
    """(spec, folder) of a finished batch: a backtest, a sweep and a job that failed."""
    spec = {
        "defaults": {"data_dir": str(data_dir)},
        "jobs": [
            {"model": str(models["a"])},
            {"model": str(models["a"]), "grid": {"confidence_threshold": [0.0, 0.4]}},
            {"model": str(models["a"]), "start_date": "2031-01-01"},
        ],
    }
    out = tmp_path_factory.mktemp("finished") / "out"
    res = vbt.batch(spec, out, jobs=1)
    assert [r["status"] for r in res.records] == ["ok", "ok", "error"]
    return spec, out


@pytest.fixture
def copy(finished, tmp_path):
    spec, out = finished
    return spec, Path(shutil.copytree(out, tmp_path / "out"))


def lines(folder: Path) -> list[dict]:
    return [json.loads(ln) for ln in (folder / RESULTS_FILE).read_text().splitlines()]


def write_lines(folder: Path, records: list) -> None:
    (folder / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))


def never(*args, **kwargs):
    raise AssertionError("a job ran")


@pytest.mark.parametrize(
    "line, change, message",
    [
        (1, lambda r: r.pop("status"), "line 2: status: missing"),
        (0, lambda r: r.pop("metrics"), "line 1: metrics: missing"),
        (2, lambda r: r.pop("error"), "line 3: error: missing"),
        (0, lambda r: r.update(id=7), "line 1: id = 7: input should be a valid string"),
        (0, lambda r: r.update(index="0"), "line 1: index = '0': input should be a valid integer"),
        (1, lambda r: r.update(status="done"), "line 2: status = 'done': must be 'ok' or 'error'"),
        (0, lambda r: r["metrics"].update(sharpe_ratio="high"),
         "line 1: metrics.sharpe_ratio = 'high': input should be a valid number"),
        (1, lambda r: r.update(sweep=[]), "line 2: sweep: input should be a valid dictionary"),
        (2, lambda r: r["error"].update(message=None), "line 3: error.message = None"),
        (0, lambda r: r.update(job="x"), "line 1: job = 'x': input should be a valid dictionary"),
    ],
)  # fmt: skip
def test_a_line_that_parses_but_is_not_a_record_stops_the_resume(copy, monkeypatch, line, change,
                                                                  message):  # fmt: skip
    spec, out = copy
    records = lines(out)
    change(records[line])
    write_lines(out, records)
    before = (out / RESULTS_FILE).read_bytes()
    monkeypatch.setattr(vbt.batches, "run_units", never)
    with pytest.raises(DataError) as err:
        vbt.batch(spec, out, jobs=1)
    text = str(err.value)
    assert text.startswith(f"{out / RESULTS_FILE}: {message}") and "\n" not in text, text
    assert (out / RESULTS_FILE).read_bytes() == before  # nothing cut, nothing appended


@pytest.mark.parametrize("junk", [b"not json\n", b"[1, 2]\n", b"\n", b"{" * 100_000 + b"\n"])
def test_a_line_that_is_not_a_json_object(copy, junk):
    _spec, out = copy
    data = (out / RESULTS_FILE).read_bytes().splitlines(keepends=True)
    (out / RESULTS_FILE).write_bytes(data[0] + junk + b"".join(data[1:]))
    with pytest.raises(DataError, match=f"{RESULTS_FILE}: line 2: ") as err:
        read_records(out)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------ fuzz


def resume_or_one_line(folder: Path, damaged: int | None) -> None:
    """The contract: ``read_records`` gives records the batch can use (its summary's ranking
    and errors), or one ``DataError`` line naming the file and the damaged line."""
    try:
        records = read_records(folder)
    except DataError as exc:
        text = str(exc)
        assert "\n" not in text and f"{RESULTS_FILE}: line {damaged}: " in text, text
        return
    ranking(list(records.values()), "sharpe_ratio")
    for r in records.values():
        if r["status"] != "ok":
            assert {**r["error"]}["message"] is not None


def test_fuzz_damaged_results_lines(finished, tmp_path):
    _spec, out = finished
    work = tmp_path / "out"
    work.mkdir()
    pristine = (out / RESULTS_FILE).read_bytes()
    records = lines(out)

    @settings(max_examples=80, deadline=2000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def fuzz(data):
        if data.draw(st.integers(0, 4)) == 0:  # a crash while appending: bytes cut anywhere
            cut = data.draw(st.integers(0, len(pristine)))
            (work / RESULTS_FILE).write_bytes(pristine[:cut])
            complete = pristine[:cut].count(b"\n")
            assert len(read_records(work)) == complete
            return
        damaged = json.loads(json.dumps(records))
        k = data.draw(st.integers(0, len(damaged) - 1))
        damaged[k] = damage_document(damaged[k], data)
        write_lines(work, damaged)
        resume_or_one_line(work, k + 1)

    fuzz()
