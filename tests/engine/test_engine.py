"""BacktestEngine end to end: the seeds' MPS case, resume, config errors, results on disk, CLI."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading

import numpy as np
import polars as pl
import pytest
from enginekit import DATA, ROOT, config

import vbt
from tests.model.device_tags import retag_storages, storage_locations
from vbt.metrics import METRIC_NAMES


def test_seed_case_mps_tagged_model_backtests_on_cpu(mtf_model, tmp_path):
    """Train RSI+BBands on 1h and 5m, tag the weights 'mps', backtest on CPU: valid metrics."""
    mps_dir = tmp_path / "mps_model"
    shutil.copytree(mtf_model, mps_dir)
    assert retag_storages(mps_dir / "model.pt", "mps") > 0
    assert set(storage_locations(mps_dir / "model.pt")) == {"mps"}
    result = vbt.BacktestEngine(config(mps_dir)).run()
    m = result.metrics
    assert set(m) == set(METRIC_NAMES)
    # numbers, or null where undefined (e.g. the mean P&L of an exit reason that never happened)
    assert all(v is None or (isinstance(v, int | float) and math.isfinite(v)) for v in m.values())
    core = ("total_return", "sharpe_ratio", "sortino_ratio", "max_drawdown", "win_rate", "sqn")
    assert all(m[k] is not None for k in core)
    assert m["total_trades"] >= 1
    json.dumps(result.to_dict())  # JSON-safe
    cpu = vbt.BacktestEngine(config(mtf_model)).run()
    assert cpu.trades.equals(result.trades) and cpu.metrics == m


def test_result_shapes_and_accounting_identities(mtf_model):
    r = vbt.BacktestEngine(config(mtf_model)).run()
    eq, tr = r.equity, r.trades
    assert eq.columns == ["timestamp", "close", "equity", "position"]
    assert eq.height == r.metrics["bars"] == 3120 - 50
    assert eq["equity"][-1] == r.metrics["final_equity"]
    assert eq["position"][-1] == 0  # force-closed at the end
    # Cash is conserved: final equity = initial capital + the sum of every trade's net P&L.
    assert r.metrics["final_equity"] == pytest.approx(100_000 + tr["net_pnl"].sum(), rel=1e-12)
    assert (
        tr["net_pnl"] - (tr["gross_pnl"] - tr["entry_commission"] - tr["exit_commission"])
    ).abs().max() < 1e-9
    assert tr["entry_time"].is_sorted() and (tr["exit_idx"] > tr["entry_idx"]).all()
    # Long-only by default for classification (position awareness blocks shorts from flat).
    assert set(tr["side"]) == {"LONG"}


def test_regression_model_trades_both_sides(regression_model):
    r = vbt.BacktestEngine(config(regression_model)).run()
    assert r.info.output_type == "regression"
    assert r.metrics["total_trades"] >= 1
    assert all(v is None or math.isfinite(v) for v in r.metrics.values())
    assert r.metrics["sharpe_ratio"] is not None


def test_decision_overrides_change_behaviour(mtf_model):
    base = vbt.BacktestEngine(config(mtf_model)).run()
    strict = vbt.BacktestEngine(config(mtf_model, confidence_threshold=0.99)).run()
    assert strict.metrics["total_trades"] < base.metrics["total_trades"]
    assert strict.info.params["confidence_threshold"] == 0.99
    loose = vbt.BacktestEngine(config(mtf_model, min_signal_separation=0)).run()
    assert loose.metrics["total_trades"] >= base.metrics["total_trades"]


def test_resume_from_checkpoint_is_exact(mtf_model, tmp_path):
    full = vbt.BacktestEngine(config(mtf_model, chunk_bars=400)).run()
    ckpt = tmp_path / "run.ckpt.npz"
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] == 4  # stop at the 4th chunk boundary

    with pytest.raises(vbt.CancelledError, match="checkpoint written"):
        vbt.BacktestEngine(config(mtf_model, chunk_bars=400)).run(cancel=cancel, checkpoint=ckpt)
    assert ckpt.is_file()
    resumed = vbt.BacktestEngine(config(mtf_model, chunk_bars=400)).run(resume_from=ckpt)
    assert resumed.trades.equals(full.trades)
    assert resumed.equity.equals(full.equity)
    assert resumed.metrics == full.metrics
    # a resumed run may use other chunk sizes
    again = vbt.BacktestEngine(config(mtf_model, chunk_bars=97)).run(resume_from=ckpt)
    assert again.equity.equals(full.equity)
    # a checkpoint of another run is refused: other parameters, or other data
    with pytest.raises(vbt.ConfigError, match=r"parameters differ .*\(commission\)"):
        vbt.BacktestEngine(config(mtf_model, commission=0.002)).run(resume_from=ckpt)
    with pytest.raises(vbt.ConfigError, match="fingerprint"):
        vbt.BacktestEngine(config(mtf_model, start_date="2024-02-01")).run(resume_from=ckpt)


def test_cancel_event_and_progress(mtf_model):
    seen = []
    ev = threading.Event()

    def progress(done, total):
        seen.append((done, total))
        if done >= 1000:
            ev.set()

    with pytest.raises(vbt.CancelledError):
        vbt.BacktestEngine(config(mtf_model, chunk_bars=500)).run(progress=progress, cancel=ev)
    assert seen[0] == (500, 3120) and seen[-1][0] == 1000


@pytest.mark.parametrize(
    "kw,fragment",
    [
        ({"commission": -0.1}, "commission"),
        ({"slippage": 1.5}, "slippage"),
        ({"initial_capital": 0}, "initial_capital"),
        ({"position_fraction": 2}, "position_fraction"),
        ({"warmup_bars": -1}, "warmup_bars"),
        ({"timeframe": "1hour"}, "1hour"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_config_names_the_field(mtf_model, kw, fragment):
    with pytest.raises(vbt.ConfigError, match=fragment):
        config(mtf_model, **kw)


def test_bad_inputs_give_clear_errors(mtf_model, tmp_path):
    with pytest.raises(vbt.ModelError, match="not found|does not exist"):
        vbt.BacktestEngine(config(tmp_path / "nope")).run()
    with pytest.raises(vbt.DataError, match="no bars between"):
        vbt.BacktestEngine(config(mtf_model, start_date="2030-01-01", end_date="2030-02-01")).run()
    with pytest.raises(vbt.DataError, match="warmup_bars=50 needs more"):
        vbt.BacktestEngine(config(mtf_model, start_date="2024-03-04", end_date="2024-03-05")).run()
    with pytest.raises(vbt.DataError, match="EURUSD_5m"):
        empty = tmp_path / "data"
        empty.mkdir()
        shutil.copy(DATA / "EURUSD_1h.parquet", empty)
        vbt.BacktestEngine(config(mtf_model).model_copy(update={"data_dir": str(empty)})).run()


def test_save_writes_three_files(mtf_model, tmp_path):
    r = vbt.BacktestEngine(config(mtf_model)).run()
    out = r.save(tmp_path / "res")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metrics"] == r.metrics and metrics["trade_count"] == r.trades.height
    assert pl.read_parquet(out / "trades.parquet").equals(r.trades)
    assert pl.read_parquet(out / "equity.parquet").equals(r.equity)
    assert not list(out.glob("*.tmp"))


def test_engine_loads_model_once(mtf_model, monkeypatch):
    import torch

    calls = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real(*a, **k))
    engine = vbt.BacktestEngine(config(mtf_model))
    engine.run()
    engine.run()
    assert (
        len(calls) == 1 and calls[0]["weights_only"] is True and calls[0]["map_location"] == "cpu"
    )


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "vbt.cli", *args], capture_output=True, text=True, cwd=ROOT,
        timeout=300,
    )  # fmt: skip


def test_cli_backtest_json_and_errors(mtf_model, tmp_path):
    ok = run_cli(
        "backtest", str(mtf_model), "--data-dir", str(DATA), "--json", "--out", str(tmp_path / "o")
    )
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["metrics"]["total_trades"] == data["trade_count"] >= 1
    assert (tmp_path / "o" / "metrics.json").is_file()
    text = run_cli("backtest", str(mtf_model), "--data-dir", str(DATA))
    assert text.returncode == 0 and "sharpe_ratio" in text.stdout and "trades" in text.stdout
    bad = run_cli("backtest", str(tmp_path / "missing_model"), "--data-dir", str(DATA), "--json")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    bad2 = run_cli("backtest", str(mtf_model), "--data-dir", str(DATA), "--commission", "-1")
    assert bad2.returncode == 2 and "commission" in bad2.stderr and "Traceback" not in bad2.stderr


def test_equity_matches_scan_rules_at_a_glance(mtf_model):
    """FLAT bars: equity equals the previous bar's (cash does not move without a trade)."""
    r = vbt.BacktestEngine(config(mtf_model)).run()
    eq = r.equity["equity"].to_numpy()
    pos = r.equity["position"].to_numpy()
    flat_run = (pos[1:] == 0) & (pos[:-1] == 0)
    entries = set(r.trades["entry_idx"].to_list()) | set(r.trades["exit_idx"].to_list())
    idx = np.flatnonzero(flat_run) + 1 + 50
    keep = [k - 50 for k in idx if k not in entries]
    assert np.all(eq[keep] == eq[np.array(keep) - 1])


@pytest.mark.parametrize("name", ["rsi_single_tf", "rsi_bbands_mtf", "regression_forward_return"])
def test_cli_train_each_example_strategy(name, tmp_path):
    res = run_cli(
        "train",
        str(DATA / "strategies" / f"{name}.yaml"),
        "--data-dir",
        str(DATA),
        "--out-dir",
        str(tmp_path),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    model_dir = tmp_path / name / out["model_path"].rsplit("/", 1)[-1]
    assert model_dir.is_dir() and (model_dir / "model.pt").is_file()
    assert (tmp_path / name / f"{model_dir.name.split('_v')[0]}_latest").exists()
    assert out["training_metrics"]["epochs_trained"] >= 1
    bundle = vbt.ModelBundle.load(model_dir)
    assert bundle.strategy_config["name"] == name


def test_cli_train_bad_strategy_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nindicators: {r: {type: rsx}}\nnn_inputs: []\n")
    res = run_cli("train", str(bad), "--out-dir", str(tmp_path))
    assert (
        res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    )


def test_timeframe_defaults_to_the_models_base_timeframe(mtf_model):
    cfg = vbt.BacktestConfig(model_path=str(mtf_model), data_dir=str(DATA), symbol="EURUSD")
    assert cfg.timeframe is None
    r = vbt.BacktestEngine(cfg).run()
    assert r.info.timeframe == "1h"  # rsi_bbands_mtf: base 1h, features on 1h and 5m
    assert r.equity.height == 3120 - 50
