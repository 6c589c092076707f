"""vbt research: the backtest trades only bars training never saw; the assessment is computed
from the same scan; walk-forward folds retrain, purge, embargo and stitch; the ledger counts
trials; bad input is refused before any work."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vbt
from tests.research.conftest import DATA, regression, tiny, write
from vbt import cli
from vbt.research.verdict import INCONCLUSIVE, NOT_BETTER, PROMISING


def bars_1h() -> pl.DataFrame:
    return vbt.load_bars(DATA / "EURUSD_1h.parquet")


def test_the_backtest_trades_only_the_held_out_test_split(held_out_run):
    r = held_out_run.report
    model = Path(r["models"][0])
    recorded = json.loads((model / "metrics.json").read_text())["split_bars"]
    a, n = recorded["test"]
    assert r["split"]["test_bars"] == [a, n] and n == bars_1h().height
    ts = bars_1h()["timestamp"]
    # training and early stopping used the bars before the test split only
    assert recorded["train"][1] <= recorded["validation"][0] < recorded["validation"][1] <= a
    assert held_out_run.equity["timestamp"][0] == ts[a]  # equity from the first test bar
    assert held_out_run.equity.height == n - a == r["metrics"]["bars"] == r["out_of_sample"]["bars"]
    trades = held_out_run.trades
    assert trades.height == r["metrics"]["total_trades"] > 0
    assert (trades["entry_idx"] > a).all()  # decided at a test bar's close, filled at the next
    assert r["split"]["test"][0] == ts[a].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_metrics_are_the_backtests_over_the_test_bars(held_out_run):
    r = held_out_run.report
    a, _ = r["split"]["test_bars"]
    m = r["metrics"]
    # a separate engine run over the same bars with the same warm-up and annualisation agrees on
    # everything but the two metrics whose span (here: the test bars only) differs
    cfg = vbt.BacktestConfig(model_path=r["models"][0], data_dir=str(DATA), warmup_bars=a,
                             periods_per_year=m["periods_per_year"])  # fmt: skip
    engine = vbt.BacktestEngine(cfg).run().metrics
    differ = {"annualized_return", "calmar_ratio"}
    assert {k: v for k, v in m.items() if k not in differ} == {
        k: v for k, v in engine.items() if k not in differ
    }
    years = r["out_of_sample"]["bars"] / m["periods_per_year"]
    assert m["annualized_return"] == pytest.approx((1 + m["total_return_pct"]) ** (1 / years) - 1)
    st = r["sharpe_statistics"]
    assert st["sharpe_per_bar"] * math.sqrt(m["periods_per_year"]) == pytest.approx(
        m["sharpe_ratio"], rel=1e-9
    )
    assert st["observations"] == m["bars"] - 1


def test_buy_and_hold_follows_the_same_execution_rules(held_out_run):
    r = held_out_run.report
    a, n = r["split"]["test_bars"]
    bars = bars_1h()
    c, s, cap = 0.001, 0.0005, 100_000.0  # the defaults
    open_, close = bars["open"][a + 1], bars["close"][n - 1]
    qty = math.floor(0.25 * cap / (1 + c) / open_)
    buy, sell = open_ * (1 + s), close * (1 - s)
    net = qty * (sell - buy) - c * qty * (buy + sell)
    assert r["buy_and_hold"]["total_return_pct"] == pytest.approx(net / cap, rel=1e-9)


def test_the_assessment_is_complete_and_json_safe(held_out_run):
    r = held_out_run.report
    text = json.dumps(r, allow_nan=False)
    assert json.loads((held_out_run.path / "report.json").read_text()) == json.loads(text)
    assert r["verdict"]["verdict"] in (PROMISING, INCONCLUSIVE, NOT_BETTER)
    assert r["verdict"]["reasons"]
    rnd = r["random_entry"]
    assert rnd["simulations"] == 200 and rnd["trades"] == r["metrics"]["total_trades"]
    assert 1 / 201 <= rnd["p_value"] <= 1
    st = r["sharpe_statistics"]
    assert st["trials"] == 1 and st["dsr"] == st["psr"]  # one trial: DSR = PSR(0)
    assert (held_out_run.path / "equity.parquet").is_file()
    assert (held_out_run.path / "trades.parquet").is_file()


def test_the_ledger_counts_every_new_run(strategy_file, tmp_path):
    out = tmp_path / "research"
    first = vbt.research.run(strategy_file, data_dir=DATA, out_dir=out, simulations=50).report
    again = vbt.research.run(strategy_file, data_dir=DATA, out_dir=out, simulations=50).report
    assert first["ledger"]["new_trial"] and not again["ledger"]["new_trial"]
    assert again["sharpe_statistics"]["trials"] == 1
    assert again["models"] == first["models"]  # the same run: its trained model is reused
    other = vbt.research.run(strategy_file, data_dir=DATA, out_dir=out, simulations=50,
                             config={"commission": 0.0002}).report  # fmt: skip
    assert other["models"] == first["models"]  # another cost: a new trial, the same training
    st = other["sharpe_statistics"]
    assert st["trials"] == 2 and st["variance_source"] == "ledger"
    assert st["expected_max_sharpe"] > 0 and st["dsr"] < st["psr"]  # deflated by the trials
    batch_spec = {"jobs": [{"model": first["models"][0], "data_dir": str(DATA),
                            "grid": {"commission": [0.0, 0.0005, 0.001]}}]}  # fmt: skip
    vbt.batch(batch_spec, out, jobs=1)  # a batch into the same folder adds its combinations
    assert vbt.research.ledger.TrialLedger(out).stats().trials == 5


def test_walk_forward_retrains_per_fold_purges_embargoes_and_stitches(walk_forward_run):
    r = walk_forward_run.report
    wf = r["walk_forward"]
    ts = bars_1h()["timestamp"]
    n = ts.len()
    assert wf["purge_bars"] == 12 and "horizon 12" in wf["purge_source"]  # the label horizon
    assert wf["embargo_bars"] == math.ceil(0.01 * n)
    folds = wf["folds"]
    assert len(folds) == 3 == len(r["models"]) == len(set(r["models"]))
    iso = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in ts]
    for fold, model in zip(folds, r["models"], strict=True):
        trained = json.loads((Path(model) / "metrics.json").read_text())
        (lo, hi), (a, b) = fold["train_bars"], fold["test_bars"]
        # the model saw only its window: it ends `purge` bars before the test block ...
        assert trained["data_end"].startswith(ts[hi - 1].strftime("%Y-%m-%d %H:%M"))
        assert a - hi == 12 and lo == 0 and b > a  # anchored: every window starts at bar 0
        # ... validation (early stopping) inside it, and no test split
        assert trained["split_bars"]["test"][0] == trained["split_bars"]["test"][1]
        # the embargo after earlier test blocks was left out of its samples
        assert trained.get("excluded", []) == [
            [iso[x], iso[y - 1]] for x, y in fold["embargoed_bars"]
        ]
    assert folds[2]["embargoed_bars"] == [[folds[0]["test_bars"][1],
                                           folds[0]["test_bars"][1] + wf["embargo_bars"]]]  # fmt: skip
    # the stitched out-of-sample curve: every test bar once, each fold starting where the last
    # ended (flat, with its final equity)
    eq = walk_forward_run.equity
    first_test = folds[0]["test_bars"][0]
    assert eq.height == n - first_test == r["out_of_sample"]["bars"]
    assert eq["timestamp"].to_list() == ts[first_test:].to_list()
    for fold in folds[1:]:
        k = fold["test_bars"][0] - first_test
        assert eq["equity"][k] == eq["equity"][k - 1] and eq["position"][k - 1] == 0
    m = r["metrics"]
    assert m["final_equity"] == eq["equity"][-1]
    assert m["total_trades"] == walk_forward_run.trades.height
    assert r["verdict"]["verdict"] in (PROMISING, INCONCLUSIVE, NOT_BETTER)
    json.dumps(r, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"walk_forward": 0}, "walk_forward = 0: must be an integer >= 1"),
        ({"purge_bars": 5}, "purge_bars / embargo_bars: only with walk_forward"),
        ({"simulations": 0}, "simulations = 0"),
        ({"config": {"warmup_bars": 3}}, "config.warmup_bars: not a research run setting"),
        ({"config": {"commission": 3}}, "commission"),
        ({"walk_forward": 2, "model_dir": "x"}, "model_dir: a walk-forward trains"),
        ({"data_dir": "/no/such/folder"}, "data_dir /no/such/folder: folder not found"),
        ({"epochs": 0}, "epochs"),
        ({"seed": -1}, "seed = -1"),
    ],
)
def test_bad_input_is_refused_before_any_work(strategy_file, tmp_path, kwargs, message):
    out = tmp_path / "never"
    with pytest.raises(vbt.ConfigError) as err:
        vbt.research.run(strategy_file, **{"data_dir": DATA, "out_dir": out, **kwargs})
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_a_strategy_error_names_the_file(tmp_path):
    path = write(
        tmp_path, tiny("broken", model={"type": "mlp", "architecture": {"hidden_layers": [0]}})
    )
    with pytest.raises(vbt.ConfigError, match="broken.yaml"):
        vbt.research.run(path, data_dir=DATA, out_dir=tmp_path / "out")


def test_cli_research_prints_the_report_as_json(strategy_file, held_out_run, capsys):
    out = held_out_run.path.parents[1]  # the session run's folder: its trained model is reused
    args = ["research", str(strategy_file), "--data-dir", str(DATA), "--out", str(out),
            "--simulations", "50", "--json"]  # fmt: skip
    assert cli.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"]["verdict"] in (PROMISING, INCONCLUSIVE, NOT_BETTER)
    assert report["models"] == held_out_run.report["models"]
    assert cli.main([*args[:-1], "--set", "warmup_bars=5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config.warmup_bars") and err.count("\n") == 1


def test_regression_strategies_research_too(tmp_path):
    path = write(tmp_path, regression("tiny_reg_held_out"))
    r = vbt.research.run(path, data_dir=DATA, out_dir=tmp_path / "out", simulations=50).report
    assert r["metrics"]["bars"] == r["out_of_sample"]["bars"]
    assert np.isfinite(r["buy_and_hold"]["total_return_pct"])
