"""``vbt report`` on damaged or foreign folders: every file is read through the one check of its
format (``vbt.results.saved``), so a damaged file is a ``DataError`` of one line naming the file
and the key or column, never another exception and never a page drawn as if nothing were wrong.

The named cases first (each a bug once: a KeyError, a ColumnNotFoundError, a ValueError or a
page of nothing), then a fuzz test: hypothesis damages one file of a real saved backtest, sweep
or research folder (keys dropped, values of another type, NaN, empty tables, columns dropped or
cast, nulls, rows out of order, another table in its place, bytes cut) and the report either
fails with one ``VbtError`` line naming that file or is a page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportkit import run

from tests.hostile import damage_document
from vbt.errors import ConfigError, DataError, VbtError
from vbt.report import render_report, write_report

KINDS = {
    "backtest": ("metrics.json", "trades.parquet", "equity.parquet"),
    "sweep": ("summary.json", "results.parquet"),
    "research": ("report.json", "equity.parquet"),
}


@pytest.fixture(scope="module")
def saved(traded, swept, researched, tmp_path_factory) -> Path:
    """A saved backtest, sweep and research run (``<root>/<kind>/``), never changed."""
    root = tmp_path_factory.mktemp("saved")
    traded.save(root / "backtest")
    swept.save(root / "sweep")
    shutil.copytree(researched.path, root / "research")
    return root


@pytest.fixture
def folder(saved, tmp_path):
    """A private copy of one saved folder: ``folder(kind)``."""
    return lambda kind: Path(shutil.copytree(saved / kind, tmp_path / kind))


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def edit_table(path: Path, change) -> None:
    change(pl.read_parquet(path)).write_parquet(path)


def refused(source: Any, message: str, kind: type = DataError, **options: Any) -> str:
    with pytest.raises(kind) as err:
        render_report(source, **options)
    text = str(err.value)
    assert "\n" not in text and message in text, text
    return text


def test_a_metrics_json_without_its_metrics_names_the_first_missing_one(folder):
    f = folder("backtest")
    edit_json(f / "metrics.json", lambda d: d.update(metrics={}))
    refused(f, f"{f / 'metrics.json'}: metrics.total_return: missing")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("sharpe_ratio", "1.2", "metrics.sharpe_ratio = '1.2': input should be a valid number"),
        ("total_trades", 3.5, "metrics.total_trades = 3.5: input should be a valid integer"),
        ("total_trades", -1, "metrics.total_trades = -1: input should be greater than or equal"),
        ("initial_capital", None, "metrics.initial_capital = None: input should be a valid"),
        ("volatility", float("nan"), "metrics.volatility: not a number"),
        ("win_rate", True, "metrics.win_rate = True: input should be a valid number"),
    ],
)
def test_strings_and_other_types_where_numbers_belong(folder, key, value, message):
    f = folder("backtest")
    edit_json(f / "metrics.json", lambda d: d["metrics"].update({key: value}))
    refused(f, f"{f / 'metrics.json'}: {message}")


@pytest.mark.parametrize(
    "run, message",
    [({"start": "yesterday"}, "metrics.json: start = 'yesterday': not a timestamp"),
     ({"timeframes": "1h"}, "metrics.json: timeframes = '1h': input should be a valid list"),
     ({"timeframe": "7x"}, "metrics.json: timeframe = '7x': not a timeframe"),
     ({"bars": 0}, "metrics.json: bars = 0: input should be greater than or equal to 1"),
     ({"params": []}, "metrics.json: params: input should be a valid dictionary")],
)  # fmt: skip
def test_the_run_of_metrics_json_is_checked_too(folder, run, message):
    f = folder("backtest")
    edit_json(f / "metrics.json", lambda d: d.update(run))
    refused(f, message)


def test_the_trades_table_saved_as_the_equity(folder):
    f = folder("backtest")
    shutil.copy(f / "trades.parquet", f / "equity.parquet")
    refused(f, f"{f / 'equity.parquet'}: column timestamp: missing; not an equity curve")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.head(0), "equity.parquet: 0 rows; an equity curve"),
        (lambda t: t.reverse(), "equity.parquet: column timestamp: row 1: not after the row"),
        (lambda t: t.with_columns(pl.col("equity").cast(pl.Float32)),
         "equity.parquet: column equity: Float32, expected Float64"),
        (lambda t: t.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None)
                                  .otherwise(pl.col("close")).alias("close")),
         "equity.parquet: column close: row 5: null"),
    ],
)  # fmt: skip
def test_a_damaged_equity_file(folder, change, message):
    f = folder("backtest")
    edit_table(f / "equity.parquet", change)
    refused(f, message)


def test_files_of_two_runs_are_refused(folder, untraded):
    f = folder("backtest")
    shutil.copy(f / "trades.parquet", f / "kept.parquet")
    untraded.save(f)
    shutil.copy(f / "kept.parquet", f / "trades.parquet")
    refused(f, "metrics.json: trade_count = 0, but trades.parquet has")


def test_a_sweep_table_without_its_parameter_columns(folder):
    f = folder("sweep")
    edit_table(f / "results.parquet", lambda t: t.drop("confidence_threshold"))
    refused(f, f"{f / 'results.parquet'}: column confidence_threshold: missing")


@pytest.mark.parametrize(
    "text, message",
    [("{}", "summary.json: run: missing"), ("", "summary.json: not valid JSON"),
     ('{"run": {}, "grid": {}}', "summary.json: grid: dictionary should have at least 1 item"),
     ("[]", "summary.json: expected a JSON object, got list")],
)  # fmt: skip
def test_an_empty_or_foreign_sweep_summary(folder, text, message):
    f = folder("sweep")
    (f / "summary.json").write_text(text)
    refused(f, message)


@pytest.mark.parametrize(
    "verdict, message",
    [({"verdict": ""}, "report.json: verdict.verdict = '': empty"),
     ({}, "report.json: verdict.verdict: missing"),
     ({"verdict": "promising", "checks": {"trades": "yes"}}, "verdict.checks.trades = 'yes'")],
)  # fmt: skip
def test_an_empty_verdict(folder, verdict, message):
    f = folder("research")
    edit_json(f / "report.json", lambda d: d.update(verdict=verdict))
    refused(f, message)


def test_a_research_report_with_a_damaged_section(folder):
    f = folder("research")
    edit_json(f / "report.json", lambda d: d["split"].update(test_bars=["a", 3]))
    refused(f, "report.json: split.test_bars[0] = 'a': input should be a valid integer")


@pytest.mark.parametrize("top", [0, -1, 100_001, "3", 2.0, True])
def test_top_out_of_range_is_a_config_error_naming_top(saved, tmp_path, top):
    text = refused(saved / "sweep", f"top = {top!r}: must be an integer in [1, 100,000] (--top)",
                   ConfigError, top=top)  # fmt: skip
    assert text.startswith("top = ")
    with pytest.raises(ConfigError, match="--top"):
        write_report(saved / "sweep", tmp_path / "r.html", top=top)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("top", ["0", "-1"])
def test_vbt_report_top_zero_or_negative(saved, tmp_path, capsys, top):
    rc, out, err = run(
        capsys, "report", saved / "sweep", "--top", top, "--out", tmp_path / "r.html"
    )
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err == f"error: vbt report: argument --top: {top} rows: give at least 1\n"
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "options, message",
    [({"top": None, "by": 3}, "by = 3: must be a metric's name"),
     ({"params": "commission"}, "params = 'commission': must be two swept parameters"),
     ({"tops": 3}, "report: tops: not an option")],
)  # fmt: skip
def test_other_bad_options_are_config_errors(saved, options, message):
    refused(saved / "sweep", message, ConfigError, **options)


# ------------------------------------------------------------------------------------ fuzz


def damage_json(path: Path, data) -> None:
    """One key somewhere in the document dropped or given a hostile value, the whole replaced,
    or the file's bytes cut."""
    raw = path.read_bytes()
    if data.draw(st.integers(0, 5)) == 0:
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
        return
    path.write_text(json.dumps(damage_document(json.loads(raw), data)))


def damage_table(path: Path, data, others: list[Path]) -> None:
    """The table with a column dropped or cast, no rows, a null, NaN or infinity in a cell, its
    rows reversed or repeated, another table in its place, or its bytes cut."""
    raw = path.read_bytes()
    t = pl.read_parquet(path)
    what = data.draw(st.sampled_from(["drop", "cast", "empty", "cell", "reverse", "repeat",
                                      "other", "cut"]))  # fmt: skip
    if what == "cut":
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
        return
    if what == "other":
        shutil.copy(data.draw(st.sampled_from(others)), path)
        return
    name = data.draw(st.sampled_from(t.columns))
    if what == "drop":
        t = t.drop(name)
    elif what == "cast":
        t = t.with_columns(pl.col(name).cast(data.draw(st.sampled_from(
            [pl.String, pl.Float32, pl.Int32, pl.Int64, pl.Float64]))))  # fmt: skip
    elif what == "empty":
        t = t.head(0)
    elif what == "reverse":
        t = t.reverse()
    elif what == "repeat":
        t = pl.concat([t.head(1), t])
    elif t.height:
        row = data.draw(st.integers(0, t.height - 1))
        dtype = t.schema[name]
        pool = [None] + ([float("nan"), float("inf"), -1.0, 0.0] if dtype.is_float() else [])
        value = data.draw(st.sampled_from(pool))
        hit = pl.int_range(pl.len()) == row
        t = t.with_columns(pl.when(hit).then(pl.lit(value, dtype=dtype))
                           .otherwise(pl.col(name)).alias(name))  # fmt: skip
    t.write_parquet(path)


def report_or_one_line(source: Path, damaged: Path) -> None:
    """The contract: a page, or one ``VbtError`` line (a ``DataError`` names the damaged
    file)."""
    try:
        page = render_report(source)
    except VbtError as exc:
        text = str(exc)
        assert text and "\n" not in text, text
        if isinstance(exc, DataError):
            assert damaged.name in text, text
        return
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("kind", list(KINDS))
def test_fuzz_damaged_saved_folders(saved, tmp_path, kind):
    work = Path(shutil.copytree(saved / kind, tmp_path / kind))
    others = sorted(p for p in saved.rglob("*.parquet"))
    files = KINDS[kind]

    @settings(max_examples=45, deadline=5000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def fuzz(data):
        name = data.draw(st.sampled_from(files))
        path = work / name
        try:
            if name.endswith(".json"):
                damage_json(path, data)
            else:
                damage_table(path, data, others)
            report_or_one_line(work, path)
        finally:
            shutil.copy(saved / kind / name, path)

    fuzz()
