"""File-system errors are user errors: one ConfigError/DataError naming the path and the
problem, raised before any long work (loading data, training, a backtest) starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bad_input import DATA, STRATEGY, raises

import vbt
import vbt.paths
import vbt.stages
from vbt.model import trainer
from vbt.paths import check_output_dir, check_output_file


@pytest.fixture
def no_long_work(monkeypatch):
    """Fail the test if a backtest loads bars or a training run starts fitting."""

    def forbidden(*args, **kwargs):
        raise AssertionError("long work started before the error was raised")

    monkeypatch.setattr(vbt.stages, "load_data", forbidden)
    monkeypatch.setattr(trainer, "fit_strategy", forbidden)


def engine(model_dir, **kw) -> vbt.BacktestEngine:
    return vbt.BacktestEngine(
        vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA), **kw)
    )


# ---------------------------------------------------------------------------- strategy files


def test_strategy_file_missing_or_a_folder(tmp_path):
    with raises(vbt.ConfigError, tmp_path / "nope.yaml", "strategy file not found"):
        vbt.load_strategy(tmp_path / "nope.yaml")
    with raises(vbt.ConfigError, f"{tmp_path}: is a folder, not a strategy file"):
        vbt.load_strategy(tmp_path)


def test_strategy_file_not_utf8_names_byte_and_offset(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(STRATEGY.read_bytes().replace(b"RSI(14)", b"RSI\xe9(14)"))
    offset = STRATEGY.read_bytes().index(b"RSI(14)") + 3
    with raises(vbt.ConfigError, f"{path}: not UTF-8 text (byte 0xe9 at offset {offset})"):
        vbt.load_strategy(path)


def test_strategy_file_unreadable(tmp_path, monkeypatch):
    # The tests run as root here, where chmod 000 does not stop a read: make open() fail.
    path = tmp_path / "locked.yaml"
    path.write_text(STRATEGY.read_text())
    real_open = Path.open

    def denied(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    with raises(vbt.ConfigError, f"{path}: cannot read the strategy file (Permission denied)"):
        vbt.load_strategy(path)


# ---------------------------------------------------------------------------- output folders


def test_output_folder_that_is_a_file(tmp_path):
    f = tmp_path / "results"
    f.write_text("x")
    with raises(vbt.ConfigError, f"--out {f}: is a file, not a folder"):
        check_output_dir(f, "--out")
    with raises(vbt.ConfigError, f"--out {f / 'sub'}: cannot create the folder: {f} is a file"):
        check_output_dir(f / "sub", "--out")
    assert check_output_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # a check creates nothing


def test_output_folder_not_writable(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        vbt.paths.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode)
    )
    with raises(vbt.ConfigError, f"out_dir {locked}: folder is not writable"):
        check_output_dir(locked, "out_dir")
    with raises(vbt.ConfigError, f"cannot create the folder: {locked} is not writable"):
        check_output_dir(locked / "models", "out_dir")


def test_train_refuses_an_output_folder_that_is_a_file_before_training(tmp_path, no_long_work):
    out = tmp_path / "models"
    out.write_text("not a folder")
    with raises(vbt.ConfigError, f"out_dir {out}: is a file, not a folder"):
        vbt.train(STRATEGY, data_dir=DATA, symbol=None, out_dir=out, progress=False)
    assert out.read_text() == "not a folder"


def test_result_save_into_a_file_names_it(model_dir, tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    result = engine(model_dir).run()
    with raises(vbt.ConfigError, f"out_dir {f}: is a file, not a folder"):
        result.save(f)
    assert f.read_text() == "x"


# ---------------------------------------------------------------------------- checkpoints


def test_checkpoint_in_a_missing_folder_is_refused_before_data(model_dir, tmp_path, no_long_work):
    ck = tmp_path / "missing" / "run.ckpt.npz"
    with raises(vbt.ConfigError, f"checkpoint {ck}: folder {ck.parent} does not exist"):
        engine(model_dir).run(checkpoint=ck)
    with raises(vbt.ConfigError, f"checkpoint {tmp_path}: is a folder, not a file"):
        engine(model_dir).run(checkpoint=tmp_path)
    assert check_output_file(tmp_path / "run.ckpt.npz", "checkpoint") == tmp_path / "run.ckpt.npz"


def test_output_file_inside_the_output_folder_a_command_creates(tmp_path):
    """``created``: the folder a command creates (its --out); a file's missing folder may be it or
    lie inside it, nothing else; a check creates nothing."""
    out = tmp_path / "out"
    for path in (out / "r.html", out / "pages" / "r.html", tmp_path / "r.html"):
        assert check_output_file(path, "--report", created=out) == path
    assert not out.exists()
    other = tmp_path / "other" / "r.html"
    with raises(vbt.ConfigError, f"--report {other}: folder {other.parent} does not exist"):
        check_output_file(other, "--report", created=out)
    with raises(vbt.ConfigError, f"--report {out / 'r.html'}: folder {out} does not exist"):
        check_output_file(out / "r.html", "--report")  # no folder created
    with raises(vbt.ConfigError, f"--report {out}: is or holds the output folder {out}"):
        check_output_file(out, "--report", created=out)
    f = tmp_path / "file"
    f.write_text("x")
    with raises(vbt.ConfigError, f"cannot create the folder {f / 'sub'}: {f} is a file"):
        check_output_file(f / "sub" / "r.html", "--report", created=f / "sub")


def test_resume_from_is_read_before_data(model_dir, tmp_path, no_long_work):
    with raises(vbt.ConfigError, f"checkpoint {tmp_path / 'nope.npz'}: no such file"):
        engine(model_dir).run(resume_from=tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with raises(vbt.ConfigError, f"checkpoint {bad}: corrupt or unreadable"):
        engine(model_dir).run(resume_from=bad)


# ---------------------------------------------------------------------------- feature cache


def test_feature_cache_path_that_is_a_file(model_dir, tmp_path, no_long_work):
    f = tmp_path / "cache"
    f.write_text("x")
    with raises(vbt.ConfigError, f"feature_cache_dir {f}: is a file, not a folder"):
        engine(model_dir, feature_cache_dir=f).run()


def test_build_features_cache_dir_that_is_a_file(tmp_path, monkeypatch):
    import vbt.features.frame

    f = tmp_path / "cache"
    f.write_text("x")
    monkeypatch.setattr(vbt.features.frame, "_compute", lambda *a: pytest.fail("computed"))
    bars = {"1h": vbt.load_bars(DATA / "EURUSD_1h.parquet").head(300)}
    with raises(vbt.ConfigError, f"cache_dir {f}: is a file, not a folder"):
        vbt.build_features(STRATEGY, bars, cache_dir=f)


# ---------------------------------------------------------------------------- data


def test_bar_file_that_is_a_folder(hourly_dir):
    target = hourly_dir / "EURUSD_1h.parquet"
    target.unlink()
    target.mkdir()
    with raises(vbt.DataError, f"{target}: is a folder (or not a regular file), not a bar file"):
        vbt.load_data(hourly_dir, "EURUSD", ["1h"])
    with raises(vbt.DataError, f"{target}: is a folder, not a bar file"):
        vbt.load_bars(target)


def test_a_folder_named_like_the_finer_file_is_named(hourly_dir):
    # 1h is missing and would be resampled from the 5m "file", which is a folder
    (hourly_dir / "EURUSD_1h.parquet").unlink()
    (hourly_dir / "EURUSD_5m.parquet").mkdir()
    with raises(vbt.DataError, hourly_dir / "EURUSD_5m.parquet", "is a folder"):
        vbt.load_data(hourly_dir, "EURUSD", ["1h"])


def test_data_folder_missing_or_a_file(model_dir, tmp_path, no_long_work):
    f = tmp_path / "data"
    f.write_text("x")
    for where, problem in ((f, "is a file, not a folder"), (tmp_path / "no", "folder not found")):
        with raises(vbt.ConfigError, f"data_dir {where}: {problem}"):
            vbt.BacktestEngine(
                vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(where))
            ).run()
    with raises(vbt.DataError, f"{f}: data directory is a file, not a folder"):
        vbt.load_data(f, "EURUSD", ["1h"])
