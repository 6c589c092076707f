"""Process settings made before Numba and torch load: the Numba cache folder and OpenMP waits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import vbt
from vbt import _runtime

ROOT = Path(vbt.__file__).resolve().parent.parent


def run(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, cwd="/",
                         capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return out.stdout.strip()


def test_cache_folder_is_keyed_on_version_and_sources_and_set_before_numba():
    code = ("import vbt, os, numba.core.config as c; "
            "print(os.environ['NUMBA_CACHE_DIR']); print(c.CACHE_DIR); "
            "print(os.environ['OMP_WAIT_POLICY'])")  # fmt: skip
    folder, numba_dir, wait = run(code).splitlines()
    assert folder == numba_dir == str(_runtime.numba_cache_dir())
    assert Path(folder).name == _runtime.source_key()
    assert _runtime.source_key().startswith(vbt.__version__ + "-")
    assert os.access(folder, os.W_OK) and wait == "PASSIVE"
    # the Makefile asks the same module for the folder, so its warm-up fills this one
    shown = subprocess.run([sys.executable, str(ROOT / "vbt" / "_runtime.py")],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert shown == folder


def test_user_settings_are_kept(tmp_path):
    code = (
        "import vbt, os; print(os.environ['NUMBA_CACHE_DIR']); print(os.environ['OMP_WAIT_POLICY'])"
    )
    folder, wait = run(code, NUMBA_CACHE_DIR=str(tmp_path), OMP_WAIT_POLICY="ACTIVE").splitlines()
    assert (folder, wait) == (str(tmp_path), "ACTIVE")


def test_numba_imported_first_is_pointed_at_the_folder():
    code = "import numba, vbt, os; print(numba.config.CACHE_DIR == os.environ['NUMBA_CACHE_DIR'])"
    assert run(code) == "True"


def test_source_key_changes_with_the_sources(tmp_path):
    pkg = tmp_path / "vbt"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('__version__ = "9.9"\n')
    (pkg / "a.py").write_text("x = 1\n")
    original = _runtime.PACKAGE
    try:
        _runtime.PACKAGE = pkg
        first = _runtime.source_key()
        (pkg / "a.py").write_text("x = 2\n")
        assert _runtime.source_key() != first and first.startswith("9.9-")
    finally:
        _runtime.PACKAGE = original


def test_the_vbt_script_freezes_the_heap_only_after_checking_inputs(mtf_model, tmp_path):
    """``vbt backtest`` in a process of its own: a bad input is reported before torch loads; a
    good one loads torch and Numba and freezes them out of the garbage collector's walks. Called
    as a library (``owns_process`` False), the caller's process is left alone."""
    from enginekit import DATA

    code = (
        "import contextlib, gc, io, sys, vbt.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = vbt.cli.main({argv!r}, owns_process={owns})\n"
        "print(status, gc.get_freeze_count() > 100_000, 'torch' in sys.modules)"
    )
    missing_data = ["backtest", str(mtf_model), "--data-dir", str(tmp_path / "no_such_folder")]
    good = ["backtest", str(mtf_model), "--data-dir", str(DATA), "--symbol", "EURUSD", "--json"]
    assert run(code.format(argv=missing_data, owns=True)) == "2 False False"
    assert run(code.format(argv=good, owns=True)) == "0 True True"
    assert run(code.format(argv=good, owns=False)) == "0 False True"


def test_the_vbt_script_ends_at_once_with_everything_written(mtf_model, tmp_path):
    """The ``vbt`` script leaves a backtest without interpreter teardown: its JSON (block-buffered
    into a pipe) arrives whole, and the saved results are complete."""
    import json

    import polars as pl
    from enginekit import DATA

    script = Path(sys.executable).with_name("vbt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout: buffered
    out = subprocess.run(
        [str(script), "backtest", str(mtf_model), "--data-dir", str(DATA), "--symbol", "EURUSD",
         "--json", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("}\n")  # the last bytes stay in the buffer until it is flushed
    shown = json.loads(out.stdout)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert shown["metrics"] == saved["metrics"] and shown["metrics"]["total_trades"] > 0
    trades = pl.read_parquet(tmp_path / "run" / "trades.parquet")
    assert trades.height == shown["metrics"]["total_trades"]
    assert pl.read_parquet(tmp_path / "run" / "equity.parquet").height == shown["metrics"]["bars"]
