"""vbt.sweep end to end on trained models: every row equals a single BacktestEngine run with that
row's parameters, rerun gives the full result, results save, and the CLI works."""

from __future__ import annotations

import json

import polars as pl
import pytest
from enginekit import config

import vbt
from vbt.cli import main
from vbt.metrics import METRIC_NAMES


def assert_rows_equal_single_runs(res, cfg):
    assert res.table.columns == ["combo", *res.grid.names, *METRIC_NAMES]
    for i in range(res.table.height):
        row = res.table.row(i, named=True)
        single = vbt.BacktestEngine(cfg.model_copy(update={k: row[k] for k in res.grid.names}))
        assert single.config.stop_loss == row.get("stop_loss", single.config.stop_loss)
        metrics = single.run().metrics
        # integer metrics exactly, float metrics to 1e-12 relative (in fact: identical)
        for k in METRIC_NAMES:
            if metrics[k] is None:  # undefined in both (null in the table)
                assert row[k] is None, (i, k)
            else:
                assert row[k] == pytest.approx(metrics[k], rel=1e-12, abs=0), (i, k)
        assert {k: row[k] for k in METRIC_NAMES} == metrics


def test_classification_sweep_rows_equal_single_runs(mtf_model):
    cfg = config(mtf_model, chunk_bars=1000)
    grid = {"confidence_threshold": "0.35:0.45:0.05", "commission": [0.0005, 0.002],
            "min_signal_separation": [0, 4], "allow_short_from_flat": [False, True]}  # fmt: skip
    res = vbt.sweep(cfg, grid, constraint="commission < 0.002 or min_signal_separation == 4")
    assert res.table.height == 18 and res.settings["grid_size"] == 24
    assert res.table["total_trades"].n_unique() > 4  # the parameters matter
    assert_rows_equal_single_runs(res, cfg)


def test_risk_exit_sweep_rows_equal_single_runs(mtf_model):
    cfg = config(mtf_model)
    grid = {"stop_loss": [None, 0.002, 0.01], "take_profit": [None, 0.004],
            "trailing_stop": [None, 0.003], "max_holding_bars": [None, 6]}  # fmt: skip
    res = vbt.sweep(cfg, grid, max_combos=10, seed=2)
    assert res.table["stop_loss"].null_count() > 0  # off shows as null
    reasons = ("stop_loss_exits", "take_profit_exits", "trailing_stop_exits", "time_stop_exits")
    assert all(res.table[k].sum() > 0 for k in reasons)  # every exit fires somewhere
    assert_rows_equal_single_runs(res, cfg)


def test_regression_sweep_of_the_threshold_rows_equal_single_runs(regression_model):
    cfg = config(regression_model)
    res = vbt.sweep(cfg, {"min_edge_multiplier": [0.5, 1.5, 3.0], "slippage": [0, 0.001]})
    assert res.table["total_trades"].n_unique() > 1  # the threshold is applied in the kernel
    assert_rows_equal_single_runs(res, cfg)


def test_rerun_best_save_and_a_prepared_run(mtf_model, tmp_path):
    cfg = config(mtf_model)
    prepared = vbt.BacktestEngine(cfg).prepare()
    res = vbt.sweep(prepared, {"position_fraction": [0.1, 0.5], "commission": [0.0, 0.001]},
                    max_combos=3, seed=1)  # fmt: skip
    assert res.table.height == 3
    best = res.best(2, by="total_return")
    assert best.height == 2 and best["total_return"][0] >= best["total_return"][1]
    assert res.best(1, by="max_drawdown")["max_drawdown"][0] == res.table["max_drawdown"].min()
    with pytest.raises(vbt.ConfigError, match="not a metric"):
        res.best(3, by="sharpe")
    full = res.rerun(1)
    row = res.table.row(1, named=True)
    assert full.metrics == {k: row[k] for k in METRIC_NAMES}
    assert full.trades.height == row["total_trades"] and full.equity.height == row["bars"]
    assert full.info.params["position_fraction"] == row["position_fraction"]
    out = res.save(tmp_path / "sweep")
    assert pl.read_parquet(out / "results.parquet").equals(res.table)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["combinations"] == 3 and summary["grid"]["commission"] == [0.0, 0.001]
    assert summary["max_combos"] == 3 and len(summary["best"]) == 3


def test_bad_grid_is_refused_before_the_data_is_read(mtf_model, tmp_path):
    cfg = config(mtf_model, data_dir=str(tmp_path / "no_data_here"))
    with pytest.raises(vbt.ConfigError, match=r"grid\.commission = 1\.5"):
        vbt.sweep(cfg, {"commission": [0.001, 1.5]})
    with pytest.raises(vbt.ConfigError, match="not sweepable|not a sweepable"):
        vbt.sweep(cfg, {"hidden_layers": [32]})
    for bad in (0, 2.5, "many"):
        with pytest.raises(vbt.ConfigError, match="task_combo_bars"):
            vbt.sweep(cfg, {"commission": [0.001]}, backend="ray", task_combo_bars=bad)
    with pytest.raises(vbt.ConfigError, match="backend='ray' only"):
        vbt.sweep(cfg, {"commission": [0.001]}, task_combo_bars=10**9)


def test_cli_sweep_json_and_table(mtf_model, tmp_path, capsys):
    args = ["sweep", str(mtf_model), "--data-dir", str(config(mtf_model).data_dir),
            "--grid", "confidence_threshold=0.35:0.45:0.05", "--grid", "commission=0.0005,0.001",
            "--top", "3", "--by", "total_return"]  # fmt: skip
    assert main([*args, "--json", "--out", str(tmp_path / "s")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["combinations"] == 6 and len(out["best"]) == 3 and out["best_by"] == "total_return"
    assert (tmp_path / "s" / "results.parquet").is_file()
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text(
        "slippage: [0.0, 0.001]\nposition_fraction: {start: 0.1, stop: 0.3, step: 0.1}\n"
    )
    assert main(["sweep", str(mtf_model), "--data-dir", str(config(mtf_model).data_dir),
                 "--grid-file", str(grid_file), "--constraint", "slippage < 0.001"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "3 combinations of 6" in text and "best 3 by sharpe_ratio" in text


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--grid", "comission=0.001"], "grid.comission: not a sweepable parameter"),
        (["--grid", "commission"], "expected NAME=VALUES"),
        ([], "give at least one --grid"),
        (["--grid", "commission=0.001", "--by", "sharpe"], "--by 'sharpe': not a metric"),
        (["--grid", "commission=0.001", "--constraint", "open('x')"], "Call is not allowed"),
    ],
)
def test_cli_sweep_errors_are_one_line(mtf_model, capsys, extra, message):
    assert main(["sweep", str(mtf_model), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
