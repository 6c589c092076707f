"""The research page: self-contained, the same from memory and from ``runs/<run>/``, showing
exactly report.json's numbers; the walk-forward section only with folds, sections a run did not
record left out; ``vbt report`` on a research run's folder and ``vbt research --report``."""

from __future__ import annotations

import json
import re
import shutil

import polars as pl
import pytest
from report_pages import number, parse
from reportkit import assert_one_line_error, run
from test_html import assert_self_contained

from tests.research.conftest import tiny, write
from vbt.report import ResearchData, render_report
from vbt.summary import FOLD_SHOWN


def saved(run) -> dict:
    return json.loads((run.path / "report.json").read_text())


def at(doc, key: str):
    """report.json's value at a dotted key ("walk_forward.folds.0.metrics")."""
    for part in key.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def assert_shows(text: str, value, name: str = "") -> None:
    """``text`` is ``value`` as shown: "—" when undefined, text as it is, a number to the
    precision shown (a percentage for a fraction; 6 significant digits in exponent form)."""
    if value is None:
        assert text == "—", (name, text)
        return
    if isinstance(value, str):
        assert text == value, (name, text)
        return
    t = text.strip()
    if "e" in t:  # format_value's exponent form: 6 significant digits
        assert float(t.replace(",", "")) == pytest.approx(value, rel=1e-5), (name, text)
        return
    shown, decimals = number(t)
    scale = 100.0 if t.endswith("%") else 1.0
    assert shown is not None, (name, text)
    assert abs(shown - value * scale) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (name, text)


def when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def figure_with(page, name: str) -> dict:
    [fig] = [f for f in page.figures if any(t.get("name") == name for t in f["data"])]
    return fig


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def test_research_page_is_self_contained_and_the_same_from_memory_and_disk(researched):
    from_disk = render_report(researched.path)
    assert render_report(researched) == from_disk
    assert_self_contained(from_disk)
    page = parse(from_disk)
    assert 'data-kind="research"' in from_disk
    assert len(page.figures) == int(re.search(r'data-figures="(\d+)"', from_disk)[1]) == 3


def test_the_numbers_shown_equal_report_json(researched):
    r = saved(researched)
    page = parse(render_report(researched.path))
    # the verdict first: its label, every reason (with its numbers) and each check
    assert page.text.index("Verdict: " + r["verdict"]["verdict"]) < page.text.index("Run")
    for reason in r["verdict"]["reasons"]:
        assert reason in page.text
    checks = page.table_rows("check")
    assert [a["data-check"] for a, _c in checks] == ["trades", "chance", "selection", "market"]
    for attrs, cells in checks:
        passed = r["verdict"]["checks"][attrs["data-check"]]
        assert json.loads(attrs["data-value"]) == passed
        assert cells[-1] == {True: "pass", False: "fail", None: "undefined"}[passed]
    # the out-of-sample metrics, with buy-and-hold's beside the ones it has
    rows = page.table_rows("name")
    assert {"sharpe_ratio", "total_return_pct", "total_trades"} <= {a["data-name"] for a, _ in rows}
    for attrs, cells in rows:
        name = attrs["data-name"]
        assert json.loads(attrs["data-value"]) == r["metrics"][name], name
        assert_shows(cells[2], r["metrics"][name], name)
        if name in r["buy_and_hold"]:
            assert_shows(cells[3], r["buy_and_hold"][name], name)
        else:
            assert cells[3] == "", name
    assert {"sharpe_ratio", "final_equity"} <= {a["data-name"] for a, c in rows if c[3]}
    # the random-entry baseline and the Sharpe ratio statistics: each row names its key
    keyed = page.table_rows("key")
    assert {"random_entry.p_value", "random_entry.simulations", "sharpe_statistics.psr",
            "sharpe_statistics.dsr", "sharpe_statistics.trials"} <= {a["data-key"] for a, _ in keyed}  # fmt: skip
    for attrs, cells in keyed:
        value = at(r, attrs["data-key"])
        assert json.loads(attrs["data-value"]) == value
        assert_shows(cells[1], value, attrs["data-key"])
    rnd = r["random_entry"]
    assert "simulated 5th percentile median 95th percentile mean strategy" in page.text
    for attrs, cells in page.table_rows("statistic"):
        stat = attrs["data-statistic"]
        for cell, q in zip(cells[1:], ("p05", "p50", "p95", "mean"), strict=False):
            assert_shows(cell, rnd[stat][q], f"{stat} {q}")
        own = rnd["strategy"] if stat == "sharpe_ratio" else r["metrics"][stat]
        assert_shows(cells[-1], own, stat)
    # in sample against out of sample: what training recorded, per split
    fit = page.table_rows("fit")
    assert [a["data-fit"] for a, _c in fit] == ["train", "validation", "test"]
    for attrs, cells in fit:
        part = r["training"][0][attrs["data-fit"]]
        assert json.loads(attrs["data-value"]) == part
        for cell, key in zip(cells[2:], ("samples", "loss", "accuracy"), strict=True):
            assert_shows(cell, part[key], key)
        split = r["split"][attrs["data-fit"]]
        assert f"{when(split[0])} → {when(split[1])}" in cells[1]
    assert r["training"][0]["test"]["samples"] == r["out_of_sample"]["bars"]
    # the run
    for fact in (r["strategy"], r["symbol"], r["strategy_file"], r["models"][0], r["ledger"]["run"],
                 when(r["out_of_sample"]["start"]), when(r["out_of_sample"]["end"])):  # fmt: skip
        assert fact in page.text, fact


def test_the_drawn_curves_and_distribution_are_the_runs(researched):
    r = saved(researched)
    eq = pl.read_parquet(researched.path / "equity.parquet")
    page = parse(render_report(researched.path))
    fig = figure_with(page, "strategy")
    at_time = dict(zip(eq["timestamp"].dt.epoch("ms").to_list(), eq.iter_rows(named=True),
                       strict=True))  # fmt: skip
    for name, column in (("strategy", "equity"), ("buy and hold", "buy_and_hold")):
        curve = trace(fig, name)
        assert set(curve["x"]) <= set(at_time) and len(curve["x"]) == eq.height  # not downsampled
        assert curve["y"] == pytest.approx([at_time[t][column] for t in curve["x"]], rel=1e-6)
    # the drawn buy and hold is the baseline whose metrics report.json holds
    assert eq["buy_and_hold"][-1] == pytest.approx(r["buy_and_hold"]["final_equity"], rel=1e-12)
    assert eq["equity"][-1] == r["metrics"]["final_equity"]
    # the random-entry distribution as report.json bins it, the strategy's value marked
    hist = r["random_entry"]["sharpe_ratio"]["histogram"]
    fig = figure_with(page, "simulations")
    assert trace(fig, "simulations")["y"] == hist["counts"]
    assert sum(hist["counts"]) == r["random_entry"]["simulations"]
    assert trace(fig, "strategy's Sharpe ratio")["x"] == [r["random_entry"]["strategy"]] * 2
    assert trace(fig, "buy-and-hold's Sharpe ratio")["x"] == [r["buy_and_hold"]["sharpe_ratio"]] * 2
    lo, hi = hist["edges"][0], hist["edges"][-1]
    assert (
        lo
        <= r["random_entry"]["sharpe_ratio"]["p05"]
        <= r["random_entry"]["sharpe_ratio"]["p95"]
        <= hi
    )


def test_walk_forward_folds_are_shown_only_with_folds(researched, walked):
    held = parse(render_report(researched))
    assert "Walk-forward folds" not in held.text and not held.table_rows("fold")
    assert not figure_with(held, "strategy")["layout"].get("shapes")  # no fold lines
    r = saved(walked)
    wf = r["walk_forward"]
    text = render_report(walked.path)
    assert text == render_report(walked)
    assert_self_contained(text)
    page = parse(text)
    assert "Walk-forward folds" in page.text and "In sample against out of sample" not in page.text
    rows = page.table_rows("fold")
    assert [int(a["data-fold"]) for a, _c in rows] == [f["fold"] for f in wf["folds"]] == [1, 2, 3]
    for (_attrs, cells), fold, fit in zip(rows, wf["folds"], r["training"], strict=True):
        assert cells[1].startswith(f"{when(fold['train'][0])} → {when(fold['train'][1])}")
        assert cells[2].startswith(f"{when(fold['test'][0])} → {when(fold['test'][1])}")
        in_sample = [fit[p][q] for p in ("train", "validation") for q in ("loss", "accuracy")]
        for cell, value in zip(cells[3:7], in_sample, strict=True):
            assert_shows(cell, value)
        for cell, name in zip(cells[7:], FOLD_SHOWN, strict=True):
            assert_shows(cell, fold["metrics"][name], name)
    # the folds' own numbers add up to the stitched curve's
    folds = [f["metrics"] for f in wf["folds"]]
    assert sum(m["total_trades"] for m in folds) == r["metrics"]["total_trades"]
    assert folds[-1]["final_equity"] == r["metrics"]["final_equity"]
    assert [m["initial_capital"] for m in folds[1:]] == [m["final_equity"] for m in folds[:-1]]
    returns = trace(figure_with(page, "total return"), "total return")
    assert returns["y"] == pytest.approx([m["total_return_pct"] for m in folds], rel=1e-6)
    lines = figure_with(page, "strategy")["layout"]["shapes"]
    assert len(lines) == 3  # one dotted line at each fold's first bar


def test_what_a_run_did_not_record_is_left_out(researched):
    """A report.json from before the fit, the histogram and the buy-and-hold curve were recorded
    (and a run without trades: no simulation) draws no empty plot."""
    old = json.loads(json.dumps(researched.report))
    del old["training"]
    old["random_entry"] = {"simulations": 0, "seed": 0, "trades": 0, "p_value": None,
                           "note": "no trade out of sample: nothing to place at random"}  # fmt: skip
    data = ResearchData(report=old, equity=researched.equity.drop("buy_and_hold"))
    page = parse(render_report(data))
    assert len(page.figures) == 1  # the equity alone
    [curve] = page.figures[0]["data"]
    assert curve["name"] == "strategy" and len(curve["y"]) == researched.equity.height
    assert "holds no buy-and-hold curve" in page.text and "records no training fit" in page.text
    assert "no trade out of sample: nothing to place at random" in page.text
    assert not page.table_rows("statistic")  # no quantiles without simulations
    fit = page.table_rows("fit")  # the split's windows stay, without loss and accuracy
    assert [a["data-fit"] for a, _c in fit] == ["train", "validation", "test"]
    assert all(len(cells) == 2 for _a, cells in fit)


def test_vbt_report_writes_a_research_runs_page(researched, tmp_path, capsys):
    folder = shutil.copytree(researched.path, tmp_path / "run")
    rc, out, err = run(capsys, "report", folder)
    assert rc == 0, err
    assert out == f"report: {folder / 'report.html'}\n"
    expected = researched.write_report(tmp_path / "memory.html").read_bytes()
    assert (folder / "report.html").read_bytes() == expected


def test_vbt_research_report(researched, tmp_path, capsys):
    """``--report`` writes the run's page; the run is the fixture's again (same strategy file,
    settings and output folder: its model is reused, no trial added), so the page is the same."""
    out = researched.path.parents[1]
    args = ["research", researched.report["strategy_file"], "--data-dir", researched.report["data_dir"],
            "--out", out, "--simulations", "100"]  # fmt: skip
    rc, stdout, err = run(capsys, *args, "--json", "--report", tmp_path / "a.html")
    assert rc == 0, err
    doc = json.loads(stdout)
    assert (
        doc["report"] == str(tmp_path / "a.html") and doc["models"] == researched.report["models"]
    )
    page = (tmp_path / "a.html").read_text()
    assert page == render_report(researched) == render_report(researched.path)
    rc, stdout, err = run(capsys, *args, "--report", tmp_path / "b.html")
    assert rc == 0, err
    assert stdout.rstrip().splitlines()[-1] == f"report: {tmp_path / 'b.html'}"
    assert (tmp_path / "b.html").read_text() == page


def test_vbt_research_report_inside_the_out_folder_it_creates(researched, tmp_path, capsys):
    """``--out X --report X/report.html`` with X not there yet: the run (a new ledger, so the
    tiny model is trained again) saves into X and its page goes next to them."""
    out = tmp_path / "research"
    rc, stdout, err = run(capsys, "research", researched.report["strategy_file"], "--data-dir",
                          researched.report["data_dir"], "--out", out, "--simulations", "20",
                          "--json", "--report", out / "report.html")  # fmt: skip
    assert rc == 0, err
    doc = json.loads(stdout)
    assert doc["report"] == str(out / "report.html")
    run_dir = out / "runs" / doc["ledger"]["run"]
    assert doc["saved"] == str(run_dir) and (out / "trials.jsonl").is_file()
    assert all((run_dir / f).is_file() for f in ("report.json", "equity.parquet", "trades.parquet"))
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>\n<html") and 'data-kind="research"' in page


@pytest.mark.parametrize(
    "argv, message",
    [
        (["research", "{s}", "--data-dir", "{d}", "--out", "{w}/out", "--report", "{w}"],
         "--report {w}: is a folder"),
        (["research", "{s}", "--data-dir", "{d}", "--out", "{w}/out", "--report", "{w}/no/r.html"],
         "folder {w}/no does not exist"),
        (["research", "{s}", "--data-dir", "{d}", "--out", "{w}/out",
          "--report", "{w}/out/../no/r.html"], "folder {w}/out/../no does not exist"),
        (["report", "{w}/run", "--top", "3"], "top: only for a sweep; this is a research run"),
        (["report", "{w}/bad"], "{w}/bad/report.json: not valid JSON"),
        (["report", "{w}/other"], "{w}/other/report.json: no 'verdict', 'metrics', 'out_of_sample'"),
    ],
)  # fmt: skip
def test_bad_research_report_input_is_one_line(researched, tmp_path, capsys, argv, message):
    shutil.copytree(researched.path, tmp_path / "run")
    for name, text in (("bad", "{"), ("other", '{"verdict": "promising"}')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(text)
        shutil.copy(researched.path / "equity.parquet", tmp_path / name)
    fill = {
        "w": tmp_path,
        "s": write(tmp_path, tiny("never_run")),
        "d": researched.report["data_dir"],
    }
    assert_one_line_error(capsys, argv, fill, message, tmp_path)
