"""What the older system's consumers read from the worker, over HTTP against a real worker: the
older worker's names and numbers in ``result_summary`` (no null metric, ``undefined_metrics``),
the holding periods of the winning and losing trades, paths relative to the roots, the older
relative model path, cancel of a finished operation, the operations list without sweeps and
batches, and strict, finite numbers in bodies. vbt's own JSON keeps null."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime

import pytest
from workerkit import DATA, END, REPO, START, Worker, body, expected_backtest, vbt_metrics, wait_for

#: what the older worker's result_summary holds: its engine's BacktestResults.to_dict()
#: (ktrdr/backtesting/engine.py)
OLDER_SUMMARY_KEYS = ("strategy_name", "symbol", "timeframe", "start_time", "end_time",
                      "execution_time_seconds", "config", "metrics", "trade_count",
                      "equity_curve_length")  # fmt: skip
#: its metrics: PerformanceMetrics.to_dict() (ktrdr/backtesting/performance.py)
OLDER_METRICS = ("total_return", "total_return_pct", "annualized_return", "volatility",
                 "sharpe_ratio", "max_drawdown", "max_drawdown_pct", "total_trades",
                 "winning_trades", "losing_trades", "win_rate", "profit_factor",
                 "avg_holding_period", "avg_win_holding_period", "avg_loss_holding_period",
                 "avg_win", "avg_loss", "largest_win", "largest_loss", "calmar_ratio",
                 "sortino_ratio", "recovery_factor")  # fmt: skip
#: the older OperationType values (ktrdr/api/models/operations.py)
OLDER_OPERATION_TYPES = {"data_load", "training", "backtesting", "indicator_compute",
                         "fuzzy_analysis", "dummy", "agent_research", "agent_design",
                         "agent_assessment"}  # fmt: skip
ZERO = "zero_trades/1h_v1"


@pytest.fixture(scope="module")
def roots(models_root, tmp_path_factory):
    """A models root with the fixture model and a copy of it that cannot trade (confidence
    threshold 1: no signal is that sure)."""
    root = tmp_path_factory.mktemp("older")
    models = root / "models"
    models.mkdir()
    shutil.copytree(models_root / "rsi_single_tf", models / "rsi_single_tf", symlinks=True)
    zero = models / ZERO
    shutil.copytree((models_root / "rsi_single_tf" / "1h_latest").resolve(), zero)
    config = json.loads((zero / "config.json").read_text())
    config["decisions"]["confidence_threshold"] = 1.0
    (zero / "config.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def worker(roots):
    with Worker(roots / "models", roots / "state") as w:
        yield w


def run(client, task_id: str, **kw) -> dict:
    r = client.post("/backtests/start", json=body(task_id=task_id, **kw))
    assert r.status_code == 200, r.text
    done = wait_for(client, task_id)
    assert done["status"] == "completed", done
    return done


@pytest.fixture(scope="module")
def zero_run(client):
    return run(client, "op_zero", model_path=ZERO)


@pytest.fixture(scope="module")
def traded(client):
    return run(client, "op_traded")


def cli_json(model) -> dict:
    """``vbt backtest --json`` of the worker's run."""
    out = subprocess.run(
        [sys.executable, "-m", "vbt.cli", "backtest", str(model), "--data-dir", str(DATA),
         "--symbol", "EURUSD", "--timeframe", "1h", "--start-date", START, "--end-date", END,
         "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_zero_trade_summary_has_the_older_names_and_no_null(zero_run, roots, worker, client):
    summary = zero_run["result_summary"]
    assert set(OLDER_SUMMARY_KEYS) <= set(summary)
    metrics = summary["metrics"]
    assert metrics["total_trades"] == 0 and summary["trade_count"] == 0
    assert set(OLDER_METRICS) <= set(metrics)
    # every metric a number (the older CLI formats them, the agent's gate compares them)
    assert all(type(v) in (int, float) for v in metrics.values()), metrics
    _ = f"{metrics['sharpe_ratio']:.2f} {metrics['win_rate']:.2%}"  # what crashed on null
    assert metrics["win_rate"] < 0.45 and metrics["sharpe_ratio"] > -999
    # vbt's own JSON of the same run keeps null: the CLI and the job's metrics.json
    own = cli_json(roots / "models" / ZERO)["metrics"]
    saved = json.loads((worker.state / "jobs" / "op_zero" / "result" / "metrics.json").read_text())
    assert saved["metrics"] == own
    null = [k for k, v in own.items() if v is None]
    assert {"sharpe_ratio", "win_rate", "profit_factor", "avg_win", "sqn"} <= set(null)
    # undefined_metrics names every one of them (and the two the older engine adds), each 0.0
    older_only = ["avg_win_holding_period", "avg_loss_holding_period"]
    assert sorted(summary["undefined_metrics"]) == sorted(null + older_only)
    assert all(metrics[k] == 0.0 for k in summary["undefined_metrics"])
    assert {k: v for k, v in metrics.items() if k not in null + older_only} == {
        k: v for k, v in own.items() if k not in null
    }
    # the full result says the same
    full = client.get("/api/v1/operations/op_zero/results").json()["data"]
    assert full["metrics"] == metrics and full["undefined_metrics"] == summary["undefined_metrics"]


def test_summary_maps_vbt_names_to_the_older_names(traded, roots, client):
    summary = traded["result_summary"]
    want = expected_backtest(roots / "models").to_dict(include_trades=False)
    for older, vbt_name in (("strategy_name", "strategy"), ("start_time", "start"),
                            ("end_time", "end")):  # fmt: skip
        assert summary[older] == want[vbt_name], older
        assert vbt_name not in summary
    assert summary["strategy_name"] == "rsi_single_tf"
    assert isinstance(summary["execution_time_seconds"], float)
    assert "execution_time_s" not in summary
    for key in ("symbol", "timeframe", "trade_count", "equity_curve_length"):
        assert summary[key] == want[key], key
    older_config = ("initial_capital", "commission", "slippage", "start_date", "end_date")
    assert {k: summary["config"][k] for k in older_config} == {
        k: want["config"][k] for k in older_config
    }
    # every metric under its own name, the defined ones as vbt computes them
    assert summary["trade_count"] > 0
    assert vbt_metrics(summary) == want["metrics"]
    assert set(summary["undefined_metrics"]) == {k for k, v in want["metrics"].items() if v is None}
    full = client.get("/api/v1/operations/op_traded/results").json()["data"]
    assert {k: full[k] for k in OLDER_SUMMARY_KEYS} == {k: summary[k] for k in OLDER_SUMMARY_KEYS}


def test_the_mapping_table_gives_every_older_metric_the_older_engines_default():
    """A run that won every trade: vbt's profit factor is undefined, the older engine's 999999.0
    (no trade: 0.0, as for every other undefined metric)."""
    from vbt.metrics import METRIC_NAMES
    from vbt.worker.compat import OLDER_FIELDS, older_summary, trade_stats

    older = [f.older for f in OLDER_FIELDS]
    assert older == [*OLDER_SUMMARY_KEYS[:7], *(f"metrics.{m}" for m in OLDER_METRICS),
                     *OLDER_SUMMARY_KEYS[8:]]  # fmt: skip
    metrics = dict.fromkeys(METRIC_NAMES) | {"total_trades": 2, "winning_trades": 2,
                                             "losing_trades": 0}  # fmt: skip
    stats = trade_stats([5.0, 1.0, 0.0], [3.0, 6.0, 100.0])  # a trade at 0 neither wins nor loses
    assert stats == {"avg_win_holding_period": 4.5, "avg_loss_holding_period": None}
    summary = older_summary({"strategy": "s", "metrics": metrics, "trade_stats": stats})
    assert summary["strategy_name"] == "s" and "strategy" not in summary
    got = summary["metrics"]
    assert got["profit_factor"] == 999999.0 and got["avg_win_holding_period"] == 4.5
    assert got["avg_loss_holding_period"] == 0.0 and got["sharpe_ratio"] == 0.0
    assert "profit_factor" in summary["undefined_metrics"]
    assert "avg_win_holding_period" not in summary["undefined_metrics"]
    assert None not in got.values() and set(METRIC_NAMES) <= set(got)
    none_won = older_summary({"metrics": metrics | {"winning_trades": 0}, "trade_stats": stats})
    assert none_won["metrics"]["profit_factor"] == 0.0


def test_win_and_loss_holding_periods_are_the_older_engines(traded, client):
    summary = traded["result_summary"]
    trades = client.get("/api/v1/operations/op_traded/results", params={"limit": 100_000})
    trades = trades.json()["data"]["trades"]
    assert len(trades) == summary["trade_count"]

    def hours(t: dict) -> float:  # entry to exit, as the older Trade.holding_period_hours
        span = datetime.fromisoformat(t["exit_time"]) - datetime.fromisoformat(t["entry_time"])
        return span.total_seconds() / 3600

    wins = [hours(t) for t in trades if t["net_pnl"] > 0]
    losses = [hours(t) for t in trades if t["net_pnl"] < 0]
    assert wins and losses
    metrics = summary["metrics"]
    assert metrics["avg_win_holding_period"] == pytest.approx(sum(wins) / len(wins), rel=1e-12)
    assert metrics["avg_loss_holding_period"] == pytest.approx(sum(losses) / len(losses), rel=1e-12)
    assert metrics["avg_holding_period"] == pytest.approx(
        sum(map(hours, trades)) / len(trades), rel=1e-12
    )


def test_paths_in_results_are_relative_to_the_roots(traded, roots, client):
    summary = traded["result_summary"]
    assert summary["model_path"] == summary["config"]["model_path"] == "rsi_single_tf/1h_v1"
    assert summary["config"]["data_dir"] == "."
    full = client.get("/api/v1/operations/op_traded/results").json()["data"]
    assert full["config"]["model_path"] == "rsi_single_tf/1h_v1"
    grid = {"commission": [0.0005, 0.001]}
    r = client.post("/sweeps/start", json=body(task_id="op_paths_sweep", grid=grid,
                                               end_date="2024-04-15"))  # fmt: skip
    assert r.status_code == 200, r.text
    sweep = wait_for(client, "op_paths_sweep")
    assert sweep["status"] == "completed", sweep
    assert sweep["result_summary"]["run"]["model_path"] == "rsi_single_tf/1h_v1"
    for op in ("op_traded", "op_paths_sweep"):
        for path in (f"/api/v1/operations/{op}", f"/api/v1/operations/{op}/results"):
            text = client.get(path).text
            for where in (roots, roots.resolve(), DATA.resolve()):
                assert str(where) not in text, (path, where)


def test_older_relative_model_path_maps_under_the_models_root(client):
    done = run(client, "op_models_form", model_path="models/rsi_single_tf/1h_v1",
               end_date="2024-04-15")  # fmt: skip
    assert done["result_summary"]["model_path"] == "rsi_single_tf/1h_v1"
    missing = client.post("/backtests/start", json=body(model_path="models/nope/1h_v1"))
    assert missing.status_code == 404 and "models/nope/1h_v1" in missing.text


def test_cancel_of_a_finished_operation_answers_as_the_older_worker(zero_run, client):
    r = client.delete("/api/v1/operations/op_zero/cancel", params={"reason": "too late"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]  # what the older backend's proxy reads
    assert data["success"] is False and "already finished" in data["error"]
    assert data["status"] == "completed"
    assert client.get("/api/v1/operations/op_zero").json()["data"]["status"] == "completed"


def test_operations_list_shows_sweeps_and_batches_only_when_asked(zero_run, client):
    grid = {"commission": [0.001]}
    assert client.post("/sweeps/start", json=body(task_id="op_list_sweep", grid=grid,
                                                  end_date="2024-03-10")).is_success  # fmt: skip
    spec = {"defaults": {"model": "rsi_single_tf/1h_latest", "symbol": "EURUSD",
                         "start_date": START, "end_date": "2024-03-10"}, "jobs": [{}]}  # fmt: skip
    assert client.post("/batches/start", json={"task_id": "op_list_batch", "spec": spec}).is_success
    listing = client.get("/api/v1/operations", params={"limit": 1000}).json()
    ids = {op["operation_id"] for op in listing["data"]}
    assert "op_zero" in ids and not ids & {"op_list_sweep", "op_list_batch"}
    assert {op["operation_type"] for op in listing["data"]} <= OLDER_OPERATION_TYPES
    assert listing["total_count"] == len(listing["data"])
    for kind, op_id in (("sweep", "op_list_sweep"), ("batch", "op_list_batch")):
        only = client.get("/api/v1/operations", params={"operation_type": kind}).json()["data"]
        assert op_id in {op["operation_id"] for op in only}
        assert {op["operation_type"] for op in only} == {kind}
    for op_id in ("op_list_sweep", "op_list_batch"):
        wait_for(client, op_id)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "string"])
@pytest.mark.parametrize(
    ("path", "template", "loc", "valid"),
    [
        ("/backtests/start", '{"initial_capital": %s}', ["initial_capital"], 100000),
        ("/backtests/start", '{"commission": %s}', ["commission"], 0.001),
        ("/sweeps/start", '{"grid": {"commission": [%s]}}', ["grid", "commission"], 0.001),
        ("/sweeps/start", '{"grid": {"slippage": {"start": %s, "stop": 1, "step": 1}}}',
         ["grid", "slippage", "start"], 0),
        ("/sweeps/start", '{"grid": {"commission": [0.001]}, "seed": %s}', ["seed"], 1),
        ("/batches/start", '{"spec": {"jobs": [{}]}, "jobs": %s}', ["jobs"], 1),
    ],
)  # fmt: skip
def test_non_finite_or_string_numbers_are_a_422_naming_the_field(client, path, template, loc,
                                                                valid, value):  # fmt: skip
    """NaN, ±Infinity, a number beyond a float, and a valid number written as a string."""
    value = json.dumps(str(valid)) if value == "string" else value
    fields = json.loads(template % "0")
    base = {} if path == "/batches/start" else body()
    base = {k: v for k, v in base.items() if k not in fields}
    r = client.post(path, content=_inject(base, template, value),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422, r.text
    detail = json.loads(r.text, parse_constant=_no_constant)["detail"]  # strict JSON
    assert any([str(x) for x in d["loc"] if str(x) in loc] == loc for d in detail), detail


def test_non_finite_numbers_inside_a_batch_spec_are_a_422(client):
    text = '{"spec": {"defaults": {"config": {"commission": NaN}}, "jobs": [{}]}}'
    r = client.post("/batches/start", content=text, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = json.loads(r.text, parse_constant=_no_constant)["detail"]
    assert detail[0]["loc"] == ["body", "spec"]
    assert "spec.defaults.config.commission" in detail[0]["msg"]


def _inject(base: dict, template: str, value: str) -> str:
    """``base`` as JSON text with the raw JSON of ``template`` (``%s`` = ``value``) merged in."""
    head = json.dumps(base)[:-1]
    extra = (template % value)[1:]
    return head + (", " if base else "") + extra


def _no_constant(name: str):
    raise AssertionError(f"{name} in a response: not JSON")
