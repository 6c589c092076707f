"""First use: help texts and defaults, --version, flags for every run option, the backtest's
symbol and data folder, the demo from an installed (non-editable) package, and the training
progress saying which epoch was kept."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input import DATA, ROOT, raises, strategy_dict, write_model

import vbt
from vbt import cli
from vbt.cli import options, views
from vbt.cli.commands import COMMANDS
from vbt.config import BacktestConfig
from vbt.model import trainer
from vbt.params import DecisionParams


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_has_help_and_shows_its_default():
    parser = options.parser()
    for name, sub in {"vbt": parser, **subcommands(parser)}.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction
                          | argparse._SubParsersAction):  # fmt: skip
                continue
            where = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where}: no help text"
            if action.option_strings:
                assert "(default: " in action.help, f"{where}: the help shows no default"


def test_every_command_has_a_handler():
    assert list(subcommands(options.parser())) == list(COMMANDS)


def test_help_defaults_are_read_from_the_models():
    backtest = subcommands(options.parser())["backtest"]
    helps = {a.dest: a.help for a in backtest._actions}
    for field in ("initial_capital", "commission", "slippage", "position_fraction",
                  "warmup_bars", "chunk_bars"):  # fmt: skip
        assert f"(default: {BacktestConfig.model_fields[field].default:g})" in helps[field]
    for field in ("confidence_threshold", "min_signal_separation", "round_trip_cost"):
        assert f"else {DecisionParams.model_fields[field].default:g})" in helps[field]
    train = subcommands(options.parser())["train"]
    seed = next(a for a in train._actions if a.dest == "seed")
    assert seed.default == 0 and "(default: %(default)s)" in seed.help


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"vbt {vbt.__version__}\n"


def test_api_only_options_have_flags():
    args = options.parser().parse_args([
        "backtest", "m", "--data-dir", "d", "--chunk-bars", "1000", "--periods-per-year", "6000",
        "--feature-cache-dir", "cache", "--no-position-awareness", "--allow-short-from-flat",
        "--round-trip-cost", "0.002", "--min-edge-multiplier", "2",
    ])  # fmt: skip
    cfg = options.config_from_args(args, model_path=args.model_path)
    assert (cfg.chunk_bars, cfg.periods_per_year, cfg.feature_cache_dir) == (1000, 6000.0, "cache")
    assert (cfg.position_awareness, cfg.allow_short_from_flat) == (False, True)
    assert (cfg.round_trip_cost, cfg.min_edge_multiplier) == (0.002, 2.0)
    # a flag left out is not passed: the model's default applies
    plain = options.config_from_args(options.parser().parse_args(["backtest", "m"]), model_path="m")
    assert plain == BacktestConfig(model_path="m")
    assert set(options.RUN_FIELDS) <= set(BacktestConfig.model_fields)


def test_symbol_defaults_to_the_models_training_symbol(tmp_path):
    gbp = tmp_path / "data"
    gbp.mkdir()
    (gbp / "GBPUSD_1h.parquet").symlink_to(DATA / "EURUSD_1h.parquet")
    s = strategy_dict(**{"training_data.symbols.symbol": "GBPUSD"})
    model = write_model(tmp_path / "models", strategy=s)
    result = vbt.BacktestEngine(BacktestConfig(model_path=str(model), data_dir=str(gbp))).run()
    assert result.info.symbol == "GBPUSD"


def test_symbol_must_be_chosen_for_a_multi_symbol_model(tmp_path):
    s = strategy_dict(**{"training_data.symbols": {"mode": "multi_symbol",
                                                   "list": ["EURUSD", "GBPUSD"]}})  # fmt: skip
    model = write_model(tmp_path / "models", strategy=s)
    cfg = BacktestConfig(model_path=str(model), data_dir=str(DATA))
    with raises(vbt.ConfigError, "symbol: not given, and the model", "EURUSD, GBPUSD"):
        vbt.BacktestEngine(cfg).run()


def test_data_folder_is_required_or_configured(model_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("VBT_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT)  # data_fixtures/ right here must not be picked up
    cfg = BacktestConfig(model_path=str(model_dir))
    with raises(vbt.ConfigError, "data_dir: no data folder given; pass data_dir (--data-dir) "
                                 "or set VBT_DATA_DIR"):  # fmt: skip
        vbt.BacktestEngine(cfg).run()
    monkeypatch.setenv("VBT_DATA_DIR", str(DATA))
    monkeypatch.chdir(tmp_path)
    result = vbt.BacktestEngine(cfg).run()
    assert (result.info.symbol, result.info.config["data_dir"]) == ("EURUSD", str(DATA))


def test_early_stopping_says_which_epoch_was_kept(capsys):
    s = strategy_dict(**{"training.epochs": 40, "training.early_stopping.patience": 1})
    result = trainer.fit_strategy(s, DATA, None, progress=True)
    m = result.metrics
    assert m["early_stopped"] and m["epochs_trained"] < 40
    err = " ".join(capsys.readouterr().err.split())
    done = m["epochs_trained"]
    assert f"{done}/{done} epochs" in err  # the bar ends full
    assert (f"training stopped early at epoch {done} of 40; kept epoch {m['best_epoch']} "
            f"(best validation loss") in err  # fmt: skip
    assert views.kept_epoch(m) == (f"stopped early after epoch {done}; kept epoch "
                                  f"{m['best_epoch']} (best validation loss)")  # fmt: skip


@pytest.mark.slow
def test_demo_runs_from_an_installed_wheel(tmp_path):
    """Build a wheel, install it (no editable link to the sources) into a new venv that sees the
    current one's dependencies, and run ``vbt demo`` in an empty directory."""
    wheels = tmp_path / "wheels"
    src = tmp_path / "src"  # build from a copy: building writes build/ and *.egg-info
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    for rel in listed:
        if rel.startswith(("vbt/", "pyproject.toml", "README.md")) and (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes((ROOT / rel).read_bytes())
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, src],
                   check=True, capture_output=True)  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (Path(purelib) / "deps.pth").write_text("\n".join(deps) + "\n")  # torch etc., not vbt
    [wheel] = wheels.glob("vbt-*.whl")
    subprocess.run([*pip, "--python", py, "install", "-q", "--no-deps", "--no-index", wheel],
                   check=True, capture_output=True)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VBT_DATA_DIR")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    where = subprocess.run([py, "-c", "import vbt; print(vbt.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert where.startswith(purelib), where  # the installed copy, not the sources
    res = subprocess.run([venv / "bin" / "vbt", "demo", "--epochs", "1", "--json", "--out", "d"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["strategy"], out["symbol"], out["bars"]) == ("rsi_bbands_mtf", "EURUSD", 3120)
    assert (elsewhere / "d" / "results" / "metrics.json").is_file()
    # the demo ends by writing its report (plotly.js comes from the installed package)
    assert out["report"] == str(Path("d") / "results" / "report.html")
    assert (elsewhere / "d" / "results" / "report.html").stat().st_size > 1_000_000


def test_demo_bars_are_the_fixtures():
    """``demo_bars()`` regenerates the bundled fixtures: the same stamps, exactly, and the same
    prices and volumes up to the platform's libm. ``synth_bars`` goes through exp and log (NumPy's,
    Numba's, and inside NumPy's t, normal and lognormal draws), whose last bit the platform's libm
    decides, and then rounds prices to 6 decimals and volumes to whole units. A last bit only
    shows where it tips a rounding that falls within a few 1e-16 of a half step (of the order of
    one value in 10^9), and moves that value by one step: 1e-6 for a price, 1 for a 5m volume (a
    1h volume sums twelve of them). So a few values may be one step off on another machine (none
    are where the fixtures were written); another generator, seed or calendar moves thousands,
    and by more.
    """
    import numpy as np
    import polars as pl

    from vbt.demo import demo_bars, demo_strategy_path

    for tf, bars in demo_bars().items():
        stored = pl.read_parquet(DATA / f"EURUSD_{tf}.parquet")
        assert bars.schema == stored.schema and bars.height == stored.height, tf
        assert bars["timestamp"].equals(stored["timestamp"]), tf  # integer arithmetic: exact
        one_step = {"open": 1.5e-6, "high": 1.5e-6, "low": 1.5e-6, "close": 1.5e-6,  # not 2e-6
                    "volume": 12 if tf == "1h" else 1}  # fmt: skip
        for col, most in one_step.items():
            off = np.abs(bars[col].to_numpy() - stored[col].to_numpy())
            assert off.max() <= most and np.count_nonzero(off) <= 3, (tf, col, off.max())
    # a copy, not a link (a link out of data_fixtures/ breaks when the folder alone is mounted)
    fixture = DATA / "strategies" / "rsi_bbands_mtf.yaml"
    assert not fixture.is_symlink()
    assert fixture.read_bytes() == demo_strategy_path().read_bytes()


def test_no_fixture_is_a_symlink():
    """Every file of data_fixtures/ is a real file: a container mounts the folder alone."""
    links = [p for p in DATA.rglob("*") if p.is_symlink()]
    assert links == []
