"""vbt.summary, the one view model: every metric is shown once, with its unit; the CLI summary
and the HTML report show the same rows and the same text."""

from __future__ import annotations

import math

import pytest

from vbt.cli import main
from vbt.metrics import FUNNEL_METRICS, METRIC_NAMES
from vbt.report import build_page
from vbt.summary import (
    FUNNEL_STAGES,
    SPECS,
    format_metric,
    format_unit,
    funnel_rows,
    metric_rows,
)


def test_every_metric_is_shown_exactly_once():
    shown = [*SPECS, *(name for name, _label in FUNNEL_STAGES)]
    # "bars" and "total_trades" are both a metric row and a funnel stage; nothing else repeats
    assert sorted(set(shown)) == sorted(METRIC_NAMES)
    assert sorted(n for n in set(shown) if shown.count(n) > 1) == ["bars", "total_trades"]
    assert set(FUNNEL_METRICS) <= set(shown)


@pytest.mark.parametrize(
    "unit, value, text",
    [
        ("fraction", 0.123456, "12.35 %"),
        ("fraction", -0.0012345, "-0.123 %"),
        ("fraction", 0.0, "0.00 %"),
        ("fraction", 1.234e-7, "0.0000123 %"),
        ("fraction", -1.0, "-100.00 %"),
        ("currency", -12345.678, "-12,345.68"),
        ("ratio", 1.23456, "1.235"),
        ("count", 1234567, "1,234,567"),
        ("bars", 42, "42 bars"),
        ("hours", 5.25, "5.2 h"),
        ("per_year", 6261.44, "6,261.4"),
        ("probability", 0.70091789, "0.7009"),
        ("probability", 1.0437e-06, "0.00000104"),
        ("probability", 0.0, "0.0000"),
        ("number", 8.056626393226907e-05, "8.05663e-05"),
        ("number", 1234.5678, "1,234.57"),
        ("ratio", None, "—"),
        ("ratio", math.nan, "—"),
        ("currency", math.inf, "—"),
    ],
)
def test_units_are_written_one_way(unit, value, text):
    assert format_unit(unit, value) == text


def test_metric_rows_follow_the_metrics_and_hide_exit_reasons_without_exits(traded):
    m = traded.metrics
    rows = metric_rows(m)
    assert [r.value for r in rows] == [m[r.name] for r in rows]
    assert all(r.text == format_metric(r.name, m[r.name]) for r in rows)
    names = {r.name for r in rows}
    assert {"signal_exits", "signal_avg_pnl"} <= names  # this run exits on signals
    assert "stop_loss_exits" not in names and m["stop_loss_exits"] == 0  # risk exits are off
    assert {r.name for r in metric_rows(m, all_exits=True)} == set(SPECS) - {"highest_confidence"}


def test_cli_summary_and_report_show_the_same_rows(traded, tmp_path, capsys):
    """The CLI prints each metric's name and text on one line, the report has the same rows."""
    traded.save(tmp_path / "run")
    cfg = traded.info.config
    argv = ["backtest", cfg["model_path"], "--data-dir", cfg["data_dir"],
            "--confidence-threshold", str(cfg["confidence_threshold"])]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    for row in metric_rows(traded.metrics):
        line = next(x for x in lines if f"│ {row.name} " in x)
        assert line.rstrip(" │").endswith(row.text), (row.name, line)
    for row in funnel_rows(traded.metrics, traded.info.to_dict()):
        line = next(x for x in lines if row.label in x)
        assert line.rstrip(" │").endswith(row.text), (row.name, line)
    page = build_page(tmp_path / "run")
    html = "".join(b.html for b in page.blocks)
    for row in metric_rows(traded.metrics):
        assert f'data-name="{row.name}"' in html and f'data-text="{row.text}"' in html


def test_a_run_without_trades_says_why_in_both(untraded, capsys, tmp_path):
    cfg = untraded.info.config
    assert main(["backtest", cfg["model_path"], "--data-dir", cfg["data_dir"],
                 "--confidence-threshold", "0.95"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    top = untraded.metrics["highest_confidence"]
    raw = untraded.metrics["raw_buy_signals"] + untraded.metrics["raw_sell_signals"]
    line = (f"no trades: confidence_threshold 0.95 removed {raw:,} of {raw:,} raw signals; "
            f"the highest confidence was {top:.4g}")  # fmt: skip
    assert line in out
    page = build_page(untraded)
    assert line in page.subtitle
    assert any(line in b.html for b in page.blocks if b.title == "Signal funnel")
