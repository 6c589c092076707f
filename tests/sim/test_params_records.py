"""One builder of the kernel's parameter records (a run: scalars; a grid: columns), and the run
settings' lists and help derived from the models."""

from __future__ import annotations

import numpy as np

from vbt.cli import options
from vbt.cli.options import RUN_FIELDS
from vbt.config import BacktestConfig, help_text
from vbt.params import RUN_SETTINGS, DecisionParams, ExecutionParams
from vbt.sim import PARAMS_DTYPE, ScanParams, params_records
from vbt.sim.records import DERIVED, SETTING_FIELDS, params_field
from vbt.sweeps.grid import SWEEPABLE

H = 3_600_000_000_000


def test_one_run_and_columns_give_the_same_records():
    base = ScanParams().with_values(output_type="regression", output_format="regression",
                                    min_signal_separation=1.25, stop_loss=0.02)  # fmt: skip
    rec = params_records({**base.values(), "bar_ns": base.bar_ns})
    assert rec.dtype == PARAMS_DTYPE and rec.tobytes() == base.to_record().tobytes()
    assert rec[0]["min_separation_ns"] == int(1.25 * H) and rec[0]["is_regression"]
    assert rec[0]["regression_threshold"] == 0.003 * 1.5 and rec[0]["take_profit"] == 0
    cols = {"min_signal_separation": np.array([0.0, 0.5, 3.0]),
            "round_trip_cost": np.array([0.001, 0.002, 0.004]),
            "max_holding_bars": np.array([np.nan, 4.0, np.nan])}  # fmt: skip
    many = params_records({**base.values(), "bar_ns": base.bar_ns, **cols})
    assert many.shape == (3,)
    for i in range(3):
        row = {k: (None if np.isnan(v[i]) else v[i].item()) for k, v in cols.items()}
        row["max_holding_bars"] = None if row["max_holding_bars"] is None else 4
        assert many[i : i + 1].tobytes() == base.with_values(**row).to_record().tobytes()
    values = {**base.values(), **cols}
    assert (
        params_field("regression_threshold", values).tolist()
        == many["regression_threshold"].tolist()
    )


def test_every_field_comes_from_a_run_setting():
    assert set(SETTING_FIELDS.values()) == set(PARAMS_DTYPE.names)
    assert set(DERIVED) < set(PARAMS_DTYPE.names)
    assert set(SETTING_FIELDS) - {"bar_ns", "output_format"} <= set(RUN_SETTINGS)
    assert set(SWEEPABLE) == set(RUN_SETTINGS) - {"warmup_bars"}


def test_lists_and_help_come_from_the_models():
    fields = {**DecisionParams.model_fields, **ExecutionParams.model_fields}
    assert all(fields[k].description for k in RUN_SETTINGS)
    assert set(RUN_SETTINGS) <= set(RUN_FIELDS)
    assert set(RUN_FIELDS) == set(BacktestConfig.model_fields) - {"model_path", "timeframes"}
    parser = options.parser()
    backtest = next(a for a in parser._actions if a.dest == "command").choices["backtest"]
    helps = {a.dest: a.help for a in backtest._actions}
    for name in RUN_FIELDS:
        assert helps[name] == help_text(name).replace("%", "%%"), name
    assert helps["commission"].endswith("(default: 0.001)")
    assert helps["stop_loss"].endswith("(default: off)")
    assert helps["min_signal_separation"].endswith("decisions, else 4)")
