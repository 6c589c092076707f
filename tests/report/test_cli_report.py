"""The report from the command line: ``vbt report RESULT_DIR``, ``--report`` on backtest and
sweep; bad input is one ``error:`` line (exit 2) and writes nothing."""

from __future__ import annotations

import json

import pytest
from reportkit import DATA, assert_one_line_error, run


def test_backtest_report_and_vbt_report_write_the_same_page(model_dir, tmp_path, capsys):
    rc, out, err = run(capsys, "backtest", model_dir, "--data-dir", DATA, "--confidence-threshold",
                       "0.4", "--out", tmp_path / "run", "--report", tmp_path / "a.html")  # fmt: skip
    assert rc == 0, err
    assert out.rstrip().splitlines()[-1] == f"report: {tmp_path / 'a.html'}"
    rc, out, err = run(capsys, "report", tmp_path / "run")
    assert rc == 0, err
    assert out == f"report: {tmp_path / 'run' / 'report.html'}\n"
    assert (tmp_path / "run" / "report.html").read_bytes() == (tmp_path / "a.html").read_bytes()
    rc, out, _ = run(capsys, "report", tmp_path / "run", "--out", tmp_path / "b.html")
    assert rc == 0 and (tmp_path / "b.html").read_bytes() == (tmp_path / "a.html").read_bytes()


def test_backtest_json_names_the_report(model_dir, tmp_path, capsys):
    rc, out, err = run(capsys, "backtest", model_dir, "--data-dir", DATA, "--json",
                       "--report", tmp_path / "r.html")  # fmt: skip
    assert rc == 0, err
    assert json.loads(out)["report"] == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # plotly.js is inlined


def test_sweep_report_from_the_command_line(model_dir, tmp_path, capsys):
    args = ["sweep", model_dir, "--data-dir", DATA, "--grid", "confidence_threshold=0.4,0.5",
            "--grid", "commission=0,0.001", "--by", "total_return", "--top", "3"]  # fmt: skip
    rc, out, err = run(capsys, *args, "--heatmap", "commission,confidence_threshold",
                       "--report", tmp_path / "s.html", "--out", tmp_path / "s")  # fmt: skip
    assert rc == 0, err
    assert out.rstrip().splitlines()[-1] == f"report: {tmp_path / 's.html'}"
    text = (tmp_path / "s.html").read_text()
    assert (
        'data-kind="sweep"' in text
        and "total_return over commission and confidence_threshold" in text
    )
    rc, out, err = run(capsys, "report", tmp_path / "s", "--by", "win_rate", "--top", "2")
    assert rc == 0, err
    assert "Top 2 by win_rate" in (tmp_path / "s" / "report.html").read_text()


def assert_html_page(path) -> None:
    assert path.read_text().startswith("<!DOCTYPE html>\n<html")


@pytest.mark.parametrize("name", ["report.html", "pages/report.html"])
def test_backtest_report_inside_the_out_folder_it_creates(model_dir, tmp_path, capsys, name):
    """``--out X --report X/...`` with X not there yet: X (and the report's folder in it) are
    created once the run has succeeded, and hold the saved run and its page."""
    out = tmp_path / "run"
    rc, stdout, err = run(capsys, "backtest", model_dir, "--data-dir", DATA,
                          "--confidence-threshold", "0.4", "--out", out, "--report", out / name)  # fmt: skip
    assert rc == 0, err
    assert stdout.rstrip().splitlines()[-1] == f"report: {out / name}"
    assert all((out / f).is_file() for f in ("metrics.json", "trades.parquet", "equity.parquet"))
    assert_html_page(out / name)


def test_sweep_report_inside_the_out_folder_it_creates(model_dir, tmp_path, capsys):
    out = tmp_path / "sweep"
    rc, stdout, err = run(capsys, "sweep", model_dir, "--data-dir", DATA, "--grid",
                          "confidence_threshold=0.4,0.5", "--grid", "commission=0,0.001",
                          "--out", out, "--report", out / "report.html")  # fmt: skip
    assert rc == 0, err
    assert stdout.rstrip().splitlines()[-1] == f"report: {out / 'report.html'}"
    assert (out / "results.parquet").is_file() and (out / "summary.json").is_file()
    assert_html_page(out / "report.html")
    assert 'data-kind="sweep"' in (out / "report.html").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["report", "{w}/missing"], "result folder {w}/missing: folder not found"),
        (["report", "{w}"], "holds neither a backtest result"),
        (["report", "{w}/run", "--by", "total_return"], "only for a sweep"),
        (["report", "{w}/run", "--out", "{w}/no/such/r.html"], "folder {w}/no/such does not exist"),
        (["report", "{w}/bad"], "{w}/bad/metrics.json: not valid JSON"),
        (["backtest", "{m}", "--data-dir", "{d}", "--report", "{w}"], "--report {w}: is a folder"),
        (
            [
                "backtest",
                "{m}",
                "--data-dir",
                "{d}",
                "--out",
                "{w}/new",
                "--report",
                "{w}/no/r.html",
            ],
            "--report {w}/no/r.html: folder {w}/no does not exist",
        ),
        (
            ["backtest", "{m}", "--data-dir", "{d}", "--out", "{w}/new", "--report", "{w}/new"],
            "--report {w}/new: is or holds the output folder {w}/new, not a file",
        ),
        (
            [
                "backtest",
                "{m}",
                "--data-dir",
                "{d}",
                "--out",
                "{w}/run",
                "--report",
                "{w}/run/metrics.json/sub/r.html",
            ],
            "--report {w}/run/metrics.json/sub/r.html: cannot create the folder "
            "{w}/run/metrics.json/sub: {w}/run/metrics.json is a file",
        ),
        (
            [
                "sweep",
                "{m}",
                "--data-dir",
                "{d}",
                "--grid",
                "commission=0,0.001",
                "--out",
                "{w}/new",
                "--report",
                "{w}/no/s.html",
            ],
            "--report {w}/no/s.html: folder {w}/no does not exist",
        ),
        (
            [
                "sweep",
                "{m}",
                "--data-dir",
                "{d}",
                "--grid",
                "commission=0,0.001",
                "--heatmap",
                "commission,slippage",
            ],
            "--heatmap commission,slippage: swept: commission",
        ),
        (
            [
                "sweep",
                "{m}",
                "--data-dir",
                "{d}",
                "--grid",
                "commission=0,0.001",
                "--heatmap",
                "commission",
                "--report",
                "{w}/s.html",
            ],
            "--heatmap 'commission': expected two",
        ),
    ],
)
def test_bad_input_is_one_line(model_dir, traded, tmp_path, capsys, argv, message):
    traded.save(tmp_path / "run")
    (tmp_path / "bad").mkdir()
    for name in ("metrics.json", "trades.parquet", "equity.parquet"):
        (tmp_path / "bad" / name).write_text("{" if name.endswith("json") else "")
    fill = {"w": tmp_path, "m": model_dir, "d": DATA}
    assert_one_line_error(capsys, argv, fill, message, tmp_path)
