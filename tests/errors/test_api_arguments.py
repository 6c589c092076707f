"""The public functions check their arguments (``vbt.arguments``) before any work: a bad one is a
``ConfigError`` of one line naming it (``vbt.batch``, ``vbt.research.run``, ``vbt.train``,
``BacktestEngine.run`` and its ``BacktestConfig``, ``vbt.report.write_report``), never a
TypeError, AttributeError or OSError from deep inside.

The named cases first, then a fuzz test per function: hypothesis gives one argument a hostile
value (of another type, empty, with a NUL, too long, out of range, a callable of the wrong
shape, ...), the others staying valid, and the call either raises one ``VbtError`` line or
gets through its checks: for the functions whose work is long (training, research, a batch),
to where the work starts (``Reached``); a backtest and a report are run to the end."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bad_input import DATA, STRATEGY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbt
import vbt.batches
import vbt.model.trainer
import vbt.research.cycle
from vbt.errors import ConfigError, VbtError
from vbt.report import write_report


class Reached(Exception):
    """The work started: every argument got through its checks."""


def reached(*args: Any, **kwargs: Any) -> None:
    raise Reached


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Relative paths (hypothesis draws any text) land in the test's folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    """Paths of every kind: a missing one, a file, a folder, one under a file."""
    (tmp_path / "a_file.txt").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    return {"missing": tmp_path / "no" / "such", "file": tmp_path / "a_file.txt",
            "folder": tmp_path / "a_folder", "under_file": tmp_path / "a_file.txt" / "x"}  # fmt: skip


def hostile(places: dict[str, Path]):
    """Values an argument should never get (and a few it may)."""
    return st.one_of(
        st.sampled_from([
            None, True, False, 0, -1, 1, 3, 2**64, -(2**70), 1.5, math.nan, math.inf, "", " ",
            "x", "1h", "EURUSD", "2024-01-01", "a\0b", "a" * 5000, "x/" * 3000, "\ud800",
            b"bytes", [], [1], [("2024-01-01", "2024-01-02")], [("x",)], (), {}, {"k": 1},
            {1: 2}, object(), np.int64(3), np.float64(0.5), np.bool_(True), threading.Event(),
            print, len, (lambda: True), (lambda done, total: None), (lambda a, b, c: None),
            *(str(p) for p in places.values()), *places.values(),
        ]),
        st.integers(), st.text(max_size=10), st.floats(),
    )  # fmt: skip


def one_line_or_reached(call) -> Any:
    """The contract: a result, ``Reached``, or one ``VbtError`` line."""
    try:
        return call()
    except Reached:
        return Reached
    except VbtError as exc:
        text = str(exc)
        assert text and "\n" not in text, text
        return exc


def fuzz_arguments(names: list[str], values, call, examples: int = 60) -> None:
    @settings(max_examples=examples, deadline=10_000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(name=st.sampled_from(names), value=values)
    def fuzz(name, value):
        one_line_or_reached(lambda: call(name, value))

    fuzz()


# ------------------------------------------------------------------------------ named cases


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"out_dir": None}, "out_dir = None: must be a path (str or os.PathLike)"),
        ({"data_dir": 5}, "data_dir = 5: must be a path"),
        ({"symbol": ["EURUSD"]}, "symbol = ['EURUSD']: must be a string"),
        ({"config": 5}, "config = 5: must be a mapping"),
        ({"start_date": [2024]}, "start_date = [2024]: must be a date"),
        ({"progress": "yes"}, "progress = 'yes': must be True or False"),
        ({"simulations": 1.5}, "simulations = 1.5: must be an integer in [1, 1,000,000]"),
        ({"model_dir": "a\0b"}, "model_dir = 'a\\x00b': holds a NUL character"),
        ({"out_dir": "x" * 300}, "too long for a path"),
    ],
)
def test_research_names_the_bad_argument(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.setattr(vbt.research.cycle, "Runner", reached)
    args = {"data_dir": DATA, "out_dir": tmp_path / "out", **kwargs}
    with pytest.raises(ConfigError) as err:
        vbt.research.run(STRATEGY, **args)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"out_dir": None}, "out_dir = None: must be a path"),
        ({"out_dir": 5}, "out_dir = 5: must be a path"),
        ({"exclude": 5}, "exclude = 5: must be a list of (start, end) date pairs"),
        ({"exclude": [("2024-01-01",)]}, "exclude = [('2024-01-01',)]: item 0: must be a (start"),
        ({"start_date": [1]}, "start_date = [1]: must be a date"),
        ({"device": 5}, "device = 5: must be a string"),
        ({"progress": "no"}, "progress = 'no': must be True or False"),
        ({"symbol": "\ud800"}, "symbol = '\\ud800': holds characters that cannot be encoded"),
    ],
)
def test_train_names_the_bad_argument(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.setattr(vbt.model.trainer, "fit_strategy", reached)
    args = {"data_dir": DATA, "out_dir": tmp_path / "m", "progress": False, **kwargs}
    with pytest.raises(ConfigError) as err:
        vbt.train(STRATEGY, **args)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"spec": 5}, "spec = 5: must be a path (str or os.PathLike) or a mapping"),
        ({"out_dir": None}, "out_dir = None: must be a path"),
        ({"retry_errors": "x"}, "retry_errors = 'x': must be True or False"),
        ({"progress": lambda: None}, "must be callable as progress(done, total)"),
        ({"cancel": 5}, "cancel = 5: must be callable as cancel() -> bool"),
    ],
)
def test_batch_names_the_bad_argument(tmp_path, model_dir, monkeypatch, kwargs, message):
    monkeypatch.setattr(vbt.batches, "run_units", reached)
    spec = {"defaults": {"data_dir": str(DATA)}, "jobs": [{"model": str(model_dir)}]}
    args = {"spec": spec, "out_dir": tmp_path / "out", "jobs": 1, **kwargs}
    with pytest.raises(ConfigError) as err:
        vbt.batch(**args)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"checkpoint": 5}, "checkpoint = 5: must be a path"),
        (
            {"resume_from": 5},
            "resume_from = 5: must be a path (str or os.PathLike) or a Checkpoint",
        ),
        ({"progress": 5}, "progress = 5: must be callable as progress(done, total)"),
        ({"cancel": 5}, "cancel = 5: must be callable as cancel() -> bool"),
        ({"cancel": lambda x: True}, "must be callable as cancel() -> bool"),
    ],
)
def test_backtest_names_the_bad_argument(model_dir, kwargs, message):
    engine = vbt.BacktestEngine(vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA)))
    with pytest.raises(ConfigError) as err:
        engine.run(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="config = 5: must be a vbt.BacktestConfig"):
        vbt.prepare(5)


@pytest.mark.parametrize(
    "args, message",
    [
        ((5, "r.html"), "source = 5: must be a result folder (a path)"),
        (("{run}", None), "path = None: must be a path"),
        (("{run}", "r.html", {"colour": "red"}), "report: colour: not an option"),
        (("{run}", "r.html", {"top": 0}), "top = 0: must be an integer in [1, 100,000] (--top)"),
    ],
)
def test_write_report_names_the_bad_argument(saved_run, tmp_path, args, message):
    source, path, *options = args
    source = saved_run if source == "{run}" else source
    path = tmp_path / path if isinstance(path, str) else path
    with pytest.raises(ConfigError) as err:
        write_report(source, path, **(options[0] if options else {}))
    assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------ fuzz


@pytest.fixture
def saved_run(model_dir, tmp_path) -> Path:
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA),
                             confidence_threshold=0.34)  # fmt: skip
    return vbt.BacktestEngine(cfg).run().save(tmp_path / "run")


def test_fuzz_research_arguments(tmp_path, places, monkeypatch):
    monkeypatch.setattr(vbt.research.cycle, "Runner", reached)
    base = {"strategy": STRATEGY, "data_dir": DATA, "out_dir": tmp_path / "out",
            "simulations": 10}  # fmt: skip
    names = ["strategy", "data_dir", "symbol", "out_dir", "walk_forward", "purge_bars",
             "embargo_bars", "start_date", "end_date", "seed", "epochs", "simulations", "config",
             "model_dir", "progress"]  # fmt: skip
    fuzz_arguments(names, hostile(places),
                   lambda name, value: vbt.research.run(**{**base, name: value}))  # fmt: skip


def test_fuzz_train_arguments(tmp_path, places, monkeypatch):
    monkeypatch.setattr(vbt.model.trainer, "fit_strategy", reached)
    base = {"data_dir": DATA, "out_dir": tmp_path / "m", "progress": False, "epochs": 1}
    names = ["strategy", "data_dir", "symbol", "out_dir", "device", "seed", "epochs", "progress",
             "start_date", "end_date", "exclude"]  # fmt: skip

    def call(name, value):
        args = {"strategy": STRATEGY, **base, name: value}
        return vbt.train(args.pop("strategy"), **args)

    fuzz_arguments(names, hostile(places), call)


def test_fuzz_batch_arguments(tmp_path, places, model_dir, monkeypatch):
    monkeypatch.setattr(vbt.batches, "run_units", reached)
    spec = {"defaults": {"data_dir": str(DATA)}, "jobs": [{"model": str(model_dir)}]}
    base = {"spec": spec, "out_dir": tmp_path / "out", "jobs": 1}
    names = ["spec", "out_dir", "jobs", "retry_errors", "progress", "cancel", "backend",
             "ray_address"]  # fmt: skip
    fuzz_arguments(names, hostile(places), lambda name, value: vbt.batch(**{**base, name: value}))


def test_fuzz_backtest_arguments(tmp_path, places, model_dir):
    (tmp_path / "ck").mkdir()
    cfg = {"model_path": str(model_dir), "data_dir": str(DATA)}
    fields = ["model_path", "data_dir", "symbol", "timeframe", "timeframes", "start_date",
              "end_date", "commission", "initial_capital", "warmup_bars", "chunk_bars",
              "periods_per_year", "feature_cache_dir", "confidence_threshold", "stop_loss"]  # fmt: skip
    run_args = ["progress", "cancel", "checkpoint", "resume_from"]

    def call(name, value):
        if name in run_args:
            if name == "checkpoint" and isinstance(value, str | Path) and Path(value).is_file():
                value = tmp_path / "ck" / "run.ckpt"  # never overwrite a file of the test
            engine = vbt.BacktestEngine(vbt.BacktestConfig(**cfg))
            return engine.run(**{name: value})
        return vbt.BacktestEngine(vbt.BacktestConfig(**{**cfg, name: value})).run()

    fuzz_arguments(fields + run_args, hostile(places), call, examples=50)


def test_fuzz_write_report_arguments(tmp_path, places, saved_run, model_dir):
    sweep = vbt.sweep(
        vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA)),
        {"confidence_threshold": [0.34, 0.4], "commission": [0.0, 0.001]},
    )
    sweep_dir = sweep.save(tmp_path / "sweep")
    out = tmp_path / "page.html"

    def call(name, value):
        if name in ("source", "path"):
            args = {"source": saved_run, "path": out, name: value}
            if name == "path" and isinstance(value, str | Path) and Path(value).is_file():
                args["path"] = out  # never overwrite a file of the test
            return write_report(args["source"], args["path"])
        return write_report(sweep_dir, out, **{name: value})

    fuzz_arguments(["source", "path", "by", "params", "top"], hostile(places), call,
                   examples=50)  # fmt: skip
