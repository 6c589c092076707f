"""Every CLI error path: exactly one line on stderr (``error: ...``, naming the field, file or
row), nothing on stdout, exit status 2, and every file of the working folder (the output folder
included) untouched.

All paths run in one subprocess (``cli_driver.py``) that calls ``vbt.cli.main`` once per case
with file descriptors 1 and 2 redirected, so anything written (by Python, a library, a logger or
C code) is caught; its working directory holds no ``data_fixtures``, so nothing depends on the
current directory. A representative set also runs as separate ``python -m vbt.cli`` processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from bad_input import DATA, ROOT, STRATEGY, strategy_dict, write_model, write_strategy

import vbt
from vbt import cli
from vbt.cli.commands import backtest as backtest_command

LAUGHS = "\n".join(
    ['l0: &l0 ["lol"]'] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
)

# (id, argv, fragments the one line must hold). In argv and fragments: {w} = the working
# folder, {m} = a loadable model, {d} = the fixtures' data folder. The output folder {w}/out
# exists and holds a file; every command that writes is pointed at it.
BT = ["backtest", "{m}", "--data-dir", "{d}", "--out", "{w}/out"]
TR = ["train", "{w}/ok.yaml", "--data-dir", "{d}", "--out-dir", "{w}/out"]
SW = ["sweep", "{m}", "--data-dir", "{d}", "--out", "{w}/out"]
CASES: list[tuple[str, list[str], list[str]]] = [
    # the command line itself
    ("no-command", [], ["no command given"]),
    ("unknown-command", ["bogus"], ["invalid choice: 'bogus'"]),
    ("missing-model-path", ["backtest"], ["vbt backtest", "required: model_path"]),
    ("bad-float", [*BT, "--commission", "abc"], ["--commission: invalid float value: 'abc'"]),
    ("bad-int", [*BT, "--chunk-bars", "1.5"], ["--chunk-bars: invalid int value: '1.5'"]),
    ("unknown-flag", [*BT, "--comission", "0.1"], ["unrecognized arguments: --comission"]),
    # run options
    ("no-data-dir", ["backtest", "{m}"], ["data_dir: no data folder given", "VBT_DATA_DIR"]),
    ("data-dir-file", ["backtest", "{m}", "--data-dir", "{w}/afile"], ["data_dir {w}/afile: is a file"]),
    ("data-dir-missing", ["backtest", "{m}", "--data-dir", "{w}/nope"], ["data_dir {w}/nope: folder not found"]),
    ("commission-range", [*BT, "--commission", "-1"], ["commission = -1.0"]),
    ("commission-nan", [*BT, "--commission", "nan"], ["commission = nan: not a number"]),
    ("periods-inf", [*BT, "--periods-per-year", "inf"], ["periods_per_year = inf"]),
    ("chunk-huge", [*BT, "--chunk-bars", str(10**12)], ["chunk_bars = 1000000000000"]),
    ("warmup-huge", [*BT, "--warmup-bars", str(10**30)], ["warmup_bars = 1" + "0" * 30]),
    ("threshold-range", [*BT, "--confidence-threshold", "1.5"], ["confidence_threshold = 1.5"]),
    ("timeframe", [*BT, "--timeframe", "7x"], ["timeframe '7x' is not valid"]),
    ("date-format", [*BT, "--start-date", "garbage"], ["start_date = 'garbage'"]),
    ("date-empty", [*BT, "--start-date", "2030-01-01"], ["no bars between start_date=2030-01-01"]),
    ("date-order", [*BT, "--start-date", "2024-05-01", "--end-date", "2024-04-01"], ["start_date 2024-05-01 is after end_date"]),
    ("symbol-no-data", [*BT, "--symbol", "GBPUSD"], ["{d}/GBPUSD_1h.parquet: bar file not found"]),
    ("capital-too-small", [*BT, "--initial-capital", "1"], ["initial_capital = 1.0", "buys no whole unit"]),
    ("warmup-too-long", [*BT, "--warmup-bars", "5000"], ["warmup_bars=5000 needs more"]),
    # output, checkpoint and cache paths
    ("out-is-file", [*BT[:-1], "{w}/afile"], ["--out {w}/afile: is a file, not a folder"]),
    ("out-under-file", [*BT[:-1], "{w}/afile/sub"], ["cannot create the folder: {w}/afile is a file"]),
    ("checkpoint-no-folder", [*BT, "--checkpoint", "{w}/nodir/x.npz"], ["checkpoint {w}/nodir/x.npz: folder {w}/nodir does not exist"]),
    ("checkpoint-is-folder", [*BT, "--checkpoint", "{w}/out"], ["checkpoint {w}/out: is a folder, not a file"]),
    ("resume-missing", [*BT, "--resume-from", "{w}/nope.npz"], ["checkpoint {w}/nope.npz: no such file"]),
    ("resume-corrupt", [*BT, "--resume-from", "{w}/afile"], ["checkpoint {w}/afile: corrupt or unreadable"]),
    ("resume-other-run", [*BT, "--resume-from", "{w}/other.ckpt.npz"], ["checkpoint {w}/other.ckpt.npz: fingerprint"]),
    ("cache-is-file", [*BT, "--feature-cache-dir", "{w}/afile"], ["feature_cache_dir {w}/afile: is a file"]),
    # model directories
    ("model-missing", ["backtest", "{w}/nomodel", "--data-dir", "{d}"], ["{w}/nomodel: model directory not found"]),
    ("model-is-file", ["backtest", "{w}/afile", "--data-dir", "{d}"], ["{w}/afile: not a directory"]),
    ("model-not-v3", ["backtest", "{w}/out", "--data-dir", "{d}"], ["{w}/out: not a v3 model directory"]),
    ("model-decisions", ["backtest", "{w}/m_decisions", "--data-dir", "{d}"], ["{w}/m_decisions/config.json: decisions.confidence_threshold = 1.5"]),
    ("model-nan-weights", ["backtest", "{w}/m_nan", "--data-dir", "{d}"], ["{w}/m_nan/model.pt: tensor '0.weight' holds"]),
    ("model-corrupt-pt", ["backtest", "{w}/m_corrupt", "--data-dir", "{d}"], ["{w}/m_corrupt/model.pt: corrupt"]),
    ("model-bad-json", ["backtest", "{w}/m_json", "--data-dir", "{d}"], ["{w}/m_json/metadata_v3.json: not valid JSON"]),
    ("model-bad-indicator", ["backtest", "{w}/m_indicator", "--data-dir", "{d}"], ["{w}/m_indicator/metadata_v3.json: indicators.rsi_14.type"]),
    ("model-huge-layer", ["backtest", "{w}/m_layer", "--data-dir", "{d}"], ["{w}/m_layer/config.json", "hidden_layers[0] = 1099511627776"]),
    ("model-multi-symbol", ["backtest", "{w}/m_multi", "--data-dir", "{d}"], ["symbol: not given", "EURUSD, GBPUSD"]),
    # bar files
    ("bars-folder", ["backtest", "{m}", "--data-dir", "{w}/data_folder"], ["{w}/data_folder/EURUSD_1h.parquet: is a folder"]),
    ("bars-spacing", ["backtest", "{m}", "--data-dir", "{w}/data_5m_as_1h"], ["{w}/data_5m_as_1h/EURUSD_1h.parquet: row 1"]),
    ("bars-dup-column", ["backtest", "{m}", "--data-dir", "{w}/data_dup"], ["{w}/data_dup/EURUSD_1h.csv: column 'close' (column 7) duplicates"]),
    # training
    ("strategy-missing", [*TR[:1], "{w}/nope.yaml", *TR[2:]], ["{w}/nope.yaml: strategy file not found"]),
    ("strategy-folder", [*TR[:1], "{w}/out", *TR[2:]], ["{w}/out: is a folder, not a strategy file"]),
    ("strategy-not-utf8", [*TR[:1], "{w}/latin1.yaml", *TR[2:]], ["{w}/latin1.yaml: not UTF-8 text (byte 0xe9"]),
    ("strategy-syntax", [*TR[:1], "{w}/syntax.yaml", *TR[2:]], ["{w}/syntax.yaml: line 2, column 1: not valid YAML"]),
    ("strategy-dup-key", [*TR[:1], "{w}/dup.yaml", *TR[2:]], ["{w}/dup.yaml: line ", "duplicate key 'period' (first at line"]),
    ("strategy-laughs", [*TR[:1], "{w}/laughs.yaml", *TR[2:]], ["{w}/laughs.yaml: line ", "expands to more than"]),
    ("strategy-top-key", [*TR[:1], "{w}/topkey.yaml", *TR[2:]], ["{w}/topkey.yaml: 'decision': unknown top-level key"]),
    ("strategy-huge-layer", [*TR[:1], "{w}/layer.yaml", *TR[2:]], ["{w}/layer.yaml: model.architecture.hidden_layers[0] = 10000000000"]),
    ("train-no-data-dir", ["train", "{w}/ok.yaml", "--out-dir", "{w}/out"], ["data_dir: no data folder given"]),
    ("train-out-file", [*TR[:-1], "{w}/afile"], ["out_dir {w}/afile: is a file, not a folder"]),
    ("train-seed", [*TR, "--seed", "-1"], ["seed = -1"]),
    ("train-epochs", [*TR, "--epochs", "0"], ["epochs: expected an integer >= 1, got 0"]),
    ("train-device", [*TR, "--device", "bogus"], ["device: 'bogus' is not a torch device"]),
    ("train-diverges", [*TR[:1], "{w}/diverge.yaml", *TR[2:], "--epochs", "1"], ["training diverged: the training loss is nan"]),
    # sweep
    ("sweep-no-grid", [*SW], ["sweep: give at least one --grid"]),
    ("sweep-grid-value", [*SW, "--grid", "commission=0.001,1.5"], ["grid.commission = 1.5"]),
    ("sweep-grid-name", [*SW, "--grid", "comission=0.001"], ["grid.comission: not a sweepable parameter"]),
    ("sweep-grid-file-dup", [*SW, "--grid-file", "{w}/grid_dup.yaml"], ["{w}/grid_dup.yaml: line 2, column 1: duplicate key 'commission'"]),
    ("sweep-grid-file-missing", [*SW, "--grid-file", "{w}/nogrid.yaml"], ["{w}/nogrid.yaml: grid file not found"]),
    ("sweep-by", [*SW, "--grid", "commission=0.001", "--by", "sharpe"], ["--by 'sharpe': not a metric"]),
    ("sweep-out-file", [*SW[:-1], "{w}/afile", "--grid", "commission=0.001"], ["--out {w}/afile: is a file, not a folder"]),
    ("sweep-checkpoint", [*SW, "--grid", "commission=0.001", "--checkpoint", "{w}/nodir/s.npz"], ["checkpoint {w}/nodir/s.npz: folder {w}/nodir does not exist"]),
    ("sweep-top-negative", [*SW, "--grid", "commission=0.001", "--top", "-1"], ["argument --top: -1 rows: give at least 1"]),
    ("sweep-top-zero", [*SW, "--grid", "commission=0.001", "--top", "0"], ["argument --top: 0 rows: give at least 1"]),
    ("batch-top-negative", ["batch", "{w}/spec.yaml", "--out", "{w}/out", "--top", "-3"], ["vbt batch: argument --top: -3 rows"]),
    ("report-top-text", ["report", "{w}/out", "--top", "ten"], ["vbt report: argument --top: 'ten' is not a whole number"]),
    ("sweep-capital", [*SW, "--grid", "commission=0.001", "--initial-capital", "1"], ["initial_capital = 1.0", "buys no whole unit"]),
    # demo
    ("demo-out-file", ["demo", "--out", "{w}/afile"], ["--out {w}/afile: is a file, not a folder"]),
    ("demo-epochs", ["demo", "--out", "{w}/out/demo", "--epochs", "0"], ["epochs: expected an integer >= 1, got 0"]),
]  # fmt: skip

# Run as separate processes too (a process-level leak, e.g. an import-time warning, shows here).
SEPARATE = ["no-command", "bad-float", "no-data-dir", "model-decisions", "strategy-dup-key", "out-is-file"]  # fmt: skip


def prepare_work(work: Path, model_dir: Path) -> dict[str, str]:
    """The working folder every case runs in; returns the placeholder values."""
    (work / "out").mkdir(parents=True)
    (work / "out" / "keep.txt").write_text("an earlier result\n")
    (work / "afile").write_text("a file\n")

    def model(name: str) -> Path:
        return Path(shutil.copytree(model_dir, work / name))

    m = model("m_ok")
    cfg = json.loads((m / "config.json").read_text())
    cfg["decisions"]["confidence_threshold"] = 1.5
    (model("m_decisions") / "config.json").write_text(json.dumps(cfg))
    state = torch.load(m / "model.pt", weights_only=True)
    state["0.weight"][0, 0] = float("nan")
    torch.save(state, model("m_nan") / "model.pt")
    (model("m_corrupt") / "model.pt").write_bytes(b"PK\x03\x04 truncated")
    (model("m_json") / "metadata_v3.json").write_text("{not json")
    meta = json.loads((m / "metadata_v3.json").read_text())
    meta["indicators"]["rsi_14"]["type"] = "rsx"
    (model("m_indicator") / "metadata_v3.json").write_text(json.dumps(meta))
    cfg = json.loads((m / "config.json").read_text())
    cfg["model"]["architecture"]["hidden_layers"] = [2**40]
    (model("m_layer") / "config.json").write_text(json.dumps(cfg))
    multi = {"mode": "multi_symbol", "list": ["EURUSD", "GBPUSD"]}
    multi_dir = write_model(work / "tmp_multi", strategy_dict(**{"training_data.symbols": multi}))
    shutil.copytree(multi_dir, work / "m_multi")
    shutil.rmtree(work / "tmp_multi")

    (work / "data_folder" / "EURUSD_1h.parquet").mkdir(parents=True)
    (work / "data_5m_as_1h").mkdir()
    vbt.load_bars(DATA / "EURUSD_5m.parquet").head(2000).write_parquet(
        work / "data_5m_as_1h" / "EURUSD_1h.parquet"
    )
    (work / "data_dup").mkdir()
    hours = vbt.load_bars(DATA / "EURUSD_1h.parquet").head(200)
    csv = hours.with_columns(pl.col("close").alias("close2")).write_csv()
    (work / "data_dup" / "EURUSD_1h.csv").write_text(csv.replace("close2", "close", 1))

    write_strategy(work / "ok.yaml")
    (work / "grid_dup.yaml").write_text("commission: [0.001]\ncommission: [0.002]\n")
    (work / "latin1.yaml").write_bytes(STRATEGY.read_bytes().replace(b"RSI(14)", b"RSI\xe9(14)"))
    (work / "syntax.yaml").write_text("name: [unclosed\n")
    (work / "dup.yaml").write_text(
        STRATEGY.read_text().replace("    period: 14\n", "    period: 14\n    period: 7\n")
    )
    (work / "laughs.yaml").write_text(LAUGHS + "\n")
    (work / "topkey.yaml").write_text(STRATEGY.read_text() + "decision:\n  x: 1\n")
    write_strategy(work / "layer.yaml", **{"model.architecture.hidden_layers": [10**10]})
    write_strategy(work / "diverge.yaml", **{"training.learning_rate": 1e30})

    # a checkpoint of another run (a shorter date range): refused when resuming this one
    cfg = vbt.BacktestConfig(model_path=str(m), data_dir=str(DATA), end_date="2024-03-01")
    vbt.BacktestEngine(cfg).run(checkpoint=work / "other.ckpt.npz")
    return {"w": str(work), "m": str(m), "d": str(DATA)}


def fill(items: list[str], values: dict[str, str]) -> list[str]:
    return [s.format(**values) for s in items]


def run_driver(work: Path, cases: list[dict]) -> list[dict]:
    spec = work.parent / "cases.json"
    spec.write_text(json.dumps(cases))
    env = {k: v for k, v in os.environ.items() if k != "VBT_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("cli_driver.py")), str(spec)],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def driven(model_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("cli") / "work"
    values = prepare_work(work, model_dir)
    cases = [{"id": i, "argv": fill(argv, values)} for i, argv, _ in CASES]
    results = {r["id"]: r for r in run_driver(work, cases)}
    return values, results


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cli_error_path(driven, case):
    values, results = driven
    case_id, _, fragments = case
    r = results[case_id]
    assert r["stdout"] == "", r["stdout"]
    assert r["stderr"].startswith("error: ") and r["stderr"].endswith("\n"), r["stderr"]
    assert r["stderr"].count("\n") == 1, r["stderr"]  # exactly one line
    assert r["rc"] == 2, r
    assert r["changed"] == [], f"files changed: {r['changed']}"
    for fragment in fill(fragments, values):
        assert fragment in r["stderr"], f"{fragment!r} not in {r['stderr']!r}"
    assert "Traceback" not in r["stderr"]


def test_cli_error_paths_in_separate_processes(model_dir, tmp_path):
    work = tmp_path / "work"
    values = prepare_work(work, model_dir)
    env = {k: v for k, v in os.environ.items() if k != "VBT_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    by_id = {c[0]: c for c in CASES}
    for case_id in SEPARATE:
        _, argv, fragments = by_id[case_id]
        before = snapshot(work)
        res = subprocess.run([sys.executable, "-m", "vbt.cli", *fill(argv, values)], cwd=work,
                             env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert (res.returncode, res.stdout) == (2, ""), (case_id, res)
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
        assert all(f in res.stderr for f in fill(fragments, values)), res.stderr
        assert snapshot(work) == before, case_id


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


# ---------------------------------------------------------------------------- in-process paths


def test_file_system_error_while_writing_is_one_line(model_dir, tmp_path, capsys, monkeypatch):
    def full(self, out_dir):
        raise OSError(28, "No space left on device", str(Path(out_dir) / "trades.parquet"))

    monkeypatch.setattr(vbt.BacktestResult, "save", full)
    rc = cli.main(["backtest", str(model_dir), "--data-dir", str(DATA), "--json",
                   "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr()
    assert (rc, err.out) == (2, "")
    assert err.err == f"error: {tmp_path / 'o' / 'trades.parquet'}: No space left on device\n"


def test_internal_errors_and_interrupts(monkeypatch, capsys):
    def bug(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(backtest_command, "run", bug)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.main(["backtest", "m"]) == cli.EXIT_INTERNAL == 1
    err = capsys.readouterr().err
    assert err == (f"error: internal error (RuntimeError: boom second line); please report it "
                   f"({cli.TRACEBACK_ENV}=1 shows the traceback)\n")  # fmt: skip
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["backtest", "m"])

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(backtest_command, "run", interrupted)
    assert cli.main(["backtest", "m"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_warnings_are_held_back_and_dropped_on_error(monkeypatch, capsys):
    import logging
    import warnings

    def noisy(args, fail):
        warnings.warn("a library warning", UserWarning, stacklevel=1)
        logging.getLogger("somelib").warning("a logged warning")
        if fail:
            raise vbt.ConfigError("field: bad\nvalue")
        print("result")
        return 0

    monkeypatch.setattr(backtest_command, "run", lambda args: noisy(args, fail=True))
    assert cli.main(["backtest", "m"]) == 2
    assert capsys.readouterr() == ("", "error: field: bad value\n")
    monkeypatch.setattr(backtest_command, "run", lambda args: noisy(args, fail=False))
    assert cli.main(["backtest", "m"]) == 0
    out, err = capsys.readouterr()
    assert out == "result\n"
    assert err == "warning: a logged warning\nwarning: a library warning\n"


def test_cli_success_writes_results_and_keeps_stdout_clean(model_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VBT_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run(
        [sys.executable, "-m", "vbt.cli", "backtest", str(model_dir), "--data-dir", str(DATA),
         "--json", "--out", "o", "--no-position-awareness", "--chunk-bars", "500"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert (res.returncode, res.stderr) == (0, "")
    out = json.loads(res.stdout)
    assert out["symbol"] == "EURUSD" and out["params"]["position_awareness"] is False
    assert np.isfinite(out["metrics"]["final_equity"])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "equity.parquet", "metrics.json", "trades.parquet"]  # fmt: skip
