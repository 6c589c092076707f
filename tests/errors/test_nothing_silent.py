"""Nothing absurd is accepted silently: each input below used to give a wrong or empty result
without a word; now it is an error naming the file, field, tensor or row."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from bad_input import DATA, raises, strategy_dict, write_model

import vbt

# ---------------------------------------------------------------------------- model directories


def test_decision_out_of_range_in_config_json_is_refused_at_load(model_copy):
    cfg_path = model_copy / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["decisions"]["confidence_threshold"] = 1.5
    cfg_path.write_text(json.dumps(cfg))
    with raises(vbt.ModelError, f"{cfg_path}: decisions.confidence_threshold = 1.5"):
        vbt.ModelBundle.load(model_copy)
    # the same value as a flag (BacktestConfig) is refused by the same rule
    with raises(vbt.ConfigError, "confidence_threshold = 1.5: input should be less than or equal"):
        vbt.BacktestConfig(model_path=str(model_copy), confidence_threshold=1.5)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(model_copy, value):
    weights = model_copy / "model.pt"
    state = torch.load(weights, weights_only=True)
    state["3.weight"][1, 2] = value
    torch.save(state, weights)
    with raises(vbt.ModelError, f"{weights}: tensor '3.weight' holds 1 non-finite value(s)",
                "at index (1, 2)"):  # fmt: skip
        vbt.ModelBundle.load(model_copy)


def test_diverging_training_fails_and_writes_no_model(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    s = strategy_dict(**{"training.learning_rate": 1e30, "training.epochs": 2})
    with raises(vbt.ConfigError, "training diverged: the training loss is nan at epoch 1",
                "no model was written", "training.learning_rate (now 1e+30)"):  # fmt: skip
        vbt.train(s, data_dir=DATA, symbol=None, out_dir=out, progress=False)
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------------- bar files


def test_five_minute_bars_in_an_hourly_file(tmp_path):
    path = tmp_path / "EURUSD_1h.parquet"
    vbt.load_bars(DATA / "EURUSD_5m.parquet").head(100).write_parquet(path)
    with raises(vbt.DataError, f"{path}: row 1 (2024-01-01T00:05:00Z): 5m after the previous "
                               "bar, but a 1h file holds bars 1h apart"):  # fmt: skip
        vbt.load_bars(path)
    with raises(vbt.DataError, f"{path}: row 1"):
        vbt.load_data(tmp_path, "EURUSD", ["1h"])


def test_hourly_bars_in_a_five_minute_file(tmp_path):
    path = tmp_path / "EURUSD_5m.parquet"
    vbt.load_bars(DATA / "EURUSD_1h.parquet").head(100).write_parquet(path)
    with raises(vbt.DataError, f"{path}: row 1 (2024-01-01T01:00:00Z): no two bars are 5m apart"):
        vbt.load_bars(path)


def test_spacing_allows_gaps_and_daylight_saving_shifts(tmp_path):
    hours = vbt.load_bars(DATA / "EURUSD_1h.parquet")  # has weekend gaps
    hours.write_parquet(tmp_path / "EURUSD_1h.parquet")
    assert vbt.load_bars(tmp_path / "EURUSD_1h.parquet").height == hours.height
    days = vbt.resample(hours, "1d")
    # session-anchored daily bars: one stamp an hour early (a daylight-saving change)
    shifted = days.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.col("timestamp") - pl.duration(hours=1))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    shifted.write_parquet(tmp_path / "EURUSD_1d.parquet")
    assert vbt.load_bars(tmp_path / "EURUSD_1d.parquet").height == days.height


GOOD = "2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,100\n2024-01-01T01:00:00Z,1.15,1.25,1.1,1.2,110\n"


@pytest.mark.parametrize(
    "header, message",
    [
        ("timestamp,open,high,low,close,volume,close",
         "column 'close' (column 7) duplicates column 'close' (column 5)"),
        ("timestamp,open,high,low,Close,volume,close",
         "column 'close' (column 7) duplicates column 'Close' (column 5)"),
    ],
)  # fmt: skip
def test_duplicate_column_names_in_csv(tmp_path, header, message):
    path = tmp_path / "EURUSD_1h.csv"
    rows = "".join(line + ",9.9\n" for line in GOOD.splitlines())
    path.write_text(header + "\n" + rows)
    with raises(vbt.DataError, f"{path}: {message}"):
        vbt.load_bars(path)


def test_duplicate_column_names_in_parquet(tmp_path):
    path = tmp_path / "EURUSD_1h.parquet"
    bars = vbt.load_bars(DATA / "EURUSD_1h.parquet").head(5)
    table = bars.to_arrow()
    table = pa.Table.from_arrays([*table.columns, table.column("close")], names=[*table.column_names, "close"])  # fmt: skip
    pq.write_table(table, path)
    with raises(vbt.DataError, f"{path}: column 'close' (column 7) duplicates column 'close'"):
        vbt.load_bars(path)


# ---------------------------------------------------------------------------- runs


def test_prices_too_large_to_buy_one_unit(model_dir, tmp_path):
    bars = vbt.load_bars(DATA / "EURUSD_1h.parquet")
    big = bars.with_columns(pl.col(c) * 1e12 for c in ("open", "high", "low", "close"))
    big.write_parquet(tmp_path / "EURUSD_1h.parquet")
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(tmp_path))
    with raises(vbt.ConfigError, "initial_capital = 100000.0: position_fraction 0.25 of it buys "
                                 "no whole unit at any open price of EURUSD 1h"):  # fmt: skip
        vbt.BacktestEngine(cfg).run()
    # the same data with enough capital runs
    rich = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(tmp_path),
                              initial_capital=1e15)  # fmt: skip
    assert vbt.BacktestEngine(rich).run().metrics["final_equity"] > 0


@pytest.mark.parametrize("value, reason", [(math.inf, "input should be a finite number"),
                                           (math.nan, "not a number"), (-1.0, "input should be greater than 0")])  # fmt: skip
def test_periods_per_year_override_must_be_finite_and_positive(value, reason):
    with raises(vbt.ConfigError, f"periods_per_year = {value!r}: {reason}"):
        vbt.BacktestConfig(model_path="m", periods_per_year=value)


def test_no_bar_with_every_feature_is_refused(model_dir):
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA), warmup_bars=0,
                             end_date="2024-01-01T10:00:00Z")  # fmt: skip
    with raises(vbt.DataError, "EURUSD 1h: no bar after the warm-up has every feature defined"):
        vbt.BacktestEngine(cfg).run()


# ---------------------------------------------------------------------------- NaN is "not a number"


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("decisions.confidence_threshold", math.nan, "decisions.confidence_threshold = nan: not a number"),
        ("decisions.filters.min_signal_separation", math.nan, "min_signal_separation = nan: not a number"),
        ("indicators.rsi_14.period", math.nan, "indicators.rsi_14.period = nan: not a number"),
        ("fuzzy_sets.rsi_14.neutral", [30, math.nan, 70], "fuzzy_sets.rsi_14.neutral.parameters[1] = nan: not a number"),
        ("training_data.history_required", math.nan, "training_data.history_required = nan: not a number"),
    ],
)  # fmt: skip
def test_nan_in_a_strategy_is_not_a_number(key, value, message):
    with raises(vbt.ConfigError, message):
        vbt.load_strategy(strategy_dict(**{key: value}))


def test_nan_in_indicator_float_and_training_settings(tmp_path):
    s = strategy_dict(**{"indicators.bb": {"type": "bbands", "multiplier": math.nan}})
    with raises(vbt.ConfigError, "indicators.bb.multiplier = nan: not a number"):
        vbt.load_strategy(s)
    for key in ("training.learning_rate", "model.architecture.dropout"):
        with raises(vbt.ConfigError, f"{key} = nan: not a number"):
            vbt.train(strategy_dict(**{key: math.nan}), data_dir=DATA, symbol=None,
                      out_dir=tmp_path, progress=False)  # fmt: skip
    with raises(vbt.ConfigError, "commission = nan: not a number"):
        vbt.BacktestConfig(model_path="m", commission=math.nan)


def test_other_absurd_strategy_values(tmp_path):
    with raises(vbt.ConfigError, "training.labels.zigzag_threshold = -0.01: must be > 0"):
        vbt.train(strategy_dict(**{"training.labels.zigzag_threshold": -0.01}), data_dir=DATA,
                  symbol=None, out_dir=tmp_path, progress=False)  # fmt: skip
    with raises(vbt.ConfigError, "name = '../escape': must be a plain folder name"):
        vbt.load_strategy(strategy_dict(name="../escape"))


def test_an_untouched_model_still_loads_and_runs(model_dir, tmp_path):
    # the checks above refuse only what is absurd: a fresh model directory loads and backtests
    path = write_model(tmp_path, seed=3)
    bundle = vbt.ModelBundle.load(path)
    assert np.isfinite(bundle.predict(np.zeros((2, 3), np.float32))).all()
    cfg = vbt.BacktestConfig(model_path=str(path), data_dir=str(DATA))
    assert vbt.BacktestEngine(cfg).run().info.symbol == "EURUSD"
