"""Batch specs: validated as a whole before anything runs; errors name the job index and the
field; `vbt schema batch`; the command line's exit statuses."""

from __future__ import annotations

import json

import pytest

import vbt
from vbt import cli
from vbt.batches.spec import batch_schema, job_id, plan_batch


def base(models, data_dir) -> dict:
    return {"defaults": {"data_dir": str(data_dir)},
            "jobs": [{"model": str(models["a"])}, {"model": str(models["b"])}]}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["jobs"][1].update(comission=0.1), "jobs[1].comission: unknown key"),
        (
            lambda s: s["jobs"][1].update(config={"commision": 0.1}),
            "jobs[1].config.commision: unknown key (did you mean 'commission'?)",
        ),
        (
            lambda s: s["jobs"][1].update(config={"commission": 2.0}),
            "jobs[1].config.commission = 2.0: input should be less than 1",
        ),
        (
            lambda s: s["jobs"][0].update(config={"confidence_threshold": "high"}),
            "jobs[0].config.confidence_threshold = 'high'",
        ),
        (
            lambda s: s["jobs"][1].update(grid={"commission": [0.001, 0.001]}),
            "jobs[1].grid.commission",
        ),
        (
            lambda s: s["jobs"][1].update(grid={"warmup_bars": [1, 2]}),
            "jobs[1].grid.warmup_bars: not a sweepable parameter",
        ),
        (lambda s: s["jobs"][1].update(symbol="XAUUSD"), "jobs[1].symbol: no bar files of"),
        (lambda s: s["jobs"][1].update(model="/nowhere/model"), "jobs[1].model:"),
        (lambda s: s["jobs"][0].update(strategy="x.yaml"), "jobs[0].model: give either model"),
        (lambda s: s["jobs"][1].update(timeframe="7x"), "jobs[1].timeframe"),
        (lambda s: s["jobs"][1].update(start_date="2024-13-45"), "jobs[1].start_date:"),
        (lambda s: s["jobs"][1].update(symbol=3), "jobs[1].symbol = 3"),
        (
            lambda s: s["defaults"].update(config={"slippage": -1}),
            "jobs[0].config.slippage = -1: input should be greater than or equal to 0 "
            "(set in defaults)",
        ),
        (lambda s: s["defaults"].update(timeframe="7x"), "jobs[0].timeframe"),
        (lambda s: s["jobs"].append(dict(s["jobs"][0])), "jobs[2]: the same job as jobs[0]"),
        (
            lambda s: s.update(rank_by="sharp_ratio"),
            "rank_by = 'sharp_ratio': not a metric (did you mean 'sharpe_ratio'?)",
        ),
        (lambda s: s.update(jobs=[]), "jobs: must be a non-empty list"),
        (lambda s: s.update(job=[]), "'job': unknown key (did you mean 'jobs'?)"),
        (lambda s: s["jobs"][1].update(sweep={"top": 3}), "jobs[1].sweep: sweep settings without"),
    ],
)
def test_a_bad_spec_is_refused_before_anything_runs(models, data_dir, tmp_path, change, message):
    spec = base(models, data_dir)
    change(spec)
    out = tmp_path / "out"
    with pytest.raises(vbt.ConfigError) as err:
        vbt.batch(spec, out)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert not out.exists()  # nothing ran, nothing was written


def test_a_value_from_the_defaults_says_so(models, data_dir):
    spec = base(models, data_dir)
    spec["defaults"]["timeframe"] = "7x"
    with pytest.raises(vbt.ConfigError, match=r"jobs\[0\]\.timeframe.*\(set in defaults\)"):
        plan_batch(spec)


def test_job_ids_hash_the_canonical_job(models, data_dir, tmp_path):
    plan = plan_batch(base(models, data_dir))
    a, b = plan.jobs
    assert a.id != b.id and a.id == job_id(a.canonical)
    # the same job written differently (a relative path, the symbol and data folder defaulted
    # vs given, a name) has the same id
    spec = {"jobs": [{"model": str(models["a"].parent / "1h_latest"), "symbol": "EURUSD",
                      "data_dir": str(data_dir), "name": "renamed"}]}  # fmt: skip
    assert plan_batch(spec).jobs[0].id == a.id
    spec["jobs"][0]["config"] = {"commission": 0.002}
    assert plan_batch(spec).jobs[0].id != a.id


def test_relative_paths_are_relative_to_the_spec_file(models, data_dir, tmp_path):
    spec_file = models["a"].parent.parent / "spec.yaml"
    rel = models["a"].relative_to(spec_file.parent)
    spec_file.write_text(f"defaults: {{data_dir: {data_dir}}}\njobs:\n  - model: {rel}\n")
    [job] = plan_batch(spec_file).jobs
    assert job.model_dir == str(models["a"].resolve())


def test_the_json_schema_describes_the_spec():
    schema = batch_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["jobs"]
    job = schema["$defs"]["JobSpec"]
    assert {"model", "strategy", "symbol", "timeframe", "start_date", "end_date", "config",
            "grid"} <= set(job["properties"])  # fmt: skip
    run_config = schema["$defs"]["RunConfig"]["properties"]
    assert {"commission", "confidence_threshold", "stop_loss"} <= set(run_config)
    assert job["additionalProperties"] is False


def test_cli_schema_prints_it(capsys):
    assert cli.main(["schema", "batch"]) == 0
    assert json.loads(capsys.readouterr().out) == batch_schema()


def test_cli_exit_statuses(models, data_dir, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(base(models, data_dir)))
    assert cli.main(["batch", str(good), "--out", str(tmp_path / "o1"), "--jobs", "1",
                     "--json"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] == 2 and summary["ranking"][0]["rank"] == 1

    failing = base(models, data_dir)
    failing["jobs"].append({"model": str(models["a"]), "end_date": "2020-01-01"})
    path = tmp_path / "failing.yaml"
    path.write_text(json.dumps(failing))  # JSON is YAML
    assert cli.main(["batch", str(path), "--out", str(tmp_path / "o2"), "--jobs", "1"]) == 3
    out = capsys.readouterr().out
    assert "jobs[2] failed: DataError" in out

    bad = base(models, data_dir)
    bad["jobs"][1]["config"] = {"commission": "cheap"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert cli.main(["batch", str(path), "--out", str(tmp_path / "o3")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: jobs[1].config.commission")
    assert not (tmp_path / "o3").exists()
